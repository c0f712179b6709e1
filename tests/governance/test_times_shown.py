"""The crisis banner, the crisis pages and the emergency pages show times in the viewer's department zone
with its offset, like every other page (they used to show UTC)."""

import datetime as dt

from django.test import Client
from django.urls import reverse

from governance.emergency import LanguageVersion, emergency_publish
from governance.models import EmergencyAlert
from governance.services import crisis_hold_start
from scheduler.models import CrisisHold
from tests.scheduler import approved_post

MINUS = "\N{MINUS SIGN}"
# 3:00 PM UTC on Saturday, July 4, 2026.
STARTED = dt.datetime(2026, 7, 4, 15, 0, tzinfo=dt.UTC)
IN_CHICAGO = f"Sat, Jul 4, 2026, 10:00 AM CDT (UTC{MINUS}05:00)"
IN_NEW_YORK = f"Sat, Jul 4, 2026, 11:00 AM EDT (UTC{MINUS}04:00)"
IN_LOS_ANGELES = f"Sat, Jul 4, 2026, 8:00 AM PDT (UTC{MINUS}07:00)"
IN_UTC = "Sat, Jul 4, 2026, 3:00 PM UTC"


def page(user, url: str) -> str:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_crisis_banner_shows_when_the_hold_started_in_each_viewer_s_zone(city):
    hold = crisis_hold_start(user=city.dana, reason="Storm")
    CrisisHold.objects.filter(pk=hold.pk).update(started_at=STARTED)

    parks = page(city.alice, reverse("scheduler:dashboard"))  # Parks: America/Chicago
    library = page(city.carol, reverse("scheduler:dashboard"))  # Library: America/New_York

    assert "Crisis hold in effect" in parks
    assert f"switched on by {city.dana.get_full_name() or city.dana.email}, {IN_CHICAGO}." in parks
    assert IN_NEW_YORK in library
    assert IN_UTC not in parks + library


def test_the_crisis_pages_show_the_viewer_s_zone(city):
    city.communications.time_zone = "America/Los_Angeles"
    city.communications.save()
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    hold = crisis_hold_start(user=city.dana, reason="Storm")
    CrisisHold.objects.filter(pk=hold.pk).update(started_at=STARTED)
    post.__class__.objects.filter(pk=post.pk).update(due_at=STARTED + dt.timedelta(hours=1))

    crisis = page(city.dana, reverse("governance:crisis"))
    switch_off = page(city.dana, reverse("governance:crisis_end", args=[hold.pk]))

    for html in (crisis, switch_off):
        assert IN_LOS_ANGELES in html
        assert f"Sat, Jul 4, 2026, 9:00 AM PDT (UTC{MINUS}07:00)" in html  # the held post's time, Dana's zone
        assert IN_UTC not in html and "CDT" not in html


def test_the_emergency_pages_show_the_viewer_s_zone(city):
    city.communications.time_zone = "America/Los_Angeles"
    city.communications.save()
    alert = emergency_publish(
        user=city.olga, channels=[city.parks_channel], versions=[LanguageVersion("en", "Boil water.")]
    )
    EmergencyAlert.objects.filter(pk=alert.pk).update(created_at=STARTED)

    listing = page(city.dana, reverse("governance:emergency_list"))
    detail = page(city.dana, reverse("governance:emergency_detail", args=[alert.pk]))

    for html in (listing, detail):
        assert IN_LOS_ANGELES in html
        assert IN_UTC not in html


def test_a_post_page_shows_its_times_and_its_hold_in_the_viewer_s_zone_not_the_post_s_department_s(city):
    city.communications.time_zone = "America/Los_Angeles"
    city.communications.save()
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    post.__class__.objects.filter(pk=post.pk).update(due_at=STARTED)
    post.deliveries.update(due_at=STARTED, next_attempt_at=STARTED)
    hold = crisis_hold_start(user=city.dana, reason="Storm")
    CrisisHold.objects.filter(pk=hold.pk).update(started_at=STARTED)

    html = page(city.dana, reverse("scheduler:post_detail", args=[post.pk]))  # a Parks post, Dana in Los Angeles

    assert f'<time datetime="2026-07-04T15:00:00Z">{IN_LOS_ANGELES}</time>' in html
    assert f"Held: crisis hold by {city.dana.get_full_name() or city.dana.email} since {IN_LOS_ANGELES}" in html
    assert IN_CHICAGO not in html and IN_UTC not in html
