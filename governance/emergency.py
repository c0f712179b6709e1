"""Emergency posts: an authorised official (CityRole.can_post_emergency) publishes now, to channels of any
department, without the approval queue and through any crisis hold.

What `emergency_publish` does, in one transaction:
- one Post per department of the chosen channels (posts stay department-owned, so feeds, scoping and the
  audit trail work as for any post), in the first language given, with the other language versions as the
  composer's language versions (`Post.languages`), so each channel gets every version (or, in a department
  that publishes languages on separate channels, its own language), exactly as for a normal post;
- an EmergencyPost row per post, which marks it "emergency" everywhere and lets it pass a crisis hold;
- the approval snapshot (scheduler.services.post_approval_create) with the official as approver of record,
  due now: the deliveries are ordinary deliveries, sent once by the ordinary dispatcher, which is rung
  right after the commit;
- an EmergencyAlert that waits for the communications manager's review (EmergencyReview);
- optionally the "all clear" follow-up: a normal post per department at a chosen later time, *submitted for
  approval* like any post (the official wrote it, so someone else approves it; a crisis hold still applies
  to it). It is not pre-approved: it is written in a hurry and goes out later, when review is possible.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from governance import rules
from governance.models import EmergencyAlert, EmergencyPost, EmergencyReview, EmergencyTemplate
from scheduler.adapters.registry import adapter_for_channel
from scheduler.content import language_name, target_problems
from scheduler.models import Channel, ChannelStatus, Post
from scheduler.services import post_problems
from scheduler.services.holds import (
    post_emergency_approve,
    post_emergency_create,
    post_follow_up_create,
    post_follow_up_submit,
)
from scheduler.snapshots import approval_content_for, channel_content
from scheduler.tasks import dispatch_due_deliveries

AUDIT_EMERGENCY_PUBLISHED = "emergency.published"
AUDIT_EMERGENCY_REVIEWED = "emergency.reviewed"

# "[area]", "[street]": parts of a template still to be filled in.
PLACEHOLDER = re.compile(r"\[[^\]\n]{1,80}\]")


@dataclass(frozen=True)
class LanguageVersion:
    language: str
    text: str


def _versions(versions: Iterable[LanguageVersion]) -> list[LanguageVersion]:
    cleaned: list[LanguageVersion] = []
    seen: set[str] = set()
    for version in versions:
        text = normalize_text(version.text).strip()
        code = version.language.strip() or "en"
        if not text or code in seen:
            continue
        seen.add(code)
        cleaned.append(LanguageVersion(code, text))
    return cleaned


def _text_problems(versions: list[LanguageVersion]) -> list[str]:
    problems = []
    if not versions:
        problems.append(_("Write the text of the emergency post."))
    for version in versions:
        if PLACEHOLDER.search(version.text):
            problems.append(
                _("The %(language)s text still has parts in [brackets] to fill in.")
                % {"language": language_name(version.language)}
            )
    return problems


def _post_fields(versions: list[LanguageVersion]) -> dict[str, object]:
    main, others = versions[0], versions[1:]
    return {
        "text": main.text,
        "language": main.language,
        # The official wrote (or checked) every version: they are reviewed by them.
        "languages": {v.language: {"text": v.text, "reviewed": True} for v in others},
    }


def _channel_problems(post: Post, channels: list[Channel]) -> list[str]:
    """Why the post cannot go to these channels: a disconnected channel, a platform's own rules (length,
    ...) for each language version, a language channel without its version."""
    content = approval_content_for(post)
    problems: list[str] = []
    for channel in channels:
        if channel.status != ChannelStatus.CONNECTED:
            problems.append(
                _("%(channel)s needs to be reconnected by a department admin.") % {"channel": channel.display_name}
            )
            continue
        adapter = adapter_for_channel(channel)
        for language in [content.get("language", "en"), *sorted(content.get("languages", {}))]:
            for problem in adapter.validate(channel_content(content, channel, language)):
                problems.append(f"{channel.display_name} ({language_name(language)}): {problem.message}")
    problems.extend(target_problems(content=content, channels=channels, publishing=post.department.language_publishing))
    return problems


def _by_department(channels: Iterable[Channel]) -> dict[int, list[Channel]]:
    groups: dict[int, list[Channel]] = defaultdict(list)
    for channel in sorted(channels, key=lambda c: (c.department.name, c.display_name, c.pk)):
        groups[channel.department_id].append(channel)
    return groups


@transaction.atomic
def emergency_publish(
    *,
    user: User,
    channels: Iterable[Channel],
    versions: Iterable[LanguageVersion],
    link: str = "",
    template: EmergencyTemplate | None = None,
    follow_up_versions: Iterable[LanguageVersion] = (),
    follow_up_at: dt.datetime | None = None,
) -> EmergencyAlert:
    """Publishes an emergency post now to `channels` (any departments) and returns its alert.

    Raises ApplicationError (with extra["problems"]) when the person is not an authorised official, no
    channel or text is given, a template's [bracketed] parts are left, a channel is disconnected or a
    platform refuses the text; nothing is written then."""
    if not rules.can_post_emergency(user):
        raise ApplicationError(_("Only authorised officials can publish emergency posts."))
    channels = list(Channel.objects.filter(pk__in=[c.pk for c in channels]).select_related("department"))
    link = normalize_text(link, single_line=True)
    versions = _versions(versions)
    problems = _text_problems(versions)
    if not channels:
        problems.append(_("Choose at least one channel."))
    follow_ups = _versions(follow_up_versions)
    now = timezone.now()
    if follow_ups and (follow_up_at is None or follow_up_at <= now):
        problems.append(_("Choose a time in the future for the “all clear” follow-up."))
    if problems:
        raise ApplicationError(" ".join(problems), extra={"problems": problems})

    alert = EmergencyAlert.objects.create(
        title=(template.name if template else versions[0].text[:80]),
        template=template,
        created_by=user,
        created_at=now,
    )
    comment = _("Emergency post by an authorised official: published at once, reviewed afterwards.")
    posts: list[Post] = []
    for department_channels in _by_department(channels).values():
        department = department_channels[0].department
        post = post_emergency_create(
            user=user,
            department=department,
            channels=department_channels,
            link=link,
            now=now,
            fields=_post_fields(versions),
        )
        problems.extend(_channel_problems(post, department_channels))
        if problems:
            continue
        EmergencyPost.objects.create(alert=alert, post=post, language=post.language)
        post_emergency_approve(post=post, user=user, comment=comment, now=now)
        audit_record(
            action=AUDIT_EMERGENCY_PUBLISHED,
            actor=user,
            department_id=department.pk,
            target=post,
            changes={"alert": alert.pk, "channels": [c.pk for c in department_channels]},
            message=alert.title,
        )
        posts.append(post)
    if problems:
        # Nothing may be half-published: the whole transaction is undone.
        raise ApplicationError(" ".join(problems), extra={"problems": problems})

    if follow_ups and follow_up_at is not None:  # checked above: follow-ups need a time
        for department_channels in _by_department(channels).values():
            department = department_channels[0].department
            follow_up = post_follow_up_create(
                user=user,
                department=department,
                channels=department_channels,
                link=link,
                due_at=follow_up_at,
                fields=_post_fields(follow_ups),
            )
            follow_up_problems = post_problems(post=follow_up, now=now)
            if follow_up_problems:
                raise ApplicationError(
                    _("The “all clear” follow-up: %(problems)s") % {"problems": " ".join(follow_up_problems)},
                    extra={"problems": follow_up_problems},
                )
            post_follow_up_submit(post=follow_up, user=user, now=now)
            alert.follow_up_posts.add(follow_up)

    transaction.on_commit(_ring_dispatcher)
    return alert


def _ring_dispatcher() -> None:
    """Asks the dispatcher to run now rather than at its next tick. Losing this message only costs the
    wait until that tick: the deliveries are in the database, due now."""
    try:
        dispatch_due_deliveries.delay()
    except Exception:  # noqa: BLE001 - the dispatcher's own schedule picks them up
        logging.getLogger(__name__).exception("could not ring the dispatcher for an emergency post")


@transaction.atomic
def emergency_review(*, alert: EmergencyAlert, user: User, notes: str = "") -> EmergencyReview:
    """Records the communications manager's review of an emergency publication. Raises ApplicationError
    when the person may not review or it was reviewed already."""
    if not rules.can_review_emergency(user):
        raise ApplicationError(_("Only a communications manager reviews emergency posts."))
    alert = EmergencyAlert.objects.select_for_update().get(pk=alert.pk)
    if EmergencyReview.objects.filter(alert=alert).exists():
        raise ApplicationError(_("This emergency post has already been reviewed."))
    review = EmergencyReview.objects.create(alert=alert, reviewed_by=user, notes=normalize_text(notes).strip())
    audit_record(
        action=AUDIT_EMERGENCY_REVIEWED,
        actor=user,
        target=alert,
        changes={"posts": list(alert.posts.values_list("post_id", flat=True))},
        message=notes.strip(),
    )
    return review
