"""Emails about posts: to the approvers whose step waits, to the author and department admins when a post
is approved, sent back, fails or needs attention. Depends only on models and the policy evaluator, so the
review services and publishing (scheduler.publishing) can tell people without calling up into another app;
the daily digest is governance.digest, the one-message-per-series/import senders composer.notifications.

Messages go out after the transaction commits (transaction.on_commit), one message per person, through
Django's email settings (the console backend in `make run`). Each links to the post (settings.SITE_URL).
A failure to send is logged and never undoes or breaks the action that caused it.

Each message is written in its recipient's language (people.PersonalSettings, else the site's default):
subjects are given as functions, called with that language active, as the template is rendered.

An action on a whole recurring series, or a CSV import, runs inside `notices_gathered()` (through
composer.notifications): the messages its posts would each send are gathered instead of sent, and the
caller sends one message per person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from departments.models import Membership, Role
from people.selectors import supported_language, user_language
from scheduler.approvals import StepProgress, current_step, step_states
from scheduler.models import Delivery, DeliveryStatus, Post, PostApproval

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[CivicPost] "


def post_url(post: Post) -> str:
    return f"{settings.SITE_URL}{reverse('scheduler:post_detail', args=[post.pk])}"


# A subject in the recipient's language: a function called with that language active.
Subject = Callable[[], str]


def _users(ids: Iterable[int]) -> list[Any]:
    """The active users with an address among `ids`, each with `civic_language` (their chosen language or
    None), read in the same query."""
    return list(
        get_user_model()
        .objects.filter(pk__in=set(ids), is_active=True)
        .exclude(email="")
        .annotate(civic_language=F("personal_settings__language"))
        .order_by("pk")
    )


def recipient_language(user: Any) -> str:
    """The language to write to `user` in: the one they chose, else settings.LANGUAGE_CODE."""
    if hasattr(user, "civic_language"):
        return supported_language(user.civic_language) or settings.LANGUAGE_CODE
    return user_language(user=user)


def _author_and_admin_ids(post: Post) -> set[int]:
    admins = Membership.objects.filter(department_id=post.department_id, role=Role.ADMIN).values_list(
        "user_id", flat=True
    )
    return {post.author_id, *admins}


def _name(user: Any) -> str:
    return user.get_full_name() or user.email


def _message(*, subject: Subject, template: str, context: dict[str, Any], user: Any) -> EmailMessage:
    """One message to `user`, subject and body in their language."""
    with translation.override(recipient_language(user)):
        return EmailMessage(
            subject=SUBJECT_PREFIX + subject(),
            body=render_to_string(template, {**context, "recipient": user, "site_url": settings.SITE_URL}),
            to=[user.email],
        )


def _send_after_commit(*, subject: Subject, template: str, context: dict[str, Any], recipients: list[Any]) -> None:
    """Renders one message per recipient now (the rows are as the action left them) and sends them all
    once the transaction commits."""
    _send_messages_after_commit(
        [_message(subject=subject, template=template, context=context, user=user) for user in recipients],
        subject=template,
    )


def _send_messages_after_commit(messages: list[EmailMessage], *, subject: str) -> None:
    if not messages:
        return

    def send() -> None:
        try:
            get_connection().send_messages(messages)
        except Exception:  # noqa: BLE001 - an email problem must never break publishing or approving
            logger.exception("could not send %d notification(s): %s", len(messages), subject)

    transaction.on_commit(send)


def _post_context(post: Post) -> dict[str, Any]:
    return {"post": post, "url": post_url(post), "department": post.department}


# --- Review steps ---------------------------------------------------------------------------------


def notify_post_submitted(*, post: Post) -> None:
    """Tells the approvers of the post's current step that it waits for them."""
    _notify_current_approvers(post=post, kind=SUBMITTED)


def notify_step_waiting(*, post: Post) -> None:
    """After one step is approved: tells the approvers of the next step."""
    _notify_current_approvers(post=post, kind=STEP_WAITING)


