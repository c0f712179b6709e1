"""The city website feed: the FeedAdapter, the RSS 2.0 and Atom feeds (parsed with feedparser) and the
public post pages. Posts go through the real services and the dispatcher, so only what the publishing
state machine marked published on a feed channel can appear."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
import uuid
from xml.etree import ElementTree

import feedparser
import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from departments.models import Department
from feeds.models import RemovedFeedEntry
from feeds.services import feed_entry_delete
from scheduler.adapters.base import ChannelAccount, PostContent
from scheduler.adapters.feed.adapter import FeedAdapter, feed_entry_id, idempotency_key_from_entry_id
from scheduler.adapters.registry import adapter_for_channel, get_adapter_class
from scheduler.models import Delivery, DeliveryStatus, PostApproval, PostStatus
from scheduler.snapshots import content_hash
from tests.factories import ChannelFactory, PostFactory
from tests.scheduler import approved_post, make_due, submitted_post, tick

pytestmark = pytest.mark.django_db

PHOTO = {
    "url": "https://city.example/media/splash-pad.jpg",
    "mime_type": "image/jpeg",
    "size_bytes": 48213,
    "alt_text": "Children running through the splash pad at Lincoln Park",
    "width": 1200,
    "height": 800,
}


@pytest.fixture
def feeds(personas):
    """A city website feed channel for Parks and one for the Library."""
    personas.parks_feed = ChannelFactory(
        department=personas.parks, platform="feed", display_name="Parks on the city website", credentials={}
    )
    personas.library_feed = ChannelFactory(
        department=personas.library, platform="feed", display_name="Library on the city website", credentials={}
    )
    personas.library_approver = _library_approver(personas)
    return personas


def _library_approver(personas):  # noqa: ANN001, ANN202
    from departments.models import Role
    from tests.factories import member

    return member("lena", personas.library, Role.APPROVER)


def publish(*, author, approver, channels, text="Splash pads open Saturday at 10 a.m.", link="", media=None):  # noqa: ANN001, ANN202
    """Writes, approves and publishes a post through the dispatcher; returns the post."""
    post = approved_post(author=author, approver=approver, channels=channels, text=text, link=link)
    if media is not None:
        # The composer's media step is another helper's work: put media in the approved snapshot as it will.
        approval = post.current_approval
        content = {**approval.content, "media": media}
        PostApproval.objects.filter(pk=approval.pk).update(content=content, content_hash=content_hash(content))
    make_due(post)
    tick()
    post.refresh_from_db()
    return post


def feed_delivery(post) -> Delivery:  # noqa: ANN001
    return post.deliveries.get(channel__platform="feed")


def fetch(client: Client, url: str) -> tuple[feedparser.FeedParserDict, bytes]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed, response.content


# --- The adapter ---------------------------------------------------------------------------------


def test_feed_adapter_is_registered_with_its_label():
    assert get_adapter_class("feed") is FeedAdapter
    assert FeedAdapter.label == "City website feed"


def test_publish_returns_a_stable_tag_uri_and_the_public_page_and_records_nothing_else(feeds):
    adapter = adapter_for_channel(feeds.parks_feed)
    key = str(uuid.uuid4())
    first = adapter.publish(PostContent(text="Pool opens"), idempotency_key=key)
    again = adapter.publish(PostContent(text="Pool opens"), idempotency_key=key)
    assert first == again
    assert first.remote_id == f"tag:testserver,2026:delivery-{key}"
    assert first.permalink == f"http://testserver/feeds/posts/{key}/"
    assert idempotency_key_from_entry_id(first.remote_id) == key
    assert not Delivery.objects.exists()


@override_settings(SITE_URL="https://www.city.example")
def test_tag_uri_uses_the_site_host():
    assert feed_entry_id("abc") == "tag:www.city.example,2026:delivery-abc"


def test_reconcile_finishes_an_interrupted_publish_instead_of_resending_or_giving_up(feeds):
    adapter = adapter_for_channel(feeds.parks_feed)
    key = str(uuid.uuid4())
    found = adapter.reconcile(PostContent(text="x"), idempotency_key=key, sent_at=timezone.now())
    assert found == adapter.publish(PostContent(text="x"), idempotency_key=key)


def test_feed_allows_long_text_and_always_checks_connected():
    adapter = FeedAdapter(ChannelAccount(channel_id=1, display_name="Feed"))
    assert adapter.text_length(PostContent(text="a" * 5000)).over_by == 0
    assert adapter.validate(PostContent(text="a" * 10_001))
    assert adapter.check_connection().ok


def test_a_due_post_is_published_to_the_feed_by_the_dispatcher(feeds):
    post = publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed])
    delivery = feed_delivery(post)
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.remote_id == feed_entry_id(str(delivery.idempotency_key))
    assert delivery.permalink.endswith(reverse("feeds:post", kwargs={"key": delivery.idempotency_key}))
    assert post.status == PostStatus.PUBLISHED


# --- RSS and Atom --------------------------------------------------------------------------------


def test_rss_entry_has_the_tag_uri_guid_utc_date_link_author_and_category(feeds, client):
    post = publish(
        author=feeds.alice,
        approver=feeds.bob,
        channels=[feeds.parks_feed],
        text="Splash pads open Saturday at 10 a.m.\nBring sunscreen.",
        link="https://city.example/parks/splash",
    )
    delivery = feed_delivery(post)
    parsed, raw = fetch(client, "/feeds/parks/rss.xml")

    assert parsed.version == "rss20"
    assert len(parsed.entries) == 1
    entry = parsed.entries[0]
    assert entry.id == f"tag:testserver,2026:delivery-{delivery.idempotency_key}"
    assert entry.guidislink is False
    assert b'<guid isPermaLink="false">' in raw
    assert entry.link == f"http://testserver/feeds/posts/{delivery.idempotency_key}/"
    assert entry.title == "Splash pads open Saturday at 10 a.m."
    assert "Bring sunscreen." in entry.summary
    assert 'href="https://city.example/parks/splash"' in entry.summary
    assert entry.author == "Parks and Recreation"
    assert [tag.term for tag in entry.tags] == ["Parks and Recreation"]
    assert parsed.feed.language == "en-us"
    # pubDate in UTC, equal to the moment the delivery was published.
    pub_date = ElementTree.fromstring(raw).find("./channel/item/pubDate").text  # noqa: S314 - our own output
    assert pub_date.endswith("+0000")
    published = dt.datetime(*entry.published_parsed[:6], tzinfo=dt.UTC)
    assert published == delivery.published_at.replace(microsecond=0)


def test_atom_entry_has_the_tag_uri_id_and_utc_timestamps(feeds, client):
    post = publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed])
    delivery = feed_delivery(post)
    parsed, raw = fetch(client, "/feeds/parks/atom.xml")

    assert parsed.version == "atom10"
    entry = parsed.entries[0]
    assert entry.id == feed_entry_id(str(delivery.idempotency_key))
    root = ElementTree.fromstring(raw)  # noqa: S314 - our own output
    ns = {"a": "http://www.w3.org/2005/Atom"}
    updated = root.find("a:entry/a:updated", ns).text
    published = root.find("a:entry/a:published", ns).text
    assert updated.endswith("+00:00") and published.endswith("+00:00")
    assert root.find("a:link[@rel='self']", ns).get("href") == "http://testserver/feeds/parks/atom.xml"
    assert entry.author == "Parks and Recreation"
    assert entry.link == delivery.permalink


def test_first_image_becomes_the_enclosure(feeds, client):
    second = {**PHOTO, "url": "https://city.example/media/second.png", "mime_type": "image/png"}
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], media=[PHOTO, second])

    rss, _ = fetch(client, "/feeds/parks/rss.xml")
    (enclosure,) = rss.entries[0].enclosures
    assert enclosure.href == PHOTO["url"]
    assert enclosure.type == "image/jpeg"
    assert enclosure.length == "48213"
    assert f'alt="{PHOTO["alt_text"]}"' in rss.entries[0].summary

    atom, raw = fetch(client, "/feeds/parks/atom.xml")
    (enclosure,) = atom.entries[0].enclosures
    assert enclosure.href == PHOTO["url"]
    assert b'rel="enclosure"' in raw


def test_a_site_relative_image_is_made_absolute_and_an_unknown_size_is_zero(feeds, client):
    media = [{"url": "/media/uploads/a.jpg", "mime_type": "image/jpeg", "alt_text": "A"}]
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], media=media)
    rss, _ = fetch(client, "/feeds/parks/rss.xml")
    (enclosure,) = rss.entries[0].enclosures
    assert enclosure.href == "http://testserver/media/uploads/a.jpg"
    assert enclosure.length == "0"


def test_a_post_without_media_has_no_enclosure(feeds, client):
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed])
    rss, _ = fetch(client, "/feeds/parks/rss.xml")
    assert rss.entries[0].enclosures == []


def test_markup_in_post_text_is_escaped_never_executed(feeds, client):
    text = 'Pool party <script>alert("x")</script> & <b>fun</b>'
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text=text)
    for url in ("/feeds/parks/rss.xml", "/feeds/parks/atom.xml", "/feeds/city/rss.xml"):
        parsed, raw = fetch(client, url)
        assert b"<script" not in raw
        assert b"<b>" not in raw
        summary = parsed.entries[0].summary
        assert "<script" not in summary and "<b>" not in summary
        assert "&lt;script&gt;" in summary
        assert "&lt;b&gt;fun&lt;/b&gt;" in summary
    response = client.get(feed_delivery(feeds.parks_feed.posts.get()).permalink)
    assert b"<script>alert" not in response.content
    assert b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in response.content


def test_title_is_the_first_line_cut_to_60_characters(feeds, client):
    text = "The summer reading program starts Monday at every branch of the public library system\nSecond line"
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text=text)
    atom, _ = fetch(client, "/feeds/parks/atom.xml")
    title = atom.entries[0].title
    assert len(title) == 60
    assert title.endswith("…")
    assert title.startswith("The summer reading program starts Monday")


FEED_URLS = ("/feeds/parks/rss.xml", "/feeds/parks/atom.xml", "/feeds/city/rss.xml", "/feeds/city/atom.xml")
# Every character XML and HTML escape, in a title with no tag (a reader takes "<b>x</b>" in an RSS title
# for markup: RSS cannot say otherwise).
SPECIAL = """Parks & Rec: "Kids' Day" <3 > 2 years"""


def _plain(description: str) -> str:
    """The text a reader shows for an HTML description: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", "\n", description))).strip()


