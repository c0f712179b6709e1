"""Each platform's metrics batch against the fake platform server: the exact requests (batch sizes, fields),
the figures read, what is "not reported", deleted posts, partial answers and 429s."""

from __future__ import annotations

import urllib.parse

import pytest

from scheduler.adapters.base import ChannelAccount, MetricsReading, RateLimited, Removed
from scheduler.adapters.bluesky.adapter import BlueskyAdapter
from scheduler.adapters.facebook.adapter import METRICS_FIELDS, FacebookPageAdapter
from scheduler.adapters.mastodon.adapter import MastodonAdapter
from scheduler.adapters.sandbox.adapter import SandboxAdapter
from scheduler.adapters.x.adapter import XAdapter
from tests.fakeplatform import FakePlatform

pytestmark = pytest.mark.django_db

HANDLE = "parks.city.example"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


@pytest.fixture
def fake():
    with FakePlatform(seed=13) as server:
        yield server


@pytest.fixture
def fake_settings(fake: FakePlatform, settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_PLATFORM_URLS = {"x": fake.url, "facebook": fake.url}
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_X_CONSUMER_KEY = "ck"
    settings.CIVICPOST_X_CONSUMER_SECRET = "cs"
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    return settings


def account(**values) -> ChannelAccount:  # noqa: ANN003
    return ChannelAccount(channel_id=3, display_name="Parks", **values)


def reads(fake: FakePlatform, path_start: str) -> list[dict[str, list[str]]]:
    """The query of each GET whose path starts with `path_start`."""
    found = []
    for method, full in fake.request_log:
        parts = urllib.parse.urlsplit(full)
        if method == "GET" and parts.path.startswith(path_start):
            found.append(urllib.parse.parse_qs(parts.query))
    return found


def add_tweets(fake: FakePlatform, count: int) -> list[str]:
    ids = [str(1_900_000_000_000 + n) for n in range(count)]
    for tweet_id in ids:
        fake.ledger.add(platform="x", account="77", remote_id=tweet_id, text=f"Post {tweet_id}")
    return ids


def x_adapter() -> XAdapter:
    return XAdapter(
        account(credentials={"access_token": "77-tok", "access_token_secret": "s", "x_user_id": "77", "username": "p"})
    )


# --- X ------------------------------------------------------------------------------------------------


def test_x_reads_100_posts_per_request_with_public_metrics_only(fake, fake_settings):
    ids = add_tweets(fake, 150)
    fake.set_metrics("x", ids[0], like_count=12, retweet_count=3, reply_count=1, quote_count=2, impression_count=450)
    adapter = x_adapter()

    first = adapter.fetch_metrics_batch(ids[:150])
    second = adapter.fetch_metrics_batch(ids[100:])

    queries = reads(fake, "/2/tweets")
    assert [q["ids"][0].split(",") for q in queries] == [ids[:100], ids[100:]]
    assert all(q["tweet.fields"] == ["public_metrics"] for q in queries)
    assert len(first) == 100 and len(second) == 50
    reading = first[ids[0]]
    assert isinstance(reading, MetricsReading)
    assert reading.counts == {"likes": 12, "shares": 3, "replies": 1, "quotes": 2, "views": 450}
    assert reading.not_reported == ("clicks",)
    assert reading.raw["public_metrics"]["like_count"] == 12


def test_x_marks_a_deleted_post_removed_and_reads_the_rest(fake, fake_settings):
    ids = add_tweets(fake, 3)
    fake.ledger.delete("x", ids[1])

    readings = x_adapter().fetch_metrics_batch(ids)

    assert isinstance(readings[ids[0]], MetricsReading)
    assert isinstance(readings[ids[1]], Removed)
    assert "Could not find" in readings[ids[1]].reason
    assert isinstance(readings[ids[2]], MetricsReading)


def test_x_429_is_a_rate_limit_with_the_reset_time(fake, fake_settings):
    ids = add_tweets(fake, 2)
    fake.configure(platform="x", faults_on_reads=True, script=["rate_limit"], rate_limit_reset_seconds=120)

    with pytest.raises(RateLimited) as raised:
        x_adapter().fetch_metrics_batch(ids)
    assert 100 <= raised.value.retry_after <= 125


def test_x_followers_come_from_users_me_public_metrics(fake, fake_settings):
    fake.set_metrics("x", "user:77", followers_count=4321)
    assert x_adapter().fetch_followers() == 4321
    [query] = reads(fake, "/2/users/me")
    assert query["user.fields"] == ["public_metrics"]


# --- Bluesky ------------------------------------------------------------------------------------------


def bluesky_adapter(fake: FakePlatform) -> BlueskyAdapter:
    return BlueskyAdapter(
        account(
            handle=f"@{HANDLE}",
            credentials={"handle": HANDLE, "app_password": APP_PASSWORD},
            options={"pds_url": fake.url},
        )
    )


def add_bluesky_posts(fake: FakePlatform, count: int) -> list[str]:
    from tests.fakeplatform.server import bluesky_did

    did = bluesky_did(HANDLE)
    uris = [f"at://{did}/app.bsky.feed.post/3kpost{n:04d}" for n in range(count)]
    for uri in uris:
        fake.ledger.add(
            platform="bluesky",
            account=did,
            remote_id=uri,
            text="Trail open",
            extra={
                "cid": "bafyreib2rxk3rh6kzwq",
                "handle": HANDLE,
                "record": {"$type": "app.bsky.feed.post", "text": "Trail open", "createdAt": "2026-12-01T10:00:00Z"},
            },
        )
    return uris


def test_bluesky_reads_25_uris_per_get_posts_and_a_missing_uri_is_removed(fake, fake_settings):
    uris = add_bluesky_posts(fake, 30)
    fake.set_metrics("bluesky", uris[0], likeCount=9, repostCount=2, replyCount=1, quoteCount=1)
    fake.ledger.delete("bluesky", uris[1])
    adapter = bluesky_adapter(fake)

    first = adapter.fetch_metrics_batch(uris)
    second = adapter.fetch_metrics_batch(uris[25:])

    queries = reads(fake, "/xrpc/app.bsky.feed.getPosts")
    assert [q["uris"] for q in queries] == [uris[:25], uris[25:]]
    assert first[uris[0]] == MetricsReading(
        counts={"likes": 9, "shares": 2, "replies": 1, "quotes": 1},
        raw={"uri": uris[0], "cid": "bafyreib2rxk3rh6kzwq", "likes": 9, "shares": 2, "replies": 1, "quotes": 1},
    )
    assert first[uris[0]].not_reported == ("views", "clicks")
    assert isinstance(first[uris[1]], Removed)
    assert len(second) == 5


# --- Mastodon -----------------------------------------------------------------------------------------


def mastodon_adapter(fake: FakePlatform, version: str) -> MastodonAdapter:
    return MastodonAdapter(
        account(
            credentials={"access_token": "t"},
            options={"instance_url": fake.url, "max_characters": 500, "mastodon_version": version},
        )
    )


def add_statuses(fake: FakePlatform, count: int) -> list[str]:
    ids = [str(110_000_000_000 + n) for n in range(count)]
    for status_id in ids:
        fake.ledger.add(platform="mastodon", account="1", remote_id=status_id, text="Pools open")
    return ids


def test_mastodon_43_reads_statuses_by_id_in_one_request(fake, fake_settings):
    ids = add_statuses(fake, 3)
    fake.set_metrics("mastodon", ids[0], favourites_count=5, reblogs_count=4, replies_count=3)
    fake.ledger.delete("mastodon", ids[2])

    readings = mastodon_adapter(fake, "4.3.0").fetch_metrics_batch(ids)

    assert [q["id[]"] for q in reads(fake, "/api/v1/statuses")] == [ids]
    assert readings[ids[0]].counts == {"likes": 5, "shares": 4, "replies": 3}
    assert readings[ids[0]].not_reported == ("quotes", "views", "clicks")
    assert isinstance(readings[ids[2]], Removed)


def test_an_older_mastodon_is_read_one_status_at_a_time_and_404_is_removed(fake, fake_settings):
    ids = add_statuses(fake, 2)
    fake.ledger.delete("mastodon", ids[1])
    adapter = mastodon_adapter(fake, "4.2.0")

    readings = adapter.fetch_metrics_batch(ids)

    assert adapter.metrics_batch_size == 1
    paths = [urllib.parse.urlsplit(full).path for method, full in fake.request_log if method == "GET"]
    assert paths == [f"/api/v1/statuses/{ids[0]}", f"/api/v1/statuses/{ids[1]}"]
    assert isinstance(readings[ids[0]], MetricsReading)
    assert isinstance(readings[ids[1]], Removed)


@pytest.mark.parametrize("platform", ["mastodon", "bluesky", "facebook", "instagram", "threads"])
def test_a_429_on_a_metrics_read_is_a_rate_limit(fake, fake_settings, platform):
    if platform in ("instagram", "threads"):
        from scheduler.adapters.instagram.adapter import InstagramAdapter
        from scheduler.adapters.threads.adapter import ThreadsAdapter
        from tests.fakeplatform.server import _numeric_id

        fake_settings.CIVICPOST_PLATFORM_URLS = {platform: f"{fake.url}/{platform}"}
        ids = ["17900000000000001", "17900000000000002"]
        for media_id in ids:
            fake.ledger.add(
                platform=platform,
                account="1784",
                remote_id=media_id,
                text="Pool",
                extra={
                    "permalink": "https://example/p/1/",
                    "shortcode": "p1",
                    "username": "parks",
                    "media_type": "IMAGE",
                },
            )
        if platform == "instagram":
            adapter = InstagramAdapter(account(credentials={"access_token": "ig-t"}, options={"ig_user_id": "1784"}))
        else:
            threads_user = _numeric_id("threads:th-t")
            adapter = ThreadsAdapter(
                account(credentials={"access_token": "th-t"}, options={"threads_user_id": threads_user})
            )
    elif platform == "mastodon":
        ids, adapter = add_statuses(fake, 2), mastodon_adapter(fake, "4.3.0")
    elif platform == "bluesky":
        adapter = bluesky_adapter(fake)
        adapter.check_connection()  # signs in before the fault is set
        ids = add_bluesky_posts(fake, 2)
    else:
        ids = ["555_1", "555_2"]
        for post_id in ids:
            fake.ledger.add(platform="facebook", account="555", remote_id=post_id, text="Parade")
        adapter = FacebookPageAdapter(account(credentials={"page_access_token": "pt"}, options={"page_id": "555"}))
    fake.configure(platform=platform, faults_on_reads=True, script=["rate_limit"], rate_limit_reset_seconds=300)

    with pytest.raises(RateLimited) as raised:
        adapter.fetch_metrics_batch(ids)
    assert raised.value.retry_after >= 60


def test_mastodon_bluesky_and_facebook_followers(fake, fake_settings):
    from tests.fakeplatform.server import _numeric_id, bluesky_did

    fake.set_metrics("mastodon", f"user:{_numeric_id('mastodon:t')}", followers_count=310)
    fake.set_metrics("bluesky", f"user:{bluesky_did(HANDLE)}", followersCount=95)
    fake.set_metrics("facebook", "user:555", followers_count=12000)
    facebook = FacebookPageAdapter(account(credentials={"page_access_token": "pt"}, options={"page_id": "555"}))

    assert mastodon_adapter(fake, "4.3.0").fetch_followers() == 310
    assert bluesky_adapter(fake).fetch_followers() == 95
    assert facebook.fetch_followers() == 12000
    assert reads(fake, "/v")[-1]["fields"] == ["followers_count"]


# --- Facebook -----------------------------------------------------------------------------------------


def test_facebook_reads_posts_with_ids_and_falls_back_to_one_by_one_when_one_is_gone(fake, fake_settings):
    ids = [f"555_{n}" for n in range(3)]
    for post_id in ids:
        fake.ledger.add(platform="facebook", account="555", remote_id=post_id, text="Parade")
    fake.set_metrics("facebook", ids[0], reactions=7, comments=2, shares=1)
    adapter = FacebookPageAdapter(account(credentials={"page_access_token": "pt"}, options={"page_id": "555"}))

    readings = adapter.fetch_metrics_batch(ids)
    assert [q["ids"] for q in reads(fake, "/v")] == [[",".join(ids)]]
    assert reads(fake, "/v")[0]["fields"] == [METRICS_FIELDS]
    assert readings[ids[0]].counts == {"likes": 7, "replies": 2, "shares": 1}
    assert readings[ids[0]].not_reported == ("quotes", "views", "clicks")

    fake.request_log.clear()
    fake.ledger.delete("facebook", ids[1])
    readings = adapter.fetch_metrics_batch(ids)
    assert len(fake.request_log) == 1 + 3  # the failed batch, then one read per post
    assert isinstance(readings[ids[1]], Removed)
    assert isinstance(readings[ids[2]], MetricsReading)


# --- Instagram and Threads: one request per post (no batch read documented) --------------------------


@pytest.fixture
def meta_settings(fake: FakePlatform, fake_settings, monkeypatch):  # noqa: ANN001, ANN201
    from scheduler.adapters import graph as graph_module

    fake_settings.CIVICPOST_PLATFORM_URLS = {"instagram": f"{fake.url}/instagram", "threads": f"{fake.url}/threads"}
    monkeypatch.setattr(graph_module, "_sleep", lambda seconds: None)
    return fake_settings


def test_instagram_and_threads_read_each_post_and_a_post_gone_in_the_app_is_removed(fake, meta_settings):
    from scheduler.adapters.base import MediaItem, PostContent
    from scheduler.adapters.instagram.adapter import InstagramAdapter
    from scheduler.adapters.threads.adapter import INSIGHT_METRICS, ThreadsAdapter
    from tests.fakeplatform.server import _numeric_id

    photo = MediaItem(url="https://city.example/media/pool.jpg", mime_type="image/jpeg", alt_text="An empty pool")
    instagram = InstagramAdapter(account(credentials={"access_token": "ig-t"}, options={"ig_user_id": "1784"}))
    threads = ThreadsAdapter(
        account(credentials={"access_token": "th-t"}, options={"threads_user_id": _numeric_id("threads:th-t")})
    )
    ig = [
        instagram.publish(PostContent(text=f"Pool {n}", media=(photo,)), idempotency_key=f"i{n}").remote_id
        for n in range(2)
    ]
    th = [threads.publish(PostContent(text=f"Pool {n}"), idempotency_key=f"t{n}").remote_id for n in range(2)]
    fake.set_metrics("instagram", ig[0], like_count=8, comments_count=2, views=120, shares=3)
    fake.set_metrics("threads", th[0], views=300, likes=9, replies=2, reposts=1, quotes=1, shares=4)
    fake.ledger.delete("instagram", ig[1])  # deleted in the app: the API cannot delete Instagram media
    fake.ledger.delete("threads", th[1])
    fake.request_log.clear()

    ig_readings = instagram.fetch_metrics_batch(ig)
    th_readings = threads.fetch_metrics_batch(th)

    gets = [urllib.parse.urlsplit(full) for method, full in fake.request_log if method == "GET"]
    assert [(g.path.rsplit("/", 1)[-1], urllib.parse.parse_qs(g.query).get("fields")) for g in gets[:2]] == [
        (ig[0], ["like_count,comments_count,insights.metric(views,shares)"]),
        (ig[1], ["like_count,comments_count,insights.metric(views,shares)"]),
    ]
    assert [urllib.parse.parse_qs(g.query)["metric"] for g in gets[2:]] == [[",".join(INSIGHT_METRICS)]] * 2
    assert ig_readings[ig[0]].counts == {"likes": 8, "replies": 2, "views": 120, "shares": 3}
    assert ig_readings[ig[0]].not_reported == ("quotes", "clicks")
    assert th_readings[th[0]].counts == {"views": 300, "likes": 9, "replies": 2, "shares": 1, "quotes": 1}
    assert th_readings[th[0]].raw["shares"] == 4
    assert isinstance(ig_readings[ig[1]], Removed)
    assert isinstance(th_readings[th[1]], Removed)


def test_instagram_and_threads_followers(fake, meta_settings):
    from scheduler.adapters.instagram.adapter import InstagramAdapter
    from scheduler.adapters.threads.adapter import ThreadsAdapter
    from tests.fakeplatform.server import _numeric_id

    threads_user = _numeric_id("threads:th-t")
    fake.set_metrics("threads", f"user:{threads_user}", followers_count=640)
    threads = ThreadsAdapter(account(credentials={"access_token": "th-t"}, options={"threads_user_id": threads_user}))
    assert threads.fetch_followers() == 640
    [query] = reads(fake, "/threads/v1.0/")
    assert query == {"metric": ["followers_count"]}
    fake.set_metrics("instagram", "user:1784", followers_count=2900)
    instagram = InstagramAdapter(account(credentials={"access_token": "ig-t"}, options={"ig_user_id": "1784"}))
    assert instagram.fetch_followers() == 2900
    assert reads(fake, "/instagram/v")[-1]["fields"] == ["followers_count"]


def test_instagram_without_the_insights_permission_reads_the_counts_alone(fake, meta_settings):
    from scheduler.adapters.base import MediaItem, PostContent
    from scheduler.adapters.instagram.adapter import InstagramAdapter

    photo = MediaItem(url="https://city.example/media/pool.jpg", mime_type="image/jpeg", alt_text="An empty pool")
    instagram = InstagramAdapter(account(credentials={"access_token": "ig-t"}, options={"ig_user_id": "1784"}))
    media_id = instagram.publish(PostContent(text="Pool", media=(photo,)), idempotency_key="i").remote_id
    fake.set_metrics("instagram", media_id, like_count=8, comments_count=2, views=120)
    fake.no_insights_tokens.add("ig-t")

    reading = instagram.fetch_metrics_batch([media_id])[media_id]

    assert reading.counts == {"likes": 8, "replies": 2}
    assert reading.not_reported == ("shares", "quotes", "views", "clicks")


# --- Sandbox ------------------------------------------------------------------------------------------


def test_the_sandbox_reports_the_same_figures_for_the_same_post():
    adapter = SandboxAdapter(account())
    first = adapter.fetch_metrics("41")
    assert first == adapter.fetch_metrics("41")
    assert first["views"] > 0
    assert "quotes" not in first


@pytest.mark.parametrize(
    ("code", "removed"), [("graph:100/33", True), ("graph:100", False), ("graph:190", False), ("", False)]
)
def test_only_a_missing_post_is_taken_for_a_removal(code, removed):
    from scheduler.adapters.base import PublishError
    from scheduler.adapters.threads.adapter import ThreadsAdapter

    class Refusing(ThreadsAdapter):
        def fetch_metrics(self, remote_id: str) -> dict[str, int]:
            raise PublishError("Threads refused the read.", permanent=True, code=code)

    adapter = Refusing(account(credentials={"access_token": "th-t"}, options={"threads_user_id": "1"}))
    if removed:
        assert isinstance(adapter.fetch_metrics_batch(["m1"])["m1"], Removed)
    else:
        with pytest.raises(PublishError):
            adapter.fetch_metrics_batch(["m1"])
