"""The department and city figures: per platform and channel, engagement per follower, top posts, what
worked with sample sizes and a minimum, a fixed number of queries, CSV exports, who may read them."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.figures import report_build
from departments.models import CityRole, CityRoleName, Role
from medialibrary.models import MediaAsset, PostMedia
from tests.analytics.history import published_history
from tests.factories import ChannelFactory, UserFactory, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
# Tuesday 2026-11-17, 15:00 UTC = 09:00 in Chicago (Parks' zone).
TUESDAY_9_CHICAGO = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def rows(count: int, *, likes: int, at: dt.datetime = TUESDAY_9_CHICAGO, **extra) -> list[dict]:
    return [{"published_at": at - dt.timedelta(days=7 * (n % 3)), "likes": likes, **extra} for n in range(count)]


def manager():
    user = UserFactory(username="max")
    CityRole.objects.create(user=user, role=CityRoleName.COMMUNICATIONS_MANAGER)
    return user


def test_engagement_per_follower_compares_a_large_and_a_small_account_fairly(personas, frozen):
    big = ChannelFactory(department=personas.parks, display_name="Parks Facebook", platform="sandbox")
    small = personas.parks_channel
    published_history(personas, big, rows(3, likes=100, shares=10), followers=100_000)
    published_history(personas, small, rows(3, likes=20, replies=2), followers=1_000)
    report = report_build(
        department_ids=[personas.parks.pk], start=NOW - dt.timedelta(days=30), end=NOW, zone=personas.parks.zone
    )
    by_name = {f.label: f for f in report.channels}
    assert by_name["Parks Facebook"].engagement == 330
    assert by_name["Parks Facebook"].rate == pytest.approx(1.1)
    assert by_name["Parks on Sandbox"].engagement == 66
    assert by_name["Parks on Sandbox"].rate == pytest.approx(22.0)
    assert by_name["Parks on Sandbox"].rate_n == 3
    assert report.totals.posts == 6 and report.totals.with_figures == 6
    assert [p.channel for p in report.top_posts[:3]] == ["Parks on Sandbox"] * 3


def test_a_channel_without_follower_counts_is_left_out_of_the_per_follower_figure_and_says_so(personas, frozen, client):
    published_history(personas, personas.parks_channel, rows(2, likes=5), followers=None)
    client.force_login(personas.alice)
    page = client.get(reverse("analytics:department_figures", args=[personas.parks.pk])).content.decode()
    report = report_build(
        department_ids=[personas.parks.pk], start=NOW - dt.timedelta(days=30), end=NOW, zone=personas.parks.zone
    )
    assert report.channels[0].rate is None and report.channels[0].rate_n == 0
    assert report.channels[0].engagement == 10
    assert "no follower count" in page
    # Views the platform does not report are "not reported", never 0.
    assert report.channels[0].views is None and "not reported" in page


def test_what_worked_is_said_only_from_the_minimum_sample(personas, frozen, settings):
    settings.CIVICPOST_ANALYTICS_MIN_SAMPLE = 4
    channel = personas.parks_channel
    with_image = published_history(personas, channel, rows(4, likes=40, text="Pool photo"))
    published_history(personas, channel, rows(4, likes=10))
    asset = MediaAsset.objects.create(
        department=personas.parks,
        kind="image",
        file_name="library/p.png",
        mime_type="image/png",
        size_bytes=1,
        sha256="0" * 64,
    )
    PostMedia.objects.bulk_create([PostMedia(post=d.post, asset=asset, position=0) for d in with_image])
    report = report_build(
        department_ids=[personas.parks.pk], start=NOW - dt.timedelta(days=30), end=NOW, zone=personas.parks.zone
    )
    image = {g.label: g for g in next(f for f in report.factors if f.key == "image").groups}
    assert image["with an image"].figures.rate_n == 4
    assert image["with an image"].ratio == pytest.approx(1.6)
    assert image["without an image"].ratio == pytest.approx(0.4)
    assert "Posts with an image: 60% more engagement per follower than the average. (n=4)" in report.findings

    settings.CIVICPOST_ANALYTICS_MIN_SAMPLE = 5
    report = report_build(
        department_ids=[personas.parks.pk], start=NOW - dt.timedelta(days=30), end=NOW, zone=personas.parks.zone
    )
    image = {g.label: g for g in next(f for f in report.factors if f.key == "image").groups}
    assert not image["with an image"].enough
    assert "Too few posts to tell (fewer than 5" in image["with an image"].verdict
    assert report.findings == []


def test_weekday_and_hour_are_in_the_departments_zone_and_link_and_language_are_factors(personas, frozen):
    published_history(
        personas,
        personas.parks_channel,
        [{"published_at": TUESDAY_9_CHICAGO, "likes": 1, "link": "https://city.example", "language": "es"}],
    )
    report = report_build(
        department_ids=[personas.parks.pk], start=NOW - dt.timedelta(days=30), end=NOW, zone=personas.parks.zone
    )
    factors = {f.key: [g.label for g in f.groups] for f in report.factors}
    assert factors["weekday"] == ["Tuesday"]
    assert factors["hour"] == ["09:00"]
    assert factors["link"] == ["with a link"]
    assert factors["language"] == ["Spanish"] or factors["language"][0].lower().startswith("span")


def test_the_period_bounds_are_days_in_the_departments_zone(personas, frozen, client):
    # 2026-11-18 05:30 UTC is still 17 November in Chicago.
    published_history(
        personas,
        personas.parks_channel,
        [{"published_at": dt.datetime(2026, 11, 18, 5, 30, tzinfo=dt.UTC), "likes": 3}],
    )
    client.force_login(personas.alice)
    url = reverse("analytics:department_figures", args=[personas.parks.pk])
    assert client.get(url, {"start": "2026-11-17", "end": "2026-11-17"}).context["report"].totals.posts == 1
    assert client.get(url, {"start": "2026-11-18", "end": "2026-11-18"}).context["report"].totals.posts == 0


def test_the_page_runs_a_fixed_number_of_queries_whatever_the_data(
    personas, frozen, client, django_assert_max_num_queries
):
    client.force_login(personas.alice)
    url = reverse("analytics:department_figures", args=[personas.parks.pk])
    published_history(personas, personas.parks_channel, rows(2, likes=3))
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    second = ChannelFactory(department=personas.parks, display_name="Parks second")
    published_history(personas, personas.parks_channel, rows(40, likes=5, link="https://x.example"))
    published_history(personas, second, rows(40, likes=7, language="es"), followers=50)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.context["report"].totals.posts == 82


def test_the_city_page_has_a_row_per_department_and_only_managers_and_viewers_read_it(personas, frozen, client):
    published_history(personas, personas.parks_channel, rows(2, likes=3))
    published_history(personas, personas.library_channel, rows(1, likes=3))
    url = reverse("analytics:city_figures")
    client.force_login(personas.alice)
    assert client.get(url).status_code == 403
    client.force_login(manager())
    response = client.get(url)
    assert [f.label for f in response.context["report"].departments] == ["Parks and Recreation", "Public Library"]
    assert response.context["report"].totals.posts == 3


def test_a_department_member_reads_only_their_departments_figures(personas, frozen, client):
    client.force_login(personas.carol)
    assert client.get(reverse("analytics:department_figures", args=[personas.parks.pk])).status_code == 404
    assert (
        client.get(reverse("analytics:department_figures_csv", args=[personas.parks.pk, "channels"])).status_code == 404
    )
    assert client.get(reverse("analytics:department_figures", args=[personas.library.pk])).status_code == 200
    viewer = UserFactory(username="vera")
    CityRole.objects.create(user=viewer, role=CityRoleName.VIEWER)
    client.force_login(viewer)
    assert client.get(reverse("analytics:department_figures", args=[personas.parks.pk])).status_code == 200


def test_every_table_exports_as_csv_with_its_sample_sizes_and_no_formulas(personas, frozen, client):
    published_history(personas, personas.parks_channel, rows(3, likes=4, text='=HYPERLINK("evil")'))
    client.force_login(personas.alice)
    page = client.get(reverse("analytics:department_figures", args=[personas.parks.pk]))
    for table in ("platforms", "channels", "top-posts", "factors"):
        link = reverse("analytics:department_figures_csv", args=[personas.parks.pk, table])
        assert link in page.content.decode()
        response = client.get(link, {"start": "2026-10-22", "end": "2026-11-20"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        table_rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert len(table_rows) > 1, table
    channels = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    reverse("analytics:department_figures_csv", args=[personas.parks.pk, "channels"])
                ).content.decode()
            )
        )
    )
    assert channels[0]["engagement"] == "12" and channels[0]["deliveries_with_follower_counts"] == "3"
    top = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    reverse("analytics:department_figures_csv", args=[personas.parks.pk, "top-posts"])
                ).content.decode()
            )
        )
    )
    assert top[0]["text"].startswith("'=")
    assert client.get(reverse("analytics:department_figures_csv", args=[personas.parks.pk, "nope"])).status_code == 404


def test_every_chart_has_a_data_table_and_a_text_alternative(personas, frozen, client):
    published_history(personas, personas.parks_channel, rows(3, likes=4))
    client.force_login(personas.alice)
    html = client.get(reverse("analytics:department_figures", args=[personas.parks.pk])).content.decode()
    charts = html.count('<svg role="img"')
    assert charts == 3
    assert html.count("Data of the chart:") == charts
    assert html.count('<title id="chart-') == charts


def test_a_bad_period_is_explained_and_the_default_shown(personas, frozen, client):
    client.force_login(personas.alice)
    response = client.get(
        reverse("analytics:department_figures", args=[personas.parks.pk]), {"start": "2026-11-10", "end": "2026-11-01"}
    )
    assert response.status_code == 200
    assert "The end comes before the start." in response.content.decode()
    assert response.context["period"]["last"] == dt.date(2026, 11, 20)


def test_the_navigation_links_to_the_figures(personas, client):
    member("pat", personas.parks, Role.ADMIN)
    client.force_login(personas.alice)
    html = client.get(reverse("scheduler:dashboard")).content.decode()
    assert reverse("analytics:department_figures", args=[personas.parks.pk]) in html
