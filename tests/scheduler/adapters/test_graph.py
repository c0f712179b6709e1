"""The shared Graph API client: URLs and version, where the token goes, the error table, usage headers,
transport failures, container polling, reconciliation helpers and OAuth helpers."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import time

import pytest
import requests
import urllib3.exceptions

from scheduler.adapters import graph
from scheduler.adapters.base import AuthExpired, Duplicate, OutcomeUnknown, PublishError, RateLimited
from scheduler.adapters.facebook.adapter import facebook_client
from scheduler.adapters.graph import (
    ERROR_RULES,
    GraphClient,
    GraphError,
    OAuthToken,
    Usage,
    appsecret_proof,
    classify,
    find_sent_item,
    normalise_text,
    parse_graph_time,
    wait_for_container,
)
from scheduler.adapters.oauth import new_state, pkce_pair
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.meta_helpers import fixture, form, path, query

# Fixtures shared by the Meta adapter tests.
fake = meta_helpers.fake
no_sleep = meta_helpers.no_sleep

TOKEN = "EAAGPageTokenForParks"
GRAPH = "https://graph.facebook.com"


def client(**kwargs) -> GraphClient:
    return GraphClient(base_url=GRAPH, version="v27.0", access_token=TOKEN, label="Facebook", **kwargs)


# --- URL, version, token placement ------------------------------------------------------------------------


def test_the_graph_version_comes_from_the_setting(settings, fake):
    fake.get(f"{GRAPH}/v27.0/me", json={"id": "1"})
    fake.get(f"{GRAPH}/v26.0/me", json={"id": "1"})

    facebook_client(TOKEN).get("me")
    settings.CIVICPOST_GRAPH_API_VERSION = "v26.0"
    facebook_client(TOKEN).get("me")

    assert [path(call) for call in fake.calls] == ["/v27.0/me", "/v26.0/me"]


def test_the_default_version_is_v27():
    from django.conf import settings

    assert settings.CIVICPOST_GRAPH_API_VERSION == "v27.0"


def test_the_host_comes_from_the_platform_urls_setting(settings, fake):
    settings.CIVICPOST_PLATFORM_URLS = {"facebook": "http://127.0.0.1:8765/"}
    fake.get("http://127.0.0.1:8765/v27.0/me", json={"id": "1"})

    assert facebook_client(TOKEN).get("me") == {"id": "1"}


def test_the_token_travels_only_in_the_authorization_header(fake):
    fake.post(f"{GRAPH}/v27.0/1/feed", json={"id": "1_2"})

    client().post("1/feed", {"message": "Hello"}, publishing=True)

    request = fake.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in request.url
    assert TOKEN not in request.body
    assert "access_token" not in request.url and "access_token" not in request.body
    assert "appsecret_proof" not in request.url


def test_with_an_app_secret_every_call_carries_appsecret_proof(fake):
    fake.get(f"{GRAPH}/v27.0/me", json={"id": "1"})
    fake.post(f"{GRAPH}/v27.0/1/feed", json={"id": "1_2"})

    secured = client(app_secret="meta-app-secret")
    secured.get("me", {"fields": "id,name"})
    secured.post("1/feed", {"message": "Hello"})

    proof = hmac.new(b"meta-app-secret", TOKEN.encode(), hashlib.sha256).hexdigest()
    assert appsecret_proof(TOKEN, "meta-app-secret") == proof
    assert query(fake.calls[0]) == {"fields": "id,name", "appsecret_proof": proof}
    assert query(fake.calls[1]) == {"appsecret_proof": proof}
    assert form(fake.calls[1]) == {"message": "Hello"}


def test_the_facebook_client_uses_the_meta_app_secret_setting(settings, fake):
    settings.CIVICPOST_META_APP_SECRET = "meta-app-secret"
    fake.get(f"{GRAPH}/v27.0/me", json={"id": "1"})

    facebook_client(TOKEN).get("me")

    assert query(fake.calls[0])["appsecret_proof"] == appsecret_proof(TOKEN, "meta-app-secret")


def test_empty_fields_are_left_out_of_the_form(fake):
    fake.post(f"{GRAPH}/v27.0/1/feed", json={"id": "1_2"})

    client().post("1/feed", {"message": "Hello", "link": None})

    assert form(fake.calls[0]) == {"message": "Hello"}


def test_the_token_is_never_logged(fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake.post(f"{GRAPH}/v27.0/1/feed", json=fixture("facebook", "error_190_463_expired"), status=400)

    with pytest.raises(AuthExpired) as raised:
        client().post("1/feed", {"message": "Hello"}, publishing=True)

    assert TOKEN not in caplog.text
    assert TOKEN not in raised.value.message
    assert TOKEN not in repr(raised.value.raw)


# --- The error table ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture_name", "exception", "attributes"),
    [
        ("error_190_463_expired", AuthExpired, {"code": "graph:190/463"}),
        ("error_190_460_password_changed", AuthExpired, {"code": "graph:190/460"}),
        ("error_200_permission", AuthExpired, {"code": "graph:200"}),
        ("error_10_permission", AuthExpired, {"code": "graph:10"}),
        ("error_4_app_limit", RateLimited, {"retry_after": 3600.0}),
        ("error_17_user_limit", RateLimited, {"retry_after": 900.0}),
        ("error_32_page_limit", RateLimited, {"retry_after": 900.0}),
        ("error_613_hourly", RateLimited, {"retry_after": 3600.0}),
        ("error_80001_buc", RateLimited, {"retry_after": 900.0}),
        ("error_506_duplicate", Duplicate, {"existing": None}),
        ("error_368_blocked", PublishError, {"permanent": True}),
        ("error_100_invalid_link", PublishError, {"permanent": True}),
        ("error_1609005_link", PublishError, {"permanent": True}),
        ("error_1_unknown", OutcomeUnknown, {}),
        ("error_2_service", OutcomeUnknown, {}),
    ],
)
def test_each_documented_facebook_error_maps_to_the_shared_vocabulary(fake, fixture_name, exception, attributes):
    fake.post(f"{GRAPH}/v27.0/1/feed", json=fixture("facebook", fixture_name), status=400)

    with pytest.raises(exception) as raised:
        client().post("1/feed", {"message": "Hello"}, publishing=True)

    assert type(raised.value) is exception
    for name, value in attributes.items():
        assert getattr(raised.value, name) == value
    assert raised.value.raw["doc"].startswith("https://developers.facebook.com/docs/")


@pytest.mark.parametrize(
    ("fixture_name", "exception", "permanent"),
    [
        ("error_2207042_publish_limit", RateLimited, None),
        ("error_2207051_spam", PublishError, True),
        ("error_2207004_too_large", PublishError, True),
        ("error_2207001_server", PublishError, False),
        ("error_2207003_download_timeout", PublishError, False),
    ],
)
def test_instagram_subcodes_win_over_the_code_they_share(fixture_name, exception, permanent):
    error = GraphError.from_body(fixture("instagram", fixture_name), http_status=400)

    result = classify(error, usage=Usage(), publishing=False, label="Instagram")

    assert type(result) is exception
    if permanent is not None:
        assert result.permanent is permanent


def test_the_spam_block_is_not_mistaken_for_the_app_rate_limit_of_code_4():
    error = GraphError.from_body(fixture("instagram", "error_2207051_spam"), http_status=400)

    assert error.code == 4
    assert isinstance(classify(error, usage=Usage(), publishing=True, label="Instagram"), PublishError)


def test_a_transient_error_on_a_call_that_does_not_publish_is_a_plain_retry():
    error = GraphError.from_body(fixture("facebook", "error_2_service"), http_status=500)

    result = classify(error, usage=Usage(), publishing=False, label="Facebook")

    assert isinstance(result, PublishError) and result.permanent is False


def test_is_transient_turns_an_unknown_rejection_into_a_retry():
    body = {"error": {"message": "Something odd", "code": 12345, "is_transient": True}}

    result = classify(GraphError.from_body(body, http_status=400), usage=Usage(), publishing=False, label="Facebook")

    assert isinstance(result, PublishError) and result.permanent is False


def test_unknown_codes_fall_back_on_the_http_status():
    def kind(status: int, publishing: bool = False):
        error = GraphError.from_body({"error": {"message": "?", "code": 99999}}, http_status=status)
        return classify(error, usage=Usage(), publishing=publishing, label="Facebook")

    assert isinstance(kind(400), PublishError) and kind(400).permanent
    assert isinstance(kind(429), RateLimited)
    assert isinstance(kind(503), PublishError) and not kind(503).permanent
    assert isinstance(kind(503, publishing=True), OutcomeUnknown)


def test_the_message_shown_is_metas_message_for_people():
    error = GraphError.from_body(fixture("facebook", "error_506_duplicate"), http_status=400)

    result = classify(error, usage=Usage(), publishing=True, label="Facebook")

    assert "identical to the last one you posted" in result.message
    assert result.raw["error"]["fbtrace_id"] == "AbCdEfGhIjKlMnOp"


def test_every_rule_names_its_documentation():
    assert all(rule.doc.startswith("https://developers.facebook.com/docs/") for rule in ERROR_RULES)


# --- Usage headers and rate limits ------------------------------------------------------------------------


BUC_HEADER = (
    '{"104412345678901":[{"type":"pages","call_count":100,"total_cputime":25,'
    '"total_time":30,"estimated_time_to_regain_access":19}]}'
)


def test_the_wait_comes_from_the_business_use_case_header(fake):
    fake.post(
        f"{GRAPH}/v27.0/1/feed",
        json=fixture("facebook", "error_80001_buc"),
        status=400,
        headers={"X-Business-Use-Case-Usage": BUC_HEADER},
    )

    with pytest.raises(RateLimited) as raised:
        client().post("1/feed", {"message": "Hello"}, publishing=True)

    assert raised.value.retry_after == 19 * 60
    assert raised.value.raw["usage"]["business"]["104412345678901"][0]["call_count"] == 100


def test_usage_headers_are_read_from_every_response(fake):
    fake.get(
        f"{GRAPH}/v27.0/me",
        json={"id": "1"},
        headers={"x-app-usage": '{"call_count":85,"total_time":10,"total_cputime":5}'},
    )
    c = client()

    c.get("me")

    assert c.last_usage.app == {"call_count": 85, "total_time": 10, "total_cputime": 5}
    assert c.last_usage.highest_percent() == 85
    assert c.last_usage.regain_access_seconds() == 0


def test_garbled_usage_headers_are_ignored():
    usage = Usage.from_headers({"x-app-usage": "not json", "x-business-use-case-usage": "[1, 2]"})

    assert usage == Usage()


def test_a_rate_limit_never_sleeps(fake, monkeypatch):
    def forbidden(seconds: float) -> None:
        raise AssertionError("the client slept")

    monkeypatch.setattr(time, "sleep", forbidden)
    monkeypatch.setattr(graph, "_sleep", forbidden)
    fake.post(f"{GRAPH}/v27.0/1/feed", json=fixture("facebook", "error_4_app_limit"), status=400)

    with pytest.raises(RateLimited):
        client().post("1/feed", {"message": "Hello"}, publishing=True)


# --- Transport failures ---------------------------------------------------------------------------------


def _refused() -> requests.exceptions.ConnectionError:
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/v27.0/1/feed", reason))


@pytest.mark.parametrize("publishing", [True, False])
@pytest.mark.parametrize("failure", [requests.exceptions.ConnectTimeout(), _refused()], ids=["timeout", "refused"])
def test_a_connection_never_made_is_safe_to_retry(fake, failure, publishing):
    fake.post(f"{GRAPH}/v27.0/1/feed", body=failure)

    with pytest.raises(PublishError) as raised:
        client().post("1/feed", {"message": "Hello"}, publishing=publishing)

    assert raised.value.permanent is False
    assert raised.value.code == "connection"


def test_a_malformed_base_url_sends_nothing(settings):
    settings.CIVICPOST_PLATFORM_URLS = {"facebook": "graph.facebook.com"}

    with pytest.raises(PublishError) as raised:
        facebook_client(TOKEN).post("1/feed", {"message": "Hello"}, publishing=True)

    assert raised.value.permanent is False


@pytest.mark.parametrize(
    "failure",
    [requests.exceptions.ReadTimeout(), requests.exceptions.ConnectionError("Connection aborted.")],
    ids=["read-timeout", "reset"],
)
def test_a_broken_connection_while_publishing_is_an_unknown_outcome(fake, failure):
    fake.post(f"{GRAPH}/v27.0/1/feed", body=failure)

    with pytest.raises(OutcomeUnknown):
        client().post("1/feed", {"message": "Hello"}, publishing=True)


def test_a_broken_connection_on_a_read_is_a_retry(fake):
    fake.get(f"{GRAPH}/v27.0/me", body=requests.exceptions.ReadTimeout())

    with pytest.raises(PublishError) as raised:
        client().get("me")

    assert raised.value.permanent is False


def test_a_server_error_without_a_graph_body_while_publishing_is_an_unknown_outcome(fake):
    fake.post(f"{GRAPH}/v27.0/1/feed", body="<html>502 Bad Gateway</html>", status=502)

    with pytest.raises(OutcomeUnknown):
        client().post("1/feed", {"message": "Hello"}, publishing=True)


def test_an_unreadable_success_while_publishing_is_an_unknown_outcome(fake):
    fake.post(f"{GRAPH}/v27.0/1/feed", body="OK", status=200)

    with pytest.raises(OutcomeUnknown):
        client().post("1/feed", {"message": "Hello"}, publishing=True)


def test_requests_use_the_civicpost_session_with_a_timeout(fake):
    fake.get(f"{GRAPH}/v27.0/me", json={"id": "1"})

    client().get("me")

    assert fake.calls[0].request.headers["User-Agent"].startswith("CivicPost/")
    assert fake.calls[0].request.req_kwargs["timeout"] is not None


# --- Container polling --------------------------------------------------------------------------------------


def test_container_polling_is_bounded(fake, no_sleep):
    fake.get(f"{GRAPH}/v27.0/17889455560051444", json=fixture("instagram", "container_in_progress"))

    body = wait_for_container(client(), "17889455560051444", fields="status_code", status_field="status_code")

    assert body["status_code"] == "IN_PROGRESS"
    assert no_sleep == list(graph.CONTAINER_POLL_INTERVALS)
    assert sum(no_sleep) <= 15
    assert len(fake.calls) == len(graph.CONTAINER_POLL_INTERVALS) + 1


def test_a_finished_container_is_not_polled_again(fake, no_sleep):
    fake.get(f"{GRAPH}/v27.0/17889455560051444", json=fixture("instagram", "container_finished"))

    wait_for_container(client(), "17889455560051444", fields="status_code", status_field="status_code")

    assert no_sleep == []
    assert len(fake.calls) == 1


# --- Reconciliation helpers --------------------------------------------------------------------------------


def test_meta_times_are_parsed_with_their_offset():
    assert parse_graph_time("2026-11-29T10:00:03+0000") == dt.datetime(2026, 11, 29, 10, 0, 3, tzinfo=dt.UTC)
    assert parse_graph_time("2026-11-29T11:00:03+01:00") == dt.datetime(2026, 11, 29, 10, 0, 3, tzinfo=dt.UTC)
    assert parse_graph_time("yesterday") is None


def test_texts_are_compared_after_normalising_whitespace_and_unicode():
    assert normalise_text("Caf\u0065\u0301  open\n\ntoday ") == normalise_text("Café open today")


def test_the_oldest_post_after_sending_with_our_text_is_the_match():
    items = fixture("facebook", "feed_recent")["data"]
    sent_at = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.UTC)

    found = find_sent_item(
        items,
        text_field="message",
        time_field="created_time",
        expected_text="Splash pads open Saturday at 10 a.m. at every city park.",
        sent_at=sent_at,
    )

    # The same text posted nine days earlier is not ours.
    assert found["id"] == "104412345678901_122100000000000001"


def test_a_post_without_text_cannot_be_recognised():
    with pytest.raises(OutcomeUnknown):
        find_sent_item(
            [{"id": "1", "created_time": "2026-11-29T10:00:03+0000"}],
            text_field="message",
            time_field="created_time",
            expected_text="  ",
            sent_at=dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC),
        )


# --- OAuth helpers -----------------------------------------------------------------------------------------


def test_pkce_uses_s256_over_a_long_random_verifier():
    verifier, challenge = pkce_pair()

    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pkce_pair()[0] != verifier


def test_state_values_are_unguessable_and_unique():
    assert new_state() != new_state()
    assert len(new_state()) >= 40


def test_token_answers_become_an_expiry_time():
    now = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)

    token = OAuthToken.from_body({"access_token": "t", "token_type": "bearer", "expires_in": 5183944}, now=now)

    assert token.expires_at == now + dt.timedelta(seconds=5183944)
    assert token.expires_at_iso() == (now + dt.timedelta(seconds=5183944)).isoformat()
    assert token.expires_at_iso().startswith("2027-01-27T")


def test_an_answer_without_a_token_is_refused():
    with pytest.raises(PublishError):
        OAuthToken.from_body({"token_type": "bearer"})
