"""Writes of posting slots, the queue and evergreen posts. Every post time is set through scheduler's own
service (post_reschedule), every repetition is made and submitted through scheduler's post services: the
approval rules and the exactly-once delivery path are the scheduler's, unchanged.

Approval of a repetition (the rule, also in the README): an evergreen repetition is a new post, written by
the person who marked the post evergreen, with the same content, submitted for approval under the
department's approval policy like any other post. Nothing is approved automatically: until an approver
approves it, no delivery exists and nothing can go out; when it is approved it gets its deliveries (with
their idempotency keys) and the dispatcher sends each once, like every post.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicpost.exceptions import ApplicationError
from departments.models import Department
from departments.selectors import user_can_edit_for, user_is_department_admin
from postqueue.models import EvergreenPost, PostingSlot, QueueEntry
from postqueue.occurrences import slot_instants
from postqueue.selectors import occupied_instants, queue_entries
from scheduler.calendar_services import post_reschedule
from scheduler.models import Channel, ChannelStatus, Post, PostStatus
from scheduler.services import post_create, post_submit

logger = logging.getLogger(__name__)

QUEUEABLE_STATUSES = (PostStatus.SUBMITTED, PostStatus.APPROVED)
# How far ahead "add to queue" looks for a free slot.
SEARCH_DAYS = 8 * 7
# Slots closer than this are not offered: approvers need time, and the dispatcher a round.
LEAD = dt.timedelta(minutes=15)
# Blackouts refused in a row before giving up (each try is a savepoint).
MAX_TRIES = 20


@dataclass(frozen=True)
class FreeSlot:
    due_at: dt.datetime
    slot: PostingSlot


# --- Slots --------------------------------------------------------------------------------------------


def posting_slot_create(
    *, user: User, department: Department, channel: Channel, weekday: int, local_time: dt.time
) -> PostingSlot:
    """Adds a weekly slot. Raises ApplicationError unless `user` administers the department, the channel is
    the department's, or when the same slot exists."""
    if not user_is_department_admin(user=user, department_id=department.pk):
        raise ApplicationError(_("Only the department's admins can change its posting slots."))
    if channel.department_id != department.pk:
        raise ApplicationError(_("Choose one of the department's channels."))
    local_time = local_time.replace(second=0, microsecond=0)
    if PostingSlot.objects.filter(channel=channel, weekday=weekday, local_time=local_time).exists():
        raise ApplicationError(_("That slot exists already."))
    return PostingSlot.objects.create(
        department=department, channel=channel, weekday=weekday, local_time=local_time, created_by=user
    )


def posting_slot_delete(*, user: User, slot: PostingSlot) -> None:
    """Removes a slot (posts already placed in it keep their time). Raises ApplicationError unless `user`
    administers the slot's department."""
    if not user_is_department_admin(user=user, department_id=slot.department_id):
        raise ApplicationError(_("Only the department's admins can change its posting slots."))
    slot.delete()


# --- Finding a free slot ----------------------------------------------------------------------------


def free_slots(
    *, post: Post, after: dt.datetime, days: int = SEARCH_DAYS, channels: list[Channel] | None = None
) -> list[FreeSlot]:
    """Returns the free slots for `post`, earliest first, after `after` (exclusive) and within `days`.

    A slot fits when its channel is one of the post's (or of `channels`); it is free when no other post of the
    department that is still to go out (or went out) uses that channel at that instant. Two queries."""
    department = post.department
    channel_ids = {c.pk for c in (channels if channels is not None else post.channels.all())}
    slots = [
        s
        for s in PostingSlot.objects.filter(department=department, channel_id__in=channel_ids).select_related("channel")
        if s.channel.status == ChannelStatus.CONNECTED
    ]
    if not slots:
        return []
    end = after + dt.timedelta(days=days)
    taken = occupied_instants(department=department, start=after, end=end, exclude_post_id=post.pk)
    return [
        FreeSlot(due_at=instant, slot=slot)
        for instant, slot in slot_instants(slots, zone=department.zone, start=after, end=end)
        if (slot.channel_id, instant) not in taken
    ]


def next_free_slot(*, post: Post, after: dt.datetime | None = None) -> FreeSlot | None:
    """The earliest free slot for `post` (see free_slots), or None."""
    found = free_slots(post=post, after=after or timezone.now() + LEAD)
    return found[0] if found else None


