"""Drafts from the city's own feeds: iCal events (with reminders) and RSS/Atom news, served by `responses`
from local fixtures; items taken once by their stable ids; a changed item updates its draft only while it is
a draft; a broken feed is recorded and shown on the channels page; the SSRF guard, the size cap, the pages."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
import responses
import time_machine
from django.urls import reverse

from civicpost.exceptions import ApplicationError
from intake import services as intake
from intake.models import FeedItem, FeedKind, FeedSubscription
from intake.selectors import feed_findings
from scheduler import services as post_services
from scheduler.adapters import ssrf
from scheduler.models import Post, PostStatus
from tests.governance.city import City

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
ICS_URL = "https://springfield.example.gov/events.ics"
NEWS_URL = "https://springfield.example.gov/news.rss"
NOW = dt.datetime(2027, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """springfield.example.gov resolves to a public address; private names to private ones."""

    def fake(host: str, port: int, *args: object, **kwargs: object) -> list:
        address = {"springfield.example.gov": "93.184.215.14", "intranet.example.gov": "10.1.2.3"}.get(host)
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(ssrf, "_getaddrinfo", fake)


@pytest.fixture
def city(db: None) -> City:
    return City()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def events_feed(city: City, *, lead: int = 120) -> FeedSubscription:
    return intake.feed_subscription_create(
        user=city.pat,
        department=city.parks,
        name="Website events",
        kind=FeedKind.ICAL,
        url=ICS_URL,
        channels=[city.parks_channel],
        template="{title}\n{start} · {location}\n\n{summary}\n{link}",
        reminder_lead_minutes=lead,
        reminder_template="Reminder: {title} starts {start}.",
    )


def serve(url: str, name: str, **kwargs) -> None:  # noqa: ANN003
    responses.add(responses.GET, url, body=(FIXTURES / name).read_bytes(), status=200, **kwargs)


@responses.activate
def test_new_events_become_drafts_with_reminders_and_are_taken_once(city, clock):
    feed = events_feed(city)
    serve(ICS_URL, "events.ics", headers={"ETag": '"v1"'})
    report = intake.feed_fetch(subscription_id=feed.pk)
    assert report is not None and report.error == ""
    items = {item.uid: item for item in FeedItem.objects.all()}
    # The future events, a changed instance of the recurring one (UID|RECURRENCE-ID); not the past or
    # cancelled one.
    assert sorted(items) == [
        "council@springfield.example.gov",
        "council@springfield.example.gov|2027-05-12T23:00:00+00:00",
        "movie-night-2027@springfield.example.gov",
    ]
    assert report.skipped == 1
    movie = items["movie-night-2027@springfield.example.gov"]
    assert movie.post.status == PostStatus.DRAFT and movie.post.author == city.pat
    assert movie.post.text == (
        "Movie night in Riverside Park\nSat, Jun 12, 2027, 7:30 PM · Riverside Park bandshell\n\n"
        "Bring a blanket. Free popcorn & a family film.\nhttps://springfield.example.gov/events/movie-night"
    )
    assert movie.post.link == "https://springfield.example.gov/events/movie-night"
    assert list(movie.post.channels.all()) == [city.parks_channel]
    # The reminder: two hours before 7:30 p.m. Chicago time (00:30 UTC the next day).
    assert movie.reminder_post.due_at == dt.datetime(2027, 6, 13, 0, 30, tzinfo=dt.UTC) - dt.timedelta(hours=2)
    assert movie.reminder_post.text == "Reminder: Movie night in Riverside Park starts Sat, Jun 12, 2027, 7:30 PM."
    assert not movie.post.deliveries.exists()  # a draft: nothing goes out without approval
    posts = Post.objects.count()
    # Read again (the server ignores our ETag): nothing new.
    serve(ICS_URL, "events.ics")
    again = intake.feed_fetch(subscription_id=feed.pk)
    assert again.created == [] and again.unchanged == 3 and Post.objects.count() == posts
    assert responses.calls[1].request.headers["If-None-Match"] == '"v1"'


@responses.activate
def test_a_changed_event_updates_its_draft_only_while_unsubmitted(city, clock):
    feed = events_feed(city, lead=0)
    serve(ICS_URL, "events.ics")
    intake.feed_fetch(subscription_id=feed.pk)
    movie = FeedItem.objects.get(uid="movie-night-2027@springfield.example.gov")
    council = FeedItem.objects.get(uid="council@springfield.example.gov")
    assert movie.reminder_post is None  # no lead time: no reminder
    post_services.post_submit(post=council.post, user=city.alice)
    changed = (FIXTURES / "events.ics").read_text().replace("Riverside Park bandshell", "Lakeside lawn")
    changed = changed.replace("SUMMARY:Parks board meeting\n", "SUMMARY:Parks board meeting (new room)\n")
    responses.add(responses.GET, ICS_URL, body=changed.encode())
    report = intake.feed_fetch(subscription_id=feed.pk)
    assert report.updated == [movie.post_id]
    movie.refresh_from_db()
    council.refresh_from_db()
    assert "Lakeside lawn" in Post.objects.get(pk=movie.post_id).text
    assert "new room" not in Post.objects.get(pk=council.post_id).text
    assert "was not changed" in council.note and f"#{council.post_id}" in council.note
    assert movie.post.versions.count() == 2  # the update went through post_update (a new version)


@responses.activate
def test_rss_and_atom_items_become_drafts_keyed_by_guid_or_link(city, clock):
    feed = intake.feed_subscription_create(
        user=city.pat,
        department=city.parks,
        name="News",
        kind=FeedKind.NEWS,
        url=NEWS_URL,
        channels=[city.parks_channel],
        template="{title}: {summary} {link}",
    )
    serve(NEWS_URL, "news.rss")
    report = intake.feed_fetch(subscription_id=feed.pk)
    assert len(report.created) == 2
    assert set(FeedItem.objects.values_list("uid", flat=True)) == {
        "news-1041",
        "https://springfield.example.gov/news/library-hours",
    }
    splash = FeedItem.objects.get(uid="news-1041").post
    assert splash.text == (
        "Splash pads open for the summer: All 12 splash pads open Saturday at 10 a.m. "
        "https://springfield.example.gov/news/splash-pads"
    )
    assert splash.due_at == NOW + intake.DRAFT_DUE_AFTER
    serve(NEWS_URL, "news.atom")
    report = intake.feed_fetch(subscription_id=feed.pk)
    assert len(report.created) == 1
    assert FeedItem.objects.filter(uid="urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a").exists()


@responses.activate
def test_a_broken_feed_is_recorded_and_shown_on_the_channels_page_until_it_works(city, clock, client):
    feed = events_feed(city)
    responses.add(responses.GET, ICS_URL, status=500)
    assert intake.feed_fetch(subscription_id=feed.pk).error == "The feed's server answered HTTP 500."
    responses.replace(responses.GET, ICS_URL, body=b"<html>Not a calendar</html>")
    assert "iCalendar" in intake.feed_fetch(subscription_id=feed.pk).error
    feed.refresh_from_db()
    assert feed.consecutive_failures == 2 and feed.failing_since == NOW
    findings = feed_findings(user=city.pat)
    assert len(findings) == 1 and "Website events" in findings[0].message
    assert findings[0].action_url == reverse("intake:feed", kwargs={"feed_id": feed.pk})
    assert feed_findings(user=city.alice)[0].action_url == ""  # a member is told who can fix it
    assert feed_findings(user=city.carol) == []  # not the Library's business
    client.force_login(city.pat)
    page = client.get(reverse("scheduler:channel_list")).content.decode()
    assert "Feeds that need attention" in page and "could not be read" in page
    responses.replace(responses.GET, ICS_URL, body=(FIXTURES / "events.ics").read_bytes())
    assert intake.feed_fetch(subscription_id=feed.pk).error == ""
    assert feed_findings(user=city.pat) == []


@responses.activate
def test_a_feed_too_large_is_cut_off_and_reported(city, clock):
    feed = events_feed(city)
    responses.add(responses.GET, ICS_URL, body=b"x" * (intake.MAX_FEED_BYTES + 10))
    assert "larger than 2 MB" in intake.feed_fetch(subscription_id=feed.pk).error


def test_feed_urls_and_templates_are_checked(city):
    for url in ("https://intranet.example.gov/events.ics", "http://10.0.0.8/feed", "file:///etc/passwd"):
        with pytest.raises(ApplicationError):
            intake.feed_subscription_create(
                user=city.pat, department=city.parks, name="x", kind="ical", url=url,
                channels=[city.parks_channel], template="{title}",
            )  # fmt: skip
    with pytest.raises(ApplicationError, match="Unknown placeholders"):
        intake.feed_subscription_create(
            user=city.pat, department=city.parks, name="x", kind="ical", url=ICS_URL,
            channels=[city.parks_channel], template="{title.__class__} {secret}",
        )  # fmt: skip
    with pytest.raises(ApplicationError):  # another department's channel
        intake.feed_subscription_create(
            user=city.pat, department=city.parks, name="x", kind="ical", url=ICS_URL,
            channels=[city.library_channel], template="{title}",
        )  # fmt: skip
    with pytest.raises(ApplicationError):  # an editor is no admin
        intake.feed_subscription_create(
            user=city.alice, department=city.parks, name="x", kind="ical", url=ICS_URL,
            channels=[city.parks_channel], template="{title}",
        )  # fmt: skip


@responses.activate
def test_the_periodic_job_reads_each_feed_once_per_interval(city, clock):
    feed = events_feed(city)
    serve(ICS_URL, "events.ics")
    assert intake.feeds_fetch_due() == 1
    assert intake.feeds_fetch_due() == 0
    clock.shift(intake.FETCH_EVERY)
    serve(ICS_URL, "events.ics")
    assert intake.feeds_fetch_due() == 1
    feed.refresh_from_db()
    assert feed.last_success_at == NOW + intake.FETCH_EVERY


def test_only_the_departments_admins_open_its_feed_pages(city, client):
    feed = events_feed(city)
    for user, expected in ((city.alice, 403), (city.carol, 404), (city.max, 403), (city.pat, 200)):
        client.force_login(user)
        assert client.get(reverse("intake:feed", kwargs={"feed_id": feed.pk})).status_code == expected
