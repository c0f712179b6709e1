"""Kept-alive connections for the fixed platform APIs (scheduler/adapters/http.py): per channel and thread,
bounded, dropped when idle, never shared with the SSRF-guarded sessions; and one TCP connection for many
requests to the fake platform."""

from __future__ import annotations

import threading

import pytest

from scheduler.adapters import http
from scheduler.adapters.base import ChannelAccount
from scheduler.adapters.facebook.adapter import FacebookPageAdapter
from scheduler.adapters.ssrf import guarded_session
from scheduler.adapters.x.adapter import XAdapter, XSession


@pytest.fixture(autouse=True)
def _fresh_thread_state():
    http._kept.__dict__.clear()
    yield
    http._kept.__dict__.clear()


def adapter_of(session: http.TimeoutSession):
    return session.get_adapter("https://api.example.org/")


def test_one_channel_reuses_its_connections_in_a_thread_but_each_caller_gets_a_fresh_session():
    first = http.kept_alive_session(("x", 1))
    first.cookies.set("seen", "1")
    second = http.kept_alive_session(("x", 1))
    assert second is not first
    assert adapter_of(second) is adapter_of(first)
    assert adapter_of(second) is second.get_adapter("http://127.0.0.1:8765/")
    assert not second.cookies  # headers, cookies and auth stay per session


def test_channels_and_threads_never_share_a_connection():
    mine = adapter_of(http.kept_alive_session(("x", 1)))
    assert adapter_of(http.kept_alive_session(("x", 2))) is not mine
    assert adapter_of(http.kept_alive_session(("facebook", 1))) is not mine
    found = []
    thread = threading.Thread(target=lambda: found.append(adapter_of(http.kept_alive_session(("x", 1)))))
    thread.start()
    thread.join()
    assert found[0] is not mine


def test_bounded_per_thread_and_dropped_when_idle(monkeypatch):
    monkeypatch.setattr(http, "KEPT_ADAPTERS_PER_THREAD", 2)
    oldest = adapter_of(http.kept_alive_session(1))
    closed = []
    monkeypatch.setattr(oldest, "close", lambda: closed.append(oldest))
    http.kept_alive_session(2)
    http.kept_alive_session(3)
    assert closed == [oldest]
    assert adapter_of(http.kept_alive_session(1)) is not oldest

    clock = [1000.0]
    monkeypatch.setattr(http.time, "monotonic", lambda: clock[0])
    kept = adapter_of(http.kept_alive_session(4))
    clock[0] += http.KEPT_ADAPTER_IDLE_SECONDS - 1
    assert adapter_of(http.kept_alive_session(4)) is kept
    clock[0] += http.KEPT_ADAPTER_IDLE_SECONDS + 1
    assert adapter_of(http.kept_alive_session(4)) is not kept


def test_the_guarded_session_keeps_its_own_adapters():
    http.kept_alive_session(("x", 1))
    kept = {id(adapter) for adapter, _used in http._kept.adapters.values()}
    guarded = guarded_session()
    assert all(id(adapter) not in kept for adapter in guarded.adapters.values())


def test_x_and_facebook_adapters_use_their_channels_kept_connections():
    account = ChannelAccount(channel_id=7, display_name="City", credentials={"access_token": "t"})
    x = XAdapter(account)
    assert isinstance(x.session, XSession)
    assert adapter_of(x.session) is adapter_of(XAdapter(account).session)
    facebook = FacebookPageAdapter(account)._client()
    assert adapter_of(facebook.session) is adapter_of(FacebookPageAdapter(account)._client().session)
    assert adapter_of(facebook.session) is not adapter_of(x.session)


def test_one_tcp_connection_for_many_requests_to_the_fake():
    from tests.fakeplatform.server import FakePlatform

    with FakePlatform() as fake:
        ports = set()
        for _ in range(3):
            session = http.kept_alive_session(("x", 1))
            response = session.get(f"{fake.url}/__health", stream=True)
            ports.add(response.raw._connection.sock.getsockname()[1])
            response.content  # noqa: B018 - read to the end: the connection goes back to the pool
        assert len(ports) == 1
