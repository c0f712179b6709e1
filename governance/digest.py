"""The daily digest: each approver gets one email a day listing the posts waiting for them (once per
person per day, even when two beat processes ask: ApprovalDigestLog)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import ngettext

from governance.models import ApprovalDigestLog
from scheduler.approvals import PolicyCache, current_step, step_states
from scheduler.models import ApprovalVote, Post, PostStatus
from scheduler.notifications import _send_after_commit, _users, post_url


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

            def subject(count: int = len(posts)) -> str:
                return ngettext(
                    "%(count)s post waiting for your approval", "%(count)s posts waiting for your approval", count
                ) % {"count": count}

            _send_after_commit(
                subject=subject,
                template="governance/email/digest.txt",
                context={"posts": [(post, post_url(post)) for post in posts], "day": day},
                recipients=[user],
            )
        sent += 1
    return sent


def digest_due(*, now: dt.datetime | None = None) -> bool:
    """Whether the daily digest should go out now: from settings.CIVICPOST_DIGEST_HOUR on, in
    settings.CIVICPOST_DIGEST_TIME_ZONE."""
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(settings.CIVICPOST_DIGEST_TIME_ZONE)
    return now.astimezone(zone).hour >= settings.CIVICPOST_DIGEST_HOUR


def digest_day(*, now: dt.datetime | None = None) -> dt.date:
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(settings.CIVICPOST_DIGEST_TIME_ZONE)
    return now.astimezone(zone).date()
