"""Crisis hold: every scheduled non-emergency delivery in scope is held — not sent, not marked sent, not
cancelled — and when the hold ends it is released, moved or kept, post by post. Nothing is ever published
twice or silently dropped."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from civicpost.exceptions import ApplicationError
from governance.services import crisis_hold_end, crisis_hold_start, post_hold_release
from scheduler import publishing
from scheduler.models import CrisisHold, Delivery, DeliveryStatus, PostHold, PostStatus, ReleaseChoice, SandboxPost
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due, make_retry_due, set_mode, tick


def sent_count(post) -> int:  # noqa: ANN001
    keys = [str(k) for k in Delivery.objects.filter(post=post).values_list("idempotency_key", flat=True)]
    return SandboxPost.objects.filter(idempotency_key__in=keys).count()


def statuses(post) -> list[str]:  # noqa: ANN001
    return list(Delivery.objects.filter(post=post).order_by("id").values_list("status", flat=True))


@pytest.fixture
def due_posts(city):  # noqa: ANN001, ANN201
    parks = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="Parks post")
    library = approved_post(author=city.carol, approver=city.dana, channels=[city.library_channel], text="Library")
    make_due(parks, ago=dt.timedelta(minutes=5))
    make_due(library, ago=dt.timedelta(minutes=5))
    return parks, library


def test_a_city_wide_hold_sends_nothing_and_marks_nothing(city, due_posts):
    parks, library = due_posts
    hold = crisis_hold_start(user=city.dana, reason="Shooting downtown")
    reports = tick(3)
    assert all(report.claimed == [] for report in reports)
    for post in (parks, library):
        assert statuses(post) == [DeliveryStatus.SCHEDULED]
        assert sent_count(post) == 0
        post.refresh_from_db()
        assert post.status == PostStatus.APPROVED
    event = AuditEvent.objects.get(action=AuditAction.CRISIS_ON)
    assert event.actor == city.dana and event.message == "Shooting downtown"
    assert event.changes["city_wide"] is True and event.changes["held_deliveries"] == 2
    assert hold.is_active


def test_a_department_hold_holds_only_that_department(city, due_posts):
    parks, library = due_posts
    crisis_hold_start(user=city.ivan, reason="Park incident", departments=[city.parks])  # an IT admin may
    tick()
    assert statuses(parks) == [DeliveryStatus.SCHEDULED] and sent_count(parks) == 0
    assert statuses(library) == [DeliveryStatus.PUBLISHED] and sent_count(library) == 1


def test_deliveries_waiting_to_retry_are_held_too(city):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    set_mode(city.parks_channel, "rate_limit")
    make_due(post)
    tick()
    delivery = Delivery.objects.get(post=post)
    assert delivery.status == DeliveryStatus.RETRY_WAIT
    crisis_hold_start(user=city.dana, reason="Hold")
    set_mode(city.parks_channel, "ok")
    make_retry_due(delivery)
    tick()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRY_WAIT and sent_count(post) == 0


def test_a_delivery_claimed_before_the_hold_is_put_back_and_its_worker_sends_nothing(city, due_posts):
    parks, _library = due_posts
    claimed = publishing.deliveries_claim_due()
    parks_delivery = Delivery.objects.get(post=parks)
    assert parks_delivery.pk in claimed
    crisis_hold_start(user=city.dana, reason="Hold")
    parks_delivery.refresh_from_db()
    assert parks_delivery.status == DeliveryStatus.SCHEDULED
    # The message enqueued with the claim arrives now: the worker finds the row no longer claimed.
    assert publishing.delivery_publish(delivery_id=parks_delivery.pk) is None
    assert sent_count(parks) == 0
    assert AuditEvent.objects.get(action=AuditAction.CRISIS_ON).changes["claims_put_back"] == 2


def test_releasing_sends_each_held_post_once_including_those_due_during_the_hold(city, due_posts):
    parks, library = due_posts
    later = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="Next week")
    hold = crisis_hold_start(user=city.dana, reason="Hold")
    tick()
    report = crisis_hold_end(hold=hold, user=city.dana, choice=ReleaseChoice.RELEASE)
    assert sorted(report.released) == sorted([parks.pk, library.pk, later.pk])
    tick(3)
    assert sent_count(parks) == 1 and sent_count(library) == 1
    assert statuses(later) == [DeliveryStatus.SCHEDULED]  # its time has not come: it waits as before
    make_due(later)
    tick(2)
    assert sent_count(later) == 1
    off = AuditEvent.objects.get(action=AuditAction.CRISIS_OFF)
    assert off.actor == city.dana and sorted(off.changes["released"]) == sorted([parks.pk, library.pk, later.pk])
    hold.refresh_from_db()
    assert hold.ended_by == city.dana and hold.release_choice == ReleaseChoice.RELEASE


def test_keeping_posts_held_outlives_the_hold_until_each_is_released(city, due_posts):
    parks, library = due_posts
    hold = crisis_hold_start(user=city.dana, reason="Hold")
    crisis_hold_end(hold=hold, user=city.dana, choice=ReleaseChoice.RELEASE, per_post={parks.pk: ReleaseChoice.KEEP})
    tick(2)
    assert sent_count(library) == 1
    assert sent_count(parks) == 0 and statuses(parks) == [DeliveryStatus.SCHEDULED]
    kept = PostHold.objects.get(post=parks, released_at__isnull=True)
    assert hold.reason in kept.reason
    assert AuditEvent.objects.filter(action="hold.kept", target_id=str(parks.pk)).exists()
    assert CrisisHold.objects.get(pk=hold.pk).release_choice == "mixed"

    with pytest.raises(ApplicationError):
        post_hold_release(hold=kept, user=city.alice)
    post_hold_release(hold=kept, user=city.max)
    tick(2)
    assert sent_count(parks) == 1
    assert AuditEvent.objects.filter(action="hold.released", target_id=str(parks.pk)).exists()


def test_rescheduling_by_a_communications_manager_approves_the_new_time_at_once(city, due_posts):
    parks, _library = due_posts
    hold = crisis_hold_start(user=city.dana, reason="Hold")
    new_time = timezone.now() + dt.timedelta(hours=3)
    report = crisis_hold_end(
        hold=hold,
        user=city.dana,
        choice=ReleaseChoice.RELEASE,
        per_post={parks.pk: ReleaseChoice.RESCHEDULE},
        reschedule_to=new_time,
    )
    assert report.rescheduled == [parks.pk] and report.reapproved == [parks.pk]
    parks.refresh_from_db()
    assert parks.status == PostStatus.APPROVED and parks.due_at == new_time
    assert parks.current_approval.approved_by == city.dana
    assert statuses(parks) == [DeliveryStatus.CANCELLED, DeliveryStatus.SCHEDULED]
    tick()
    assert sent_count(parks) == 0  # not before its new time
    make_due(parks)
    tick(2)
    assert sent_count(parks) == 1


def test_rescheduling_by_an_it_admin_sends_the_post_back_for_approval(city, due_posts):
    parks, _library = due_posts
    hold = crisis_hold_start(user=city.ivan, reason="Hold")
    crisis_hold_end(
        hold=hold,
        user=city.ivan,
        choice=ReleaseChoice.RESCHEDULE,
        reschedule_to=timezone.now() + dt.timedelta(days=1),
    )
    parks.refresh_from_db()
    assert parks.status == PostStatus.SUBMITTED and parks.current_approval is None
    assert statuses(parks) == [DeliveryStatus.CANCELLED]
    tick()
    assert sent_count(parks) == 0


def test_rescheduling_needs_a_future_time_and_refuses_partly_published_posts(city):
    both = approved_post(
        author=city.alice,
        approver=city.bob,
        channels=[city.parks_channel, ChannelFactory(department=city.parks, display_name="Parks 2")],
    )
    make_due(both)
    second = Delivery.objects.filter(post=both).order_by("id").last()
    set_mode(second.channel, "rate_limit")
    tick()
    assert sorted(statuses(both)) == [DeliveryStatus.PUBLISHED, DeliveryStatus.RETRY_WAIT]
    hold = crisis_hold_start(user=city.dana, reason="Hold")
    with pytest.raises(ApplicationError, match="future"):
        crisis_hold_end(hold=hold, user=city.dana, choice=ReleaseChoice.RESCHEDULE)
    with pytest.raises(ApplicationError, match="already published"):
        crisis_hold_end(
            hold=hold,
            user=city.dana,
            choice=ReleaseChoice.RESCHEDULE,
            reschedule_to=timezone.now() + dt.timedelta(hours=1),
        )
    assert CrisisHold.objects.get(pk=hold.pk).is_active  # nothing changed


def test_only_communications_managers_and_it_admins_switch_holds(city):
    for person in (city.alice, city.bob, city.pat, city.vera, city.olga):
        with pytest.raises(ApplicationError):
            crisis_hold_start(user=person, reason="No")
    with pytest.raises(ApplicationError, match="Say why"):
        crisis_hold_start(user=city.dana, reason="  ")
    hold = crisis_hold_start(user=city.max, reason="Yes")
    with pytest.raises(ApplicationError):
        crisis_hold_end(hold=hold, user=city.pat, choice=ReleaseChoice.RELEASE)
    crisis_hold_end(hold=hold, user=city.ivan, choice=ReleaseChoice.RELEASE)
    with pytest.raises(ApplicationError, match="already"):
        crisis_hold_end(hold=hold, user=city.dana, choice=ReleaseChoice.RELEASE)


def test_a_post_approved_during_the_hold_is_held_too(city):
    crisis_hold_start(user=city.dana, reason="Hold")
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    make_due(post)
    tick()
    assert sent_count(post) == 0 and statuses(post) == [DeliveryStatus.SCHEDULED]


def test_the_post_page_and_every_page_say_what_is_held(city, due_posts, client):
    parks, _library = due_posts
    crisis_hold_start(user=city.dana, reason="Shooting downtown", departments=[city.parks])
    client.force_login(city.alice)
    page = client.get(reverse("scheduler:post_detail", args=[parks.pk])).content.decode()
    assert "Held: crisis hold by Dana" in page and "Shooting downtown" in page
    dashboard = client.get(reverse("scheduler:dashboard")).content.decode()
    assert "Crisis hold in effect" in dashboard


def test_the_crisis_pages_switch_a_hold_on_and_off_with_choices_per_post(city, due_posts, client):
    parks, library = due_posts
    client.force_login(city.dana)
    assert client.get(reverse("governance:crisis")).status_code == 200
    response = client.post(
        reverse("governance:crisis_start"), {"reason": "Storm", "departments": [city.parks.pk, city.library.pk]}
    )
    assert response.status_code == 302
    hold = CrisisHold.objects.get()
    assert not hold.city_wide and set(hold.departments.all()) == {city.parks, city.library}
    page = client.get(reverse("governance:crisis_end", args=[hold.pk]))
    assert page.status_code == 200 and "Parks post" in page.content.decode()
    response = client.post(
        reverse("governance:crisis_end", args=[hold.pk]),
        {"choice": "release", f"post_{library.pk}": "keep", f"post_{parks.pk}": ""},
    )
    assert response.status_code == 302
    tick(2)
    assert sent_count(parks) == 1 and sent_count(library) == 0
    kept = PostHold.objects.get(post=library)
    response = client.post(reverse("governance:post_hold_release", args=[kept.pk]), {"choice": "release"})
    assert response.status_code == 302
    tick()
    assert sent_count(library) == 1


def test_the_calendar_says_a_post_is_held(city, client):
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="Pool party")
    crisis_hold_start(user=city.dana, reason="Storm warning", departments=[city.parks])
    client.force_login(city.carol)  # another department's editor sees the shared calendar too
    month = post.due_at.astimezone(city.parks.zone).strftime("%Y-%m")
    page = client.get(reverse("scheduler:calendar_month"), {"month": month, "filtered": "1"}).content.decode()
    assert "Pool party" in page
    assert "Held:" in page and "crisis hold by Dana" in page and "Storm warning" in page


def test_held_deliveries_are_not_reported_as_a_stalled_publisher(city, due_posts):
    from civicpost.health import health_report
    from monitoring import services as monitoring

    parks, library = due_posts
    Delivery.objects.filter(post__in=[parks, library]).update(next_attempt_at=timezone.now() - dt.timedelta(hours=1))
    hold = crisis_hold_start(user=city.dana, reason="Hold")
    assert health_report().overdue_count == 0
    assert monitoring.alert_overdue_deliveries() == 0
    crisis_hold_end(hold=hold, user=city.dana, choice=ReleaseChoice.RELEASE)
    # Released and still not sent (no dispatcher ran): now it is overdue, and said so.
    assert health_report().overdue_count == 2
    assert monitoring.alert_overdue_deliveries() == 2
