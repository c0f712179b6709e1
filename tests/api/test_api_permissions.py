"""The API's permission matrix: every /api/ endpoint × method × role × an object of the role's own
department and of another, derived from the URL conf like tests/test_permission_matrix.py (same World, same
roles), so a new endpoint or method without a row fails `test_every_api_endpoint_has_a_row`.

Signed-in roles call with a token holding every scope (the docs page, a browser page, with a session);
scopes are tested in test_tokens.py. "Allowed" means the request passed the permission checks: 200/201,
or 400/409 for a request the person may send but that the rules refuse as it stands. Denied is 401, 403 or
404 (never revealing another department's draft); an anonymous caller always gets 401 (the docs page: a
redirect to sign in). Every request runs in a savepoint that is rolled back.

The expected rows mirror the web matrix: reading a submitted post is MEMBERS | COMMS | VIEWER there and here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, get_resolver, reverse
from rest_framework.test import APIClient

from scheduler.models import Delivery
from tests.api.conftest import token_for
from tests.test_permission_matrix import (
    ANY_SIGNED_IN,
    COMMS,
    MEMBERS,
    RECORDS,
    ROLES,
    SCOPES,
    VIEWER,
    Cells,
    World,
    _describe,
    _walk,
)

EXPECTED: dict[tuple[str, str], Cells] = {
    ("api:department-list", "GET"): ANY_SIGNED_IN,  # the caller's own departments (maybe none)
    ("api:department-detail", "GET"): MEMBERS,
    ("api:channel-list", "GET"): ANY_SIGNED_IN,
    ("api:channel-detail", "GET"): MEMBERS,
    ("api:post-list", "GET"): ANY_SIGNED_IN,
    ("api:post-list", "POST"): ANY_SIGNED_IN,  # an empty body is a validation problem (400)
    ("api:post-detail", "GET"): MEMBERS | COMMS | VIEWER,  # a submitted post, as on the web
    ("api:post-detail", "PATCH"): MEMBERS,  # a draft
    ("api:post-submit", "POST"): MEMBERS,  # a draft
    ("api:post-cancel", "POST"): MEMBERS | COMMS,  # an approved post
    ("api:delivery-list", "GET"): ANY_SIGNED_IN,
    ("api:delivery-detail", "GET"): ANY_SIGNED_IN,  # of an approved post, which the whole city sees
    ("api:media-list", "GET"): ANY_SIGNED_IN,
    ("api:media-list", "POST"): ANY_SIGNED_IN,  # no file: a validation problem (400)
    ("api:media-detail", "GET"): MEMBERS,
    ("api:calendar", "GET"): ANY_SIGNED_IN,  # without a range: a validation problem (400)
    # Figures (analytics), as on the web: a department's and a post's; the city's for the city-wide readers.
    ("api:analytics-department-detail", "GET"): MEMBERS | COMMS | VIEWER,
    ("api:analytics-post-detail", "GET"): MEMBERS | COMMS | VIEWER,
    ("api:analytics-city", "GET"): COMMS | VIEWER,
    ("api:schema", "GET"): ANY_SIGNED_IN,
    ("api:docs", "GET"): ANY_SIGNED_IN,
    # The public-records archive's exports: records officers only (an empty body exports everything: 202).
    ("api:archive-export-list", "GET"): RECORDS,
    ("api:archive-export-list", "POST"): RECORDS,
    ("api:archive-export-detail", "GET"): RECORDS,
    ("api:archive-export-download", "GET"): RECORDS,
}

POST_KIND = {"api:post-detail:PATCH": "draft", "api:post-submit": "draft", "api:post-cancel": "approved"}
BROWSER_PAGES = {"api:docs"}
NOT_ENDPOINTS = {"api:not_found"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _methods(pattern: URLPattern) -> set[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:
        return {method.upper() for method in actions} & set(METHODS)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    return {m for m in METHODS if view_class is not None and hasattr(view_class, m.lower())}


def api_routes() -> dict[tuple[str, str], tuple[str, list[str]]]:
    """Returns {(url name, method): (route, kwarg names)} for every endpoint under /api/."""
    routes = {}
    for route, name, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/") or name in NOT_ENDPOINTS:
            continue
        for method in _methods(pattern):
            # The router's routes are regular expressions: their named groups are the kwargs.
            kwargs = list(pattern.pattern.converters) or list(pattern.pattern.regex.groupindex)
            routes[(name, method)] = (route, kwargs)
    return routes


ROUTES = api_routes()


def test_every_api_endpoint_has_a_row():
    missing = sorted(set(ROUTES) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(ROUTES))
    assert missing == [], f"API endpoints without a row in the API permission matrix: {missing}"
    assert stale == [], f"Rows for API endpoints that no longer exist: {stale}"


def _kwargs(world: World, name: str, method: str, kwarg_names: list[str], scope_name: str) -> dict[str, Any]:
    scope = world.scopes[scope_name]
    if not kwarg_names:
        return {}
    basename = name.split(":")[1].rsplit("-", 1)[0]
    if basename.startswith("archive-export"):
        world.kwargs("archive", [], scope_name)  # builds the scope's archive objects
        return {"export_key": scope.objects["export"].key}
    kind = POST_KIND.get(f"{name}:{method}", POST_KIND.get(name, "submitted"))
    value = {
        "department": lambda: scope.department.pk,
        "channel": lambda: scope.channel.pk,
        "post": lambda: scope.posts[kind].pk,
        "delivery": lambda: Delivery.objects.filter(post=scope.posts["approved"]).first().pk,
        "media": lambda: scope.objects["asset"].pk,
        "analytics-department": lambda: scope.department.pk,
        "analytics-post": lambda: scope.posts[kind].pk,
    }[basename]()
    return {"pk": value}


def _request(world: World, tokens: dict[str, str], name: str, url: str, method: str, role: str) -> Any:
    client = APIClient()
    if role != "anonymous":
        if name in BROWSER_PAGES:
            client.force_login(world.users[role])
        else:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[role]}")
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        elif name == "api:media-list":
            response = client.post(url, {})  # multipart
        else:
            response = getattr(client, method.lower())(url, {}, format="json")
        transaction.set_rollback(True)
    return response


def _allowed(response: Any, role: str, name: str) -> bool:
    code = response.status_code
    if code == 405:
        raise AssertionError("method not allowed: the row names the wrong method")
    if code >= 500:
        raise AssertionError(f"server error {code}")
    if role == "anonymous":
        if name in BROWSER_PAGES:
            assert code == 302 and "/accounts/login/" in response["Location"]
        else:
            assert code == 401, f"anonymous got {code}, not 401"
            assert response["WWW-Authenticate"].startswith("Bearer")
        return False
    if code in (401, 403, 404):
        if name not in BROWSER_PAGES:
            assert response["Content-Type"] == "application/problem+json"
        return False
    return True


@pytest.mark.parametrize(("name", "method"), sorted(EXPECTED), ids=[f"{n}-{m}" for n, m in sorted(EXPECTED)])
def test_api_permission_matrix(db: None, name: str, method: str) -> None:
    if (name, method) not in ROUTES:
        pytest.fail(f"{name} {method} is in the matrix but not an API endpoint any more")
    world = World()
    tokens = {role: token_for(user) for role, user in world.users.items()}
    _route, kwarg_names = ROUTES[(name, method)]
    actual = set()
    for scope in SCOPES:
        url = reverse(name, kwargs=_kwargs(world, name, method, kwarg_names, scope))
        for role in ROLES:
            if _allowed(_request(world, tokens, name, url, method, role), role, name):
                actual.add((role, scope))
    expected = EXPECTED[(name, method)]
    assert not (frozenset(actual) - expected), f"{name} {method} lets in: {_describe(frozenset(actual) - expected)}"
    assert not (expected - frozenset(actual)), f"{name} {method} keeps out: {_describe(expected - frozenset(actual))}"