@pytest.mark.parametrize("url", FEED_URLS)
def test_special_characters_read_as_written_in_titles_and_descriptions(feeds, client, url):
    Department.objects.filter(pk=feeds.parks.pk).update(name="Parks & Rec <Youth> \"Kids\" 'Day'")
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text=f"{SPECIAL}\nSee & <share>!")
    parsed, raw = fetch(client, url)
    entry = parsed.entries[0]
    assert entry.title == SPECIAL
    assert entry.title_detail.type == "text/plain"
    # The XML itself holds the title escaped once: any XML parser reads the text as written.
    root = ElementTree.fromstring(raw)  # noqa: S314 - CivicPost's own feed, parsed in a test
    titles = [e.text for e in root.iter() if e.tag.rpartition("}")[2] == "title"]
    assert SPECIAL in titles
    assert _plain(entry.summary) == f"{SPECIAL}\nSee & <share>!"
    if "/parks/" in url:
        assert parsed.feed.title.startswith("Parks & Rec <Youth> \"Kids\" 'Day' — news from")
        assert entry.author == "Parks & Rec <Youth> \"Kids\" 'Day'"


@pytest.mark.parametrize("url", FEED_URLS)
def test_a_control_character_already_stored_in_a_published_post_does_not_break_the_feeds(feeds, client, url):
    """Word's Shift+Enter (U+000B) and other controls in text approved before input was normalised:
    the feeds answer 200, parse, and the line break reads as one."""
    post = publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text="placeholder")
    stored = "Pool closed\x0bMonday\x01 for repairs\x1f\x7f\x85 today"
    approval = post.current_approval
    content = {**approval.content, "text": stored}
    PostApproval.objects.filter(pk=approval.pk).update(content=content, content_hash=content_hash(content))
    assert "\x0b" in PostApproval.objects.get(pk=approval.pk).content["text"]
    parsed, raw = fetch(client, url)
    assert b"\x0b" not in raw and b"\x01" not in raw
    entry = parsed.entries[0]
    assert entry.title == "Pool closed"
    assert _plain(entry.summary) == "Pool closed\nMonday for repairs\n today"
    page = client.get(feed_delivery(post).permalink)
    assert page.status_code == 200
    assert "<p>Pool closed<br>Monday for repairs<br> today</p>" in page.content.decode()


