"""The fake platform speaks the documented shapes (shared/platforms.md) to the real client libraries,
keeps its ledger, and injects the faults it is told to."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import tweepy
from mastodon import Mastodon, MastodonNotFoundError, MastodonRatelimitError, MastodonServiceUnavailableError

from tests.fakeplatform import FakePlatform
from tests.fakeplatform.server import _numeric_id

TOKEN = "mastodon-token-parks"


@pytest.fixture
def fake():
    with FakePlatform(seed=7) as server:
        yield server


def mastodon_client(fake: FakePlatform, token: str = TOKEN, timeout: float = 5) -> Mastodon:
    return Mastodon(
        access_token=token,
        api_base_url=fake.url,
        ratelimit_method="throw",
        request_timeout=timeout,
        mastodon_version="4.4.0",
        version_check_mode="created",
    )


class RewritingSession(requests.Session):
    """tweepy's host is fixed to api.twitter.com: send it to the fake instead (platforms.md 2.9)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):  # noqa: ANN001, ANN201
        url = url.replace("https://api.twitter.com", self.base).replace("https://api.x.com", self.base)
        kwargs.setdefault("timeout", 5)
        return super().request(method, url, *args, **kwargs)


def x_client(fake: FakePlatform, user_id: str = "4242") -> tweepy.Client:
    client = tweepy.Client(
        consumer_key="ck", consumer_secret="cs", access_token=f"{user_id}-tokensecretpart", access_token_secret="ats"
    )
    client.session = RewritingSession(fake.url)
    return client


