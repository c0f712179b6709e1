"""The composer's preview beside the text: each chosen channel's version as that platform shows it (the text
as sent, its length there counting short links, the e-mail subject and the YouTube title, images with alt
text, thread parts, the first comment), for every platform through its adapter's own rules; and the hashtag
suggestions, from the department's own earlier posts only."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from analytics.shortlinks import short_links_set
from composer.selectors import department_hashtags, hashtag_suggestions
from scheduler.models import PostStatus
from tests.composer.test_compose import compose_data
from tests.factories import ChannelFactory, PostFactory


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


@pytest.fixture
def alice(personas) -> Client:
    client = Client()
    client.force_login(personas.alice)
    return client


def check(client: Client, data: dict) -> str:
    response = client.post(reverse("scheduler:post_check_new"), data)
    assert response.status_code == 200
    return response.content.decode()


def preview_of(html: str, label: str) -> str:
    """The <article> of one channel's preview."""
    found = re.search(rf'<article [^>]*aria-label="Preview on {re.escape(label)}".*?</article>', html, re.S)
    assert found, f"no preview for {label}"
    return found.group(0)


PLATFORMS = ["x", "bluesky", "mastodon", "threads", "facebook", "instagram", "linkedin", "youtube",
             "google_business", "nextdoor", "email_bulletin"]  # fmt: skip


def test_every_platform_is_previewed_with_its_own_length_and_limit(personas, alice):
    channels = {
        platform: ChannelFactory(department=personas.parks, platform=platform, display_name=f"Parks {platform}")
        for platform in PLATFORMS
    }
    text = "Pools open Saturday\nEvery city pool opens at 10 a.m. Bring a towel."
    html = check(alice, compose_data(personas, text=text, channels=[c.pk for c in channels.values()]))

    expected_limits = {"x": 280, "bluesky": 300, "mastodon": 500, "threads": 500, "linkedin": 3000}
    for platform in PLATFORMS:
        article = preview_of(html, f"Parks {platform}")
        assert "Every city pool opens at 10 a.m." in article, platform
        count = re.search(r'<p class="civic-preview__count">(\d+) of (\d+) characters</p>', article)
        assert count, platform
        if platform in expected_limits:
            assert int(count.group(2)) == expected_limits[platform], platform
    # The subject of the e-mail and the title of the video are the first line, as those adapters send them.
    assert "Subject:</span> Pools open Saturday</p>" in preview_of(html, "Parks email_bulletin")
    assert "Video title:</span> Pools open Saturday</p>" in preview_of(html, "Parks youtube")
    # Each platform's own refusal stands in the counts (YouTube needs a video).
    assert "YouTube needs a video" in html


def test_the_count_in_the_preview_uses_the_short_links_length(personas, alice):
    x = ChannelFactory(department=personas.parks, platform="bluesky", display_name="Parks on Bluesky")
    link = "https://www.example.gov/parks/summer-programs/splash-pads-and-pools-open-saturday-and-sunday"
    text = f"Pools open {link}"
    long_count = len(text)
    html = check(alice, compose_data(personas, text=text, channels=[x.pk]))
    assert f"{long_count} of 300 characters" in preview_of(html, "Parks on Bluesky")

    short_links_set(department_id=personas.parks.pk, enabled=True)
    html = check(alice, compose_data(personas, text=text, channels=[x.pk]))
    article = preview_of(html, "Parks on Bluesky")
    short = re.search(r"(https?://\S+/l/x{8})", article)
    assert short, "the preview shows the short link as it will be sent"
    assert f"{len('Pools open ') + len(short.group(1))} of 300 characters" in article
    assert link not in article


def test_thread_parts_and_the_first_comment_are_previewed_where_the_platform_has_them(personas, alice):
    bluesky = ChannelFactory(department=personas.parks, platform="bluesky", display_name="Parks on Bluesky")
    facebook = ChannelFactory(department=personas.parks, platform="facebook", display_name="Parks on Facebook")
    data = compose_data(
        personas,
        text="Part one about pools.",
        channels=[bluesky.pk, facebook.pk],
        thread_count="3",
        thread_part_2="Part two: opening hours.",
        thread_part_3="Part three: " + "a" * 300,
        first_comment="Questions? Call 311.",
    )
    html = check(alice, data)

    thread = preview_of(html, "Parks on Bluesky")
    assert "Thread of 3 parts, each a reply to the one before:" in thread
    assert "Part two: opening hours.</div>" in thread
    assert "24 of 300 characters" in thread
    assert "312 of 300 characters <strong>— 12 too many</strong>" in thread
    assert "First comment" not in thread  # Bluesky has no first comment

    page = preview_of(html, "Parks on Facebook")
    assert "Thread of" not in page  # Facebook gets part 1 only
    assert "First comment, published right after the post:" in page
    assert "Questions? Call 311." in page


def test_images_show_with_the_alt_text_that_is_sent(personas, alice):
    from medialibrary.services import media_upload
    from tests.medialibrary.helpers import jpeg_upload

    asset = media_upload(
        user=personas.alice, department=personas.parks, upload=jpeg_upload("pool.jpg"), alt_text="A pool"
    )
    linkedin = ChannelFactory(department=personas.parks, platform="linkedin", display_name="Parks on LinkedIn")
    html = check(
        alice,
        compose_data(personas, channels=[linkedin.pk], media=[asset.pk], **{f"alt_{asset.pk}": "Children in a pool"}),
    )
    article = preview_of(html, "Parks on LinkedIn")
    assert 'alt="Children in a pool"' in article
    assert "Alt text:</span> Children in a pool" in article


# --- Hashtag suggestions --------------------------------------------------------------------------------


