"""Emergency posts: an authorised official publishes now, across departments, through the ordinary
deliveries (each channel once), past the approval queue and any crisis hold, with re-authentication,
marked "emergency", reviewed afterwards."""

import datetime as dt
import time
from urllib.parse import urlencode

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from civicpost.exceptions import ApplicationError
from governance.emergency import LanguageVersion, emergency_publish, emergency_review
from governance.models import EmergencyAlert, EmergencyPost, EmergencyReview, EmergencyTemplate
from governance.services import crisis_hold_start
from scheduler import services
from scheduler.models import ChannelStatus, Delivery, DeliveryStatus, Post, PostStatus, SandboxPost
from tests.accounts.conftest import new_browser, sign_in
from tests.scheduler import tick

BOIL = "BOIL WATER NOTICE for Eastside: boil tap water for one minute before drinking. Updates: 311."
HERVIR = "AVISO DE HERVIR EL AGUA para Eastside: hierva el agua del grifo durante un minuto. Novedades: 311."


def publish(city, **kwargs):  # noqa: ANN001, ANN201
    defaults = {
        "user": city.olga,
        "channels": [city.parks_channel, city.library_channel, city.library_second],
        "versions": [LanguageVersion("en", BOIL)],
    }
    return emergency_publish(**{**defaults, **kwargs})


def sandbox_texts(channel) -> list[str]:  # noqa: ANN001
    return sorted(SandboxPost.objects.filter(channel=channel).values_list("text", flat=True))


def test_the_seeded_templates_are_there(db):
    slugs = set(EmergencyTemplate.objects.values_list("slug", flat=True))
    assert {"boil-water", "road-closure", "shelter-in-place", "evacuation", "all-clear"} <= slugs
    assert "[area]" in EmergencyTemplate.objects.get(slug="boil-water").text


def test_an_emergency_post_reaches_every_chosen_channel_exactly_once(city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alert = publish(city, template=EmergencyTemplate.objects.get(slug="boil-water"))
    # Delivered right after the commit: the dispatcher was rung (eager in tests), no tick needed.
    for channel in (city.parks_channel, city.library_channel, city.library_second):
        assert sandbox_texts(channel) == [BOIL]
    tick(3)
    assert SandboxPost.objects.count() == 3

    posts = Post.objects.filter(emergency__alert=alert).order_by("department__name")
    assert [p.department for p in posts] == [city.parks, city.library]
    for post in posts:
        assert post.status == PostStatus.PUBLISHED
        assert post.author == city.olga
        assert post.current_approval.approved_by == city.olga
        assert post.current_approval.content["text"] == BOIL
        assert all(d.status == DeliveryStatus.PUBLISHED for d in post.deliveries.all())
    assert alert.title == "Boil-water notice"
    assert not EmergencyReview.objects.exists()


def test_an_emergency_post_goes_through_a_crisis_hold_and_ordinary_posts_stay_held(city):
    ordinary = services.post_approve(
        post=services.post_submit(
            post=services.post_create(
                author=city.alice,
                department=city.parks,
                text="Splash pads open",
                channels=[city.parks_channel],
                due_at=timezone.now() + dt.timedelta(hours=1),
            ),
            user=city.alice,
        ),
        user=city.bob,
    ).post
    Delivery.objects.filter(post=ordinary).update(next_attempt_at=timezone.now() - dt.timedelta(minutes=1))
    crisis_hold_start(user=city.dana, reason="Water main break")
    publish(city, channels=[city.parks_channel])
    tick(2)
    assert sandbox_texts(city.parks_channel) == [BOIL]
    assert Delivery.objects.get(post=ordinary).status == DeliveryStatus.SCHEDULED


def test_language_versions_go_to_each_channel_once_each(city):
    publish(city, channels=[city.parks_channel], versions=[LanguageVersion("en", BOIL), LanguageVersion("es", HERVIR)])
    tick(2)
    assert sandbox_texts(city.parks_channel) == sorted([BOIL, HERVIR])
    post = Post.objects.get(emergency__isnull=False)
    assert sorted(post.deliveries.values_list("language", flat=True)) == ["en", "es"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user": "alice"}, "Only authorised officials"),
        ({"user": "dana"}, "Only authorised officials"),
        ({"channels": []}, "Choose at least one channel"),
        ({"versions": [LanguageVersion("en", "BOIL WATER NOTICE for [area].")]}, "brackets"),
        ({"versions": [LanguageVersion("en", "   ")]}, "Write the text"),
        ({"versions": [LanguageVersion("en", "x" * 600)]}, "Parks on Sandbox"),
    ],
)
def test_an_emergency_post_that_cannot_go_out_as_asked_writes_nothing(city, kwargs, message):
    if "user" in kwargs:
        kwargs["user"] = getattr(city, kwargs["user"])
    with pytest.raises(ApplicationError, match=message):
        publish(city, **kwargs)
    assert not Post.objects.exists()
    assert not EmergencyAlert.objects.exists()


def test_a_disconnected_channel_refuses_the_whole_emergency_post(city):
    city.library_second.status = ChannelStatus.NEEDS_RECONNECT
    city.library_second.save()
    with pytest.raises(ApplicationError, match="Library second needs to be reconnected"):
        publish(city)
    assert not Post.objects.exists()


