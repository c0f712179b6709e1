"""The Bluesky adapter with the real atproto client against `respx` (atproto is httpx-based), answering with
bodies shaped like the lexicons and docs.bsky.app's examples (fixtures/bluesky/*.json).

The PDS lives at http://127.0.0.1:8402: the SSRF guard lets plain http reach loopback only because the
test settings set CIVICPOST_ALLOW_LOOPBACK_PLATFORMS; respx answers before any socket opens. The fake
sessions carry well-formed JWTs, because the SDK decodes the access token to decide when to refresh."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from pathlib import Path

import httpx
import pytest
import respx
import time_machine
from atproto_client.client.session import Session
from atproto_client.models.string_formats import TID_RE
from django.db import connection
from django.utils import timezone

from scheduler import publishing
from scheduler.adapter_changes import channel_save_adapter_changes
from scheduler.adapters.base import (
    AuthExpired,
    ChannelAccount,
    CheckAgainLater,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
    RateLimited,
)
from scheduler.adapters.bluesky.adapter import (
    BlueskyAdapter,
    ConnectFailed,
    bluesky_graphemes,
    connect_with_app_password,
    record_key_for,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.adapters.ssrf import UnsafeURL
from scheduler.models import Channel, ChannelStatus, Delivery, DeliveryStatus, PostStatus
from scheduler.tasks import enqueue_publish
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due
from tests.scheduler.adapters.media_helpers import store_media

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bluesky"
PDS = "http://127.0.0.1:8402"
XRPC = f"{PDS}/xrpc"
DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
HANDLE = "parks.city.example"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
LIBRARY_DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
CID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
FAR_FUTURE = 4_102_444_800  # 2100-01-01
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def fixture(name: str, **replace: str) -> dict:
    text = (FIXTURES / name).read_text()
    for placeholder, value in replace.items():
        text = text.replace(f"<{placeholder}>", value)
    return json.loads(text)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(*, exp: int, scope: str = "com.atproto.appPass", name: str = "access") -> str:
    """A well-formed (unsigned) JWT, as the SDK only decodes it to read `exp`."""
    header = {"typ": "at+jwt" if scope != "com.atproto.refresh" else "refresh+jwt", "alg": "ES256K"}
    payload = {"scope": scope, "sub": DID, "iat": exp - 7200, "exp": exp, "aud": "did:web:bsky.social", "jti": name}
    return f"{_b64(header)}.{_b64(payload)}.c2lnbmF0dXJl"


ACCESS = jwt(exp=FAR_FUTURE)
REFRESH = jwt(exp=FAR_FUTURE, scope="com.atproto.refresh", name="refresh")


def session_string(*, access: str = ACCESS, refresh: str = REFRESH) -> str:
    return Session(HANDLE, DID, access, refresh, PDS).encode()


def session_answer(name: str, *, access: str, refresh: str) -> dict:
    answer = fixture(name)
    answer.update(accessJwt=access, refreshJwt=refresh)
    return answer


def credentials(**changes) -> dict:
    return {"handle": HANDLE, "did": DID, "app_password": APP_PASSWORD, "session_string": session_string(), **changes}


def make_adapter(*, creds: dict | None = None, **options) -> BlueskyAdapter:
    return BlueskyAdapter(
        ChannelAccount(
            channel_id=0,
            display_name="Parks on Bluesky",
            handle=f"@{HANDLE}",
            credentials=creds if creds is not None else credentials(),
            options={"pds_url": PDS, **options},
        )
    )


SLICE = "app.bsky.richtext.facet#byteSlice"  # atproto writes $type on every object, which lexicons allow


def body(call) -> dict:
    return json.loads(call.request.content)


@pytest.fixture
def pds():
    """The fake PDS; tests register its answers. Nothing leaves the process."""
    with respx.mock(base_url=XRPC, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def bluesky_channel(personas) -> Channel:
    return ChannelFactory(
        department=personas.parks,
        platform="bluesky",
        display_name="Parks on Bluesky",
        account_handle=f"@{HANDLE}",
        credentials=credentials(),
        options={"pds_url": PDS},
    )


def create_route(pds, key: str, **answer):
    rkey = record_key_for(key)
    return pds.post("/com.atproto.repo.createRecord").mock(
        return_value=httpx.Response(
            answer.pop("status", 200), json=answer.pop("json", fixture("create_record.json", rkey=rkey))
        )
    )


def claimed_delivery(personas, channel: Channel, **kwargs) -> Delivery:
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel], **kwargs)
    make_due(post)
    claimed = publishing.deliveries_claim_due()
    delivery = Delivery.objects.get(post=post)
    assert claimed == [delivery.pk]
    return delivery


# --- Length ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "graphemes"),
    [
        ("Splash pads open", 16),
        ("👩\u200d👩\u200d👧\u200d👦", 1),  # a ZWJ family is one grapheme of 11 code points
        ("🏳\ufe0f\u200d🌈", 1),  # flag sequence with variation selector and ZWJ
        ("👍🏽", 1),  # emoji with skin tone modifier
        ("🇺🇸🇩🇪", 2),  # two regional-indicator flags
        ("cafe\u0301", 4),  # e + combining acute accent
        ("Z\u0351\u036b\u0343\u036a", 1),  # stacked combining marks
        ("\u1100\u1161\u11a8", 1),  # Hangul syllable from conjoining jamo
        ("市立公園のプール", 8),  # CJK: one grapheme each
        ("नमस्ते", 3),  # Devanagari conjuncts (extended grapheme clusters)
    ],
)
def test_bluesky_counts_grapheme_clusters(text, graphemes):
    assert bluesky_graphemes(text) == graphemes


def test_the_limit_is_300_graphemes_with_the_link_counted_in_full():
    content = PostContent(text="a" * 270, link="https://city.example/parks/splash")

    length = make_adapter().text_length(content)

    assert (length.used, length.limit) == (270 + 2 + len("https://city.example/parks/splash"), 300)
    assert length.over_by == 5


def test_300_family_emoji_fit_the_grapheme_limit_but_not_the_3000_bytes():
    family = "👩\u200d👩\u200d👧\u200d👦"
    content = PostContent(text=family * 300)

    problems = make_adapter().validate(content)

    assert make_adapter().text_length(content).used == 300
    assert [problem.message for problem in problems] == ["Bluesky allows 3000 bytes of text; this post has 7500."]


def test_validation_names_every_problem_in_plain_words():
    media = (
        MediaItem(url="", path="library/parks/big.jpg", mime_type="image/jpeg", alt_text="Pool", size_bytes=2_000_100),
        MediaItem(url="", mime_type="image/png", alt_text="", size_bytes=10),
        MediaItem(url="", mime_type="video/mp4", alt_text="Clip"),
        MediaItem(url="", mime_type="image/png", alt_text="A", size_bytes=10),
        MediaItem(url="", mime_type="image/png", alt_text="B", size_bytes=2_000_001),
    )

    messages = [problem.message for problem in make_adapter().validate(PostContent(text="x" * 301, media=media))]

    assert "Bluesky allows 300 characters; this post has 301 (1 too many)." in messages
    assert "Bluesky takes at most 4 images per post." in messages
    assert any("alt text" in message for message in messages)
    assert "A Bluesky post takes one video on its own, without images or a second video." in messages
    assert not any("MB" in message for message in messages)  # large images are made to fit at publish time


# --- Record keys ------------------------------------------------------------------------------------


def test_each_delivery_gets_its_own_stable_tid_record_key():
    key = str(uuid.uuid4())

    rkey = record_key_for(key)

    assert rkey == record_key_for(key)
    assert TID_RE.match(rkey)
    assert len({record_key_for(str(uuid.uuid4())) for _ in range(2000)}) == 2000


# --- Publishing: the exact request -------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_publish_sends_the_record_with_facets_at_utf8_byte_offsets_and_our_rkey(pds):
    key = str(uuid.uuid4())
    rkey = record_key_for(key)
    text = "🌳🎉 Splash pads open Saturday! Thanks @library.springfield.gov #SummerInThePark"
    link = "https://city.example/parks/splash-pads"
    resolve = pds.get("/com.atproto.identity.resolveHandle", params={"handle": "library.springfield.gov"}).respond(
        json=fixture("resolve_handle.json")
    )
    create = create_route(pds, key)
    login = pds.post("/com.atproto.server.createSession")

    result = make_adapter().publish(PostContent(text=text, link=link, language="en"), idempotency_key=key)

    full = f"{text}\n\n{link}".encode()
    mention_start = full.index(b"@library")
    tag_start = full.index(b"#Summer")
    link_start = full.index(b"https://")
    assert mention_start == len("🌳🎉 Splash pads open Saturday! Thanks ".encode())  # emoji are 4 bytes each
    assert login.call_count == 0  # the cached session was used
    assert resolve.calls.last.request.headers["Authorization"] == f"Bearer {ACCESS}"
    request = create.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert request.headers["User-Agent"].startswith("CivicPost/")
    assert body(create.calls.last) == {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": rkey,
        "validate": True,
        "record": {
            "$type": "app.bsky.feed.post",
            "text": f"{text}\n\n{link}",
            "createdAt": "2026-12-01T15:00:00.000Z",
            "langs": ["en"],
            "facets": [
                {
                    "$type": "app.bsky.richtext.facet",
                    "index": {
                        "$type": SLICE,
                        "byteStart": mention_start,
                        "byteEnd": mention_start + len(b"@library.springfield.gov"),
                    },
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": LIBRARY_DID}],
                },
                {
                    "$type": "app.bsky.richtext.facet",
                    "index": {"$type": SLICE, "byteStart": tag_start, "byteEnd": tag_start + len(b"#SummerInThePark")},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "SummerInThePark"}],
                },
                {
                    "$type": "app.bsky.richtext.facet",
                    "index": {"$type": SLICE, "byteStart": link_start, "byteEnd": len(full)},
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": link}],
                },
            ],
        },
    }
    assert result.remote_id == f"at://{DID}/app.bsky.feed.post/{rkey}"
    assert result.permalink == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    assert result.raw["cid"] == CID
    json.dumps(result.raw)


def test_an_unknown_handle_stays_plain_text(pds):
    pds.get("/com.atproto.identity.resolveHandle").respond(
        400, json={"error": "InvalidRequest", "message": "Unable to resolve handle"}
    )
    create = create_route(pds, "k")

    make_adapter().publish(PostContent(text="Hello @nobody.springfield.gov"), idempotency_key="k")

    assert "facets" not in body(create.calls.last)["record"]


def test_publish_uploads_each_image_and_embeds_it_with_its_alt_text(pds, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    image = store_media("splash.png", PNG_1X1)
    alt = "Children running through the splash pad fountains at Riverside Park."
    upload = pds.post("/com.atproto.repo.uploadBlob").respond(json=fixture("upload_blob.json"))
    create = create_route(pds, "k")

    make_adapter().publish(
        PostContent(
            text="Splash pads are open",
            language="es",
            media=(MediaItem(url="", path=image, mime_type="image/png", alt_text=alt, width=1, height=1),),
        ),
        idempotency_key="k",
    )

    assert upload.calls.last.request.content == PNG_1X1
    assert upload.calls.last.request.headers["Content-Type"] == "image/png"
    assert upload.calls.last.request.headers["Authorization"] == f"Bearer {ACCESS}"
    record = body(create.calls.last)["record"]
    assert record["langs"] == ["es"]
    assert record["embed"] == {
        "$type": "app.bsky.embed.images",
        "images": [
            {
                "$type": "app.bsky.embed.images#image",
                "alt": alt,
                "image": fixture("upload_blob.json")["blob"],
                "aspectRatio": {"$type": "app.bsky.embed.defs#aspectRatio", "width": 1, "height": 1},
            }
        ],
    }


# --- The session: cached, refreshed, signed in only when needed --------------------------------------------


def test_without_a_cached_session_it_signs_in_once_and_stores_the_session_encrypted(pds, bluesky_channel):
    new_access = jwt(exp=FAR_FUTURE, name="fresh-access")
    Channel.objects.filter(pk=bluesky_channel.pk).update(
        credentials={"handle": HANDLE, "did": DID, "app_password": APP_PASSWORD}
    )
    bluesky_channel.refresh_from_db()
    login = pds.post("/com.atproto.server.createSession").respond(
        json=session_answer("create_session.json", access=new_access, refresh=REFRESH)
    )
    create = pds.post("/com.atproto.repo.createRecord").mock(
        side_effect=lambda request: httpx.Response(200, json=fixture("create_record.json", rkey=body_rkey(request)))
    )

    # The adapter hands the new session out; its caller (publishing, the connection check) saves it.
    adapter = adapter_for_channel(bluesky_channel)
    adapter.publish(PostContent(text="One"), idempotency_key="k1")
    channel_save_adapter_changes(channel=bluesky_channel, adapter=adapter)
    bluesky_channel.refresh_from_db()
    adapter_for_channel(bluesky_channel).publish(PostContent(text="Two"), idempotency_key="k2")

    assert login.call_count == 1
    # The DID, which survives a change of handle (the handle may no longer name the account).
    assert json.loads(login.calls.last.request.content) == {"identifier": DID, "password": APP_PASSWORD}
    assert bluesky_channel.credentials["session_string"].split(":::")[2] == new_access
    assert create.call_count == 2
    assert create.calls[1].request.headers["Authorization"] == f"Bearer {new_access}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM scheduler_channel WHERE id = %s", [bluesky_channel.pk])
        (stored,) = cursor.fetchone()
    assert new_access not in stored and APP_PASSWORD not in stored


def body_rkey(request: httpx.Request) -> str:
    return json.loads(request.content)["rkey"]


def test_an_access_token_near_its_end_is_refreshed_not_signed_in_again(pds, bluesky_channel):
    soon = int(timezone.now().timestamp()) + 5 * 60  # the SDK refreshes 15 minutes before expiry
    fresh = jwt(exp=FAR_FUTURE, name="refreshed-access")
    Channel.objects.filter(pk=bluesky_channel.pk).update(
        credentials=credentials(session_string=session_string(access=jwt(exp=soon)))
    )
    bluesky_channel.refresh_from_db()
    refresh = pds.post("/com.atproto.server.refreshSession").respond(
        json=session_answer("refresh_session.json", access=fresh, refresh=REFRESH)
    )
    login = pds.post("/com.atproto.server.createSession")
    create = create_route(pds, "k")

    adapter = adapter_for_channel(bluesky_channel)
    adapter.publish(PostContent(text="Hello"), idempotency_key="k")

    assert refresh.calls.last.request.headers["Authorization"] == f"Bearer {REFRESH}"
    assert login.call_count == 0
    assert create.calls.last.request.headers["Authorization"] == f"Bearer {fresh}"
    assert adapter.updated_credentials["session_string"].split(":::")[2] == fresh
    assert adapter.updated_credentials["app_password"] == APP_PASSWORD
    channel_save_adapter_changes(channel=bluesky_channel, adapter=adapter)
    bluesky_channel.refresh_from_db()
    assert bluesky_channel.credentials["session_string"].split(":::")[2] == fresh


def test_a_session_that_cannot_be_refreshed_falls_back_to_the_app_password(pds):
    expired = session_string(access=jwt(exp=1_700_000_000))
    fresh = jwt(exp=FAR_FUTURE, name="signed-in-again")
    refresh = pds.post("/com.atproto.server.refreshSession").respond(400, json=fixture("error_expired_token.json"))
    login = pds.post("/com.atproto.server.createSession").respond(
        json=session_answer("create_session.json", access=fresh, refresh=REFRESH)
    )
    create = create_route(pds, "k")
    adapter = make_adapter(creds=credentials(session_string=expired))

    adapter.publish(PostContent(text="Hello"), idempotency_key="k")

    assert (refresh.call_count, login.call_count, create.call_count) == (1, 1, 1)
    assert create.calls.last.request.headers["Authorization"] == f"Bearer {fresh}"
    assert adapter.account.credentials["session_string"].split(":::")[2] == fresh


def test_a_refresh_that_times_out_is_retried_and_never_taken_for_a_sent_post(pds):
    expired = session_string(access=jwt(exp=1_700_000_000))
    pds.post("/com.atproto.server.refreshSession").mock(side_effect=httpx.ReadTimeout("timed out"))
    create = create_route(pds, "k")

    with pytest.raises(PublishError) as caught:
        make_adapter(creds=credentials(session_string=expired)).publish(PostContent(text="Hello"), idempotency_key="k")

    assert caught.value.permanent is False
    assert create.call_count == 0


def test_a_refused_token_is_refreshed_once_and_the_same_record_retried(pds, bluesky_channel):
    fresh = jwt(exp=FAR_FUTURE, name="refreshed-access")
    refresh = pds.post("/com.atproto.server.refreshSession").respond(
        json=session_answer("refresh_session.json", access=fresh, refresh=REFRESH)
    )
    create = pds.post("/com.atproto.repo.createRecord").mock(
        side_effect=[
            httpx.Response(400, json=fixture("error_expired_token.json")),
            httpx.Response(200, json=fixture("create_record.json", rkey=record_key_for("k"))),
        ]
    )

    result = adapter_for_channel(bluesky_channel).publish(PostContent(text="Hello"), idempotency_key="k")

    assert refresh.call_count == 1
    first, second = create.calls
    assert body(first) == body(second)
    assert second.request.headers["Authorization"] == f"Bearer {fresh}"
    assert result.remote_id.endswith(record_key_for("k"))


def test_when_refresh_and_sign_in_both_fail_the_channel_must_be_reconnected(pds):
    pds.post("/com.atproto.repo.createRecord").respond(400, json=fixture("error_expired_token.json"))
    pds.post("/com.atproto.server.refreshSession").respond(400, json=fixture("error_expired_token.json"))
    login = pds.post("/com.atproto.server.createSession").respond(
        401, json=fixture("error_authentication_required.json")
    )

    with pytest.raises(AuthExpired, match="reconnect"):
        make_adapter().publish(PostContent(text="Hello"), idempotency_key="k")
    assert login.call_count == 1


def test_a_token_refused_again_right_after_refreshing_means_reconnect(pds):
    pds.post("/com.atproto.repo.createRecord").respond(401, json={"error": "InvalidToken", "message": "Bad token"})
    pds.post("/com.atproto.server.refreshSession").respond(
        json=session_answer("refresh_session.json", access=ACCESS, refresh=REFRESH)
    )

    with pytest.raises(AuthExpired):
        make_adapter().publish(PostContent(text="Hello"), idempotency_key="k")


# --- Publishing: every documented error ------------------------------------------------------------------


def test_an_invalid_record_is_a_permanent_rejection_with_blueskys_message(pds):
    create_route(pds, "k", status=400, json=fixture("error_invalid_request.json"))

    with pytest.raises(PublishError) as caught:
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")

    assert caught.value.permanent is True
    assert caught.value.code == "InvalidRequest"
    assert caught.value.message == (
        "Bluesky rejected the post: Invalid app.bsky.feed.post record: "
        "Record/text must not be longer than 300 graphemes"
    )


def test_429_waits_until_the_reset_time_bluesky_gives(pds):
    reset = int(timezone.now().timestamp()) + 240
    pds.post("/com.atproto.repo.createRecord").respond(
        429,
        json=fixture("error_rate_limited.json"),
        headers={"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
    )

    with pytest.raises(RateLimited) as caught:
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")

    assert 230 <= caught.value.retry_after <= 241


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("[Errno 111] Connection refused"), httpx.ConnectTimeout("timed out")],
    ids=["refused", "connect-timeout"],
)
def test_a_connection_that_never_opened_is_retried(pds, failure):
    pds.post("/com.atproto.repo.createRecord").mock(side_effect=failure)

    with pytest.raises(PublishError) as caught:
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")

    assert caught.value.permanent is False
    assert caught.value.message == "Could not connect to Bluesky; nothing was sent."


@pytest.mark.parametrize(
    "answer",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.Response(500, json={"error": "InternalServerError", "message": "Internal Server Error"}),
        httpx.Response(502, text="Bad Gateway"),
    ],
    ids=["read-timeout", "dropped", "500", "502"],
)
def test_a_failure_after_sending_the_record_is_an_unknown_outcome(pds, answer):
    route = pds.post("/com.atproto.repo.createRecord")
    route.mock(side_effect=answer) if isinstance(answer, Exception) else route.mock(return_value=answer)

    with pytest.raises(OutcomeUnknown):
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")


def test_a_timeout_while_uploading_an_image_is_retried_because_no_post_exists(pds, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    image = store_media("splash.png", PNG_1X1)
    pds.post("/com.atproto.repo.uploadBlob").mock(side_effect=httpx.ReadTimeout("timed out"))
    create = create_route(pds, "k")

    with pytest.raises(PublishError) as caught:
        make_adapter().publish(
            PostContent(text="hi", media=(MediaItem(url="", path=image, mime_type="image/png", alt_text="Pad"),)),
            idempotency_key="k",
        )

    assert caught.value.permanent is False
    assert create.call_count == 0


def test_an_image_refused_as_too_large_is_permanent(pds, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    image = store_media("splash.png", PNG_1X1)
    pds.post("/com.atproto.repo.uploadBlob").respond(413, json={"error": "PayloadTooLarge", "message": "too big"})

    with pytest.raises(PublishError) as caught:
        make_adapter().publish(
            PostContent(text="hi", media=(MediaItem(url="", path=image, mime_type="image/png", alt_text="Pad"),)),
            idempotency_key="k",
        )

    assert caught.value.permanent is True


def test_a_record_already_at_our_key_is_reported_as_published(pds):
    rkey = record_key_for("k")
    create_route(pds, "k", status=400, json=fixture("error_record_already_exists.json", rkey=rkey))
    lookup = pds.get("/com.atproto.repo.getRecord").respond(json=fixture("get_record.json", rkey=rkey))

    result = make_adapter().publish(PostContent(text=DEFAULT_TEXT), idempotency_key="k")

    assert dict(lookup.calls.last.request.url.params) == {"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey}
    assert result.remote_id == f"at://{DID}/app.bsky.feed.post/{rkey}"
    assert result.permalink == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"


@pytest.mark.parametrize("pds_url", ["https://10.1.2.3", "http://172.20.0.2:2583", "gopher://pds.example"])
def test_an_unsafe_pds_address_is_refused_before_any_request(pds, pds_url):
    with pytest.raises(PublishError) as caught:
        make_adapter(pds_url=pds_url).publish(PostContent(text="hello"), idempotency_key="k")

    assert caught.value.permanent is True
    assert len(pds.calls) == 0


# --- Reconciliation ------------------------------------------------------------------------------------


def test_reconcile_finds_the_record_at_our_key(pds):
    rkey = record_key_for("k")
    pds.get("/com.atproto.repo.getRecord", params={"rkey": rkey}).respond(json=fixture("get_record.json", rkey=rkey))

    found = make_adapter().reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=timezone.now())

    assert found is not None
    assert found.remote_id == f"at://{DID}/app.bsky.feed.post/{rkey}"


def test_reconcile_says_resend_when_the_record_is_not_there(pds):
    pds.get("/com.atproto.repo.getRecord").respond(400, json=fixture("error_record_not_found.json", rkey="x"))

    assert make_adapter().reconcile(PostContent(text="x"), idempotency_key="k", sent_at=timezone.now()) is None


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(500, json=fixture("error_internal.json")), httpx.ReadTimeout("timed out")],
    ids=["500", "timeout"],
)
def test_reconcile_looks_again_later_when_the_lookup_hits_a_passing_failure(pds, answer):
    route = pds.get("/com.atproto.repo.getRecord")
    route.mock(side_effect=answer) if isinstance(answer, Exception) else route.mock(return_value=answer)

    with pytest.raises(CheckAgainLater) as caught:
        make_adapter().reconcile(PostContent(text="x"), idempotency_key="k", sent_at=timezone.now())

    assert caught.value.retry_after == 60.0


def test_reconcile_asks_a_person_when_it_cannot_sign_in_to_look(pds):
    pds.get("/com.atproto.repo.getRecord").respond(400, json=fixture("error_expired_token.json"))
    pds.post("/com.atproto.server.refreshSession").respond(400, json=fixture("error_expired_token.json"))
    pds.post("/com.atproto.server.createSession").respond(401, json=fixture("error_authentication_required.json"))

    with pytest.raises(OutcomeUnknown) as caught:
        make_adapter().reconcile(PostContent(text="x"), idempotency_key="k", sent_at=timezone.now())

    assert not isinstance(caught.value, CheckAgainLater)


# --- Through the publishing service: the delivery's state --------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected_status"),
    [
        (httpx.Response(400, json=fixture("error_invalid_request.json")), DeliveryStatus.FAILED),
        (httpx.Response(429, json=fixture("error_rate_limited.json")), DeliveryStatus.RETRY_WAIT),
        (httpx.ConnectError("[Errno 111] Connection refused"), DeliveryStatus.RETRY_WAIT),
        (httpx.ReadTimeout("timed out"), DeliveryStatus.UNKNOWN),
        (httpx.Response(500, json=fixture("error_internal.json")), DeliveryStatus.UNKNOWN),
        (None, DeliveryStatus.PUBLISHED),
    ],
    ids=["invalid", "429", "refused", "read-timeout", "500", "200"],
)
def test_each_answer_leads_to_the_right_delivery_state(pds, personas, bluesky_channel, answer, expected_status):
    delivery = claimed_delivery(personas, bluesky_channel)
    key = str(delivery.idempotency_key)
    route = pds.post("/com.atproto.repo.createRecord")
    if answer is None:
        route.respond(json=fixture("create_record.json", rkey=record_key_for(key)))
    elif isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == expected_status

    delivery.refresh_from_db()
    assert body(route.calls.last)["rkey"] == record_key_for(key)
    if expected_status == DeliveryStatus.FAILED:
        assert "must not be longer than 300 graphemes" in delivery.failure_message
    if expected_status == DeliveryStatus.PUBLISHED:
        assert delivery.remote_id == f"at://{DID}/app.bsky.feed.post/{record_key_for(key)}"
        assert delivery.permalink == f"https://bsky.app/profile/{HANDLE}/post/{record_key_for(key)}"


def test_a_revoked_app_password_holds_the_delivery_and_marks_the_channel(pds, personas, bluesky_channel):
    delivery = claimed_delivery(personas, bluesky_channel)
    pds.post("/com.atproto.repo.createRecord").respond(400, json=fixture("error_expired_token.json"))
    pds.post("/com.atproto.server.refreshSession").respond(400, json=fixture("error_expired_token.json"))
    pds.post("/com.atproto.server.createSession").respond(401, json=fixture("error_authentication_required.json"))

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED

    bluesky_channel.refresh_from_db()
    delivery.refresh_from_db()
    assert bluesky_channel.status == ChannelStatus.NEEDS_RECONNECT
    assert "app password" in bluesky_channel.status_message
    assert "reconnected" in delivery.failure_message


def test_an_unknown_outcome_found_by_get_record_becomes_published(pds, personas, bluesky_channel):
    delivery = claimed_delivery(personas, bluesky_channel)
    rkey = record_key_for(str(delivery.idempotency_key))
    create = pds.post("/com.atproto.repo.createRecord").mock(side_effect=httpx.ReadTimeout("timed out"))
    pds.get("/com.atproto.repo.getRecord", params={"rkey": rkey}).respond(json=fixture("get_record.json", rkey=rkey))
    publishing.delivery_publish(delivery_id=delivery.pk)

    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.permalink == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    assert create.call_count == 1


def test_an_unknown_outcome_not_found_is_resent_with_the_same_record_key(pds, personas, bluesky_channel):
    delivery = claimed_delivery(personas, bluesky_channel)
    rkey = record_key_for(str(delivery.idempotency_key))
    create = pds.post("/com.atproto.repo.createRecord").mock(
        side_effect=[
            httpx.ReadTimeout("timed out"),
            httpx.Response(200, json=fixture("create_record.json", rkey=rkey)),
        ]
    )
    pds.get("/com.atproto.repo.getRecord").respond(400, json=fixture("error_record_not_found.json", rkey=rkey))
    publishing.delivery_publish(delivery_id=delivery.pk)

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    first, second = create.calls
    assert body(first)["rkey"] == body(second)["rkey"] == rkey
    assert body(first)["record"]["text"] == body(second)["record"]["text"] == DEFAULT_TEXT


# --- End to end: dispatcher -> Celery task (eager) -> fake PDS ------------------------------------------


def test_an_approved_due_post_is_published_once_through_the_dispatcher(pds, personas, bluesky_channel):
    post = approved_post(
        author=personas.alice, approver=personas.bob, channels=[bluesky_channel], link="https://city.example/parks"
    )
    make_due(post)
    delivery = Delivery.objects.get(post=post)
    rkey = record_key_for(str(delivery.idempotency_key))
    create = pds.post("/com.atproto.repo.createRecord").respond(json=fixture("create_record.json", rkey=rkey))

    publishing.dispatch_tick(enqueue=enqueue_publish)
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert create.call_count == 1
    record = body(create.calls.last)["record"]
    assert record["text"] == f"{DEFAULT_TEXT}\n\nhttps://city.example/parks"
    assert record["facets"][0]["features"] == [
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://city.example/parks"}
    ]
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.permalink == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED


# --- Delete, metrics, connection ---------------------------------------------------------------------------


def test_delete_removes_the_record(pds):
    delete = pds.post("/com.atproto.repo.deleteRecord").respond(json={"commit": {"cid": CID, "rev": "3lcjwlbzzzs2k"}})

    make_adapter().delete(f"at://{DID}/app.bsky.feed.post/3jzfcijpj2z2a")

    assert body(delete.calls.last) == {"repo": DID, "collection": "app.bsky.feed.post", "rkey": "3jzfcijpj2z2a"}


def test_metrics_are_likes_reposts_replies_and_quotes(pds):
    uri = f"at://{DID}/app.bsky.feed.post/3jzfcijpj2z2a"
    posts = pds.get("/app.bsky.feed.getPosts").respond(json=fixture("get_posts.json"))

    assert make_adapter().fetch_metrics(uri) == {"likes": 57, "shares": 9, "replies": 4, "quotes": 2}
    assert posts.calls.last.request.url.params.get_list("uris") == [uri]


def test_check_connection_reads_the_profile(pds):
    profile = pds.get("/app.bsky.actor.getProfile").respond(json=fixture("get_profile.json"))

    check = make_adapter().check_connection()

    assert (check.ok, check.message, check.expires_at) == (True, f"Connected as @{HANDLE}.", None)
    assert profile.calls.last.request.url.params["actor"] == DID


def test_check_connection_reports_a_revoked_app_password(pds):
    pds.get("/app.bsky.actor.getProfile").respond(400, json=fixture("error_expired_token.json"))
    pds.post("/com.atproto.server.refreshSession").respond(400, json=fixture("error_expired_token.json"))
    pds.post("/com.atproto.server.createSession").respond(401, json=fixture("error_authentication_required.json"))

    check = make_adapter().check_connection()

    assert check.ok is False
    assert "reconnect" in check.message


# --- Connecting an account --------------------------------------------------------------------------------


def test_connect_with_app_password_signs_in_once_and_returns_the_credentials(pds):
    login = pds.post("/com.atproto.server.createSession").respond(
        json=session_answer("create_session.json", access=ACCESS, refresh=REFRESH)
    )

    creds = connect_with_app_password(f"@{HANDLE}", APP_PASSWORD, PDS)

    assert json.loads(login.calls.last.request.content) == {"identifier": HANDLE, "password": APP_PASSWORD}
    assert creds["handle"] == HANDLE and creds["did"] == DID and creds["app_password"] == APP_PASSWORD
    restored = Session.decode(creds["session_string"])
    assert (restored.access_jwt, restored.refresh_jwt) == (ACCESS, REFRESH)


def test_connect_refuses_what_looks_like_a_main_password_without_sending_it(pds):
    with pytest.raises(ConnectFailed, match="app password"):
        connect_with_app_password(HANDLE, "correct horse battery staple", PDS)
    assert len(pds.calls) == 0


def test_connect_explains_a_wrong_app_password(pds):
    pds.post("/com.atproto.server.createSession").respond(401, json=fixture("error_authentication_required.json"))

    with pytest.raises(ConnectFailed, match="did not accept"):
        connect_with_app_password(HANDLE, APP_PASSWORD, PDS)


def test_connect_refuses_an_internal_pds_address(pds):
    with pytest.raises(UnsafeURL):
        connect_with_app_password(HANDLE, APP_PASSWORD, "https://192.168.0.20")
    assert len(pds.calls) == 0
