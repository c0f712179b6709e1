"""Blackout periods block scheduling (issue 5) everywhere a post gets its time, goes into the queue or is
approved: the edit form and post_update, submitting, approving, the calendar, CSV import rows and recurring
series; only an approver of the post's department may override, with a reason kept on the post and in the
audit trail. A blackout added over approved posts sends them back for approval, and the dispatcher never
sends a post inside a blackout that no override covers (scheduler/blackouts.py)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from civicpost.exceptions import ApplicationError
from composer.csv_import import csv_import_queue, csv_import_run, csv_preview
from composer.models import CsvImport, Frequency, RecurringSeries
from composer.series import series_approve, series_create, series_submit
from departments.models import SeriesApproval
from scheduler import services
from scheduler.blackouts import AUDIT_BLACKOUT_HELD, BlackoutRefused
from scheduler.calendar_services import blackout_create, post_reschedule
from scheduler.models import (
    ApprovalVote,
    BlackoutOverride,
    BlackoutPeriod,
    Delivery,
    DeliveryStatus,
    Post,
    PostReview,
    PostStatus,
    ReviewAction,
    SandboxPost,
)
from tests.factories import ChannelFactory
from tests.governance.city import city  # noqa: F401 - the fixture
from tests.scheduler import approved_post, make_due, tick

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
# Mid-October 2026: election day (Tuesday, November 3) and the fall-back night (Sunday, November 1) are ahead.
NOW = dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC)
ELECTION_DAY = (
    "Election day (whole city), Tue, Nov 3, 2026, 12:00 AM CST (UTC\u221206:00) to "
    "Wed, Nov 4, 2026, 12:00 AM CST (UTC\u221206:00)"
)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(year: int, month: int, day: int, hour: int, minute: int = 0, fold: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHICAGO, fold=fold).astimezone(dt.UTC)


def fresh(user):  # noqa: ANN001, ANN201
    """The same person as a new object: the permission helpers cache memberships on the instance."""
    return get_user_model().objects.get(pk=user.pk)


def client_for(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def election_day() -> BlackoutPeriod:
    return BlackoutPeriod.objects.create(
        starts_at=at(2026, 11, 3, 0), ends_at=at(2026, 11, 4, 0), reason="Election day"
    )


def parks_post(personas, *, due_at: dt.datetime, status: str = PostStatus.DRAFT, author=None) -> Post:  # noqa: ANN001
    author = author or personas.alice
    post = services.post_create(
        author=author,
        department=personas.parks,
        text="Splash pads open Saturday at 10 a.m. at every city park.",
        channels=[personas.parks_channel],
        due_at=due_at,
    )
    if status in (PostStatus.SUBMITTED, PostStatus.APPROVED):
        services.post_submit(post=post, user=author)
    if status == PostStatus.APPROVED:
        services.post_approve(post=post, user=fresh(personas.bob))
    post.refresh_from_db()
    return post


def edit_data(post: Post, **overrides: str) -> dict:
    local = post.due_at.astimezone(CHICAGO)
    data = {
        "text": post.text,
        "link": post.link,
        "channels": [c.pk for c in post.channels.all()],
        "publish_date": local.date().isoformat(),
        "publish_time": local.strftime("%H:%M"),
        "save": "changes",
    }
    data.update(overrides)
    return data


# --- Edit and submit ---------------------------------------------------------------------------------


def test_a_draft_may_be_saved_inside_a_blackout_but_an_editor_cannot_submit_it(personas, frozen):
    election_day()
    post = parks_post(personas, due_at=at(2026, 11, 5, 9))
    services.post_update(
        post=post,
        user=personas.alice,
        text=post.text,
        link="",
        channels=[personas.parks_channel],
        due_at=at(2026, 11, 3, 9),
    )
    with pytest.raises(BlackoutRefused) as refused:
        services.post_submit(post=post, user=fresh(personas.alice), blackout_override_reason="Please")
    assert refused.value.message == (
        f"Tue, Nov 3, 2026, 9:00 AM CST (UTC\u221206:00) is inside a blackout: {ELECTION_DAY}. "
        "Only an approver of Parks and Recreation can schedule a post into it."
    )
    assert refused.value.extra["needs_override"] is False
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT and post.due_at == at(2026, 11, 3, 9)
    assert not PostReview.objects.filter(post=post).exists() and not BlackoutOverride.objects.exists()


def test_a_refused_submission_also_lists_the_posts_other_problems(personas, frozen):
    election_day()
    post = parks_post(personas, due_at=at(2026, 11, 3, 9))
    Post.objects.filter(pk=post.pk).update(text="  ")
    with pytest.raises(BlackoutRefused) as refused:
        services.post_submit(post=post, user=fresh(personas.alice))
    assert refused.value.extra["problems"][1:] == ["Write the text of the post."]


def test_moving_a_post_waiting_for_approval_into_a_blackout_needs_an_approvers_reason(personas, frozen):
    blackout = election_day()
    post = parks_post(personas, due_at=at(2026, 11, 5, 9), status=PostStatus.SUBMITTED)
    move = {"text": post.text, "link": "", "channels": [personas.parks_channel], "due_at": at(2026, 11, 3, 9)}
    with pytest.raises(BlackoutRefused) as refused:
        services.post_update(post=post, user=fresh(personas.alice), **move)
    assert refused.value.extra["needs_override"] is False
    with pytest.raises(BlackoutRefused) as refused:
        services.post_update(post=post, user=fresh(personas.bob), blackout_override_reason="  ", **move)
    assert refused.value.extra["needs_override"] is True
    assert refused.value.message.endswith("To schedule it anyway, give the reason.")
    post.refresh_from_db()
    assert post.due_at == at(2026, 11, 5, 9)

    services.post_update(post=post, user=fresh(personas.bob), blackout_override_reason="Polling place closures", **move)
    post.refresh_from_db()
    assert post.due_at == at(2026, 11, 3, 9)
    override = BlackoutOverride.objects.get()
    assert (override.post, override.blackout, override.due_at) == (post, blackout, at(2026, 11, 3, 9))
    assert (override.given_by, override.reason) == (personas.bob, "Polling place closures")
    event = AuditEvent.objects.get(action=AuditAction.POST_BLACKOUT_OVERRIDE)
    assert event.message == "Polling place closures" and event.target_id == str(post.pk)
    assert event.changes["due_at"] == {
        "before": at(2026, 11, 5, 9).isoformat(),
        "after": at(2026, 11, 3, 9).isoformat(),
    }


def test_an_override_given_for_that_time_lets_the_editor_submit_and_each_approver_still_gives_a_reason(
    personas, frozen
):
    election_day()
    post = parks_post(personas, due_at=at(2026, 11, 5, 9))
    post_reschedule(post=post, user=fresh(personas.bob), due_at=at(2026, 11, 3, 9), override_reason="Polls")
    services.post_submit(post=post, user=fresh(personas.alice))
    with pytest.raises(BlackoutRefused) as refused:
        services.post_approve(post=post, user=fresh(personas.dana))
    assert refused.value.message.endswith("To approve it anyway, give the reason.")
    services.post_approve(post=post, user=fresh(personas.dana), blackout_override_reason="Polling places moved")
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    assert sorted(BlackoutOverride.objects.values_list("given_by__username", flat=True)) == ["bob", "dana"]


def test_a_department_blackout_does_not_touch_other_departments(personas, frozen):
    BlackoutPeriod.objects.create(
        department=personas.library, starts_at=at(2026, 11, 3, 0), ends_at=at(2026, 11, 4, 0), reason="Inventory"
    )
    post = parks_post(personas, due_at=at(2026, 11, 3, 9), status=PostStatus.APPROVED)
    assert post.status == PostStatus.APPROVED and not BlackoutOverride.objects.exists()


def test_who_may_schedule_into_a_blackout_for_each_role(city):  # noqa: ANN001, F811
    from scheduler import rules

    parks, library = city.parks.pk, city.library.pk
    may = {
        name: (rules.can_override_blackout(person, parks), rules.can_override_blackout(person, library))
        for name, person in {
            "alice (Parks editor)": city.alice,
            "bob (Parks approver)": city.bob,
            "pat (Parks admin)": city.pat,
            "carol (Library editor)": city.carol,
            "dana (communications team approver)": city.dana,
            "max (communications manager)": city.max,
            "vera (viewer)": city.vera,
            "ivan (IT admin)": city.ivan,
            "olga (authorised official)": city.olga,
        }.items()
    }
    assert may == {
        "alice (Parks editor)": (False, False),
        "bob (Parks approver)": (True, False),
        "pat (Parks admin)": (True, False),
        "carol (Library editor)": (False, False),
        "dana (communications team approver)": (True, True),
        "max (communications manager)": (True, True),
        "vera (viewer)": (False, False),
        "ivan (IT admin)": (False, False),
        "olga (authorised official)": (False, False),
    }
    city.bob.is_active = False
    assert not rules.can_override_blackout(city.bob, parks)


# --- The edit form -------------------------------------------------------------------------------------


def test_the_edit_form_says_so_at_the_time_field_and_keeps_what_was_typed(personas, frozen):
    election_day()
    post = parks_post(personas, due_at=at(2026, 11, 5, 9), status=PostStatus.SUBMITTED)
    alice = client_for(personas.alice)
    assert (
        'name="blackout_override_reason"'
        not in alice.get(reverse("scheduler:post_edit", args=[post.pk])).content.decode()
    )
    response = alice.post(
        reverse("scheduler:post_edit", args=[post.pk]),
        edit_data(
            post, text="Polling places: splash pads close early.", publish_date="2026-11-03", publish_time="09:00"
        ),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["publish_time"] == [
        f"Tue, Nov 3, 2026, 9:00 AM CST (UTC\u221206:00) is inside a blackout: {ELECTION_DAY}. "
        "Only an approver of Parks and Recreation can schedule a post into it."
    ]
    page = response.content.decode()
    assert "Polling places: splash pads close early." in page and 'value="2026-11-03"' in page
    assert 'name="blackout_override_reason"' not in page
    post.refresh_from_db()
    assert post.text.startswith("Splash pads") and post.due_at == at(2026, 11, 5, 9)


def test_an_approver_overrides_from_the_edit_form_with_a_reason(personas, frozen):
    blackout = election_day()
    post = parks_post(personas, due_at=at(2026, 11, 5, 9), status=PostStatus.SUBMITTED)
    bob = client_for(personas.bob)
    url = reverse("scheduler:post_edit", args=[post.pk])
    page = bob.get(url).content.decode()
    assert 'name="blackout_override_reason"' in page
    assert "Reason for scheduling inside a blackout (approvers only)" in page
    into = edit_data(post, publish_date="2026-11-03", publish_time="09:00")
    response = bob.post(url, into)
    assert response.status_code == 200
    assert response.context["form"].errors["publish_time"][0].endswith("To schedule it anyway, give the reason.")
    response = bob.post(url, {**into, "blackout_override_reason": "Polling place closures"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.due_at == at(2026, 11, 3, 9)
    assert BlackoutOverride.objects.get().blackout == blackout


def test_saving_a_draft_inside_a_blackout_warns_and_save_and_submit_keeps_no_stray_draft(personas, frozen):
    election_day()
    alice = client_for(personas.alice)
    new = {
        "department": personas.parks.pk,
        "text": "Voting centers are open until 7 p.m.",
        "link": "",
        "channels": [personas.parks_channel.pk],
        "publish_date": "2026-11-03",
        "publish_time": "09:00",
    }
    response = alice.post(reverse("scheduler:post_create"), {**new, "submit": "submit"})
    assert response.status_code == 200
    assert "is inside a blackout: Election day" in response.context["form"].errors["publish_time"][0]
    assert not Post.objects.exists()

    response = alice.post(reverse("scheduler:post_create"), {**new, "save": "draft"}, follow=True)
    post = Post.objects.get()
    assert post.status == PostStatus.DRAFT
    page = response.content.decode()
    assert "Its time is inside a blackout: Election day (whole city)" in page
    assert "Inside a blackout:" in page  # the post page says it too


def test_an_approver_submits_their_own_draft_into_a_blackout_with_a_reason_from_the_edit_form(personas, frozen):
    election_day()
    post = parks_post(personas, due_at=at(2026, 11, 3, 9), author=personas.bob)
    bob = client_for(personas.bob)
    response = bob.post(reverse("scheduler:post_submit", args=[post.pk]), follow=True)
    assert "To schedule it anyway, give the reason. Give the reason in the edit form" in response.content.decode()
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT

    response = bob.post(
        reverse("scheduler:post_edit", args=[post.pk]),
        edit_data(post, save="", submit="submit", blackout_override_reason="Poll hours change"),
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert BlackoutOverride.objects.get().given_by == personas.bob
    # Nobody approves their own post: another approver does, with their own reason.
    with pytest.raises(ApplicationError, match="Nobody approves their own post"):
        services.post_approve(post=post, user=fresh(personas.bob), blackout_override_reason="Poll hours change")


# --- Approval ------------------------------------------------------------------------------------------


def test_approving_a_post_inside_a_blackout_needs_the_reason(personas, frozen):
    post = parks_post(personas, due_at=at(2026, 11, 3, 9), status=PostStatus.SUBMITTED)
    blackout = election_day()  # added after the post was submitted
    bob = client_for(personas.bob)
    url = reverse("scheduler:post_approve", args=[post.pk])
    page = bob.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Inside a blackout:" in page and 'name="blackout_override_reason"' in page
    response = bob.post(url, {"comment": "Fine"})
    assert response.status_code == 400
    assert response.context["review_form"].errors["blackout_override_reason"] == [
        f"Tue, Nov 3, 2026, 9:00 AM CST (UTC\u221206:00) is inside a blackout: {ELECTION_DAY}. "
        "To approve it anyway, give the reason."
    ]
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED and not ApprovalVote.objects.filter(post=post).exists()

    response = bob.post(url, {"comment": "Fine", "blackout_override_reason": "Results briefing"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    override = BlackoutOverride.objects.get()
    assert (override.blackout, override.given_by, override.reason) == (blackout, personas.bob, "Results briefing")
    assert AuditEvent.objects.filter(action=AuditAction.POST_BLACKOUT_OVERRIDE, message="Results briefing").exists()
    detail = bob.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Scheduled inside the blackout “Election day”" in detail and "Results briefing" in detail


# --- A blackout added over approved posts -----------------------------------------------------------


def test_a_blackout_added_over_an_approved_post_sends_it_back_for_approval(personas, frozen):
    inside = parks_post(personas, due_at=at(2026, 11, 3, 9), status=PostStatus.APPROVED)
    outside = parks_post(personas, due_at=at(2026, 11, 5, 9), status=PostStatus.APPROVED)
    library = services.post_create(
        author=personas.carol,
        department=personas.library,
        text="Story hour",
        channels=[personas.library_channel],
        due_at=at(2026, 11, 3, 9),
    )
    services.post_submit(post=library, user=personas.carol)
    services.post_approve(post=library, user=fresh(personas.dana))

    response = client_for(personas.dana).post(
        reverse("scheduler:blackout_list"),
        {
            "department": personas.parks.pk,
            "reason": "Day of mourning",
            "start_date": "2026-11-03",
            "start_time": "00:00",
            "end_date": "2026-11-03",
            "end_time": "23:59",
        },
        follow=True,
    )
    assert "1 approved post was scheduled inside it: it went back for approval." in response.content.decode()
    blackout = BlackoutPeriod.objects.get()
    for post in (inside, outside, library):
        post.refresh_from_db()
    assert inside.status == PostStatus.SUBMITTED and inside.current_approval is None
    assert (outside.status, library.status) == (PostStatus.APPROVED, PostStatus.APPROVED)
    delivery = Delivery.objects.get(post=inside)
    assert delivery.status == DeliveryStatus.CANCELLED
    assert delivery.failure_message.startswith(
        "Not sent: Tue, Nov 3, 2026, 9:00 AM CST (UTC\u221206:00) is inside a blackout: Day of mourning "
        "(Parks and Recreation), Tue, Nov 3, 2026, 12:00 AM CST (UTC\u221206:00) to Tue, Nov 3, 2026, 11:59 PM CST"
    )
    review = PostReview.objects.filter(post=inside).last()
    assert (review.action, review.actor) == (ReviewAction.BLACKOUT_HELD, personas.dana)
    assert AuditEvent.objects.get(action=AUDIT_BLACKOUT_HELD).target_id == str(inside.pk)
    assert AuditEvent.objects.get(action="blackout.created").changes["held_posts"] == [inside.pk]

    # Back in the queue: the approval before the blackout no longer counts, and a new one needs the reason.
    with pytest.raises(BlackoutRefused):
        services.post_approve(post=inside, user=fresh(personas.bob))
    services.post_approve(post=inside, user=fresh(personas.bob), blackout_override_reason="Vigil times")
    inside.refresh_from_db()
    assert inside.status == PostStatus.APPROVED
    assert BlackoutOverride.objects.get().blackout == blackout


# --- The dispatcher's own check (real clock: it compares with the database's) --------------------------


def blackout_now(personas, **kwargs) -> BlackoutPeriod:  # noqa: ANN001
    """A blackout on now, written straight to the table (as the Django admin does: nothing is held)."""
    now = timezone.now()
    return BlackoutPeriod.objects.create(
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=3),
        reason="Day of mourning",
        created_by=personas.dana,
        **kwargs,
    )


def test_the_dispatcher_holds_an_approved_post_caught_in_a_blackout_without_an_override(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    blackout_now(personas)
    make_due(post)
    tick()
    assert not SandboxPost.objects.exists()
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    delivery = post.deliveries.get()
    assert delivery.status == DeliveryStatus.CANCELLED and "Day of mourning (whole city)" in delivery.failure_message
    review = post.reviews.last()
    assert (review.action, review.actor) == (ReviewAction.BLACKOUT_HELD, personas.dana)
    held = AuditEvent.objects.get(action=AUDIT_BLACKOUT_HELD)
    assert held.actor_id is None and held.changes["deliveries"] == [delivery.pk]

    # An approver decides: approved with a reason, it goes out at its time, inside the blackout.
    services.post_approve(post=post, user=fresh(personas.bob), blackout_override_reason="Funeral arrangements")
    make_due(post)
    tick()
    assert SandboxPost.objects.count() == 1
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED


def test_a_post_moved_into_a_blackout_on_the_calendar_by_an_approver_stays_approved_and_goes_out(personas):
    post = approved_post(
        author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], due_in=dt.timedelta(hours=5)
    )
    blackout_now(personas)
    post_reschedule(
        post=post,
        user=fresh(personas.bob),
        due_at=timezone.now() + dt.timedelta(hours=1),
        override_reason="Boil-water notice lifted",
    )
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED
    assert BlackoutOverride.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.POST_BLACKOUT_OVERRIDE).count() == 1
    make_due(post)
    tick()
    assert SandboxPost.objects.count() == 1


def test_a_partly_published_post_caught_in_a_blackout_is_marked_for_a_person(personas):
    second = ChannelFactory(department=personas.parks, display_name="Parks on Sandbox 2")
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel, second])
    first, other = post.deliveries.order_by("channel__display_name")
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.PUBLISHED, published_at=timezone.now())
    blackout_now(personas, department=personas.parks)
    make_due(post)
    tick()
    other.refresh_from_db()
    assert other.status == DeliveryStatus.NEEDS_ATTENTION
    assert other.failure_message.endswith("Part of this post is published already, so it cannot be approved again.")
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED
    assert not SandboxPost.objects.exists()


def test_a_blackout_of_another_department_does_not_hold_the_dispatcher(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    blackout_now(personas, department=personas.library)
    make_due(post)
    tick()
    assert SandboxPost.objects.count() == 1


# --- CSV import --------------------------------------------------------------------------------------


def test_a_csv_row_to_submit_inside_a_blackout_is_a_problem_and_a_draft_row_is_imported_with_a_note(personas, frozen):
    election_day()
    text = (
        "department,channels,date,time,text,link,language,status\n"
        "parks,Parks on Sandbox,2026-11-03,09:00,Polls are open.,,en,submit\n"
        "parks,Parks on Sandbox,2026-11-03,10:00,Polls are still open.,,en,draft\n"
        "parks,Parks on Sandbox,2026-11-05,10:00,Thank you for voting.,,en,submit\n"
    )
    preview = csv_preview(user=personas.alice, text=text)
    submit_row, draft_row, later_row = preview.rows
    assert submit_row.problems == [
        f"Its time is inside a blackout: {ELECTION_DAY}. A post inside a blackout cannot be submitted from a file: "
        "choose another time, or import it as a draft for an approver to decide."
    ]
    assert draft_row.problems == [] and draft_row.notes[0].startswith(f"Its time is inside a blackout: {ELECTION_DAY}.")
    assert later_row.ok and later_row.notes == []

    upload = CsvImport.objects.create(uploaded_by=personas.alice, content=text)
    page = client_for(personas.alice).get(reverse("composer:import_preview", args=[upload.pk])).content.decode()
    assert "<strong>Note:</strong> Its time is inside a blackout: Election day" in page

    csv_import_queue(user=personas.alice, upload=upload)
    done = csv_import_run(upload_id=upload.pk)
    posts = {p.text: p.status for p in Post.objects.all()}
    assert posts == {"Polls are still open.": PostStatus.DRAFT, "Thank you for voting.": PostStatus.SUBMITTED}
    assert [row["line"] for row in done.result["left_out"]] == [2]


# --- Recurring series ----------------------------------------------------------------------------------


def weekly(personas, **kwargs) -> RecurringSeries:  # noqa: ANN001
    return series_create(
        user=personas.alice,
        department=personas.parks,
        text="Farmers market every Tuesday.",
        link="",
        channels=[personas.parks_channel],
        frequency=Frequency.WEEKLY,
        interval=1,
        start_date=dt.date(2026, 10, 27),
        local_time=dt.time(9, 0),
        until=None,
        count=3,
        **kwargs,
    )


def test_a_series_says_which_dates_fall_in_a_blackout(personas, frozen):
    election_day()
    with pytest.raises(ApplicationError) as refused:
        weekly(personas, submit=True)
    assert refused.value.extra["problems"] == [
        f"Tue, Nov 3, 2026, 9:00 AM CST (UTC\u221206:00) is inside a blackout: {ELECTION_DAY}. "
        "Only an approver of Parks and Recreation can schedule a post into it."
    ]
    assert not RecurringSeries.objects.exists()

    alice = client_for(personas.alice)
    preview = alice.post(
        reverse("composer:series_new"),
        {
            "department": personas.parks.pk,
            "text": "Farmers market every Tuesday.",
            "channels": [personas.parks_channel.pk],
            "frequency": Frequency.WEEKLY,
            "interval": 1,
            "start_date": "2026-10-27",
            "local_time": "09:00",
            "count": 3,
            "preview": "1",
        },
    ).content.decode()
    assert preview.count("Inside a blackout:") == 1
    assert (
        f"Tue, Nov 3, 2026, 9:00 AM CST (UTC\u221206:00)<br><strong>Inside a blackout:</strong> {ELECTION_DAY}"
        in preview
    )

    series = weekly(personas)  # drafts may be made there
    with pytest.raises(ApplicationError) as refused:
        series_submit(series=series, user=fresh(personas.alice))
    assert len(refused.value.extra["problems"]) == 1 and "Nov 3, 2026, 9:00 AM" in refused.value.message
    assert not Post.objects.exclude(status=PostStatus.DRAFT).exists()
    detail = alice.get(reverse("composer:series_detail", args=[series.pk])).content.decode()
    assert detail.count("Inside a blackout:") == 1


def test_approving_a_series_with_a_date_in_a_blackout_needs_the_reason(personas, frozen):
    personas.parks.series_approval = SeriesApproval.SERIES
    personas.parks.save()
    series = weekly(personas, submit=True)
    election_day()  # added once the series waits for approval
    with pytest.raises(BlackoutRefused) as refused:
        series_approve(series=series, user=fresh(personas.bob))
    assert refused.value.extra["problems"][0] == "Nothing was approved."
    assert refused.value.extra["problems"][1].startswith("Post 2: Tue, Nov 3, 2026, 9:00 AM CST")
    assert not Post.objects.filter(status=PostStatus.APPROVED).exists()
    page = client_for(personas.bob).get(reverse("composer:series_detail", args=[series.pk])).content.decode()
    assert 'name="blackout_override_reason"' in page

    response = client_for(personas.bob).post(
        reverse("composer:series_approve", args=[series.pk]), {"blackout_override_reason": "Market runs as usual"}
    )
    assert response.status_code == 302
    assert Post.objects.filter(status=PostStatus.APPROVED).count() == 3
    assert BlackoutOverride.objects.get().reason == "Market runs as usual"


# --- Daylight saving time ----------------------------------------------------------------------------


def test_the_rule_tells_the_two_1_30_ams_of_the_fall_back_night_apart(personas, frozen):
    # A blackout over the first 1 AM hour of Sunday, November 1 (CDT), not the second one (CST).
    BlackoutPeriod.objects.create(
        department=personas.parks,
        starts_at=at(2026, 11, 1, 1, fold=0),
        ends_at=at(2026, 11, 1, 1, fold=1),
        reason="Overnight system work",
    )
    post = parks_post(personas, due_at=at(2026, 11, 5, 9), status=PostStatus.SUBMITTED)
    alice = client_for(personas.alice)
    url = reverse("scheduler:post_edit", args=[post.pk])
    night = edit_data(post, publish_date="2026-11-01", publish_time="01:30")
    response = alice.post(url, {**night, "fold": "earlier"})
    assert response.status_code == 200
    assert response.context["form"].errors["publish_time"] == [
        "Sun, Nov 1, 2026, 1:30 AM CDT (UTC\u221205:00) is inside a blackout: Overnight system work "
        "(Parks and Recreation), Sun, Nov 1, 2026, 1:00 AM CDT (UTC\u221205:00) to Sun, Nov 1, 2026, 1:00 AM CST "
        "(UTC\u221206:00). Only an approver of Parks and Recreation can schedule a post into it."
    ]
    assert alice.post(url, {**night, "fold": "later"}).status_code == 302
    post.refresh_from_db()
    assert post.due_at == dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.UTC)


# --- A blackout added while dispatchers run (PostgreSQL: real row locks) ------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_blackout_added_while_dispatchers_run_never_lets_a_held_post_out_and_never_deadlocks(personas):
    import threading
    import time

    from django.db import connection

    from scheduler import publishing
    from scheduler.models import PENDING_DELIVERY_STATUSES

    second = ChannelFactory(department=personas.parks, display_name="Parks on Sandbox 2")
    posts = []
    for number in range(20):
        post = approved_post(
            author=personas.alice,
            approver=personas.bob,
            channels=[personas.parks_channel, second],
            text=f"Announcement {number}",
        )
        make_due(post)
        posts.append(post)
    now = timezone.now()
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def dispatcher() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            publishing.dispatch_tick(
                enqueue=lambda delivery_id: publishing.delivery_publish(delivery_id=delivery_id),
                loop_name=threading.current_thread().name,
            )
            if not Delivery.objects.filter(status__in=PENDING_DELIVERY_STATUSES).exists():
                return
        raise AssertionError("deliveries still pending at the deadline")

    def admin() -> None:
        blackout_create(
            user=fresh(personas.dana),
            department=None,
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(hours=3),
            reason="Day of mourning",
        )

    def run(target) -> None:  # noqa: ANN001
        try:
            barrier.wait(timeout=30)
            target()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in (dispatcher, dispatcher, dispatcher, admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
        assert not thread.is_alive(), "a racing thread hung"
    assert errors == []

    held = 0
    for post in Post.objects.filter(pk__in=[p.pk for p in posts]):
        statuses = sorted(post.deliveries.values_list("status", flat=True))
        sent = SandboxPost.objects.filter(
            idempotency_key__in=[str(k) for k in post.deliveries.values_list("idempotency_key", flat=True)]
        )
        if post.status == PostStatus.SUBMITTED:  # held before anything went out
            held += 1
            assert statuses == [DeliveryStatus.CANCELLED] * 2 and not sent.exists()
            assert post.reviews.last().action == ReviewAction.BLACKOUT_HELD
        else:  # out before the blackout was committed, wholly or in part (the rest waits for a person)
            assert post.status == PostStatus.PUBLISHED
            assert set(statuses) <= {DeliveryStatus.PUBLISHED, DeliveryStatus.NEEDS_ATTENTION}
            assert sent.count() == statuses.count(DeliveryStatus.PUBLISHED)
    print(f"\n{held} of 20 posts held by a blackout added while 3 dispatchers ran")