def test_department_feeds_hold_only_their_department_and_the_city_feed_holds_all(feeds, client):
    parks_post = publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text="Parks news")
    library_post = publish(
        author=feeds.carol, approver=feeds.library_approver, channels=[feeds.library_feed], text="Library news"
    )
    parks_id = feed_delivery(parks_post).remote_id
    library_id = feed_delivery(library_post).remote_id

    for fmt in ("rss", "atom"):
        parks = {e.id for e in fetch(client, f"/feeds/parks/{fmt}.xml")[0].entries}
        library = {e.id for e in fetch(client, f"/feeds/library/{fmt}.xml")[0].entries}
        city = {e.id for e in fetch(client, f"/feeds/city/{fmt}.xml")[0].entries}
        assert parks == {parks_id}
        assert library == {library_id}
        assert city == {parks_id, library_id}


def test_drafts_unapproved_scheduled_and_other_platforms_never_appear(feeds, client):
    past = timezone.now() - dt.timedelta(hours=1)
    for status in (PostStatus.DRAFT, PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED, PostStatus.CANCELLED):
        PostFactory(
            department=feeds.parks,
            author=feeds.alice,
            status=status,
            due_at=past,
            text=f"secret {status}",
            channels=[feeds.parks_feed],
        )
    submitted_post(author=feeds.alice, channels=[feeds.parks_feed], text="waiting for approval")
    approved_post(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text="approved, not yet due")
    # Published, but on the Sandbox, not on the feed.
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_channel], text="sandbox only")
    # A delivery that failed on the feed channel is not an entry either.
    failed = approved_post(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text="failed one")
    failed.deliveries.update(status=DeliveryStatus.FAILED)

    tick()
    for url in ("/feeds/parks/rss.xml", "/feeds/parks/atom.xml", "/feeds/city/rss.xml", "/feeds/city/atom.xml"):
        parsed, raw = fetch(client, url)
        assert parsed.entries == []
        for secret in (b"secret", b"waiting", b"approved, not yet due", b"sandbox only", b"failed one"):
            assert secret not in raw