def graph(fake: FakePlatform, method: str, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
    return requests.request(method, f"{fake.url}/v27.0/{path}", timeout=5, **kwargs)


# --- Mastodon ------------------------------------------------------------------------------------


def test_mastodon_status_post_returns_a_status_and_records_it_in_the_ledger(fake: FakePlatform) -> None:
    status = mastodon_client(fake).status_post(
        "Pools open at noon.", visibility="public", language="en", idempotency_key="k1"
    )

    assert status["id"]
    assert status["url"].startswith(fake.url)
    assert status["content"] == "<p>Pools open at noon.</p>"
    [entry] = fake.ledger.find(platform="mastodon")
    assert (entry.text, entry.idempotency_key, entry.remote_id) == ("Pools open at noon.", "k1", str(status["id"]))


def test_mastodon_same_idempotency_key_answers_the_same_status_without_posting_again(fake: FakePlatform) -> None:
    api = mastodon_client(fake)
    first = api.status_post("Library closed Monday.", idempotency_key="same-key")
    second = api.status_post("Library closed Monday.", idempotency_key="same-key")

    assert first["id"] == second["id"]
    assert len(fake.ledger) == 1
    assert fake.stats["mastodon:idempotent_replay"] == 1


def test_mastodon_idempotency_keys_are_per_account_and_expire_after_the_ttl(fake: FakePlatform) -> None:
    mastodon_client(fake, "token-a").status_post("Hello", idempotency_key="k")
    mastodon_client(fake, "token-b").status_post("Hello", idempotency_key="k")
    assert len(fake.ledger) == 2

    fake.configure(idempotency_ttl_seconds=0)
    time.sleep(0.01)
    mastodon_client(fake, "token-a").status_post("Hello", idempotency_key="k")
    assert len(fake.ledger) == 3


def test_mastodon_concurrent_requests_with_one_key_post_once(fake: FakePlatform) -> None:
    fake.configure(latency_ms=20)
    ids: list[str] = []

    def post() -> None:
        ids.append(str(mastodon_client(fake).status_post("Once only", idempotency_key="race")["id"]))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1
    assert len(fake.ledger) == 1


def test_mastodon_reads_statuses_accounts_and_instance(fake: FakePlatform) -> None:
    api = mastodon_client(fake)
    status = api.status_post("Snow routes in effect.")
    me = api.account_verify_credentials()

    assert api.status(status["id"])["id"] == status["id"]
    assert [s["id"] for s in api.account_statuses(me["id"])] == [status["id"]]
    instance = requests.get(f"{fake.url}/api/v2/instance", timeout=5).json()
    assert instance["configuration"]["statuses"]["max_characters"] == 500
    assert requests.get(f"{fake.url}/api/v1/instance/", timeout=5).json()["version"] == "4.4.0"

    api.status_delete(status["id"])
    with pytest.raises(MastodonNotFoundError):
        api.status(status["id"])


def test_mastodon_rejects_revoked_tokens_and_overlong_text(fake: FakePlatform) -> None:
    fake.revoked_tokens.add("revoked")
    response = requests.post(
        f"{fake.url}/api/v1/statuses", data={"status": "x"}, headers={"Authorization": "Bearer revoked"}, timeout=5
    )
    assert response.status_code == 401
    response = requests.post(
        f"{fake.url}/api/v1/statuses", data={"status": "x" * 501}, headers={"Authorization": "Bearer t"}, timeout=5
    )
    assert response.status_code == 422
    assert "character limit of 500" in response.json()["error"]


def test_mastodon_media_upload_and_attach(fake: FakePlatform) -> None:
    api = mastodon_client(fake)
    media = api.media_post(b"\x89PNG fake bytes", mime_type="image/png", description="A pool")
    status = api.status_post("With a picture", media_ids=[media["id"]])
    assert status["media_attachments"][0]["description"] == "A pool"


# --- X -------------------------------------------------------------------------------------------


def test_x_create_tweet_answers_201_with_the_documented_shape(fake: FakePlatform) -> None:
    response = x_client(fake).create_tweet(text="Road closed on Main St.")

    assert response.data["text"] == "Road closed on Main St."
    assert response.data["edit_history_tweet_ids"] == [response.data["id"]]
    [entry] = fake.ledger.find(platform="x")
    assert entry.account == "4242"


def test_x_duplicate_content_is_a_403_with_the_documented_body(fake: FakePlatform) -> None:
    client = x_client(fake)
    client.create_tweet(text="Same words")
    with pytest.raises(tweepy.Forbidden) as caught:
        client.create_tweet(text="Same words")
    assert caught.value.api_messages == ["You are not allowed to create a Tweet with duplicate content."]
    assert len(fake.ledger) == 1


def test_x_user_tweets_lists_recent_posts_for_reconciliation_with_paging(fake: FakePlatform) -> None:
    client = x_client(fake)
    ids = [client.create_tweet(text=f"Update {n}").data["id"] for n in range(7)]

    first = client.get_users_tweets("4242", max_results=5, tweet_fields=["created_at"])
    assert [t.id for t in first.data] == [int(i) for i in reversed(ids)][:5]
    assert first.data[0].created_at is not None
    second = client.get_users_tweets("4242", max_results=5, pagination_token=first.meta["next_token"])
    assert [t.id for t in second.data] == [int(i) for i in reversed(ids)][5:]
    assert "next_token" not in second.meta


def test_x_delete_and_get_tweet(fake: FakePlatform) -> None:
    client = x_client(fake)
    tweet_id = client.create_tweet(text="Temporary").data["id"]
    assert client.get_tweet(tweet_id).data.text == "Temporary"
    assert client.delete_tweet(tweet_id).data == {"deleted": True}
    assert client.get_tweet(tweet_id).data is None


def test_x_rate_limit_carries_the_reset_epoch(fake: FakePlatform) -> None:
    fake.configure(platform="x", script=["rate_limit"], rate_limit_reset_seconds=120)
    with pytest.raises(tweepy.TooManyRequests) as caught:
        x_client(fake).create_tweet(text="Too fast")
    assert int(caught.value.response.headers["x-rate-limit-reset"]) >= time.time() + 119
    assert len(fake.ledger) == 0


# --- Facebook ------------------------------------------------------------------------------------


def test_facebook_feed_post_answers_page_scoped_id_and_feed_lists_it(fake: FakePlatform) -> None:
    response = graph(fake, "POST", "1001/feed", data={"message": "Parade today", "access_token": "page-token"})

    assert response.status_code == 200
    post_id = response.json()["id"]
    assert post_id.startswith("1001_")
    feed = graph(fake, "GET", "1001/feed", params={"fields": "id,message,created_time", "access_token": "page-token"})
    [item] = feed.json()["data"]
    assert (item["id"], item["message"]) == (post_id, "Parade today")
    assert item["created_time"].endswith("+0000")
    permalink = graph(fake, "GET", post_id, params={"fields": "permalink_url", "access_token": "page-token"})
    assert permalink.json()["permalink_url"].startswith("https://www.facebook.com/1001/posts/")


def test_facebook_duplicate_and_auth_errors_use_graph_error_json(fake: FakePlatform) -> None:
    graph(fake, "POST", "1001/feed", data={"message": "Twice", "access_token": "t"})
    duplicate = graph(fake, "POST", "1001/feed", data={"message": "Twice", "access_token": "t"})
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["code"] == 506
    assert duplicate.json()["error"]["type"] == "OAuthException"

    fake.revoked_tokens.add("old")
    revoked = graph(fake, "POST", "1001/feed", data={"message": "x", "access_token": "old"})
    assert (revoked.json()["error"]["code"], revoked.json()["error"]["error_subcode"]) == (190, 460)


def test_facebook_feed_pages_with_a_next_link(fake: FakePlatform) -> None:
    for n in range(5):
        graph(fake, "POST", "77/feed", data={"message": f"Post {n}", "access_token": "t"})
    first = graph(fake, "GET", "77/feed", params={"limit": 3, "access_token": "t"}).json()
    assert [p["message"] for p in first["data"]] == ["Post 4", "Post 3", "Post 2"]
    second = requests.get(first["paging"]["next"], timeout=5).json()
    assert [p["message"] for p in second["data"]] == ["Post 1", "Post 0"]


def test_facebook_me_is_the_page_of_a_page_token(fake: FakePlatform) -> None:
    graph(fake, "POST", "4242/feed", data={"message": "Hi", "access_token": "page-token"})
    me = graph(fake, "GET", "me", params={"fields": "id,name", "access_token": "page-token"}).json()
    assert me["id"] == "4242"


def test_facebook_delete(fake: FakePlatform) -> None:
    post_id = graph(fake, "POST", "5/feed", data={"message": "Bye", "access_token": "t"}).json()["id"]
    assert graph(fake, "DELETE", post_id, params={"access_token": "t"}).json() == {"success": True}
    assert fake.ledger.find(platform="facebook") == []


# --- Faults --------------------------------------------------------------------------------------


def test_drop_stores_the_post_then_closes_the_connection_without_an_answer(fake: FakePlatform) -> None:
    fake.configure(script=["drop"])
    with pytest.raises(requests.ConnectionError):
        graph(fake, "POST", "1/feed", data={"message": "Lost answer", "access_token": "t"})
    assert [e.text for e in fake.ledger.find()] == ["Lost answer"]
    assert fake.stats["facebook:drop"] == 1


def test_drop_before_stores_nothing(fake: FakePlatform) -> None:
    fake.configure(script=["drop_before"])
    with pytest.raises(requests.ConnectionError):
        graph(fake, "POST", "1/feed", data={"message": "Never arrived", "access_token": "t"})
    assert len(fake.ledger) == 0


def test_slow_answer_outlasts_the_client_timeout_but_the_post_is_stored(fake: FakePlatform) -> None:
    fake.configure(script=["slow"], slow_seconds=2)
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            f"{fake.url}/api/v1/statuses", data={"status": "Slow"}, headers={"Authorization": "Bearer t"}, timeout=0.3
        )
    assert [e.text for e in fake.ledger.find()] == ["Slow"]


