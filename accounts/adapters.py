"""allauth adapters: MFA secrets encrypted at rest, and SSO that only signs in accounts the city created."""

from __future__ import annotations

import logging
from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.http import HttpRequest
from django.shortcuts import render

from accounts.services import email_address_mark_verified
from civicpost.crypto import decrypt_text, encrypt_text
from scheduler.adapters.http import http_session

logger = logging.getLogger(__name__)

# Marks a value encrypted by us, so a secret stored before encryption was switched on is still read.
ENCRYPTED_PREFIX = "fernet:"


class CivicMFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and the recovery-code seed are stored as MultiFernet tokens under
    CIVICPOST_ENCRYPTION_KEYS (the channel-token keys), never in clear."""

    def encrypt(self, text: str) -> str:
        return ENCRYPTED_PREFIX + encrypt_text(text)

    def decrypt(self, encrypted_text: str) -> str:
        if encrypted_text.startswith(ENCRYPTED_PREFIX):
            return decrypt_text(encrypted_text.removeprefix(ENCRYPTED_PREFIX))
        return encrypted_text


def _email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


class CivicSocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on for staff accounts that already exist; nobody gets an account by signing in."""

    def _refuse(self, request: HttpRequest, *, reason: str, sociallogin: SocialLogin | None = None) -> None:
        provider = sociallogin.provider.name if sociallogin is not None else ""
        logger.info("Single sign-on refused (%s) through %s", reason, provider or "a provider")
        response = render(request, "accounts/sso_refused.html", {"reason": reason, "provider": provider}, status=403)
        raise ImmediateHttpResponse(response)

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # Reached when no account matches: refuse with our own page instead of allauth's sign-up.
        self._refuse(request, reason="no_account", sociallogin=sociallogin)
        return False  # pragma: no cover - _refuse always raises

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Refuses addresses outside the provider's city domains; for an account matched by e-mail,
        records the administrator-given address as verified (it was typed by the city, nobody signs
        themselves up), so allauth does not lock the account's password out."""
        domains = sociallogin.provider.app.settings.get("email_domains") or []
        emails = [address.email for address in sociallogin.email_addresses if address.email]
        if domains and emails and not any(_email_domain(email) in domains for email in emails):
            self._refuse(request, reason="domain", sociallogin=sociallogin)
        user = sociallogin.user
        matched = getattr(sociallogin, "_did_authenticate_by_email", None)
        if matched and user is not None and user.pk:
            if not user.is_active:
                self._refuse(request, reason="inactive", sociallogin=sociallogin)
            email_address_mark_verified(user=user, email=matched)

    def get_requests_session(self) -> Any:
        # The same HTTP client as every other outgoing call: timeout and CivicPost's User-Agent.
        return http_session()