def test_feed_holds_the_latest_50_newest_first(feeds, client):
    post = publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed])
    template = feed_delivery(post)
    base = timezone.now() - dt.timedelta(days=1)
    for n in range(55):
        Delivery.objects.create(
            post=post,
            channel=ChannelFactory(department=feeds.parks, platform="feed", credentials={}),
            approval=template.approval,
            status=DeliveryStatus.PUBLISHED,
            due_at=base,
            next_attempt_at=base,
            published_at=base + dt.timedelta(minutes=n),
        )
    parsed, _ = fetch(client, "/feeds/parks/atom.xml")
    assert len(parsed.entries) == 50
    assert parsed.entries[0].id == template.remote_id  # published just now: the newest
    dates = [e.updated_parsed for e in parsed.entries]
    assert dates == sorted(dates, reverse=True)


def test_unknown_department_feed_is_404(feeds, client):
    assert client.get("/feeds/no-such-department/rss.xml").status_code == 404
    assert client.get("/feeds/no-such-department/atom.xml").status_code == 404


def test_feeds_answer_304_to_an_unchanged_conditional_get_and_change_when_a_post_is_published(feeds, client):
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text="first")
    first = client.get("/feeds/parks/rss.xml")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/feeds/parks/rss.xml", headers={"if-none-match": etag}).status_code == 304
    assert client.get("/feeds/parks/rss.xml", headers={"if-modified-since": last_modified}).status_code == 304
    # RSS and Atom of the same data are different documents: different ETags.
    assert client.get("/feeds/parks/atom.xml").headers["ETag"] != etag

    time.sleep(1.1)  # Last-Modified has one-second resolution
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text="second")
    again = client.get("/feeds/parks/rss.xml", headers={"if-none-match": etag})
    assert again.status_code == 200
    assert again.headers["ETag"] != etag
    assert client.get("/feeds/parks/rss.xml", headers={"if-modified-since": last_modified}).status_code == 200