# --- The queue ----------------------------------------------------------------------------------------


def _place(*, post: Post, user: User, candidates: list[FreeSlot]) -> FreeSlot:
    """Moves `post` into the first candidate that post_reschedule accepts (a blackout refuses a slot: the
    next one is tried). Raises ApplicationError when none does."""
    refusals: list[str] = []
    for candidate in candidates[:MAX_TRIES]:
        try:
            with transaction.atomic():
                post_reschedule(post=post, user=user, due_at=candidate.due_at)
        except ApplicationError as error:
            refusals.append(error.message)
            if not error.extra.get("blackouts"):
                raise
            continue
        return candidate
    raise ApplicationError(
        " ".join([_("No free posting slot could take this post."), *refusals[:1]]),
    )


@transaction.atomic
def queue_add(*, post: Post, user: User) -> QueueEntry:
    """Puts a post waiting for approval or approved into its next free posting slot, through the scheduler's
    post_reschedule (so moving an approved post follows the approval rules of any move), and records it in
    the department's queue. Returns the entry.

    Raises ApplicationError when `user` may not edit the post, the post is not waiting for approval or
    approved, or no free slot exists in the next eight weeks."""
    post = Post.objects.select_for_update().select_related("department").get(pk=post.pk)
    if not user_can_edit_for(user=user, department_id=post.department_id):
        raise ApplicationError(
            _("Only members of %(department)s can queue this post.") % {"department": post.department}
        )
    if post.status not in QUEUEABLE_STATUSES:
        raise ApplicationError(_("Only posts waiting for approval or approved can be added to the queue."))
    candidates = free_slots(post=post, after=timezone.now() + LEAD)
    if not candidates:
        raise ApplicationError(
            _("No free posting slot for this post's channels in the next eight weeks. Ask an admin to add slots.")
        )
    placed = _place(post=post, user=user, candidates=candidates)
    entry, _created = QueueEntry.objects.update_or_create(
        post=post, defaults={"department": post.department, "slot": placed.slot, "added_by": user}
    )
    return entry


@transaction.atomic
def queue_move(*, entry: QueueEntry, user: User, offset: int) -> int:
    """Moves a waiting entry up (-1) or down (+1) in its department's queue: the post and its neighbour
    exchange their times, each through post_reschedule. Returns the entry's new position (1-based).

    Raises ApplicationError when `user` may not edit the department's posts or there is no neighbour."""
    if offset not in (-1, 1):
        raise ApplicationError(_("Move one place up or down."))
    if not user_can_edit_for(user=user, department_id=entry.department_id):
        raise ApplicationError(_("Only members of the department can reorder its queue."))
    entries = list(queue_entries(department_id=entry.department_id))
    index = next((i for i, e in enumerate(entries) if e.pk == entry.pk), None)
    if index is None:
        raise ApplicationError(_("This post is no longer waiting in the queue."))
    other_index = index + offset
    if not 0 <= other_index < len(entries):
        raise ApplicationError(_("This post is already at that end of the queue."))
    mine, theirs = entries[index], entries[other_index]
    my_time, their_time = mine.post.due_at, theirs.post.due_at
    post_reschedule(post=mine.post, user=user, due_at=their_time)
    post_reschedule(post=theirs.post, user=user, due_at=my_time)
    QueueEntry.objects.filter(pk=mine.pk).update(slot=theirs.slot)
    QueueEntry.objects.filter(pk=theirs.pk).update(slot=mine.slot)
    return other_index + 1


# --- Evergreen posts -------------------------------------------------------------------------------


def evergreen_mark(*, post: Post, user: User, min_interval_days: int) -> EvergreenPost:
    """Marks an approved or published post to repeat in free slots, at least `min_interval_days` apart (or
    changes the interval). Raises ApplicationError when `user` may not edit the department's posts, the post
    was never approved, or the interval is outside 1-365 days."""
    if not user_can_edit_for(user=user, department_id=post.department_id):
        raise ApplicationError(_("Only members of the department can make its posts repeat."))
    if post.status not in (PostStatus.APPROVED, PostStatus.PUBLISHED):
        raise ApplicationError(_("Only an approved or published post can repeat."))
    if not 1 <= min_interval_days <= 365:
        raise ApplicationError(_("Choose between 1 and 365 days."))
    evergreen, created = EvergreenPost.objects.get_or_create(
        post=post,
        defaults={
            "department_id": post.department_id,
            "min_interval_days": min_interval_days,
            "marked_by": user,
            "last_scheduled_at": post.due_at,
        },
    )
    if not created:
        evergreen.min_interval_days = min_interval_days
        evergreen.is_active = True
        evergreen.marked_by = user
        evergreen.failure_message = ""
        evergreen.save(update_fields=["min_interval_days", "is_active", "marked_by", "failure_message", "updated_at"])
    return evergreen


