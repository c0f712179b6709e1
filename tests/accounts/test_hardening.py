"""Hardening: a Content Security Policy without 'unsafe-inline' on every page, and pages that need none
(no inline script, no event-handler attribute, no inline style); secure cookies and HSTS under production
settings; the deployment checks pass with single sign-on configured too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.accounts.conftest import give_totp, new_browser, sign_in
from tests.factories import PASSWORD, UserFactory, member
from tests.scheduler import approved_post, draft_post

ROOT = Path(__file__).resolve().parents[2]


class InlineCodeFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script: dict[str, str | None] | None = None
        self._script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            self._in_script = attributes
            self._script_text = ""

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._script_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            is_data_block = (self._in_script.get("type") or "").lower() in ("application/json", "application/ld+json")
            if self._script_text.strip() and not self._in_script.get("src") and not is_data_block:
                self.problems.append(f"inline <script>: {self._script_text.strip()[:60]!r}")
            self._in_script = None


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.problems


def csp_directives(response) -> dict[str, list[str]]:  # noqa: ANN001
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


# --- CSP ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_response_carries_a_strict_content_security_policy():
    response = new_browser().get("/accounts/login/")
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_no_page_needs_inline_script_or_style(personas, require_mfa):
    """Renders the pages people use (the app, allauth's sign-in, MFA and session pages, the admin) and
    looks for anything the policy would block."""
    approver_secret = give_totp(personas.bob)
    draft = draft_post(author=personas.alice, channels=[personas.parks_channel])
    approved = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    admin = member("ada", personas.parks, "admin")
    give_totp(admin)
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    give_totp(staff)

    pages: dict[str, str] = {}
    anonymous = new_browser()
    for url in ("/accounts/login/", "/accounts/password/reset/", "/health/status/", "/feeds/", "/feeds/city/"):
        pages[url] = anonymous.get(url).content.decode()

    # The TOTP stage of a sign-in.
    stage = new_browser()
    sign_in(stage, personas.bob)
    pages["mfa_authenticate"] = stage.get(reverse("mfa_authenticate")).content.decode()
    del approver_secret

    editor = new_browser()
    sign_in(editor, personas.alice)
    for url in (
        "/",
        "/calendar/",
        "/calendar/week/",
        "/calendar/agenda/",
        reverse("scheduler:post_create"),
        reverse("scheduler:post_detail", args=[draft.pk]),
        reverse("scheduler:post_edit", args=[draft.pk]),
        reverse("scheduler:post_detail", args=[approved.pk]),
        "/channels/",
        "/sandbox/",
        reverse("accounts:security"),
        reverse("usersessions_list"),
        reverse("mfa_index"),
        reverse("account_change_password"),
        reverse("account_reauthenticate"),
    ):
        response = editor.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    # Set-up pages of allauth (after the password again).
    editor.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    for name in ("mfa_activate_totp", "mfa_add_webauthn"):
        response = editor.get(reverse(name))
        assert response.status_code == 200, name
        pages[name] = response.content.decode()

    manager = new_browser()
    manager.force_login(admin)
    for url in (reverse("connections:start"), f"/channels/connect/{personas.parks.pk}/feed/", "/approvals/"):
        response = manager.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()

    root = new_browser()
    root.force_login(staff)
    for url in ("/admin/", "/admin/scheduler/post/", f"/admin/scheduler/post/{approved.pk}/change/"):
        response = root.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()

    problems = {url: found for url, html in pages.items() if (found := inline_code(html))}
    assert problems == {}


def test_our_templates_and_scripts_have_no_inline_code():
    problems = {}
    for template in sorted((ROOT / "templates").rglob("*.html")):
        found = inline_code(template.read_text())
        if found:
            problems[str(template.relative_to(ROOT))] = found
    assert problems == {}
    for script in (ROOT / "static" / "js").glob("*.js"):
        text = script.read_text()
        forbidden_calls = ("eval(", "new Function(", "setAttribute('style'", 'setAttribute("style"')
        for forbidden in forbidden_calls:
            assert forbidden not in text, f"{script.name}: {forbidden}"


# --- Cookies and HSTS under production settings ----------------------------------------------------------


@pytest.mark.django_db
@override_settings(
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_HSTS_PRELOAD=True,
)
def test_over_https_cookies_are_secure_and_http_only_and_hsts_is_sent(personas):
    browser = new_browser()
    page = browser.get("/accounts/login/", secure=True)
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert page.cookies["csrftoken"]["secure"]
    response = browser.post(
        "/accounts/login/", {"login": personas.alice.email, "password": PASSWORD}, secure=True, follow=False
    )
    session_cookie = response.cookies["sessionid"]
    assert session_cookie["secure"]
    assert session_cookie["httponly"]
    assert session_cookie["samesite"] == "Lax"
    # The cookie ends with the browser (ACCOUNT_SESSION_REMEMBER = False); the server ends it after 30 idle minutes.
    assert session_cookie["max-age"] == ""
    assert browser.session.get_expiry_age() == 30 * 60
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"


def test_production_settings_with_sso_configured_pass_the_deployment_checks():
    """`make check-deploy`'s environment, with OpenID Connect and SAML configured on top."""
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CIVICPOST_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="p9Lq2vX7mZ4rT8wK1sN6bH3cJ5dF0gA2yU7iO4eR9tW1qE6zM3xV",
        CIVICPOST_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DJANGO_ALLOWED_HOSTS="civicpost.example.gov",
        CIVICPOST_SITE_URL="https://civicpost.example.gov",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://civicpost.example.gov",
        DJANGO_SECURE_COOKIES="true",
        DJANGO_SECURE_SSL_REDIRECT="true",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
        DJANGO_BEHIND_PROXY="true",
        DATABASE_URL="",
        REDIS_URL="",
        CIVICPOST_ENTRA_TENANT_ID="7f3c0a4e-1111-2222-3333-444455556666",
        CIVICPOST_ENTRA_CLIENT_ID="civicpost",
        CIVICPOST_ENTRA_CLIENT_SECRET="entra-secret",
        CIVICPOST_SSO_EMAIL_DOMAINS="example.gov",
        CIVICPOST_SAML_PROVIDERS=json.dumps(
            [
                {
                    "id": "adfs",
                    "idp": {"entity_id": "https://adfs.example.gov", "metadata_url": "https://adfs.example.gov/m"},
                }
            ]
        ),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_scanner_catches_what_the_policy_blocks():
    html = (
        '<script>alert(1)</script><script src="/static/a.js"></script>'
        '<script type="application/json">{"ok": true}</script>'
        '<a href="javascript:void(0)" onclick="go()">x</a><p style="color:red">y</p><style>p{}</style>'
    )
    assert len(inline_code(html)) == 5
