"""Recurring posts: occurrences in local wall time, and the services that make and approve a series.

How a time is computed: the series stores a local date and wall-clock time plus the department's IANA zone.
dateutil.rrule steps through the dates in *naive local time* (so "every Monday at 18:00" stays 18:00 on
both sides of a daylight-saving change), then each wall time is turned into an instant with zoneinfo:
- a time that does not exist (the spring-forward gap, e.g. 2:30 AM on 2026-03-08 in Chicago) is moved
  forward to the first instant that exists after the gap (3:00 AM CDT), and marked as moved;
- a time that happens twice (the fall-back fold, e.g. 1:30 AM on 2026-11-01 in Chicago) takes the first
  of the two (fold=0, 1:30 AM CDT), and is marked so.
Monthly series on the 29th-31st skip the months without that day (RFC 5545, as rrule does).

Approval: the department chooses (Department.series_approval). "occurrence": each post is approved on
its own, like any post. "series": one approver decision counts for every submitted post of the series at
once, each through the normal post_approve and the department's approval policy (series_approve).
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from dateutil.rrule import MONTHLY, WEEKLY, rrule
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from composer.models import Adjustment, Frequency, RecurringSeries, SeriesPost
from composer.notifications import notifications_for_series
from departments.models import Department, SeriesApproval
from departments.selectors import user_can_approve_for, user_can_edit_for
from scheduler.approvals import posts_user_can_approve_now
from scheduler.blackouts import BlackoutRefused, blackouts_between, blackouts_covering, blackouts_in_words
from scheduler.forms import LocalTime, classify_local_time
from scheduler.models import Channel, PostStatus
from scheduler.rules import approval_refusal
from scheduler.services import post_approve, post_create, post_submit

MAX_OCCURRENCES = 104  # two years of weekly posts


@dataclass(frozen=True)
class Occurrence:
    local: dt.datetime  # the wall time asked for (naive)
    due_at: dt.datetime  # the instant, in UTC
    adjustment: str

    def shown(self, zone: zoneinfo.ZoneInfo) -> dt.datetime:
        return self.due_at.astimezone(zone)


def _first_instant_after_gap(naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """Returns the first existing instant after a wall time that falls in a gap (UTC)."""
    # With fold=1 the gap time is read with the offset after the change (an instant before the change),
    # with fold=0 with the offset before it (an instant after): the change lies between the two.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    high = naive.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    if low > high:
        low, high = high, low
    after = high.astimezone(zone).utcoffset()
    while (high - low) > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def localise(naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, str]:
    """Returns (instant in UTC, adjustment) for a local wall time in a zone."""
    kind = classify_local_time(naive, zone)
    if kind is LocalTime.MISSING:
        return _first_instant_after_gap(naive, zone), Adjustment.MOVED_FORWARD
    if kind is LocalTime.AMBIGUOUS:
        return naive.replace(tzinfo=zone, fold=0).astimezone(dt.UTC), Adjustment.FIRST_OF_TWO
    return naive.replace(tzinfo=zone).astimezone(dt.UTC), Adjustment.NONE


def occurrences(
    *,
    start_date: dt.date,
    local_time: dt.time,
    zone: zoneinfo.ZoneInfo,
    frequency: str,
    interval: int = 1,
    until: dt.date | None = None,
    count: int | None = None,
) -> list[Occurrence]:
    """Returns every occurrence (at most MAX_OCCURRENCES), stepping in local wall time."""
    if until is None and count is None:
        raise ApplicationError(_("Say when the series ends: an end date or a number of posts."))
    limit = min(count or MAX_OCCURRENCES, MAX_OCCURRENCES)
    # RFC 5545 (and dateutil) take an end date or a count, not both: with both, the count only caps.
    rule = rrule(
        MONTHLY if frequency == Frequency.MONTHLY else WEEKLY,
        dtstart=dt.datetime.combine(start_date, local_time),
        interval=max(1, interval),
        until=dt.datetime.combine(until, dt.time.max) if until else None,
        count=None if until else limit,
    )
    result = []
    for naive in itertools.islice(rule, limit):
        due_at, adjustment = localise(naive, zone)
        result.append(Occurrence(local=naive, due_at=due_at, adjustment=adjustment))
    return result


@transaction.atomic
def series_create(
    *,
    user: User,
    department: Department,
    text: str,
    link: str,
    channels: Iterable[Channel],
    frequency: str,
    interval: int,
    start_date: dt.date,
    local_time: dt.time,
    until: dt.date | None,
    count: int | None,
    submit: bool = False,
) -> RecurringSeries:
    """Makes the series and one draft post per occurrence (submitted too with `submit`). All or nothing:
    raises ApplicationError (with every problem) and saves nothing when one post cannot be made."""
    if not user_can_edit_for(user=user, department_id=department.pk):
        raise ApplicationError(_("You are not a member of %(department)s.") % {"department": department})
    if count is not None and count > MAX_OCCURRENCES:
        raise ApplicationError(_("A series has at most %(max)s posts.") % {"max": MAX_OCCURRENCES})
    if until is not None and until < start_date:
        raise ApplicationError(_("The end date is before the first date."))
    zone = department.zone
    planned = occurrences(
        start_date=start_date,
        local_time=local_time,
        zone=zone,
        frequency=frequency,
        interval=interval,
        until=until,
        count=count,
    )
    if not planned:
        raise ApplicationError(_("No date falls between the first date and the end date."))
    if planned[0].due_at <= timezone.now():
        raise ApplicationError(_("The first post would be in the past. Choose a later first date or time."))
    channels = list(channels)
    text, link = normalize_text(text), normalize_text(link, single_line=True)
    series = RecurringSeries.objects.create(
        department=department,
        created_by=user,
        text=text,
        link=link,
        frequency=frequency,
        interval=max(1, interval),
        start_date=start_date,
        local_time=local_time,
        time_zone=department.time_zone,
        until=until,
        count=count,
        approval_mode=department.series_approval,
    )
    problems: list[str] = []
    # Submitted together: each approver is told once about the series, not once per post.
    with notifications_for_series(series=series):
        for sequence, occurrence in enumerate(planned, start=1):
            post = post_create(
                author=user, department=department, text=text, link=link, channels=channels, due_at=occurrence.due_at
            )
            SeriesPost.objects.create(
                series=series,
                post=post,
                sequence=sequence,
                local_date=occurrence.local.date(),
                adjustment=occurrence.adjustment,
            )
            if submit:
                try:
                    post_submit(post=post, user=user)
                except ApplicationError as error:
                    problems.extend(p for p in error.extra.get("problems", [error.message]) if p not in problems)
        if problems:
            raise ApplicationError(" ".join(problems), extra={"problems": problems})
    return series


def occurrence_blackouts(*, department: Department, due_ats: list[dt.datetime]) -> list[str]:
    """For each time of a series, the blackouts it falls in, in words ("" for none); one query. Drafts may
    be made there, but a post inside a blackout is submitted only with an approver's reason
    (scheduler/blackouts.py)."""
    if not due_ats:
        return []
    blackouts = blackouts_between(start=min(due_ats), end=max(due_ats))
    return [
        blackouts_in_words(blackouts_covering(blackouts, department_id=department.pk, when=due_at), department.zone)
        for due_at in due_ats
    ]


@transaction.atomic
def series_submit(*, series: RecurringSeries, user: User) -> int:
    """Submits every draft of the series. Returns how many; raises ApplicationError (nothing submitted)
    with the problems of every post, such as each one whose time is inside a blackout."""
    count = 0
    problems: list[str] = []
    with notifications_for_series(series=series):
        for link in series.occurrences.select_related("post").order_by("sequence"):
            if link.post.status in (PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED):
                try:
                    post_submit(post=link.post, user=user)
                except ApplicationError as error:
                    problems.extend(p for p in error.extra.get("problems", [error.message]) if p not in problems)
                count += 1
        if problems:
            raise ApplicationError(" ".join(problems), extra={"problems": problems})
    return count


@transaction.atomic
def series_approve(
    *, series: RecurringSeries, user: User, comment: str = "", blackout_override_reason: str = ""
) -> int:
    """Records `user`'s approval on every submitted post of a series approved as a whole, each through
    post_approve: a vote at the post's current step of the department's approval policy, tied to that
    post's content hash and round of review, like approving the posts one by one. A vote per post, not one
    for the series: each post has its own content (its time), its own version and its own edits.

    Returns how many posts are now fully approved (with a multi-step policy, the others wait for the next
    step). All or nothing: raises ApplicationError, and records no vote, when the person may not approve one
    of them at its current step (their own series, a step that names someone else, a step they already
    approved, a post edited on its own that waits at another step), saying which posts and why."""
    if series.approval_mode != SeriesApproval.SERIES:
        raise ApplicationError(_("This department approves each post of a series on its own."))
    if not user_can_approve_for(user=user, department_id=series.department_id):
        raise ApplicationError(_("You cannot approve posts of %(department)s.") % {"department": series.department})
    waiting = [
        link
        for link in series.occurrences.select_related("post__department").order_by("sequence")
        if link.post.status == PostStatus.SUBMITTED
    ]
    if not waiting:
        raise ApplicationError(_("No post of this series is waiting for approval."))
    approvable = {post.pk for post in posts_user_can_approve_now(user=user, posts=[link.post for link in waiting])}
    refusals = {link.sequence: approval_refusal(user, link.post) for link in waiting if link.post.pk not in approvable}
    if refusals:
        if len(refusals) == len(waiting) and len(set(refusals.values())) == 1:
            raise ApplicationError(next(iter(refusals.values())))
        zone = series.department.zone
        problems = [
            _("Post %(number)s (%(when)s): %(reason)s")
            % {"number": link.sequence, "when": f"{link.post.due_at.astimezone(zone):%Y-%m-%d %H:%M}", "reason": reason}
            for link in waiting
            if (reason := refusals.get(link.sequence))
        ]
        raise ApplicationError(
            " ".join([_("Nothing was approved."), *problems]),
            extra={"problems": [_("Nothing was approved."), *problems]},
        )
    # Posts inside a blackout need the approver's reason (one for the series); without it, every such post
    # is named and nothing is approved.
    approved = 0
    inside: list[str] = []
    # One message per person for the series (the next step's approvers, or the author and admins).
    with notifications_for_series(series=series):
        for link in waiting:
            try:
                approval = post_approve(
                    post=link.post, user=user, comment=comment, blackout_override_reason=blackout_override_reason
                )
            except BlackoutRefused as refused:
                inside.append(_("Post %(number)s: %(reason)s") % {"number": link.sequence, "reason": refused.message})
                continue
            approved += approval is not None
        if inside:
            problems = [_("Nothing was approved."), *inside]
            raise BlackoutRefused(" ".join(problems), extra={"problems": problems})
    return approved
