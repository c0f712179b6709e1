"""A password validator that refuses passwords known from data breaches (Have I Been Pwned).

Only the first five hex characters of the password's SHA-1 leave CivicPost (k-anonymity); the padding
header hides even how many matches came back. Enabled by CIVICPOST_PWNED_PASSWORDS_CHECK (it needs the
internet). When the service cannot be reached the password is accepted and a warning is logged: Django's
own CommonPasswordValidator still refuses the 20,000 most common passwords offline.
https://haveibeenpwned.com/API/v3#PwnedPasswords
"""

from __future__ import annotations

import hashlib
import logging

import requests
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from scheduler.adapters.http import http_session, platform_base_url

logger = logging.getLogger(__name__)

# https://haveibeenpwned.com/API/v3#SearchingPwnedPasswordsByRange
PWNED_PASSWORDS_URL = "https://api.pwnedpasswords.com"
RANGE_PATH = "/range/{prefix}"


class PwnedPasswordValidator:
    """Refuses a password seen in at least `min_occurrences` breaches."""

    def __init__(self, min_occurrences: int = 1) -> None:
        self.min_occurrences = min_occurrences

    def occurrences(self, password: str) -> int | None:
        """Returns how often the password appears in known breaches, or None when the service cannot say."""
        digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
        prefix, suffix = digest[:5], digest[5:]
        url = platform_base_url("pwnedpasswords", PWNED_PASSWORDS_URL) + RANGE_PATH.format(prefix=prefix)
        try:
            with http_session() as session:
                response = session.get(url, headers={"Add-Padding": "true"})
                response.raise_for_status()
        except requests.RequestException as error:
            # Never the password, never the hash: the prefix alone is what the service saw anyway.
            logger.warning("Breached-password check unavailable (%s); password accepted.", type(error).__name__)
            return None
        for line in response.text.splitlines():
            candidate, _sep, count = line.strip().partition(":")
            if candidate.upper() == suffix:
                try:
                    return int(count)
                except ValueError:
                    return None
        return 0

    def validate(self, password: str, user: object = None) -> None:
        found = self.occurrences(password)
        if found is not None and found >= self.min_occurrences:
            raise ValidationError(
                ngettext(
                    "This password has appeared in a data breach, so attackers try it. Choose another one.",
                    "This password has appeared in %(count)d data breaches, so attackers try it. Choose another one.",
                    found,
                )
                % {"count": found},
                code="password_pwned",
            )

    def get_help_text(self) -> str:
        return _("Your password can't be one that has appeared in a known data breach.")