def test_mastodon_rate_limit_has_an_iso_reset_and_server_error_stores_nothing(fake: FakePlatform) -> None:
    fake.configure(platform="mastodon", script=["rate_limit", "server_error"])
    api = mastodon_client(fake)
    with pytest.raises(MastodonRatelimitError):
        api.status_post("One")
    assert api.ratelimit_reset > time.time()
    with pytest.raises(MastodonServiceUnavailableError):
        api.status_post("Two")
    assert len(fake.ledger) == 0


def test_latency_is_added_to_every_platform_request(fake: FakePlatform) -> None:
    fake.configure(latency_ms=150)
    started = time.monotonic()
    graph(fake, "GET", "1/feed", params={"access_token": "t"})
    assert time.monotonic() - started >= 0.15


def test_drop_probability_is_honoured(fake: FakePlatform) -> None:
    fake.configure(platform="facebook", p_drop=0.1)
    dropped = 0
    for n in range(200):
        try:
            graph(fake, "POST", "9/feed", data={"message": f"n{n}", "access_token": "t"})
        except requests.ConnectionError:
            dropped += 1
    assert 8 <= dropped <= 35
    assert len(fake.ledger) == 200


def test_faults_spare_reads_unless_asked(fake: FakePlatform) -> None:
    fake.configure(p_server_error=1.0)
    assert graph(fake, "GET", "1/feed", params={"access_token": "t"}).status_code == 200
    fake.configure(faults_on_reads=True)
    assert graph(fake, "GET", "1/feed", params={"access_token": "t"}).status_code == 503


def test_control_and_ledger_endpoints(fake: FakePlatform) -> None:
    answer = requests.post(f"{fake.url}/__control", json={"platform": "x", "p_drop": 1.0}, timeout=5)
    assert answer.json()["platform_config"] == {"x": {"p_drop": 1.0}}
    with pytest.raises(requests.ConnectionError):
        x_client(fake).create_tweet(text="dropped")
    graph(fake, "POST", "1/feed", data={"message": "fine", "access_token": "t"})

    ledger = requests.get(f"{fake.url}/__ledger", timeout=5).json()
    assert sorted(p["platform"] for p in ledger["posts"]) == ["facebook", "x"]
    assert ledger["stats"]["x:drop"] == 1
    only_x = requests.get(f"{fake.url}/__ledger", params={"platform": "x"}, timeout=5).json()
    assert [p["text"] for p in only_x["posts"]] == ["dropped"]

    assert requests.post(f"{fake.url}/__control", json={"nonsense": 1}, timeout=5).status_code == 400
    requests.post(f"{fake.url}/__control", json={"reset": True}, timeout=5)
    assert requests.get(f"{fake.url}/__ledger", timeout=5).json()["posts"] == []


def test_ledger_file_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    with FakePlatform(ledger_path=path) as first:
        post_id = graph(first, "POST", "3/feed", data={"message": "kept", "access_token": "t"}).json()["id"]
        graph(first, "POST", "3/feed", data={"message": "deleted later", "access_token": "t"})
        graph(first, "DELETE", "3_" + first.ledger.find()[-1].remote_id.split("_")[1], params={"access_token": "t"})
    with FakePlatform(ledger_path=path) as second:
        assert [e.remote_id for e in second.ledger.find()] == [post_id]
        assert len(second.ledger) == 2


def test_runs_as_a_module(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeplatform", "--port", "0", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = process.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/__health", timeout=5).json() == {"ok": True, "posts": 0}
        assert json.loads(requests.get(f"{url}/__control", timeout=5).text)["config"]["latency_ms"] == 1.0
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- CivicPost's own adapters against the fake (end to end, through the base-URL settings) -----------


