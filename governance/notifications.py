"""Emails about posts: to the approvers whose step waits, to the author and department admins when a post
is approved, sent back, fails or needs attention, and a daily digest of what waits for each approver.

Messages go out after the transaction commits (transaction.on_commit), one message per person, through
Django's email settings (the console backend in `make run`). Each links to the post (settings.SITE_URL).
A failure to send is logged and never undoes or breaks the action that caused it.

An action on a whole recurring series (submitting it, approving it at once) runs inside
`notifications_for_series`: the messages its posts would each send are gathered, and each person gets one
message per kind instead, listing the posts and linking the series page. A CSV import runs inside
`notifications_for_import` the same way: each approver gets one message naming the file.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from departments.models import Department, Role
from governance.approvals import PolicyCache, StepProgress, current_step, step_states
from governance.models import ApprovalDigestLog, ApprovalVote
from scheduler.models import Delivery, DeliveryStatus, Post, PostApproval, PostStatus

if TYPE_CHECKING:
    from composer.models import CsvImport, RecurringSeries

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[CivicPost] "


def post_url(post: Post) -> str:
    return f"{settings.SITE_URL}{reverse('scheduler:post_detail', args=[post.pk])}"


def _users(ids: Iterable[int]) -> list[Any]:
    return list(get_user_model().objects.filter(pk__in=set(ids), is_active=True).exclude(email="").order_by("pk"))


def _author_and_admin_ids(post: Post) -> set[int]:
    from departments.models import Membership

    admins = Membership.objects.filter(department_id=post.department_id, role=Role.ADMIN).values_list(
        "user_id", flat=True
    )
    return {post.author_id, *admins}


def _name(user: Any) -> str:
    return user.get_full_name() or user.email


def _message(*, subject: str, template: str, context: dict[str, Any], user: Any) -> EmailMessage:
    return EmailMessage(
        subject=SUBJECT_PREFIX + subject,
        body=render_to_string(template, {**context, "recipient": user, "site_url": settings.SITE_URL}),
        to=[user.email],
    )


def _send_after_commit(*, subject: str, template: str, context: dict[str, Any], recipients: list[Any]) -> None:
    """Renders one message per recipient now (the rows are as the action left them) and sends them all
    once the transaction commits."""
    _send_messages_after_commit(
        [_message(subject=subject, template=template, context=context, user=user) for user in recipients],
        subject=subject,
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
    subject = _("Waiting for your approval: %(department)s post") % {"department": post.department.name}
    _send_after_commit(
        subject=subject,
        template=template,
        context={**_post_context(post), "step": step, "step_count": len(progress)},
        recipients=recipients,
    )


def notify_post_approved(*, post: Post, approval: PostApproval) -> None:
    recipients = _users(_author_and_admin_ids(post) - {approval.approved_by_id})
    if _gathered(_PostNotice(kind=APPROVED, post=post, recipients=recipients, approver=_name(approval.approved_by))):
        return
    _send_after_commit(
        subject=_("Approved: %(department)s post") % {"department": post.department.name},
        template="governance/email/approved.txt",
        context={**_post_context(post), "approval": approval, "approver": _name(approval.approved_by)},
        recipients=recipients,
    )


def notify_changes_requested(*, post: Post, reviewer: Any, comment: str) -> None:
    recipients = _users(_author_and_admin_ids(post) - {reviewer.pk})
    _send_after_commit(
        subject=_("Changes requested: %(department)s post") % {"department": post.department.name},
        template="governance/email/changes_requested.txt",
        context={**_post_context(post), "reviewer": _name(reviewer), "comment": comment},
        recipients=recipients,
    )


# --- A whole series, or a CSV import, at once ------------------------------------------------------

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
def _notices_gathered() -> Iterator[list[_PostNotice]]:
    """Within the block, the per-post messages are held back in the list it yields instead of sent."""
    notices: list[_PostNotice] = []
    token = _gathering_notices.set(notices)
    try:
        yield notices
    finally:
        _gathering_notices.reset(token)


@contextmanager
def notifications_for_series(*, series: RecurringSeries) -> Iterator[None]:
    """Around an action on every post of `series`: instead of one message per post, each person gets one
    message per kind (waiting for their approval, or approved) that lists the posts and links the series
    page, sent after commit like the others. When the block raises, nothing is sent."""
    with _notices_gathered() as notices:
        yield
    _send_series_notices(series=series, notices=notices)


@contextmanager
def notifications_for_import(*, upload: CsvImport) -> Iterator[None]:
    """Around a CSV import's run: instead of one message per submitted post, each approver gets one message
    that names the file, says how many posts it sent for approval, lists up to IMPORT_LISTED_POSTS of the
    ones waiting for them and links the approval queue; sent after commit. When the block raises, nothing
    is sent. The block ends after `upload.result` is written: only the posts it lists as imported are told
    (a row rolled back after its post was submitted is not)."""
    with _notices_gathered() as notices:
        yield
    _send_import_notices(upload=upload, notices=notices)


def series_url(series: RecurringSeries) -> str:
    return f"{settings.SITE_URL}{reverse('composer:series_detail', args=[series.pk])}"


def _send_series_notices(*, series: RecurringSeries, notices: list[_PostNotice]) -> None:
    if not notices:
        return
    sequence = dict(series.occurrences.values_list("post_id", "sequence"))
    by_person: dict[tuple[str, int], list[_PostNotice]] = defaultdict(list)
    people: dict[int, Any] = {}
    for notice in notices:
        for user in notice.recipients:
            people[user.pk] = user
            by_person[(notice.kind, user.pk)].append(notice)
    department = series.department
    messages = []
    for (kind, user_id), held in sorted(by_person.items(), key=lambda item: item[0]):
        held.sort(key=lambda notice: (sequence.get(notice.post.pk, 0), notice.post.due_at))
        count = len(held)
        steps = {(n.step.number, n.step.name) for n in held if n.step is not None}
        if kind == APPROVED:
            subject = ngettext(
                "Approved: %(count)s post of a %(department)s series",
                "Approved: %(count)s posts of a %(department)s series",
                count,
            )
        else:
            subject = ngettext(
                "Waiting for your approval: %(count)s post of a %(department)s series",
                "Waiting for your approval: %(count)s posts of a %(department)s series",
                count,
            )
        subject %= {"count": count, "department": department.name}
        context = {
            "kind": kind,
            "series": series,
            "series_url": series_url(series),
            "department": department,
            "count": count,
            "rows": [(sequence.get(n.post.pk), n.post, post_url(n.post), n.step) for n in held],
            "step": held[0].step if len(steps) == 1 else None,
            "step_count": held[0].step_count,
            "author": held[0].post.author,
            "approver": held[0].approver,
        }
        template = "governance/email/series_approved.txt" if kind == APPROVED else "governance/email/series_waiting.txt"
        messages.append(_message(subject=subject, template=template, context=context, user=people[user_id]))
    _send_messages_after_commit(messages, subject=f"series {series.pk}")


IMPORT_LISTED_POSTS = 50  # enough to recognise the file; the approval queue has every one


def approval_queue_url() -> str:
    return f"{settings.SITE_URL}{reverse('scheduler:approval_queue')}"


def _one_line(text: str, length: int = 60) -> str:
    return Truncator(" ".join(text.split())).chars(length)


def _send_import_notices(*, upload: CsvImport, notices: list[_PostNotice]) -> None:
    """An import only submits posts, so each notice says a post waits at its first step for its approvers."""
    result = upload.result or {}
    imported = set(result.get("post_ids", []))
    notices = [notice for notice in notices if notice.post.pk in imported]
    if not notices:
        return
    submitted = result.get("submitted", len({notice.post.pk for notice in notices}))
    file_name = upload.file_name or _("a CSV file")
    departments = Department.objects.in_bulk({notice.post.department_id for notice in notices})
    by_person: dict[int, list[_PostNotice]] = defaultdict(list)
    people: dict[int, Any] = {}
    for notice in notices:
        for user in notice.recipients:
            people[user.pk] = user
            by_person[user.pk].append(notice)
    messages = []
    for user_id, held in sorted(by_person.items()):
        held.sort(key=lambda notice: (notice.post.due_at, notice.post.pk))
        count = len(held)
        steps = {(n.post.department_id, n.step.number, n.step_count) for n in held if n.step is not None}
        subject = ngettext(
            "Waiting for your approval: %(count)s post imported from %(file)s",
            "Waiting for your approval: %(count)s posts imported from %(file)s",
            count,
        ) % {"count": count, "file": file_name}
        context = {
            "file_name": file_name,
            "author": upload.uploaded_by,
            "submitted": submitted,
            "count": count,
            "rows": [
                (
                    n.post,
                    departments[n.post.department_id],
                    _one_line(n.post.text),
                    post_url(n.post),
                    n.step,
                    n.step_count,
                )
                for n in held[:IMPORT_LISTED_POSTS]
            ],
            "more": max(0, count - IMPORT_LISTED_POSTS),
            "several_departments": len({n.post.department_id for n in held}) > 1,
            "step": held[0].step if len(steps) == 1 else None,
            "step_count": held[0].step_count,
            "queue_url": approval_queue_url(),
        }
        messages.append(
            _message(
                subject=subject, template="governance/email/import_waiting.txt", context=context, user=people[user_id]
            )
        )
    _send_messages_after_commit(messages, subject=f"CSV import {upload.pk}")


# --- Publishing outcomes --------------------------------------------------------------------------

OUTCOME_SUBJECTS: dict[str, str] = {
    DeliveryStatus.FAILED: "Publishing failed on %(channel)s",
    DeliveryStatus.NEEDS_ATTENTION: "Needs attention on %(channel)s",
}


def notify_delivery_outcome(delivery: Delivery, *, status: str | None = None, message: str = "") -> None:
    """Tells the author and the department admins that a delivery failed or needs a person to look.
    Called by scheduler.publishing when it records an outcome; other outcomes send nothing."""
    status = status or delivery.status
    if status not in OUTCOME_SUBJECTS:
        return
    post = Post.objects.select_related("department", "author").get(pk=delivery.post_id)
    channel = delivery.channel
    subject = _(OUTCOME_SUBJECTS[status]) % {"channel": channel.display_name}
    _send_after_commit(
        subject=subject,
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


# --- Daily digest ---------------------------------------------------------------------------------


def posts_waiting_by_approver() -> dict[int, list[Post]]:
    """Returns {user id: [posts waiting at a step they may approve]} over every submitted post."""
    posts = list(
        Post.objects.filter(status=PostStatus.SUBMITTED).select_related("department", "author").order_by("due_at", "id")
    )
    cache = PolicyCache()
    cache.preload({p.department_id for p in posts})
    cache.preload_rounds(p.pk for p in posts)
    votes: dict[int, list[ApprovalVote]] = defaultdict(list)
    for vote in ApprovalVote.objects.filter(post_id__in=[p.pk for p in posts]):
        votes[vote.post_id].append(vote)
    waiting: dict[int, list[Post]] = defaultdict(list)
    for post in posts:
        step = current_step(step_states(post, votes=votes.get(post.pk, []), cache=cache))
        if step is None:
            continue
        for user_id in step.approver_ids - set(step.voter_ids):
            waiting[user_id].append(post)
    return waiting


def approval_digest_send(*, day: dt.date | None = None, force: bool = False) -> int:
    """Emails each approver the list of posts waiting for them, once per person per day (a second run the
    same day, as from a second beat process, sends nothing unless `force`). Returns the emails sent."""
    day = day or timezone.localdate()
    waiting = posts_waiting_by_approver()
    sent = 0
    for user in _users(waiting):
        posts = waiting[user.pk]
        with transaction.atomic():
            if force:
                ApprovalDigestLog.objects.filter(user=user, day=day).delete()
            try:
                with transaction.atomic():
                    ApprovalDigestLog.objects.create(user=user, day=day, post_count=len(posts))
            except IntegrityError:
                continue
            _send_after_commit(
                subject=_("%(count)s post(s) waiting for your approval") % {"count": len(posts)},
                template="governance/email/digest.txt",
                context={"posts": [(post, post_url(post)) for post in posts], "day": day},
                recipients=[user],
            )
        sent += 1
    return sent


def digest_due(*, now: dt.datetime | None = None) -> bool:
    """Whether the daily digest should go out now: from settings.CIVICPOST_DIGEST_HOUR on, in
    settings.CIVICPOST_DIGEST_TIME_ZONE."""
    import zoneinfo

    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(settings.CIVICPOST_DIGEST_TIME_ZONE)
    return now.astimezone(zone).hour >= settings.CIVICPOST_DIGEST_HOUR


def digest_day(*, now: dt.datetime | None = None) -> dt.date:
    import zoneinfo

    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(settings.CIVICPOST_DIGEST_TIME_ZONE)
    return now.astimezone(zone).date()
