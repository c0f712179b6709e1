"""Helpers the connect flows share: OAuth state and PKCE, app settings, user-given server addresses.

- OAuth 2.0 state: RFC 6749 §10.12. PKCE with S256: RFC 7636 §4.1-4.2.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from scheduler.adapters.base import ConnectError
from scheduler.adapters.ssrf import UnsafeURL, check_public_url


def new_state() -> str:
    """Returns an unguessable `state` value; keep it in the session and compare it on the callback."""
    return secrets.token_urlsafe(32)


def pkce_pair() -> tuple[str, str]:
    """Returns (code_verifier, code_challenge) for PKCE with S256 (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def sign_in_intro(label: str) -> str:
    """The connect page's first paragraph for platforms where the admin signs in on the platform's page."""
    return _(
        "You will sign in on %(platform)s's own page and allow CivicPost to publish. CivicPost never sees "
        "the account's password."
    ) % {"platform": label}


def require_settings(*names: str, product: str) -> None:
    """Raises ConnectError when CivicPost's app on the platform is not configured (a setting is empty)."""
    if not all(getattr(settings, name, "") for name in names):
        raise ConnectError(
            _("CivicPost's %(product)s app is not set up yet (%(names)s). Ask the city's IT team.")
            % {"product": product, "names": ", ".join(names)}
        )


def check_instance_url(url: str) -> str:
    """Returns the normalised server URL (scheme + host only) if CivicPost may connect to it.
    Raises ConnectError with the SSRF guard's plain message otherwise."""
    try:
        checked = check_public_url(url)
    except UnsafeURL as error:
        raise ConnectError(error.message) from error
    parts = urlsplit(checked)
    return f"{parts.scheme}://{parts.netloc}"