def test_each_step_is_in_the_audit_trail(city):
    alert = publish(city, channels=[city.parks_channel])
    tick()
    post = alert.posts.get().post
    actions = list(AuditEvent.objects.filter(target_id=str(post.pk)).order_by("id").values_list("action", "actor"))
    assert actions == [
        (AuditAction.POST_CREATED, city.olga.pk),
        (AuditAction.POST_APPROVED, city.olga.pk),
        ("emergency.published", city.olga.pk),
        (AuditAction.POST_PUBLISHED, None),
    ]


def test_the_communications_manager_reviews_it_afterwards(city, client):
    alert = publish(city, channels=[city.parks_channel])
    client.force_login(city.dana)
    listing = client.get(reverse("governance:emergency_list")).content.decode()
    assert "Waiting for review" in listing and alert.title in listing
    with pytest.raises(ApplicationError):
        emergency_review(alert=alert, user=city.olga)
    response = client.post(reverse("governance:emergency_review", args=[alert.pk]), {"notes": "Right call."})
    assert response.status_code == 302
    review = EmergencyReview.objects.get(alert=alert)
    assert review.reviewed_by == city.dana and review.notes == "Right call."
    assert AuditEvent.objects.filter(action="emergency.reviewed", actor=city.dana).exists()
    with pytest.raises(ApplicationError, match="already"):
        emergency_review(alert=alert, user=city.max)
    assert "Every emergency post has been reviewed" in client.get(reverse("governance:emergency_list")).content.decode()


def test_it_is_marked_emergency_on_the_post_page_and_the_dashboard(city, client):
    alert = publish(city, channels=[city.parks_channel])
    post = alert.posts.get().post
    client.force_login(city.alice)
    page = client.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert "Emergency post by Olga" in page
    assert ">Edit post<" not in page  # an emergency post is final
    tick()
    dashboard = client.get(reverse("scheduler:dashboard")).content.decode()
    assert ">Emergency</span>" in dashboard


def test_the_all_clear_follow_up_is_an_ordinary_post_submitted_for_approval(city, django_capture_on_commit_callbacks):
    later = timezone.now() + dt.timedelta(hours=6)
    with django_capture_on_commit_callbacks(execute=True):
        alert = publish(
            city,
            channels=[city.parks_channel],
            follow_up_versions=[LanguageVersion("en", "ALL CLEAR for Eastside: tap water is safe again.")],
            follow_up_at=later,
        )
    follow_up = alert.follow_up_posts.get()
    assert follow_up.status == PostStatus.SUBMITTED and follow_up.due_at == later
    assert not EmergencyPost.objects.filter(post=follow_up).exists()
    assert "bob@city.example" in [m.to[0] for m in mail.outbox if "Waiting for your approval" in m.subject]
    with pytest.raises(ApplicationError, match="cannot approve"):
        services.post_approve(post=follow_up, user=city.olga)  # she wrote it, and approves nothing anyway
    services.post_approve(post=follow_up, user=city.bob)
    tick()
    assert sandbox_texts(city.parks_channel) == [BOIL]  # the follow-up waits for its time


def test_the_emergency_page_publishes_after_re_authentication(city, settings):
    settings.CIVICPOST_REQUIRE_REAUTH = True
    url = reverse("governance:emergency_create")
    browser = new_browser()
    sign_in(browser, city.olga)
    form = browser.get(f"{url}?template=boil-water")
    assert form.status_code == 200 and "[area]" in form.content.decode()
    data = {
        "template": "boil-water",
        "text_en": BOIL,
        "text_es": "",
        "channels": [city.parks_channel.pk, city.library_channel.pk],
        "link": "",
    }
    with time_machine.travel(time.time() + 6 * 60, tick=False):
        response = browser.post(url, data)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_reauthenticate')}?{urlencode({'next': url})}"
        assert not EmergencyAlert.objects.exists()
    fresh = new_browser()
    sign_in(fresh, city.olga)
    response = fresh.post(url, data)
    assert response.status_code == 302
    alert = EmergencyAlert.objects.get()
    assert response["Location"] == reverse("governance:emergency_detail", args=[alert.pk])
    assert alert.posts.count() == 2


def test_people_without_the_emergency_permission_do_not_get_the_page(city, client):
    for person in (city.alice, city.pat, city.dana, city.ivan, city.vera):
        client.force_login(person)
        assert client.get(reverse("governance:emergency_create")).status_code == 404


def test_the_calendar_marks_an_emergency_post_and_does_not_call_it_held(city, client):
    crisis_hold_start(user=city.dana, reason="Water main break")
    alert = publish(city, channels=[city.parks_channel])
    post = alert.posts.get().post
    client.force_login(city.alice)
    month = post.due_at.astimezone(city.parks.zone).strftime("%Y-%m")
    page = client.get(reverse("scheduler:calendar_month"), {"month": month, "filtered": "1"}).content.decode()
    assert ">Emergency</span>" in page
    assert "Held:" not in page
