"""Posting slots, "add to queue", reordering and evergreen repetitions, through the real services.

Personas (tests/governance/city.py): Alice (Parks editor), Bob and Quinn (Parks approvers), Pat (Parks admin),
Carol (Library editor). The clock is frozen on Monday 2026-06-01 12:00 UTC (7:00 AM CDT in Parks' zone)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from civicpost.exceptions import ApplicationError
from postqueue.models import EvergreenPost, PostingSlot, QueueEntry
from postqueue.services import (
    evergreen_fill,
    evergreen_mark,
    next_free_slot,
    posting_slot_create,
    queue_add,
    queue_move,
)
from scheduler import services
from scheduler.models import BlackoutPeriod, Delivery, Post, PostStatus
from tests.governance.city import City, city  # noqa: F401 - the fixture
from tests.scheduler import approved_post, draft_post, submitted_post

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # Monday
TUE_10 = dt.datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # Tuesday 10:00 CDT
THU_10 = dt.datetime(2026, 6, 4, 15, 0, tzinfo=UTC)  # Thursday 10:00 CDT
NEXT_TUE_10 = TUE_10 + dt.timedelta(days=7)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def slots(city: City, clock) -> list[PostingSlot]:  # noqa: F811
    return [
        posting_slot_create(
            user=city.pat, department=city.parks, channel=city.parks_channel, weekday=day, local_time=dt.time(10, 0)
        )
        for day in (1, 3)  # Tuesday and Thursday
    ]


def _approved(city: City, text: str = "Pools open at noon.") -> Post:  # noqa: F811
    return approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text=text)


# --- Slots -----------------------------------------------------------------------------------------


def test_only_the_department_admin_adds_posting_slots(city, clock):  # noqa: F811
    for person in (city.alice, city.bob, city.carol):
        with pytest.raises(ApplicationError):
            posting_slot_create(
                user=person, department=city.parks, channel=city.parks_channel, weekday=1, local_time=dt.time(10)
            )
    with pytest.raises(ApplicationError, match="department's channels"):
        posting_slot_create(
            user=city.pat, department=city.parks, channel=city.library_channel, weekday=1, local_time=dt.time(10)
        )


def test_the_next_free_slot_is_the_earliest_slot_of_the_posts_channels(city, slots):  # noqa: F811
    post = _approved(city)
    found = next_free_slot(post=post)
    assert found is not None
    assert (found.due_at, found.slot) == (TUE_10, slots[0])


def test_a_slot_taken_by_another_post_on_that_channel_is_skipped(city, slots):  # noqa: F811
    other = _approved(city, "Splash pad closed.")
    services.post_update(
        post=Post.objects.get(pk=other.pk),
        user=city.alice,
        text=other.text,
        link="",
        channels=[city.parks_channel],
        due_at=TUE_10,
    )
    found = next_free_slot(post=_approved(city))
    assert found is not None and found.due_at == THU_10


def test_no_slot_for_a_post_on_other_channels(city, slots):  # noqa: F811
    post = approved_post(author=city.carol, approver=city.dana, channels=[city.library_channel])
    assert next_free_slot(post=post) is None


# --- Add to queue ----------------------------------------------------------------------------------


def test_an_approver_queues_an_approved_post_and_it_stays_approved_with_deliveries_at_the_slot(city, slots):  # noqa: F811
    post = _approved(city)
    entry = queue_add(post=post, user=city.quinn)
    post.refresh_from_db()
    assert (post.due_at, post.status, entry.slot) == (TUE_10, PostStatus.APPROVED, slots[0])
    live = Delivery.objects.filter(post=post).exclude(status="cancelled")
    assert [d.due_at for d in live] == [TUE_10]


def test_the_author_queueing_an_approved_post_sends_it_back_for_approval(city, slots):  # noqa: F811
    """Moving is editing (scheduler.calendar_services): nothing unapproved at the new time goes out."""
    post = _approved(city)
    queue_add(post=post, user=city.alice)
    post.refresh_from_db()
    assert (post.due_at, post.status) == (TUE_10, PostStatus.SUBMITTED)
    assert not Delivery.objects.filter(post=post).exclude(status="cancelled").exists()


def test_a_submitted_post_is_queued_but_stays_waiting_for_approval(city, slots):  # noqa: F811
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    queue_add(post=post, user=city.alice)
    post.refresh_from_db()
    assert (post.due_at, post.status) == (TUE_10, PostStatus.SUBMITTED)
    assert not Delivery.objects.filter(post=post).exists()


def test_drafts_and_strangers_cannot_queue(city, slots):  # noqa: F811
    with pytest.raises(ApplicationError, match="waiting for approval or approved"):
        queue_add(post=draft_post(author=city.alice, channels=[city.parks_channel]), user=city.alice)
    with pytest.raises(ApplicationError, match="Only members"):
        queue_add(post=_approved(city), user=city.carol)


def test_two_posts_queued_take_tuesday_then_thursday(city, slots):  # noqa: F811
    first, second = _approved(city, "First"), _approved(city, "Second")
    queue_add(post=first, user=city.quinn)
    queue_add(post=second, user=city.quinn)
    assert list(Post.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk").values_list("due_at", flat=True)) == [
        TUE_10,
        THU_10,
    ]


def test_a_slot_inside_a_blackout_is_passed_over(city, slots):  # noqa: F811
    BlackoutPeriod.objects.create(
        department=city.parks,
        starts_at=TUE_10 - dt.timedelta(hours=1),
        ends_at=TUE_10 + dt.timedelta(hours=1),
        reason="Quiet",
    )
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    queue_add(post=post, user=city.alice)
    post.refresh_from_db()
    assert post.due_at == THU_10


def test_a_slot_in_the_spring_forward_gap_queues_at_three_oclock(city):  # noqa: F811
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC), tick=False):
        posting_slot_create(
            user=city.pat, department=city.parks, channel=city.parks_channel, weekday=6, local_time=dt.time(2, 30)
        )
        post = submitted_post(author=city.alice, channels=[city.parks_channel])
        queue_add(post=post, user=city.alice)
        post.refresh_from_db()
        assert post.due_at == dt.datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # 3:00 AM CDT


# --- Reordering ------------------------------------------------------------------------------------


def test_moving_a_post_up_swaps_its_time_with_its_neighbour(city, slots):  # noqa: F811
    first, second = _approved(city, "First"), _approved(city, "Second")
    queue_add(post=first, user=city.quinn)
    entry = queue_add(post=second, user=city.quinn)
    assert queue_move(entry=entry, user=city.quinn, offset=-1) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.due_at, first.due_at) == (TUE_10, THU_10)
    # Still approved (an approver who did not write them moved them), each with its deliveries at its new time.
    assert {first.status, second.status} == {PostStatus.APPROVED}
    assert [d.due_at for d in Delivery.objects.filter(post=second).exclude(status="cancelled")] == [TUE_10]
    with pytest.raises(ApplicationError, match="already at that end"):
        queue_move(entry=QueueEntry.objects.get(pk=entry.pk), user=city.quinn, offset=-1)


def test_only_members_reorder_the_queue(city, slots):  # noqa: F811
    entry = queue_add(post=_approved(city), user=city.quinn)
    with pytest.raises(ApplicationError):
        queue_move(entry=entry, user=city.carol, offset=1)


# --- Evergreen -------------------------------------------------------------------------------------


def test_an_evergreen_post_repeats_once_per_interval_and_each_repetition_waits_for_approval(city, slots, clock):  # noqa: F811
    source = _approved(city, "How to report a pothole: call 311.")
    evergreen = evergreen_mark(post=source, user=city.alice, min_interval_days=7)
    assert evergreen.last_scheduled_at == source.due_at  # Monday 14:00 UTC

    # Monday + 7 days = next Monday 14:00 UTC: the first free slot after that is the next Tuesday.
    made = evergreen_fill()
    assert len(made) == 1
    repetition = Post.objects.get(pk=made[0])
    assert (repetition.due_at, repetition.status, repetition.text) == (
        NEXT_TUE_10,
        PostStatus.SUBMITTED,
        source.text,
    )
    assert repetition.author == city.alice
    assert not Delivery.objects.filter(post=repetition).exists()  # nothing goes out unapproved
    assert QueueEntry.objects.get(post=repetition).repeats == evergreen

    # Run again (a second beat, the embedded loop): the interval has not passed since the repetition.
    assert evergreen_fill() == []
    clock.move_to(NOW + dt.timedelta(days=10))
    again = evergreen_fill()
    second = Post.objects.get(pk=again[0])
    assert second.due_at == NEXT_TUE_10 + dt.timedelta(days=7)  # at least 7 days after the first repetition
    # One repetition per post per run; the next run fills the next slot within the 14-day horizon, no more.
    (third,) = evergreen_fill()
    assert Post.objects.get(pk=third).due_at == NEXT_TUE_10 + dt.timedelta(days=14)
    assert evergreen_fill() == []

    # Approved like any post: then, and only then, one delivery per channel, sent by the normal dispatcher.
    services.post_approve(post=repetition, user=city.bob)
    assert Delivery.objects.filter(post=repetition).count() == 1


def test_evergreen_spacing_skips_slots_closer_than_the_interval(city, slots):  # noqa: F811
    source = _approved(city)
    evergreen_mark(post=source, user=city.alice, min_interval_days=3)
    # Monday 14:00 + 3 days = Thursday 14:00 UTC: Tuesday is too close, Thursday 10:00 CDT (15:00 UTC) is not.
    (made,) = evergreen_fill()
    assert Post.objects.get(pk=made).due_at == THU_10


def test_no_repetition_beyond_the_horizon(city, slots, settings):  # noqa: F811
    settings.CIVICPOST_EVERGREEN_HORIZON_DAYS = 5
    evergreen_mark(post=_approved(city), user=city.alice, min_interval_days=7)
    assert evergreen_fill() == []


def test_a_refused_repetition_is_kept_on_the_row_and_nothing_is_made(city, slots):  # noqa: F811
    source = _approved(city)
    evergreen = evergreen_mark(post=source, user=city.alice, min_interval_days=7)
    city.alice.memberships.all().delete()
    from departments.selectors import forget_cached_roles

    forget_cached_roles(city.alice)
    before = Post.objects.count()
    assert evergreen_fill() == []
    evergreen.refresh_from_db()
    assert "no longer a member" in evergreen.failure_message
    assert Post.objects.count() == before


def test_only_approved_or_published_posts_repeat(city, slots):  # noqa: F811
    with pytest.raises(ApplicationError, match="approved or published"):
        evergreen_mark(
            post=submitted_post(author=city.alice, channels=[city.parks_channel]), user=city.alice, min_interval_days=7
        )
    with pytest.raises(ApplicationError, match="Only members"):
        evergreen_mark(post=_approved(city), user=city.carol, min_interval_days=7)
    assert not EvergreenPost.objects.exists()


def test_the_evergreen_job_runs_from_beat_and_the_embedded_loop():
    from civicpost.periodic import PERIODIC_JOBS, task_for

    (job,) = [job for job in PERIODIC_JOBS if job.task == "postqueue.tasks.fill_evergreen_slots"]
    assert task_for(job).name == job.task