def _published(department, text, status=PostStatus.PUBLISHED):
    return PostFactory(department=department, text=text, status=status)


def test_hashtags_come_from_the_departments_own_posts_most_used_first_in_their_usual_spelling(personas):
    parks = personas.parks
    _published(parks, "Pools open! #SplashPads #CityParks")
    _published(parks, "Bring water #splashpads #SplashPads #SummerFun")
    _published(parks, "Trail work this week #CityParks #SplashPads")
    _published(parks, "A draft only #DraftTag", status=PostStatus.DRAFT)
    _published(parks, "Cancelled #Cancelled", status=PostStatus.CANCELLED)
    _published(parks, "Read https://example.gov/page#section and &#38; C#sharp #2026")

    found = hashtag_suggestions(user=personas.alice, department_id=parks.pk)

    assert found == ["#SplashPads", "#CityParks", "#2026", "#SummerFun"]
    assert hashtag_suggestions(user=personas.alice, department_id=parks.pk, exclude=["#cityparks"]) == [
        "#SplashPads",
        "#2026",
        "#SummerFun",
    ]
    assert hashtag_suggestions(user=personas.alice, department_id=parks.pk, limit=1) == ["#SplashPads"]


def test_another_departments_hashtags_never_leak(personas, alice):
    _published(personas.parks, "Pools open #SplashPads")
    _published(personas.library, "New books #LibraryCard #ReadMore")

    assert hashtag_suggestions(user=personas.alice, department_id=personas.parks.pk) == ["#SplashPads"]
    # Asking for the Library as a Parks editor gives nothing at all.
    assert hashtag_suggestions(user=personas.alice, department_id=personas.library.pk) == []
    assert hashtag_suggestions(user=personas.carol, department_id=personas.parks.pk) == []
    assert hashtag_suggestions(user=personas.carol, department_id=personas.library.pk) == [
        "#LibraryCard",
        "#ReadMore",
    ]

    # Through the composer: a Parks editor who posts the Library's id is not given the Library's tags.
    html = check(alice, compose_data(personas, department=personas.library.pk, text="Hello"))
    assert "#LibraryCard" not in html and "#ReadMore" not in html
    html = check(alice, compose_data(personas, text="Hello"))
    assert 'data-hashtag="#SplashPads"' in html


def test_hashtags_already_in_the_text_are_not_suggested(personas, alice):
    _published(personas.parks, "Pools open #SplashPads #CityParks")

    html = check(alice, compose_data(personas, text="Hello #splashpads"))

    assert 'data-hashtag="#CityParks"' in html
    assert 'data-hashtag="#SplashPads"' not in html


def test_hashtags_are_counted_by_the_database_in_one_query_then_read_from_the_cache(
    personas, django_assert_num_queries
):
    for number in range(30):
        _published(personas.parks, f"Post {number} #SplashPads #Tag{number % 5}")
    with django_assert_num_queries(1):  # one aggregate (PostgreSQL) or one read of the texts (SQLite)
        assert department_hashtags(department_id=personas.parks.pk, limit=3) == ["#SplashPads", "#Tag0", "#Tag1"]

    found = hashtag_suggestions(user=personas.alice, department_id=personas.parks.pk)
    assert found == ["#SplashPads", "#Tag0", "#Tag1", "#Tag2", "#Tag3", "#Tag4"]
    _published(personas.parks, "Later #Newer")
    # The counts come from the cache for a while (the live check asks on every pause in typing).
    assert hashtag_suggestions(user=personas.alice, department_id=personas.parks.pk) == found
    cache.clear()
    assert "#Newer" in hashtag_suggestions(user=personas.alice, department_id=personas.parks.pk)


def test_the_link_shows_where_each_platform_puts_it(personas, alice):
    link = "https://nowhere.invalid/pools"  # no card can be fetched: the card shows the bare host
    channels = {
        platform: ChannelFactory(department=personas.parks, platform=platform, display_name=f"Parks {platform}")
        for platform in ("facebook", "linkedin", "nextdoor", "google_business", "bluesky", "email_bulletin")
    }
    html = check(
        alice, compose_data(personas, text="Pools open", link=link, channels=[c.pk for c in channels.values()])
    )

    for platform in ("facebook", "linkedin", "nextdoor"):  # a card instead of the address in the text
        article = preview_of(html, f"Parks {platform}")
        assert '<div class="civic-preview__text" lang="en">Pools open</div>' in article, platform
        assert "Link card: </span>nowhere.invalid" in article, platform
    gbp = preview_of(html, "Parks google_business")
    assert '<div class="civic-preview__text" lang="en">Pools open</div>' in gbp
    assert f'Learn more</span> <span class="civic-preview__action-link">{link}</span>' in gbp
    for platform in ("bluesky", "email_bulletin"):  # the address after the text
        assert f"Pools open<br><br>{link}</div>" in preview_of(html, f"Parks {platform}"), platform
    assert "Link card" in preview_of(html, "Parks bluesky")
    assert "Link card" not in preview_of(html, "Parks email_bulletin")


def test_with_images_the_link_goes_into_the_text_and_no_card_is_shown(personas, alice):
    from medialibrary.services import media_upload
    from tests.medialibrary.helpers import jpeg_upload

    asset = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("p.jpg"), alt_text="A pool")
    facebook = ChannelFactory(department=personas.parks, platform="facebook", display_name="Parks on Facebook")
    link = "https://nowhere.invalid/pools"
    html = check(
        alice,
        compose_data(personas, text="Pools open", link=link, channels=[facebook.pk], media=[asset.pk]),
    )
    article = preview_of(html, "Parks on Facebook")
    assert f"Pools open<br><br>{link}</div>" in article
    assert "Link card" not in article
