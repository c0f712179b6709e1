"""The two shortcuts to approval go through the department's approval policy: approving a recurring series
at once (a vote at the current step of every post) and moving an approved post on the calendar (the
earlier steps' decisions stand; the approval is kept only when the mover's vote completes the policy)."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from civicpost.exceptions import ApplicationError
from composer.models import Frequency, RecurringSeries
from composer.series import series_approve, series_create
from departments.models import ApprovalMode, SeriesApproval
from departments.services import approval_step_add
from scheduler import services
from scheduler.approvals import approval_progress, current_step, post_round_key
from scheduler.calendar_services import post_reschedule
from scheduler.models import ApprovalVote, DeliveryStatus, Post, PostApproval, PostStatus
from tests.scheduler import submitted_post


def parks_policy(city, *, first=None, second=None):  # noqa: ANN001, ANN201
    """Parks: step 1 and step 2 as given (by default its approvers, then the communications managers)."""
    first = first or {"name": "Parks review", "department_approvers": True}
    second = second or {"name": "Communications", "communications_managers": True}
    approval_step_add(user=city.pat, department=city.parks, **first)
    approval_step_add(user=city.pat, department=city.parks, **second)


def weekly_series(city, *, author=None, count: int = 3) -> RecurringSeries:  # noqa: ANN001
    city.parks.series_approval = SeriesApproval.SERIES
    city.parks.save()
    return series_create(
        user=author or city.alice,
        department=city.parks,
        text="City council meets tonight at 6 p.m. Watch live on the city website.",
        link="",
        channels=[city.parks_channel],
        frequency=Frequency.WEEKLY,
        interval=1,
        start_date=(timezone.now() + dt.timedelta(days=7)).date(),
        local_time=dt.time(18, 0),
        until=None,
        count=count,
        submit=True,
    )


def series_posts(series: RecurringSeries) -> list[Post]:
    return [link.post for link in series.occurrences.select_related("post").order_by("sequence")]


def votes(post: Post) -> list[tuple[int, str]]:
    """The votes that count now: (step, voter)."""
    progress = approval_progress(post)
    return [(item.number, voter.username) for item in progress for voter in item.voters]


def live_deliveries(post: Post) -> int:
    return post.deliveries.exclude(status=DeliveryStatus.CANCELLED).count()


# --- Approving a series at once ---------------------------------------------------------------------


def test_a_series_vote_counts_for_the_current_step_of_every_post_and_the_last_step_approves(city):
    parks_policy(city)
    series = weekly_series(city)

    assert series_approve(series=series, user=city.bob, comment="Fine by Parks") == 0
    for post in series_posts(series):
        assert post.status == PostStatus.SUBMITTED
        assert post.current_approval is None and live_deliveries(post) == 0
        assert current_step(approval_progress(post)).number == 2
        assert votes(post) == [(1, "bob")]
        # Each post's vote is tied to that post's own content (its time) and round of review.
        vote = ApprovalVote.objects.get(post=post)
        assert vote.content_hash == services.content_hash(services.approval_content_for(post))
        assert vote.round_key == post_round_key(post)

    with pytest.raises(ApplicationError, match="already approved this post at step 1"):
        series_approve(series=series, user=city.bob)
    with pytest.raises(ApplicationError, match="Step 2 \\(Communications\\) is for communications managers"):
        series_approve(series=series, user=city.quinn)  # a Parks approver cannot do step 2
    assert ApprovalVote.objects.count() == 3

    assert series_approve(series=series, user=city.dana) == 3
    for post in series_posts(series):
        assert post.status == PostStatus.APPROVED
        assert post.current_approval.approved_by == city.dana
        assert post.current_approval.content["due_at"] == post.due_at.astimezone(dt.UTC).isoformat()
        assert live_deliveries(post) == 1
        assert sorted(ApprovalVote.objects.filter(post=post).values_list("step_number", "voter__username")) == [
            (1, "bob"),
            (2, "dana"),
        ]


def test_an_all_of_step_needs_every_approver_s_series_vote(city):
    approval_step_add(
        user=city.pat, department=city.parks, name="Every Parks approver", mode=ApprovalMode.ALL,
        department_approvers=True,
    )  # fmt: skip
    series = weekly_series(city, count=2)
    assert series_approve(series=series, user=city.bob) == 0
    assert series_approve(series=series, user=city.quinn) == 0
    for post in series_posts(series):
        assert post.status == PostStatus.SUBMITTED
        assert [u.username for u in current_step(approval_progress(post)).waiting_for] == ["pat"]
    assert series_approve(series=series, user=city.pat) == 2
    assert {post.status for post in series_posts(series)} == {PostStatus.APPROVED}


def test_a_series_is_never_approved_by_its_author_at_any_step(city, client):
    # Bob writes the series; he is named by both steps and may approve neither.
    parks_policy(city, second={"name": "Named", "users": [city.bob, city.pat]})
    series = weekly_series(city, author=city.bob, count=2)

    with pytest.raises(ApplicationError, match="Nobody approves their own post"):
        series_approve(series=series, user=city.bob)
    client.force_login(city.bob)
    page = client.get(reverse("composer:series_detail", args=[series.pk])).content.decode()
    assert "Approve the whole series" not in page
    client.post(reverse("composer:series_approve", args=[series.pk]))

    assert series_approve(series=series, user=city.quinn) == 0
    with pytest.raises(ApplicationError, match="Nobody approves their own post"):
        series_approve(series=series, user=city.bob)  # step 2 names him too
    assert not ApprovalVote.objects.filter(voter=city.bob).exists()
    assert series_approve(series=series, user=city.pat) == 2
    assert {post.status for post in series_posts(series)} == {PostStatus.APPROVED}
    assert {post.current_approval.approved_by_id for post in series_posts(series)} == {city.pat.pk}


def test_a_post_edited_on_its_own_holds_the_whole_series_vote_and_says_which(city):
    parks_policy(city)
    series = weekly_series(city)
    series_approve(series=series, user=city.bob)
    second = series_posts(series)[1]
    services.post_update(
        post=second,
        user=city.alice,
        text=second.text + " Agenda online.",
        link="",
        channels=[city.parks_channel],
        due_at=second.due_at,
    )  # its step-1 vote no longer counts: it waits at step 1 again
    before = ApprovalVote.objects.count()

    with pytest.raises(ApplicationError, match="Nothing was approved") as refused:
        series_approve(series=series, user=city.dana)
    assert refused.value.extra["problems"][1].startswith("Post 2 (")
    assert "Step 1 (Parks review)" in refused.value.extra["problems"][1]
    assert len(refused.value.extra["problems"]) == 2  # posts 1 and 3 were fine
    assert ApprovalVote.objects.count() == before
    assert {post.status for post in series_posts(series)} == {PostStatus.SUBMITTED}


def test_the_series_button_shows_only_to_whom_the_current_step_waits_for(city):
    parks_policy(city)
    series = weekly_series(city, count=2)
    url = reverse("composer:series_detail", args=[series.pk])

    def shows_button(user) -> bool:  # noqa: ANN001
        client = Client()
        client.force_login(user)
        return "Approve the whole series" in client.get(url).content.decode()

    assert shows_button(city.bob) and not shows_button(city.alice)
    series_approve(series=series, user=city.bob)
    assert not shows_button(city.bob) and not shows_button(city.quinn)
    assert shows_button(city.dana)


# --- Moving an approved post on the calendar --------------------------------------------------------


def approved_two_step_post(city, *, author=None, step_one=None, step_two=None) -> Post:  # noqa: ANN001
    """A Parks post approved at step 1 ("Parks review", its approvers) and step 2 ("Parks admin")."""
    parks_policy(city, second={"name": "Parks admin", "department_admins": True})
    post = submitted_post(author=author or city.alice, channels=[city.parks_channel], due_in=dt.timedelta(days=2))
    services.post_approve(post=post, user=step_one or city.bob)
    assert services.post_approve(post=post, user=step_two or city.pat) is not None
    post.refresh_from_db()
    return post


def test_a_move_by_the_last_step_s_approver_keeps_the_approval_with_the_earlier_votes(city):
    post = approved_two_step_post(city)
    first = post.current_approval
    new_time = post.due_at + dt.timedelta(hours=3)

    moved = post_reschedule(post=post, user=city.pat, due_at=new_time)

    assert moved.status == PostStatus.APPROVED
    approval = PostApproval.objects.get(pk=moved.current_approval_id)
    assert approval.pk != first.pk and approval.approved_by == city.pat
    assert approval.content["due_at"] == new_time.isoformat()
    assert {k: v for k, v in approval.content.items() if k != "due_at"} == {
        k: v for k, v in first.content.items() if k != "due_at"
    }
    assert moved.deliveries.get(approval=approval).due_at == new_time
    assert moved.deliveries.get(approval=first).status == DeliveryStatus.CANCELLED
    renewed = ApprovalVote.objects.filter(post=post, content_hash=approval.content_hash).order_by("step_number")
    assert [(v.step_number, v.voter.username) for v in renewed] == [(1, "bob"), (2, "pat")]
    assert "Carried over" in renewed[0].comment
    carried = AuditEvent.objects.get(action="post.votes_carried", target_id=str(post.pk))
    assert carried.actor == city.pat
    assert [v["voter"] for v in carried.changes["votes"]] == [city.bob.pk]


def test_a_move_by_an_earlier_step_s_approver_sends_the_post_to_the_next_step(city, django_capture_on_commit_callbacks):
    post = approved_two_step_post(city)
    new_time = post.due_at + dt.timedelta(days=1)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        moved = post_reschedule(post=post, user=city.bob, due_at=new_time)

    assert moved.status == PostStatus.SUBMITTED
    assert moved.current_approval_id is None and live_deliveries(moved) == 0
    assert current_step(approval_progress(moved)).number == 2
    assert votes(moved) == [(1, "bob")]  # Bob's own vote, for the new time; Pat decides again
    assert sorted(address for message in mail.outbox for address in message.to) == ["pat@city.example"]

    approval = services.post_approve(post=moved, user=city.pat)
    assert approval is not None and approval.content["due_at"] == new_time.isoformat()


def test_an_all_of_last_step_waits_again_for_its_other_approvers(city, django_capture_on_commit_callbacks):
    parks_policy(
        city,
        first={"name": "Parks review", "users": [city.bob]},
        second={"name": "Both admins", "mode": ApprovalMode.ALL, "users": [city.pat, city.quinn]},
    )
    post = submitted_post(author=city.alice, channels=[city.parks_channel], due_in=dt.timedelta(days=2))
    for approver in (city.bob, city.pat, city.quinn):
        services.post_approve(post=post, user=approver)
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        moved = post_reschedule(post=post, user=city.pat, due_at=post.due_at + dt.timedelta(hours=1))

    assert moved.status == PostStatus.SUBMITTED
    assert votes(moved) == [(1, "bob"), (2, "pat")]
    assert [u.username for u in current_step(approval_progress(moved)).waiting_for] == ["quinn"]
    assert sorted(address for message in mail.outbox for address in message.to) == ["quinn@city.example"]
    assert services.post_approve(post=moved, user=city.quinn) is not None


def test_a_move_by_an_approver_no_step_names_starts_the_review_again(city):
    post = approved_two_step_post(city)
    approval_step = post.department.approval_steps.get(position=1)
    approval_step.department_approvers = False
    approval_step.save()
    approval_step.users.set([city.bob])  # step 1 now names only Bob: Quinn approves for Parks but no step

    moved = post_reschedule(post=post, user=city.quinn, due_at=post.due_at + dt.timedelta(hours=1))

    assert moved.status == PostStatus.SUBMITTED
    assert current_step(approval_progress(moved)).number == 1
    assert votes(moved) == []


def test_a_move_by_the_author_never_approves_it_at_any_step(city):
    # Bob wrote it, Quinn did step 1, Pat step 2. Bob is named by step 1 and still may not vote.
    post = approved_two_step_post(city, author=city.bob, step_one=city.quinn)

    moved = post_reschedule(post=post, user=city.bob, due_at=post.due_at + dt.timedelta(hours=1))

    assert moved.status == PostStatus.SUBMITTED
    assert current_step(approval_progress(moved)).number == 1
    assert votes(moved) == []
    with pytest.raises(ApplicationError, match="Nobody approves their own post"):
        services.post_approve(post=moved, user=city.bob)
    assert not ApprovalVote.objects.filter(voter=city.bob).exists()