def _notify_current_approvers(*, post: Post, kind: str) -> None:
    template = "governance/email/submitted.txt" if kind == SUBMITTED else "governance/email/step_waiting.txt"
    progress = step_states(post)
    step = current_step(progress)
    if step is None:
        return
    recipients = _users(step.approver_ids - set(step.voter_ids))
    if _gathered(_PostNotice(kind=kind, post=post, recipients=recipients, step=step, step_count=len(progress))):
        return
    _send_after_commit(
        subject=lambda: _("Waiting for your approval: %(department)s post") % {"department": post.department.name},
        template=template,
        context={**_post_context(post), "step": step, "step_count": len(progress)},
        recipients=recipients,
    )


def notify_post_approved(*, post: Post, approval: PostApproval) -> None:
    recipients = _users(_author_and_admin_ids(post) - {approval.approved_by_id})
    if _gathered(_PostNotice(kind=APPROVED, post=post, recipients=recipients, approver=_name(approval.approved_by))):
        return
    _send_after_commit(
        subject=lambda: _("Approved: %(department)s post") % {"department": post.department.name},
        template="governance/email/approved.txt",
        context={**_post_context(post), "approval": approval, "approver": _name(approval.approved_by)},
        recipients=recipients,
    )


def notify_changes_requested(*, post: Post, reviewer: Any, comment: str) -> None:
    recipients = _users(_author_and_admin_ids(post) - {reviewer.pk})
    _send_after_commit(
        subject=lambda: _("Changes requested: %(department)s post") % {"department": post.department.name},
        template="governance/email/changes_requested.txt",
        context={**_post_context(post), "reviewer": _name(reviewer), "comment": comment},
        recipients=recipients,
    )


# --- A whole series, or a CSV import, at once (composer.notifications sends what is gathered) -------

SUBMITTED = "submitted"
STEP_WAITING = "step_waiting"
APPROVED = "approved"


@dataclass(frozen=True)
class _PostNotice:
    """What one post's message would have said, held back to be told once for the series or import."""

    kind: str
    post: Post
    recipients: list[Any]
    step: StepProgress | None = None
    step_count: int = 0
    approver: str = ""


_gathering_notices: ContextVar[list[_PostNotice] | None] = ContextVar("gathering_notices", default=None)


def _gathered(notice: _PostNotice) -> bool:
    """Holds the notice back when a series action or an import is gathering them; False when it should go
    out now."""
    notices = _gathering_notices.get()
    if notices is None:
        return False
    if notice.recipients:
        notices.append(notice)
    return True


@contextmanager
def notices_gathered() -> Iterator[list[_PostNotice]]:
    """Within the block, the per-post messages are held back in the list it yields instead of sent."""
    notices: list[_PostNotice] = []
    token = _gathering_notices.set(notices)
    try:
        yield notices
    finally:
        _gathering_notices.reset(token)


# --- Publishing outcomes --------------------------------------------------------------------------

OUTCOME_SUBJECTS: dict[str, Any] = {
    DeliveryStatus.FAILED: gettext_lazy("Publishing failed on %(channel)s"),
    DeliveryStatus.NEEDS_ATTENTION: gettext_lazy("Needs attention on %(channel)s"),
}


def notify_delivery_outcome(delivery: Delivery, *, status: str | None = None, message: str = "") -> None:
    """Tells the author and the department admins that a delivery failed or needs a person to look.
    Called by scheduler.publishing when it records an outcome; other outcomes send nothing."""
    status = status or delivery.status
    if status not in OUTCOME_SUBJECTS:
        return
    post = Post.objects.select_related("department", "author").get(pk=delivery.post_id)
    channel = delivery.channel
    _send_after_commit(
        subject=lambda: str(OUTCOME_SUBJECTS[status]) % {"channel": channel.display_name},
        template="governance/email/delivery_outcome.txt",
        context={
            **_post_context(post),
            "channel": channel,
            "status": status,
            "needs_attention": status == DeliveryStatus.NEEDS_ATTENTION,
            "message": message or delivery.failure_message,
        },
        recipients=_users(_author_and_admin_ids(post)),
    )
