"""Instagram @mentions by Meta's webhook (inbox.hooks, inbox.mentions, InstagramAdapter.fetch_mention): the
verification GET, the X-Hub-Signature-256 guard, a mention stored once however often Meta delivers it, an unknown
account ignored with 200, and the exact read request (`responses` on graph.facebook.com)."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.test import Client
from django.urls import reverse

from inbox.hooks import MAX_BODY_BYTES
from inbox.models import InboxItem, InboxSettings, ItemKind, MentionNotice
from scheduler.adapters.graph import meta_signature_valid
from scheduler.models import Channel, ChannelStatus
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v27.0"
SECRET = "meta-app-secret"
IG_USER = "17841400008460056"
COMMENT_ID = "17873440459141021"
MEDIA_ID = "17895695668004550"
URL = "/hooks/meta/instagram/"


@pytest.fixture(autouse=True)
def _meta(settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = SECRET
    settings.CIVICPOST_META_WEBHOOK_VERIFY_TOKEN = "civic-verify"


@pytest.fixture
def channel() -> Channel:
    return ChannelFactory(
        platform="instagram",
        status=ChannelStatus.CONNECTED,
        credentials={"access_token": "EAAGPageToken"},
        options={"ig_user_id": IG_USER, "username": "cityparks", "flavour": "facebook_login"},
    )


@pytest.fixture
def graph():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(*, account: str = IG_USER, comment_id: str = COMMENT_ID, media_id: str = MEDIA_ID) -> bytes:
    value = {"media_id": media_id, **({"comment_id": comment_id} if comment_id else {})}
    return json.dumps(
        {
            "object": "instagram",
            "entry": [{"id": account, "time": 1796486400, "changes": [{"field": "mentions", "value": value}]}],
        }
    ).encode()


def post(client: Client, body: bytes, signature: str | None) -> int:
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature is not None else {}
    return client.post(URL, data=body, content_type="application/json", **headers).status_code


def mentioned_comment_body() -> dict:
    return {
        "mentioned_comment": {
            "id": COMMENT_ID,
            "text": "@cityparks the gas leak smell near Elm Street pool is back",
            "timestamp": "2026-12-05T15:58:00+0000",
            "username": "ana.resident",
            "like_count": 0,
            "media": {"id": MEDIA_ID, "permalink": "https://www.instagram.com/p/DEF456/"},
        },
        "id": IG_USER,
    }


def test_the_url_is_the_one_the_readme_names() -> None:
    assert reverse("meta_instagram_webhook") == URL


# --- Verification -------------------------------------------------------------------------------------------


def test_verification_echoes_the_challenge_with_our_token(client: Client) -> None:
    response = client.get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": "civic-verify", "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200 and response.content == b"1158201444"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "civic-verify", "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_verification_is_refused_otherwise(client: Client, query: dict) -> None:
    assert client.get(URL, query).status_code == 403


def test_verification_is_refused_without_a_configured_token(client: Client, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_WEBHOOK_VERIFY_TOKEN = ""
    assert client.get(URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}).status_code == 403


# --- Signature ----------------------------------------------------------------------------------------------


def test_signature_check_itself() -> None:
    body = b'{"object":"instagram"}'
    assert meta_signature_valid(body=body, header=signed(body), app_secret=SECRET)
    assert not meta_signature_valid(body=body + b" ", header=signed(body), app_secret=SECRET)
    assert not meta_signature_valid(body=body, header=signed(body), app_secret="")
    assert not meta_signature_valid(body=body, header=signed(body).removeprefix("sha256="), app_secret=SECRET)


def test_a_missing_or_wrong_signature_is_refused_and_nothing_kept(client: Client, channel: Channel) -> None:
    body = delivery()
    assert post(client, body, None) == 403
    assert post(client, body, signed(body, "another-secret")) == 403
    assert post(client, body, "sha256=" + "0" * 64) == 403
    assert post(client, body + b" ", signed(body)) == 403  # the signature is of the raw body
    assert not MentionNotice.objects.exists()


def test_without_the_app_secret_every_delivery_is_refused(client: Client, channel: Channel, settings) -> None:  # noqa: ANN001
    settings.CIVICPOST_META_APP_SECRET = ""
    body = delivery()
    assert post(client, body, signed(body, "")) == 403


def test_an_oversized_body_is_refused(client: Client) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    assert post(client, body, signed(body)) == 413


# --- Mentions -----------------------------------------------------------------------------------------------


def test_a_comment_mention_is_read_and_stored_once_even_when_meta_delivers_twice(
    client: Client,
    channel: Channel,
    graph,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    InboxSettings.objects.create(department=channel.department, urgency_keywords=["gas leak"])
    graph.get(f"{GRAPH}/{IG_USER}", json=mentioned_comment_body())
    body = delivery()

    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body, signed(body)) == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body, signed(body)) == 200  # Meta's retry of the same notification

    (call,) = graph.calls  # the second delivery finds the mention already read: no second request
    query = parse_qs(urlsplit(call.request.url).query)
    assert urlsplit(call.request.url).path == f"/v27.0/{IG_USER}"
    assert query["fields"] == [
        f"mentioned_comment.comment_id({COMMENT_ID}){{id,text,timestamp,username,like_count,media{{id,permalink}}}}"
    ]
    assert call.request.headers["Authorization"] == "Bearer EAAGPageToken"
    (item,) = InboxItem.objects.all()
    assert item.kind == ItemKind.MENTION and item.remote_id == COMMENT_ID and item.channel == channel
    assert item.author_handle == "@ana.resident" and item.root_remote_id == MEDIA_ID
    assert item.permalink == "https://www.instagram.com/p/DEF456/"
    assert item.urgent and item.matched_keywords == ["gas leak"]  # the inbox's own storing rules apply
    notice = MentionNotice.objects.get()
    assert notice.read_at is not None and notice.item == item and notice.attempts == 1


def test_a_caption_mention_reads_the_mentioned_media(
    client: Client,
    channel: Channel,
    graph,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    graph.get(
        f"{GRAPH}/{IG_USER}",
        json={
            "mentioned_media": {
                "id": MEDIA_ID,
                "caption": "Great morning at the farmers market with @cityparks",
                "permalink": "https://www.instagram.com/p/ABC123/",
                "timestamp": "2026-12-05T15:00:00+0000",
                "username": "market.fan",
                "media_type": "IMAGE",
            },
            "id": IG_USER,
        },
    )
    body = delivery(comment_id="")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body, signed(body)) == 200

    (call,) = graph.calls
    assert parse_qs(urlsplit(call.request.url).query)["fields"] == [
        f"mentioned_media.media_id({MEDIA_ID}){{id,caption,permalink,timestamp,username,media_type}}"
    ]
    item = InboxItem.objects.get()
    assert (
        item.kind == ItemKind.MENTION and item.text.startswith("Great morning") and item.author_handle == "@market.fan"
    )


def test_an_unknown_account_is_answered_200_and_ignored(
    client: Client,
    channel: Channel,
    graph,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    body = delivery(account="17841499999999999")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body, signed(body)) == 200
    assert not MentionNotice.objects.exists() and not InboxItem.objects.exists() and not graph.calls


def test_other_fields_are_ignored(client: Client, channel: Channel) -> None:
    body = json.dumps(
        {"object": "instagram", "entry": [{"id": IG_USER, "changes": [{"field": "comments", "value": {"id": "1"}}]}]}
    ).encode()
    assert post(client, body, signed(body)) == 200
    assert not MentionNotice.objects.exists()


def test_a_mention_the_platform_no_longer_returns_is_kept_as_a_failed_notice(
    client: Client,
    channel: Channel,
    graph,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    graph.get(
        f"{GRAPH}/{IG_USER}",
        json={"error": {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}},
        status=400,
    )
    body = delivery()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body, signed(body)) == 200
    notice = MentionNotice.objects.get()
    assert notice.read_at is None and notice.attempts == 1 and notice.failure_message
    assert not InboxItem.objects.exists()
