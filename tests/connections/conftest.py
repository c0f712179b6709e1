"""Fixtures for connecting channels: department admins, fake DNS for the SSRF guard, app keys."""

from __future__ import annotations

import socket

import pytest

PUBLIC_IP = "93.184.215.14"
PRIVATE_IP = "10.20.30.40"


@pytest.fixture
def people(personas):  # noqa: ANN001, ANN201
    """The personas, plus Ada (Parks department admin) and Lena (Library department admin)."""
    from departments.models import Role
    from tests.factories import member

    personas.ada = member("ada", personas.parks, Role.ADMIN)
    personas.lena = member("lena", personas.library, Role.ADMIN)
    return personas


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fake resolver for the SSRF guard: platform hosts resolve to a public address, the city's
    intranet to a private one; IP literals and localhost resolve as usual; any other name fails."""
    from scheduler.adapters import ssrf

    table = {
        "mastodon.city.example": PUBLIC_IP,
        "social.example": PUBLIC_IP,
        "bsky.social": PUBLIC_IP,
        "pds.city.example": PUBLIC_IP,
        "cms.city.example": PUBLIC_IP,
        "hooks.slack.com": PUBLIC_IP,
        "intranet.city.example": PRIVATE_IP,
    }
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list:
        if host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]
        if host == "localhost":
            return real(host, port, *args, **kwargs)
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError as error:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from error
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(ssrf, "_getaddrinfo", fake_getaddrinfo)
    return table


@pytest.fixture
def app_keys(settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_X_CLIENT_ID = "x-client-id"
    settings.CIVICPOST_X_CLIENT_SECRET = "x-client-secret"
    settings.CIVICPOST_META_APP_ID = "meta-app-id"
    settings.CIVICPOST_META_APP_SECRET = "meta-app-secret"
    settings.CIVICPOST_THREADS_APP_ID = "threads-app-id"
    settings.CIVICPOST_THREADS_APP_SECRET = "threads-app-secret"
    settings.CIVICPOST_PLATFORM_URLS = {}
    return settings