@pytest.fixture
def adapter_settings(fake: FakePlatform, settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_PLATFORM_URLS = {"x": fake.url, "facebook": fake.url}
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_X_CONSUMER_KEY = "ck"
    settings.CIVICPOST_X_CONSUMER_SECRET = "cs"
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    return settings


def account(**values):  # noqa: ANN003, ANN201
    from scheduler.adapters.base import ChannelAccount

    return ChannelAccount(channel_id=0, display_name="Parks", **values)


@pytest.mark.django_db
def test_mastodon_adapter_publishes_once_per_key_and_replays_after_a_dropped_answer(fake, adapter_settings) -> None:  # noqa: ANN001
    from scheduler.adapters.base import OutcomeUnknown, PostContent
    from scheduler.adapters.mastodon.adapter import MastodonAdapter

    adapter = MastodonAdapter(
        account(credentials={"access_token": "t"}, options={"instance_url": fake.url, "max_characters": 500})
    )
    fake.configure(script=["drop"])
    with pytest.raises(OutcomeUnknown):
        adapter.publish(PostContent(text="Pools open"), idempotency_key="key-1")
    result = adapter.publish(PostContent(text="Pools open"), idempotency_key="key-1")

    assert [e.remote_id for e in fake.ledger.find()] == [result.remote_id]
    assert adapter.check_connection().ok


@pytest.mark.django_db
def test_x_adapter_publishes_and_reconciles_a_dropped_answer(fake, adapter_settings) -> None:  # noqa: ANN001
    import datetime as dt

    from django.utils import timezone

    from scheduler.adapters.base import Duplicate, OutcomeUnknown, PostContent
    from scheduler.adapters.x.adapter import XAdapter

    adapter = XAdapter(
        account(credentials={"access_token": "77-tok", "access_token_secret": "s", "x_user_id": "77", "username": "p"})
    )
    sent_at = timezone.now() - dt.timedelta(seconds=1)
    fake.configure(script=["drop"])
    with pytest.raises(OutcomeUnknown):
        adapter.publish(PostContent(text="Road closed"), idempotency_key="k")
    found = adapter.reconcile(PostContent(text="Road closed"), idempotency_key="k", sent_at=sent_at)

    assert found is not None
    assert found.remote_id == fake.ledger.find()[0].remote_id
    with pytest.raises(Duplicate):
        adapter.publish(PostContent(text="Road closed"), idempotency_key="k")
    assert adapter.check_connection().ok


@pytest.mark.django_db
def test_facebook_adapter_publishes_and_reconciles_a_dropped_answer(fake, adapter_settings) -> None:  # noqa: ANN001
    import datetime as dt

    from django.utils import timezone

    from scheduler.adapters.base import OutcomeUnknown, PostContent
    from scheduler.adapters.facebook.adapter import FacebookPageAdapter

    adapter = FacebookPageAdapter(account(credentials={"page_access_token": "pt"}, options={"page_id": "555"}))
    published = adapter.publish(PostContent(text="Parade today"), idempotency_key="k1")
    assert published.remote_id.startswith("555_")
    assert published.permalink.startswith("https://www.facebook.com/555/posts/")

    sent_at = timezone.now() - dt.timedelta(seconds=1)
    fake.configure(script=["drop"])
    with pytest.raises(OutcomeUnknown):
        adapter.publish(PostContent(text="Fireworks at nine"), idempotency_key="k2")
    found = adapter.reconcile(PostContent(text="Fireworks at nine"), idempotency_key="k2", sent_at=sent_at)

    assert found is not None
    assert len(fake.ledger.find(platform="facebook")) == 2
    assert adapter.check_connection().ok


# --- Bluesky -------------------------------------------------------------------------------------

HANDLE = "parks.city.example"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


def bluesky_client(fake: FakePlatform, base: str = ""):  # noqa: ANN201
    from atproto_client import Client

    client = Client(base_url=f"{fake.url}{base}")
    client.login(HANDLE, APP_PASSWORD, fetch_bsky_profile=False)
    return client


def post_record(text: str, **values):  # noqa: ANN003, ANN201
    from atproto_client import models

    return models.AppBskyFeedPost.Record(created_at="2026-12-01T15:00:00.000Z", text=text, **values)


def test_bluesky_session_points_the_sdk_at_the_fake_as_its_pds(fake: FakePlatform) -> None:
    from tests.fakeplatform.server import bluesky_did

    client = bluesky_client(fake, "/bluesky")

    # The SDK moved to the PDS of the session's DID document: this server, under the same prefix.
    assert client._base_url == f"{fake.url}/bluesky/xrpc"
    assert client._session.did == bluesky_did(HANDLE)
    assert not client._should_refresh_session()  # the access JWT decodes, with an exp two hours ahead
    assert fake.stats["bluesky:sessions_created"] == 1


def test_bluesky_create_record_keeps_our_rkey_refuses_a_second_create_and_get_record_finds_it(
    fake: FakePlatform,
) -> None:
    from atproto_client import models
    from atproto_client.exceptions import BadRequestError

    client = bluesky_client(fake)
    did = client._session.did
    blob = client.com.atproto.repo.upload_blob(b"\x89PNG fake image", headers={"Content-Type": "image/png"}).blob
    image = models.AppBskyEmbedImages.Image(alt="Children at a splash pad", image=blob)
    record = post_record("Splash pads open #parks", embed=models.AppBskyEmbedImages.Main(images=[image]), langs=["en"])

    created = client.app.bsky.feed.post.create(did, record, rkey="3lbcdefghijkl")
    with pytest.raises(BadRequestError) as caught:
        client.app.bsky.feed.post.create(did, record, rkey="3lbcdefghijkl")
    found = client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(repo=HANDLE, collection="app.bsky.feed.post", rkey="3lbcdefghijkl")
    )
    with pytest.raises(BadRequestError) as missing:
        client.com.atproto.repo.get_record(
            models.ComAtprotoRepoGetRecord.Params(repo=did, collection="app.bsky.feed.post", rkey="3lzzzzzzzzzzz")
        )

    assert created.uri == f"at://{did}/app.bsky.feed.post/3lbcdefghijkl"
    assert created.cid.startswith("bafyrei")
    assert caught.value.response.content.error == "RecordAlreadyExists"
    assert (found.uri, found.cid, found.value.text) == (created.uri, created.cid, "Splash pads open #parks")
    assert missing.value.response.content.error == "RecordNotFound"
    [entry] = fake.ledger.find(platform="bluesky")
    assert (entry.account, entry.remote_id, entry.idempotency_key) == (did, created.uri, "3lbcdefghijkl")
    assert entry.extra["alt_texts"] == ["Children at a splash pad"]
    assert client.get_posts([created.uri]).posts[0].record.text == "Splash pads open #parks"