def test_feeds_refuse_post(feeds, client):
    assert client.post("/feeds/city/rss.xml").status_code == 405


# --- Public pages --------------------------------------------------------------------------------


def test_public_post_page_shows_the_published_text_without_sign_in(feeds, client):
    post = publish(
        author=feeds.alice,
        approver=feeds.bob,
        channels=[feeds.parks_feed],
        text="Splash pads open Saturday.\nBring sunscreen.",
        media=[PHOTO],
    )
    response = client.get(feed_delivery(post).permalink)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Splash pads open Saturday." in html and "Bring sunscreen." in html
    assert "Parks and Recreation" in html
    assert f'alt="{PHOTO["alt_text"]}"' in html
    assert 'type="application/atom+xml"' in html and "/feeds/parks/atom.xml" in html
    assert "<h1>Splash pads open Saturday.</h1>" in html


def test_public_post_page_is_404_for_unpublished_and_unknown_keys(feeds, client):
    post = approved_post(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed])
    key = post.deliveries.get().idempotency_key
    assert client.get(reverse("feeds:post", kwargs={"key": key})).status_code == 404
    assert client.get(reverse("feeds:post", kwargs={"key": uuid.uuid4()})).status_code == 404
    sandbox = publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_channel])
    sandbox_key = sandbox.deliveries.get().idempotency_key
    assert client.get(reverse("feeds:post", kwargs={"key": sandbox_key})).status_code == 404


def test_deleting_an_entry_removes_it_from_the_feeds_and_its_page_answers_410(feeds, client):
    post = publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed])
    delivery = feed_delivery(post)
    etag = client.get("/feeds/parks/atom.xml").headers["ETag"]

    feed_entry_delete(channel=feeds.parks_feed, remote_id=delivery.remote_id)
    feed_entry_delete(channel=feeds.parks_feed, remote_id=delivery.remote_id)  # twice is harmless

    assert RemovedFeedEntry.objects.filter(delivery=delivery).count() == 1
    assert client.get(delivery.permalink).status_code == 410
    response = client.get("/feeds/parks/atom.xml", headers={"if-none-match": etag})
    assert response.status_code == 200
    assert feedparser.parse(response.content).entries == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED  # the record of what was published stays


def test_index_and_list_pages_link_every_feed(feeds, client):
    publish(author=feeds.alice, approver=feeds.bob, channels=[feeds.parks_feed], text="Parks news")
    index = client.get("/feeds/").content.decode()
    for url in ("/feeds/city/rss.xml", "/feeds/parks/atom.xml", "/feeds/library/rss.xml"):
        assert url in index
    parks_page = client.get("/feeds/parks/").content.decode()
    assert "Parks news" in parks_page
    assert "Parks news" in client.get("/feeds/city/").content.decode()
    assert "Parks news" not in client.get("/feeds/library/").content.decode()