def evergreen_stop(*, evergreen: EvergreenPost, user: User) -> None:
    """Stops the repetitions (those already made stay, each with its own approval)."""
    if not user_can_edit_for(user=user, department_id=evergreen.department_id):
        raise ApplicationError(_("Only members of the department can make its posts repeat."))
    evergreen.is_active = False
    evergreen.save(update_fields=["is_active", "updated_at"])


def _repetition_create(*, evergreen: EvergreenPost, due_at: dt.datetime, slot: PostingSlot) -> Post:
    source = evergreen.post
    author = evergreen.marked_by
    if not user_can_edit_for(user=author, department_id=evergreen.department_id):
        raise ApplicationError(
            _("%(name)s, who made this post repeat, is no longer a member of the department.")
            % {"name": author.get_full_name() or author.email}
        )
    channels = [c for c in source.channels.all() if c.status == ChannelStatus.CONNECTED]
    post = post_create(
        author=author,
        department=source.department,
        text=source.text,
        link=source.link,
        channels=channels,
        due_at=due_at,
        language=source.language,
        channel_text=dict(source.channel_text),
        languages=dict(source.languages),
        media=[(item.asset, item.alt_text) for item in source.media_items.order_by("position")],
        thread_parts=list(source.thread_parts),
        first_comment=source.first_comment,
    )
    post = post_submit(post=post, user=author)
    QueueEntry.objects.create(post=post, department_id=evergreen.department_id, slot=slot, repeats=evergreen)
    return post


def evergreen_fill(*, now: dt.datetime | None = None) -> list[int]:
    """The periodic job: for each active evergreen post whose interval has passed by a free slot within the
    next `CIVICPOST_EVERGREEN_HORIZON_DAYS`, makes one repetition in that slot and submits it for approval
    (module docstring). Returns the new posts' ids.

    Exactly once per slot: each evergreen row is locked (SKIP LOCKED: a second runner passes it by) and its
    `last_scheduled_at` moves to the repetition's time in the same transaction, so a second run finds the
    interval not yet passed. A refusal (a blackout, a channel gone, the author no longer a member) creates
    nothing and is kept in `failure_message` for the department to see."""
    now = now or timezone.now()
    horizon = dt.timedelta(days=settings.CIVICPOST_EVERGREEN_HORIZON_DAYS)
    made: list[int] = []
    ids = list(EvergreenPost.objects.filter(is_active=True).values_list("pk", flat=True))
    for evergreen_id in ids:
        with transaction.atomic():
            evergreen = (
                EvergreenPost.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("post__department", "marked_by")
                .filter(pk=evergreen_id, is_active=True)
                .first()
            )
            if evergreen is None:
                continue
            earliest = max(now + LEAD, evergreen.last_scheduled_at + dt.timedelta(days=evergreen.min_interval_days))
            if earliest > now + horizon:
                continue
            days = max(1, (now + horizon - earliest).days + 1)
            candidates = [
                c
                for c in free_slots(post=evergreen.post, after=earliest - dt.timedelta(seconds=1), days=days)
                if c.due_at <= now + horizon
            ]
            if not candidates:
                continue
            chosen = candidates[0]
            try:
                with transaction.atomic():
                    post = _repetition_create(evergreen=evergreen, due_at=chosen.due_at, slot=chosen.slot)
            except ApplicationError as error:
                evergreen.failure_message = error.message
                evergreen.save(update_fields=["failure_message", "updated_at"])
                logger.info("evergreen %s: no repetition: %s", evergreen.pk, error.message)
                continue
            evergreen.last_scheduled_at = chosen.due_at
            evergreen.failure_message = ""
            evergreen.save(update_fields=["last_scheduled_at", "failure_message", "updated_at"])
            made.append(post.pk)
    return made