def test_bluesky_refuses_unknown_blobs_overlong_text_and_another_repo(fake: FakePlatform) -> None:
    from atproto_client import models
    from atproto_client.exceptions import BadRequestError
    from atproto_client.models.blob_ref import BlobRef, IpldLink

    client = bluesky_client(fake)
    blob = BlobRef(mime_type="image/png", size=3, ref=IpldLink(link="bafkreinotuploaded"))
    embed = models.AppBskyEmbedImages.Main(images=[models.AppBskyEmbedImages.Image(alt="x", image=blob)])
    for repo, record, message in (
        (client._session.did, post_record("x", embed=embed), "Could not find blob"),
        (client._session.did, post_record("é" * 301), "300 graphemes"),
        ("did:plc:someoneelse", post_record("Not mine"), "authenticated account"),
    ):
        with pytest.raises(BadRequestError) as caught:
            client.app.bsky.feed.post.create(repo, record)
        assert message in caught.value.response.content.message
    assert len(fake.ledger) == 0


def test_bluesky_refresh_rotates_the_tokens_and_refuses_used_foreign_and_missing_ones(fake: FakePlatform) -> None:
    client = bluesky_client(fake)
    xrpc = f"{fake.url}/xrpc"
    old_refresh = client._session.refresh_jwt
    client._refresh_and_set_session()

    assert client._session.refresh_jwt != old_refresh
    used = requests.post(
        f"{xrpc}/com.atproto.server.refreshSession", headers={"Authorization": f"Bearer {old_refresh}"}, timeout=5
    )
    assert (used.status_code, used.json()["error"]) == (400, "ExpiredToken")
    forged = requests.post(
        f"{xrpc}/com.atproto.repo.createRecord",
        json={"repo": HANDLE, "collection": "app.bsky.feed.post", "record": {"text": "x", "createdAt": "2026"}},
        headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"},
        timeout=5,
    )
    assert (forged.status_code, forged.json()["error"]) == (400, "InvalidToken")
    anonymous = requests.post(f"{xrpc}/com.atproto.repo.createRecord", json={}, timeout=5)
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "AuthenticationRequired")
    fake.revoked_tokens.add("wxyz-wxyz-wxyz-wxyz")
    refused = requests.post(
        f"{xrpc}/com.atproto.server.createSession",
        json={"identifier": HANDLE, "password": "wxyz-wxyz-wxyz-wxyz"},
        timeout=5,
    )
    assert (refused.status_code, refused.json()["error"]) == (401, "AuthenticationRequired")


def test_bluesky_rate_limit_answers_with_the_reset_headers_the_sdk_reads(fake: FakePlatform) -> None:
    from atproto_client.exceptions import RateLimitExceededError

    client = bluesky_client(fake)
    fake.configure(platform="bluesky", script=["rate_limit"], rate_limit_reset_seconds=90)
    with pytest.raises(RateLimitExceededError) as caught:
        client.app.bsky.feed.post.create(client._session.did, post_record("Too fast"))
    assert caught.value.reset_at.timestamp() >= time.time() + 89
    assert len(fake.ledger) == 0


# --- Instagram and Threads -----------------------------------------------------------------------


