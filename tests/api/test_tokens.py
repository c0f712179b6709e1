"""Personal API tokens: shown once, stored as a SHA-256 only, scoped, expiring, revocable, every use recorded."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from api.models import ApiToken
from api.services import api_token_create, api_token_revoke
from civicpost.exceptions import ApplicationError
from tests.api.conftest import client_with, token_for

PROBLEM = "application/problem+json"


def test_a_token_is_stored_only_as_its_sha256(city):
    created = api_token_create(user=city.alice, name="311", scopes=["read"], expires_in_days=30)
    row = ApiToken.objects.get(pk=created.token.pk)
    assert created.secret.startswith(f"cpt_{row.prefix}_")
    assert len(created.secret) > 50
    assert row.token_hash == hashlib.sha256(created.secret.encode()).hexdigest()
    assert created.secret not in str(ApiToken.objects.filter(pk=row.pk).values().first())


def test_the_account_page_creates_a_token_and_shows_it_once(city, client):
    client.force_login(city.alice)
    assert b"Manage API tokens" in client.get("/accounts/security/").content
    created = client.post(
        "/accounts/security/api-tokens/new/", {"name": "Website CMS", "expires_in_days": "90", "scopes": ["read"]}
    )
    assert created.status_code == 200
    token = ApiToken.objects.get(user=city.alice)
    secret = created.context["secret"]
    assert secret.encode() in created.content
    assert "no-store" in created["Cache-Control"] or "max-age=0" in created["Cache-Control"]
    assert token.scopes == ["read"]
    assert secret.encode() not in client.get("/accounts/security/api-tokens/").content
    assert client_with(secret).get("/api/v1/departments/").status_code == 200


def test_the_account_page_refuses_a_token_without_scopes(city, client):
    client.force_login(city.alice)
    response = client.post("/accounts/security/api-tokens/new/", {"name": "x", "expires_in_days": "30"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_a_revoked_token_is_refused_with_401(city, client):
    secret = token_for(city.alice)
    token = ApiToken.objects.get(user=city.alice)
    client.force_login(city.alice)
    assert client.post(f"/accounts/security/api-tokens/{token.pk}/revoke/").status_code == 302
    response = client_with(secret).get("/api/v1/posts/")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "revoked" in response.json()["detail"]


def test_nobody_revokes_another_persons_token(city, client):
    token_for(city.alice)
    token = ApiToken.objects.get(user=city.alice)
    client.force_login(city.carol)
    assert client.post(f"/accounts/security/api-tokens/{token.pk}/revoke/").status_code == 404
    with pytest.raises(ApplicationError):
        api_token_revoke(user=city.carol, token=token)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_an_expired_token_is_refused_with_401(city):
    secret = token_for(city.alice, days=1)
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, minutes=1)):
        response = client_with(secret).get("/api/v1/posts/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_an_unknown_or_tampered_token_is_refused_with_401(city):
    secret = token_for(city.alice)
    for attempt in (secret[:-2] + "xx", "cpt_000000000000_nothing", "not-a-token"):
        response = client_with(attempt).get("/api/v1/posts/")
        assert response.status_code == 401, attempt
        assert response["Content-Type"] == PROBLEM


def test_a_token_of_a_deactivated_account_is_refused(city):
    secret = token_for(city.alice)
    city.alice.is_active = False
    city.alice.save()
    assert client_with(secret).get("/api/v1/posts/").status_code == 401


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        (["draft"], "get", "/api/v1/posts/", False),
        (["read"], "post", "/api/v1/posts/", False),
        (["read"], "post", "/api/v1/media/", False),
        (["read", "draft"], "post", "/api/v1/posts/{post}/submit/", False),
        (["read", "draft"], "post", "/api/v1/posts/{post}/cancel/", True),
        (["submit"], "post", "/api/v1/posts/{post}/submit/", True),
        (["read"], "get", "/api/v1/posts/{post}/", True),
    ],
)
def test_a_token_without_the_scope_is_refused_with_403(city, scopes, method, path, allowed):
    from tests.scheduler import draft_post

    post = draft_post(author=city.alice, channels=[city.parks_channel])
    client = client_with(token_for(city.alice, scopes=scopes))
    response = getattr(client, method)(path.format(post=post.pk), {}, format="json")
    if allowed:
        assert response.status_code not in (401, 403), response.content
    else:
        assert response.status_code == 403
        assert response["Content-Type"] == PROBLEM
        assert "scope" in response.json()["detail"]


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_every_use_records_when_and_from_which_address(city):
    secret = token_for(city.alice)
    client = client_with(secret)
    client.get("/api/v1/departments/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    token = ApiToken.objects.get(user=city.alice)
    assert token.last_used_ip == "203.0.113.9"
    assert timezone.now() - token.last_used_at < dt.timedelta(seconds=30)


def test_approving_is_not_an_api_action(city):
    from tests.scheduler import submitted_post

    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    bob = client_with(token_for(city.bob))
    response = bob.post(f"/api/v1/posts/{post.pk}/approve/", {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_idempotency_keys_are_forgotten_after_a_day(city):
    from api.models import IdempotencyRecord
    from api.services import idempotency_records_prune

    client = client_with(token_for(city.alice))
    client.post("/api/v1/posts/", {"department": 0}, format="json", HTTP_IDEMPOTENCY_KEY="invalid-is-not-kept")
    assert not IdempotencyRecord.objects.exists()
    IdempotencyRecord.objects.create(principal="token:1", key="old", method="POST", path="/", request_hash="x")
    assert idempotency_records_prune() == 0
    assert idempotency_records_prune(now=timezone.now() + dt.timedelta(hours=25)) == 1
