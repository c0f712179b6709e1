"""Reconcile reads the whole window around a send, page by page, through the real X and Facebook Page adapters
against the fake platform server.

The chaos run's duplicate: a post whose answer was dropped, then 20-25 newer posts on the account; reconcile
read only the first page of recent posts (X 20, Facebook 25), did not find it, said "absent" after the settle
time, and the delivery was sent again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from scheduler.adapters.base import ChannelAccount, CheckAgainLater, OutcomeUnknown, PlatformAdapter, PostContent
from scheduler.adapters.facebook import adapter as facebook
from scheduler.adapters.facebook.adapter import FacebookPageAdapter
from scheduler.adapters.http import TimeoutSession
from scheduler.adapters.x import adapter as x
from scheduler.adapters.x.adapter import XAdapter
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.server import _iso_z

pytestmark = pytest.mark.django_db

ORIGINAL = "Water main repair on Elm Street: expect low pressure until 6 p.m."
NEWER = 30
# Far enough back that the settle time has passed and X's end_time (send + 10 min) is in the past.
AGE = dt.timedelta(minutes=15)


@pytest.fixture
def fake():
    with FakePlatform(seed=11) as server:
        yield server


@pytest.fixture
def adapter_settings(fake: FakePlatform, settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_PLATFORM_URLS = {"x": fake.url, "facebook": fake.url}
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_X_CONSUMER_KEY = "ck"
    settings.CIVICPOST_X_CONSUMER_SECRET = "cs"
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    return settings


@pytest.fixture
def requests_made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, url, params) our adapters send (X's session and the Graph client's both end here)."""
    made: list[tuple[str, str, dict[str, Any]]] = []
    original = TimeoutSession.request

    def recording(self, method: str, url: str, **kwargs: Any):  # noqa: ANN001, ANN202
        made.append((method, url, dict(kwargs.get("params") or {})))
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(TimeoutSession, "request", recording)
    return made


def x_adapter() -> XAdapter:
    credentials = {"access_token": "77-tok", "access_token_secret": "s", "x_user_id": "77", "username": "parks"}
    return XAdapter(ChannelAccount(channel_id=0, display_name="Parks", credentials=credentials))


def facebook_adapter() -> FacebookPageAdapter:
    return FacebookPageAdapter(
        ChannelAccount(
            channel_id=0, display_name="Parks", credentials={"page_access_token": "pt"}, options={"page_id": "555"}
        )
    )


PLATFORMS: dict[str, tuple[Callable[[], PlatformAdapter], str, str]] = {
    # platform: (adapter, module constant for the page size, path of the listing read)
    "x": (x_adapter, "RECONCILE_PAGE_SIZE", "/2/users/77/tweets"),
    "facebook": (facebook_adapter, "RECONCILE_PAGE_LIMIT", "/v27.0/555/feed"),
}
MODULES = {"x": x, "facebook": facebook}


def age_ledger(fake: FakePlatform, platform: str, by: dt.timedelta) -> None:
    """Moves every post's creation time back, as if the send and the newer posts happened `by` ago."""
    for entry in fake.ledger.find(platform=platform):
        entry.received_at -= by.total_seconds()
        entry.received_iso = _iso_z(dt.datetime.fromtimestamp(entry.received_at, dt.UTC))


def send_with_dropped_answer_then_newer_posts(fake: FakePlatform, adapter: PlatformAdapter, platform: str) -> str:
    """Publishes ORIGINAL (stored, answer dropped), then NEWER other posts; returns the original's remote id."""
    fake.configure(script=["drop"])
    with pytest.raises(OutcomeUnknown):
        adapter.publish(PostContent(text=ORIGINAL), idempotency_key="original")
    for number in range(NEWER):
        adapter.publish(PostContent(text=f"Update {number}: pools open late today."), idempotency_key=f"n{number}")
    entries = fake.ledger.find(platform=platform)
    assert len(entries) == NEWER + 1
    [original] = [entry for entry in entries if entry.text == ORIGINAL]
    return original.remote_id


def listing_reads(made: list[tuple[str, str, dict[str, Any]]], path: str) -> list[tuple[str, dict[str, Any]]]:
    return [(url, params) for method, url, params in made if method == "GET" and path in url]


@pytest.mark.parametrize("platform", ["x", "facebook"])
@pytest.mark.parametrize("page_size", [None, 10], ids=["default-page-size", "page-size-10"])
def test_reconcile_finds_a_dropped_answer_post_behind_thirty_newer_posts(
    fake, adapter_settings, requests_made, monkeypatch, platform, page_size
) -> None:  # noqa: ANN001
    make_adapter, size_name, path = PLATFORMS[platform]
    if page_size:
        monkeypatch.setattr(MODULES[platform], size_name, page_size)
    adapter = make_adapter()
    sent_at = timezone.now()
    remote_id = send_with_dropped_answer_then_newer_posts(fake, adapter, platform)
    age_ledger(fake, platform, AGE)
    requests_made.clear()

    found = adapter.reconcile(PostContent(text=ORIGINAL), idempotency_key="original", sent_at=sent_at - AGE)

    assert found is not None, "the post is on the account: None here means a duplicate resend"
    assert found.remote_id == remote_id
    reads = listing_reads(requests_made, path)
    _url, first = reads[0]
    if platform == "x":
        assert {"start_time", "end_time"} <= set(first)
        assert first["max_results"] == (page_size or 100)
    else:
        assert {"since", "until"} <= set(first)
        assert first["limit"] == (page_size or 100)
    if page_size:
        # 31 posts in the window, 10 a page: the original is only on the fourth page.
        assert len(reads) == 4
        # X: next_token sent back as pagination_token; Facebook: the paging.next address (its `after` cursor).
        cursor = "pagination_token" if platform == "x" else "after"
        assert all(cursor in params for _url, params in reads[1:])
    else:
        assert len(reads) == 1


@pytest.mark.parametrize("platform", ["x", "facebook"])
def test_reconcile_says_absent_only_after_reading_every_page(fake, adapter_settings, monkeypatch, platform) -> None:  # noqa: ANN001
    make_adapter, size_name, _path = PLATFORMS[platform]
    monkeypatch.setattr(MODULES[platform], size_name, 10)
    adapter = make_adapter()
    sent_at = timezone.now()
    send_with_dropped_answer_then_newer_posts(fake, adapter, platform)
    age_ledger(fake, platform, AGE)

    absent = adapter.reconcile(PostContent(text="A post nobody sent"), idempotency_key="k", sent_at=sent_at - AGE)

    assert absent is None


@pytest.mark.parametrize("platform", ["x", "facebook"])
def test_a_window_busier_than_the_page_cap_goes_to_a_person(fake, adapter_settings, monkeypatch, platform) -> None:  # noqa: ANN001
    from scheduler.adapters import graph

    make_adapter, size_name, _path = PLATFORMS[platform]
    monkeypatch.setattr(MODULES[platform], size_name, 5)
    monkeypatch.setattr(x, "RECONCILE_MAX_PAGES", 2)
    monkeypatch.setattr(graph, "RECONCILE_MAX_PAGES", 2)
    adapter = make_adapter()
    sent_at = timezone.now()
    send_with_dropped_answer_then_newer_posts(fake, adapter, platform)
    age_ledger(fake, platform, AGE)

    with pytest.raises(OutcomeUnknown, match="check the account before posting again") as raised:
        adapter.reconcile(PostContent(text=ORIGINAL), idempotency_key="original", sent_at=sent_at - AGE)
    assert not isinstance(raised.value, CheckAgainLater)