def ig(fake: FakePlatform, method: str, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
    headers = {"Authorization": "Bearer ig-token"}
    return requests.request(method, f"{fake.url}/v27.0/{path}", headers=headers, timeout=5, **kwargs)


def test_instagram_container_waits_then_publishes_once_with_its_alt_text(fake: FakePlatform) -> None:
    fake.configure(platform="instagram", container_in_progress_polls=1)
    image = {"image_url": "https://city.example/media/pool.jpg", "alt_text": "An empty pool", "caption": "Pool opens"}
    container = ig(fake, "POST", "1784/media", data=image).json()["id"]

    too_early = ig(fake, "POST", "1784/media_publish", data={"creation_id": container})
    first = ig(fake, "GET", container, params={"fields": "status_code,status"}).json()
    then = ig(fake, "GET", container, params={"fields": "status_code,status"}).json()
    media_id = ig(fake, "POST", "1784/media_publish", data={"creation_id": container}).json()["id"]
    again = ig(fake, "POST", "1784/media_publish", data={"creation_id": container})
    permalink = ig(fake, "GET", media_id, params={"fields": "permalink,shortcode,timestamp"}).json()
    published = ig(fake, "GET", container, params={"fields": "status_code"}).json()

    assert (too_early.status_code, too_early.json()["error"]["error_subcode"]) == (400, 2207027)
    assert (first["status_code"], then["status_code"], published["status_code"]) == (
        "IN_PROGRESS",
        "FINISHED",
        "PUBLISHED",
    )
    assert again.json()["error"]["code"] == 100
    assert permalink["permalink"] == f"https://www.instagram.com/p/{permalink['shortcode']}/"
    assert permalink["timestamp"].endswith("+0000")
    [entry] = fake.ledger.find(platform="instagram")
    assert (entry.account, entry.remote_id, entry.text) == ("1784", media_id, "Pool opens")
    assert entry.extra["media"] == [{"image_url": image["image_url"], "alt_text": "An empty pool"}]
    assert entry.extra["permalink"] == permalink["permalink"]
    # Facebook on the same /v27.0/ paths is untouched.
    assert graph(fake, "POST", "1784/feed", data={"message": "On the Page", "access_token": "t"}).status_code == 200
    assert [e.platform for e in fake.ledger.find()] == ["instagram", "facebook"]


def test_instagram_refuses_a_container_without_media_and_lists_media_for_reconciliation(fake: FakePlatform) -> None:
    missing = ig(fake, "POST", "1784/media", data={"caption": "No picture"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, 100)
    for n in range(3):
        container = ig(fake, "POST", "1784/media", data={"image_url": "https://c.example/a.jpg", "caption": f"P{n}"})
        ig(fake, "POST", "1784/media_publish", data={"creation_id": container.json()["id"]})

    first = ig(fake, "GET", "1784/media", params={"fields": "id,caption,timestamp,permalink", "limit": 2}).json()
    second = requests.get(first["paging"]["next"], headers={"Authorization": "Bearer ig-token"}, timeout=5).json()
    later = ig(fake, "GET", "1784/media", params={"since": int(time.time()) + 60}).json()

    assert [item["caption"] for item in first["data"] + second["data"]] == ["P2", "P1", "P0"]
    assert "next" not in second["paging"]
    assert later["data"] == []
    limit = ig(fake, "GET", "1784/content_publishing_limit", params={"fields": "config,quota_usage"}).json()
    assert limit["data"][0]["quota_usage"] == 3


def test_threads_text_and_image_posts_under_a_threads_prefix_with_me_and_delete(fake: FakePlatform) -> None:
    def threads(method: str, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
        headers = {"Authorization": "Bearer threads-token"}
        return requests.request(method, f"{fake.url}/threads/v1.0/{path}", headers=headers, timeout=5, **kwargs)

    me = threads("GET", "me", params={"fields": "id,username"}).json()
    text = threads("POST", "me/threads", data={"media_type": "TEXT", "text": "Library open late"}).json()["id"]
    image = threads(
        "POST",
        "me/threads",
        data={
            "media_type": "IMAGE",
            "image_url": "https://c.example/b.jpg",
            "alt_text": "Shelves",
            "text": "New books",
        },
    ).json()["id"]
    status = threads("GET", image, params={"fields": "status,error_message"}).json()
    ids = [threads("POST", "me/threads_publish", data={"creation_id": c}).json()["id"] for c in (text, image)]
    listing = threads("GET", f"{me['id']}/threads", params={"fields": "id,text,timestamp,permalink"}).json()
    deleted = threads("DELETE", ids[0]).json()

    assert status == {"status": "FINISHED", "id": image}
    assert [item["text"] for item in listing["data"]] == ["New books", "Library open late"]
    assert listing["data"][0]["permalink"].startswith(f"https://www.threads.net/@fake{me['id']}/post/")
    assert deleted == {"success": True, "deleted_id": ids[0]}
    [live] = fake.ledger.find(platform="threads")
    assert (live.account, live.text, live.extra["alt_texts"]) == (me["id"], "New books", ["Shelves"])
    assert threads("POST", "me/threads", data={"media_type": "TEXT", "text": "x" * 501}).status_code == 400


# --- Webhook receiver ----------------------------------------------------------------------------

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"fake platform webhook secret!!!!").decode()


def signed(event: dict, *, msg_id: str, secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    from standardwebhooks import Webhook

    body = json.dumps(event)
    now = dt.datetime.now(dt.UTC)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    return body.encode(), headers


def published_event(text: str) -> dict:
    return {
        "type": "post.published",
        "id": "evt-1",
        "post": {"text": text, "link": "", "media": [{"url": "https://c.example/a.jpg", "alt": "A bench"}]},
    }


def test_webhook_receiver_checks_the_signature_and_files_one_post_per_webhook_id(fake: FakePlatform) -> None:
    url = fake.url + fake.add_webhook_receiver("parks", WEBHOOK_SECRET)
    body, headers = signed(published_event("Bench dedicated"), msg_id="msg-1")

    first = requests.post(url, data=body, headers=headers, timeout=5)
    repeat = requests.post(url, data=body, headers=headers, timeout=5)
    forged = requests.post(url, data=body, headers={**headers, "webhook-signature": "v1,AAAA"}, timeout=5)
    tampered = requests.post(url, data=body.replace(b"Bench", b"Bunch"), headers=headers, timeout=5)
    nowhere = requests.post(f"{fake.url}/hooks/nobody", data=body, headers=headers, timeout=5)

    assert first.status_code == 200
    assert repeat.json() == first.json()
    assert first.json()["url"] == f"{fake.url}/news/{first.json()['id']}"
    assert (forged.status_code, tampered.status_code, nowhere.status_code) == (401, 401, 404)
    [entry] = fake.ledger.find(platform="webhook")
    assert (entry.account, entry.remote_id, entry.text, entry.idempotency_key) == (
        "parks",
        first.json()["id"],
        "Bench dedicated",
        "msg-1",
    )
    assert entry.extra["alt_texts"] == ["A bench"]
    assert (fake.stats["webhook:duplicate_delivery"], fake.stats["webhook:bad_signature"]) == (1, 2)

    body, headers = signed({"type": "post.deleted", "post": {"remote_id": entry.remote_id}}, msg_id="msg-2")
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 200
    assert fake.ledger.find(platform="webhook") == []


def test_webhook_concurrent_deliveries_of_one_webhook_id_file_one_post(fake: FakePlatform) -> None:
    url = fake.url + fake.add_webhook_receiver("parks", WEBHOOK_SECRET)
    fake.configure(latency_ms=20)
    body, headers = signed(published_event("Once only"), msg_id="race")
    answers: list[dict] = []

    def deliver() -> None:
        answers.append(requests.post(url, data=body, headers=headers, timeout=5).json())

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({answer["id"] for answer in answers}) == 1
    assert len(fake.ledger) == 1


def test_webhook_receivers_come_from_the_constructor_and_control_and_survive_a_reset() -> None:
    with FakePlatform(webhook_receivers={"library": WEBHOOK_SECRET}) as fake:
        requests.post(f"{fake.url}/__control", json={"webhook_receivers": {"parks": WEBHOOK_SECRET}}, timeout=5)
        body, headers = signed(published_event("Story hour"), msg_id="m")
        assert requests.post(f"{fake.url}/hooks/parks", data=body, headers=headers, timeout=5).status_code == 200
        requests.post(f"{fake.url}/__control", json={"reset": True}, timeout=5)

        assert requests.post(f"{fake.url}/hooks/parks", data=body, headers=headers, timeout=5).status_code == 404
        assert requests.post(f"{fake.url}/hooks/library", data=body, headers=headers, timeout=5).status_code == 200
        bad = requests.post(f"{fake.url}/__control", json={"webhook_receivers": {"x": "not base64!"}}, timeout=5)
        assert bad.status_code == 400


# --- The Bluesky, Instagram, Threads and webhook adapters against the fake ------------------------


@pytest.fixture
def meta_settings(fake: FakePlatform, adapter_settings, monkeypatch):  # noqa: ANN001, ANN201
    from scheduler.adapters import graph as graph_module

    adapter_settings.CIVICPOST_PLATFORM_URLS = {
        "instagram": f"{fake.url}/instagram",
        "threads": f"{fake.url}/threads",
    }
    monkeypatch.setattr(graph_module, "_sleep", lambda seconds: None)
    return adapter_settings


@pytest.mark.django_db
def test_bluesky_adapter_signs_in_publishes_and_settles_a_dropped_answer_on_the_same_rkey(
    fake, adapter_settings
) -> None:  # noqa: ANN001
    from django.utils import timezone

    from scheduler.adapters.base import OutcomeUnknown, PostContent
    from scheduler.adapters.bluesky.adapter import BlueskyAdapter, record_key_for

    adapter = BlueskyAdapter(
        account(
            handle=f"@{HANDLE}",
            credentials={"handle": HANDLE, "app_password": APP_PASSWORD},
            options={"pds_url": fake.url},
        )
    )
    content = PostContent(text="Trail closed at Elm Park https://city.example/trails")
    fake.configure(platform="bluesky", script=["drop"])
    sent_at = timezone.now()
    with pytest.raises(OutcomeUnknown):
        adapter.publish(content, idempotency_key="delivery-1")
    found = adapter.reconcile(content, idempotency_key="delivery-1", sent_at=sent_at)
    again = adapter.publish(content, idempotency_key="delivery-1")

    [entry] = fake.ledger.find(platform="bluesky")
    assert found.remote_id == again.remote_id == entry.remote_id
    assert entry.idempotency_key == record_key_for("delivery-1")
    assert found.permalink == f"https://bsky.app/profile/{HANDLE}/post/{entry.idempotency_key}"
    assert entry.extra["record"]["facets"][0]["features"][0]["uri"] == "https://city.example/trails"
    assert fake.stats["bluesky:rkey_taken"] == 1
    assert fake.stats["bluesky:sessions_created"] == 1  # signed in once; every later call reused the session
    assert adapter.updated_credentials["session_string"]
    assert adapter.check_connection().ok


def test_bluesky_handle_change_keeps_the_did_and_the_old_handle_no_longer_signs_in(fake: FakePlatform) -> None:
    from atproto_client import Client
    from atproto_client.exceptions import UnauthorizedError

    did = bluesky_client(fake)._session.did
    assert fake.bluesky_change_handle(HANDLE, "parks.springfield.gov") == did

    with pytest.raises(UnauthorizedError):
        Client(base_url=fake.url).login(HANDLE, APP_PASSWORD, fetch_bsky_profile=False)
    by_did = Client(base_url=fake.url)
    by_did.login(did, APP_PASSWORD, fetch_bsky_profile=False)
    assert (by_did._session.did, by_did._session.handle) == (did, "parks.springfield.gov")


@pytest.mark.django_db
def test_bluesky_adapter_signs_in_again_with_the_did_after_the_handle_changed(fake, adapter_settings) -> None:  # noqa: ANN001
    """Issue 11 item 17: the session had ended and the account had been renamed; signing in with the stored
    handle answered 401 although the app password was valid."""
    from scheduler.adapters.base import PostContent
    from scheduler.adapters.bluesky.adapter import BlueskyAdapter, connect_with_app_password

    credentials = connect_with_app_password(HANDLE, APP_PASSWORD, fake.url)
    did = fake.bluesky_change_handle(HANDLE, "parks.springfield.gov")
    credentials.pop("session_string")  # the cached session is gone: the adapter must sign in again
    adapter = BlueskyAdapter(account(handle=f"@{HANDLE}", credentials=credentials, options={"pds_url": fake.url}))

    result = adapter.publish(PostContent(text="Pools open at noon"), idempotency_key="after-rename")

    [entry] = fake.ledger.find(platform="bluesky")
    assert entry.account == did and result.remote_id == entry.remote_id
    assert fake.stats["bluesky:sessions_created"] == 2  # connecting, then once with the DID
    assert adapter.updated_credentials["did"] == did
    assert adapter.updated_credentials["handle"] == "parks.springfield.gov"


@pytest.mark.django_db
def test_instagram_and_threads_adapters_publish_and_reconcile_a_dropped_publish(fake, meta_settings) -> None:  # noqa: ANN001
    from django.utils import timezone

    from scheduler.adapters.base import MediaItem, OutcomeUnknown, PostContent
    from scheduler.adapters.instagram.adapter import InstagramAdapter
    from scheduler.adapters.threads.adapter import ThreadsAdapter

    photo = MediaItem(url="https://city.example/media/pool.jpg", mime_type="image/jpeg", alt_text="An empty pool")
    instagram = InstagramAdapter(account(credentials={"access_token": "ig-t"}, options={"ig_user_id": "1784"}))
    threads_user = _numeric_id("threads:th-t")  # the user the fake's /me gives this token
    threads = ThreadsAdapter(account(credentials={"access_token": "th-t"}, options={"threads_user_id": threads_user}))
    for platform, adapter in (("instagram", instagram), ("threads", threads)):
        published = adapter.publish(PostContent(text=f"Pool opens on {platform}", media=(photo,)), idempotency_key="a")
        sent_at = timezone.now() - dt.timedelta(seconds=1)
        fake.configure(platform=platform, script=["ok", "drop"])  # the container is made; the publish is lost
        lost = PostContent(text=f"Pool closes on {platform}", media=(photo,))
        with pytest.raises(OutcomeUnknown):
            adapter.publish(lost, idempotency_key="b")
        found = adapter.reconcile(lost, idempotency_key="b", sent_at=sent_at)

        first, second = fake.ledger.find(platform=platform)
        assert (published.remote_id, published.permalink) == (first.remote_id, first.extra["permalink"])
        assert (found.remote_id, found.permalink) == (second.remote_id, second.extra["permalink"])
        assert first.extra["media"] == [{"image_url": photo.url, "alt_text": "An empty pool"}]
    assert threads.check_connection().ok
    assert instagram.check_connection().ok


@pytest.mark.django_db
def test_webhook_adapter_resends_with_the_same_id_after_a_drop_and_the_receiver_files_it_once(
    fake, adapter_settings
) -> None:  # noqa: ANN001
    from scheduler.adapters.base import OutcomeUnknown, PostContent
    from scheduler.adapters.webhook.adapter import WebhookAdapter

    url = fake.url + fake.add_webhook_receiver("cms", WEBHOOK_SECRET)
    adapter = WebhookAdapter(account(credentials={"secret": WEBHOOK_SECRET}, options={"url": url}))
    content = PostContent(text="Leaf pickup starts Monday")
    fake.configure(platform="webhook", script=["drop"])
    with pytest.raises(OutcomeUnknown):
        adapter.publish(content, idempotency_key="2f1d8c9e-1111-4222-8333-944455556666")
    assert adapter.reconcile(content, idempotency_key="2f1d8c9e-1111-4222-8333-944455556666", sent_at=None) is None
    result = adapter.publish(content, idempotency_key="2f1d8c9e-1111-4222-8333-944455556666")

    [entry] = fake.ledger.find(platform="webhook")
    assert (result.remote_id, result.permalink) == (entry.remote_id, entry.extra["permalink"])
    assert entry.idempotency_key == "2f1d8c9e-1111-4222-8333-944455556666"
    assert fake.stats["webhook:duplicate_delivery"] == 1
    assert adapter.check_connection().ok


def test_ledger_find_by_account_is_the_ledger_order_filtered():
    from tests.fakeplatform.server import Ledger

    ledger = Ledger()
    for n in range(6):
        ledger.add(platform="x" if n % 2 else "facebook", account=f"a{n % 3}", remote_id=str(n), text=f"t{n}")
    ledger.delete("x", "3")
    for platform in ("x", "facebook"):
        for account in ("a0", "a1", "a2"):
            for live_only in (True, False):
                everything = [
                    e for e in ledger.find(live_only=live_only) if e.platform == platform and e.account == account
                ]
                assert ledger.find(platform=platform, account=account, live_only=live_only) == everything
    ledger.clear()
    assert ledger.find(platform="x", account="a1") == []
