"""Department templates with placeholders: "Trash pickup moves to {day} this week".

A placeholder is a name in curly brackets (letters, digits and _, not starting with a digit). Any other
curly bracket stays as it is. Filling a template asks for each placeholder once and makes a draft."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from composer.models import PostTemplate
from departments.models import Department
from departments.selectors import user_can_edit_for
from scheduler.models import Channel, Post
from scheduler.services import post_create

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_placeholders(text: str) -> list[str]:
    """Returns the placeholder names of a template text, each once, in order."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def template_fill(text: str, values: dict[str, str]) -> str:
    """Returns the text with every placeholder replaced. Raises ApplicationError naming a missing one."""
    missing = [name for name in template_placeholders(text) if not str(values.get(name, "")).strip()]
    if missing:
        raise ApplicationError(
            _("Fill in %(names)s.") % {"names": ", ".join("{" + name + "}" for name in missing)},
            extra={"missing": missing},
        )
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]).strip(), text)


def placeholder_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _require_member(user: User, department: Department) -> None:
    if not user_can_edit_for(user=user, department_id=department.pk):
        raise ApplicationError(_("You are not a member of %(department)s.") % {"department": department})


@transaction.atomic
def post_template_save(
    *,
    user: User,
    department: Department,
    name: str,
    text: str,
    link: str = "",
    channels: Iterable[Channel] = (),
    template: PostTemplate | None = None,
) -> PostTemplate:
    """Creates or changes a template. Returns it; raises ApplicationError (duplicate name, not a member)."""
    _require_member(user, department)
    channels = list(channels)
    if any(channel.department_id != department.pk for channel in channels):
        raise ApplicationError(_("You can only choose your department's own channels."))
    template = template or PostTemplate(department=department, created_by=user)
    template.name = normalize_text(name, single_line=True).strip()
    template.text = normalize_text(text)
    template.link = normalize_text(link, single_line=True)
    template.channel_ids = sorted(channel.pk for channel in channels)
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as error:
        raise ApplicationError(
            _("%(department)s already has a template called “%(name)s”.") % {"department": department, "name": name}
        ) from error
    return template


def post_template_delete(*, user: User, template: PostTemplate) -> None:
    _require_member(user, template.department)
    template.delete()


def post_from_template(
    *,
    user: User,
    template: PostTemplate,
    values: dict[str, str],
    channels: Iterable[Channel],
    due_at: dt.datetime,
) -> Post:
    """Makes a draft from a template with its placeholders filled in. Returns the draft."""
    _require_member(user, template.department)
    text = template_fill(template.text, {key: normalize_text(value) for key, value in values.items()})
    return post_create(
        author=user,
        department=template.department,
        text=text,
        link=template.link,
        channels=channels,
        due_at=due_at,
    )
