"""A held post moved to a new time when the hold ends follows the calendar's rule for a move by an
approver: the earlier steps' votes carry over and the mover's vote counts at their own step. A new time
inside a blackout needs an approver's reason, asked for on both crisis pages; without it the page says why
and keeps what was typed."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from civicpost.exceptions import ApplicationError
from departments.services import approval_step_add
from governance.services import crisis_hold_end, crisis_hold_start, post_hold_release
from scheduler import services
from scheduler.approvals import approval_progress, current_step
from scheduler.blackouts import BlackoutRefused
from scheduler.calendar import viewer_zone
from scheduler.models import (
    ApprovalVote,
    BlackoutOverride,
    BlackoutPeriod,
    CrisisHold,
    DeliveryStatus,
    Post,
    PostHold,
    PostStatus,
    ReleaseChoice,
)
from tests.scheduler import approved_post, submitted_post


def votes(post: Post) -> list[tuple[int, str]]:
    return [(step.number, voter.username) for step in approval_progress(post) for voter in step.voters]


def live_deliveries(post: Post) -> list[dt.datetime]:
    return list(post.deliveries.exclude(status=DeliveryStatus.CANCELLED).values_list("due_at", flat=True))


def two_step_post(city, *, first: dict, second: dict, voters: tuple) -> Post:  # noqa: ANN001
    approval_step_add(user=city.pat, department=city.parks, **first)
    approval_step_add(user=city.pat, department=city.parks, **second)
    post = submitted_post(author=city.alice, channels=[city.parks_channel], due_in=dt.timedelta(hours=2))
    for voter in voters:
        services.post_approve(post=post, user=voter)
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    return post


def kept_on_hold(city, post: Post) -> PostHold:  # noqa: ANN001
    hold = crisis_hold_start(user=city.dana, reason="Storm")
    crisis_hold_end(hold=hold, user=city.dana, choice=ReleaseChoice.KEEP)
    return PostHold.objects.get(post=post, released_at__isnull=True)


def blackout_tomorrow() -> tuple[BlackoutPeriod, dt.datetime]:
    """A city-wide blackout all of tomorrow (UTC) and a time in its middle."""
    start = (timezone.now() + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    blackout = BlackoutPeriod.objects.create(starts_at=start, ends_at=start + dt.timedelta(days=1), reason="Election")
    return blackout, start + dt.timedelta(hours=12)


# --- The approval after the move ------------------------------------------------------------------


def test_the_last_step_s_approver_keeps_the_earlier_votes_and_approves_the_new_time(city):
    post = two_step_post(
        city,
        first={"name": "Parks review", "department_approvers": True},
        second={"name": "Communications", "communications_managers": True},
        voters=(city.bob, city.dana),
    )
    first_approval = post.current_approval
    hold = crisis_hold_start(user=city.dana, reason="Storm")
    new_time = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)

    report = crisis_hold_end(hold=hold, user=city.dana, choice=ReleaseChoice.RESCHEDULE, reschedule_to=new_time)

    post.refresh_from_db()
    assert report.reapproved == [post.pk]
    assert post.status == PostStatus.APPROVED and post.due_at == new_time
    assert post.current_approval != first_approval and post.current_approval.approved_by == city.dana
    assert post.current_approval.content["due_at"] == new_time.isoformat()
    assert live_deliveries(post) == [new_time]
    renewed = ApprovalVote.objects.filter(post=post, content_hash=post.current_approval.content_hash)
    assert sorted((v.step_number, v.voter.username) for v in renewed) == [(1, "bob"), (2, "dana")]
    assert "Carried over" in renewed.get(step_number=1).comment
    carried = AuditEvent.objects.get(action="post.votes_carried", target_id=str(post.pk))
    assert carried.actor == city.dana and [v["voter"] for v in carried.changes["votes"]] == [city.bob.pk]


def test_an_earlier_step_s_approver_sends_the_moved_post_to_the_next_step(city, django_capture_on_commit_callbacks):
    post = two_step_post(
        city,
        first={"name": "Communications", "communications_managers": True},
        second={"name": "Parks admin", "department_admins": True},
        voters=(city.dana, city.pat),
    )
    held = kept_on_hold(city, post)
    new_time = timezone.now() + dt.timedelta(days=2)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        post_hold_release(hold=held, user=city.max, choice=ReleaseChoice.RESCHEDULE, due_at=new_time)

    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED and post.current_approval is None
    assert live_deliveries(post) == []
    assert votes(post) == [(1, "max")]  # Max's own vote at his step, for the new time
    assert current_step(approval_progress(post)).number == 2
    assert sorted(address for message in mail.outbox for address in message.to) == ["pat@city.example"]
    assert services.post_approve(post=post, user=city.pat) is not None


def test_someone_who_approves_nothing_resets_every_vote(city):
    post = two_step_post(
        city,
        first={"name": "Parks review", "department_approvers": True},
        second={"name": "Communications", "communications_managers": True},
        voters=(city.bob, city.dana),
    )
    hold = crisis_hold_start(user=city.ivan, reason="Storm")

    report = crisis_hold_end(
        hold=hold, user=city.ivan, choice=ReleaseChoice.RESCHEDULE, reschedule_to=timezone.now() + dt.timedelta(days=1)
    )

    post.refresh_from_db()
    assert report.reapproved == []
    assert post.status == PostStatus.SUBMITTED and votes(post) == []
    assert current_step(approval_progress(post)).number == 1
    assert not AuditEvent.objects.filter(action="post.votes_carried").exists()


# --- A new time inside a blackout -----------------------------------------------------------------


def test_a_new_time_in_a_blackout_needs_the_approver_s_reason(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    held = kept_on_hold(city, post)
    blackout, inside = blackout_tomorrow()

    with pytest.raises(BlackoutRefused, match="inside a blackout: Election.*give the reason") as refused:
        post_hold_release(hold=held, user=city.dana, choice=ReleaseChoice.RESCHEDULE, due_at=inside)
    assert refused.value.extra["needs_override"] is True
    held.refresh_from_db()
    post.refresh_from_db()
    assert held.released_at is None and post.status == PostStatus.APPROVED and post.due_at != inside

    post_hold_release(
        hold=held,
        user=city.dana,
        choice=ReleaseChoice.RESCHEDULE,
        due_at=inside,
        blackout_override_reason="Polling places change: people must know",
    )
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED and post.due_at == inside
    assert post.current_approval.approved_by == city.dana
    override = BlackoutOverride.objects.get(post=post)
    assert (override.blackout, override.given_by, override.due_at) == (blackout, city.dana, inside)
    assert override.reason == "Polling places change: people must know"


def test_someone_who_may_not_override_is_refused_whatever_the_reason(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    hold = crisis_hold_start(user=city.ivan, reason="Storm")
    _blackout, inside = blackout_tomorrow()

    with pytest.raises(BlackoutRefused, match="Only an approver of Parks and Recreation") as refused:
        crisis_hold_end(
            hold=hold,
            user=city.ivan,
            choice=ReleaseChoice.RESCHEDULE,
            reschedule_to=inside,
            blackout_override_reason="Because",
        )
    assert refused.value.extra["needs_override"] is False
    assert CrisisHold.objects.get(pk=hold.pk).is_active
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED and not BlackoutOverride.objects.exists()


def test_ending_a_hold_names_every_post_a_blackout_stops_and_changes_nothing(city):
    parks = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="Pool party")
    library = approved_post(author=city.carol, approver=city.dana, channels=[city.library_channel], text="Story hour")
    hold = crisis_hold_start(user=city.dana, reason="Storm")
    _blackout, inside = blackout_tomorrow()

    with pytest.raises(BlackoutRefused) as refused:
        crisis_hold_end(hold=hold, user=city.dana, choice=ReleaseChoice.RESCHEDULE, reschedule_to=inside)

    problems = refused.value.extra["problems"]
    assert len(problems) == 2
    assert problems[0].startswith("“Pool party”: ") and problems[1].startswith("“Story hour”: ")
    assert CrisisHold.objects.get(pk=hold.pk).is_active
    for post in (parks, library):
        post.refresh_from_db()
        assert post.status == PostStatus.APPROVED and post.due_at != inside


# --- The pages ------------------------------------------------------------------------------------


def form_time(user, moment: dt.datetime) -> dict[str, str]:  # noqa: ANN001
    local = moment.astimezone(viewer_zone(user=user))
    return {"new_date": local.date().isoformat(), "new_time": local.strftime("%H:%M")}


def test_the_kept_post_form_shows_the_refusal_with_what_was_typed_then_takes_the_reason(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    held = kept_on_hold(city, post)
    _blackout, inside = blackout_tomorrow()
    typed = form_time(city.dana, inside)
    client = Client()
    client.force_login(city.dana)
    url = reverse("governance:post_hold_release", args=[held.pk])

    page = client.get(reverse("governance:crisis")).content.decode()
    assert f'id="id_hold{held.pk}_blackout_override_reason"' in page
    assert "Reason for scheduling inside a blackout (approvers only)" in page

    response = client.post(url, {"choice": "reschedule", **typed})

    assert response.status_code == 400
    page = response.content.decode()
    assert "is inside a blackout: Election" in page and "To schedule it anyway, give the reason." in page
    assert f'href="#id_hold{held.pk}_blackout_override_reason"' in page  # the summary leads to the field
    assert f'value="{typed["new_date"]}"' in page and f'value="{typed["new_time"]}"' in page
    assert re.search(rf'<input [^>]*value="reschedule" id="id_hold{held.pk}_choice_1"[^>]* checked>', page)
    held.refresh_from_db()
    assert held.released_at is None

    response = client.post(url, {"choice": "reschedule", **typed, "blackout_override_reason": "Polling places moved"})

    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED and post.due_at == inside
    assert BlackoutOverride.objects.get(post=post).reason == "Polling places moved"


def test_the_switch_off_page_keeps_the_choices_and_asks_for_the_reason(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="Pool party")
    hold = crisis_hold_start(user=city.dana, reason="Storm")
    _blackout, inside = blackout_tomorrow()
    typed = form_time(city.dana, inside)
    client = Client()
    client.force_login(city.dana)
    url = reverse("governance:crisis_end", args=[hold.pk])

    response = client.post(url, {"choice": "reschedule", **typed, f"post_{post.pk}": ""})

    assert response.status_code == 400
    page = response.content.decode()
    assert "is inside a blackout: Election" in page
    assert 'href="#id_blackout_override_reason"' in page
    assert f'value="{typed["new_date"]}"' in page and f'value="{typed["new_time"]}"' in page
    assert re.search(r'<input [^>]*value="reschedule" id="id_choice_1"[^>]* checked>', page)
    assert CrisisHold.objects.get(pk=hold.pk).is_active

    response = client.post(
        url, {"choice": "reschedule", **typed, f"post_{post.pk}": "", "blackout_override_reason": "Polling places"}
    )

    assert response.status_code == 302
    assert not CrisisHold.objects.get(pk=hold.pk).is_active
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED and post.due_at == inside


def test_who_may_not_override_gets_no_reason_field_and_the_refusal_at_the_time(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    hold = crisis_hold_start(user=city.ivan, reason="Storm")
    _blackout, inside = blackout_tomorrow()
    client = Client()
    client.force_login(city.ivan)
    url = reverse("governance:crisis_end", args=[hold.pk])
    assert "blackout_override_reason" not in client.get(url).content.decode()

    response = client.post(url, {"choice": "reschedule", **form_time(city.ivan, inside)})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'href="#id_new_time"' in page and "Only an approver of Parks and Recreation" in page
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED


def test_a_refused_release_of_a_hold_already_released_still_says_why(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    held = kept_on_hold(city, post)
    post_hold_release(hold=held, user=city.dana)
    client = Client()
    client.force_login(city.dana)

    with pytest.raises(ApplicationError, match="already been released"):
        post_hold_release(hold=held, user=city.dana)
    response = client.post(reverse("governance:post_hold_release", args=[held.pk]), {"choice": "release"})

    assert response.status_code == 400
    assert "This post has already been released." in response.content.decode()
