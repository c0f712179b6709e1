"""Reads of people's own settings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from people.models import PersonalSettings


def supported_language(code: str | None) -> str:
    """Returns `code` when it is one of settings.LANGUAGES, else ""."""
    return code if code in dict(settings.LANGUAGES) else ""


def user_language_choice(*, user: Any) -> str:
    """Returns the language the user chose ("es"), or "" when they have not chosen one."""
    if user is None or not getattr(user, "pk", None):
        return ""
    code = PersonalSettings.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    return supported_language(code)


def user_languages(*, user_ids: Iterable[int]) -> dict[int, str]:
    """Returns {user id: language to write to them in} for every id given: their choice, or the site's
    default language (settings.LANGUAGE_CODE) for those who chose none. One query."""
    ids = set(user_ids)
    chosen = dict(
        PersonalSettings.objects.filter(user_id__in=ids).exclude(language="").values_list("user_id", "language")
    )
    return {user_id: supported_language(chosen.get(user_id)) or settings.LANGUAGE_CODE for user_id in ids}


def user_language(*, user: Any) -> str:
    """Returns the language to write to one user in (their choice, else settings.LANGUAGE_CODE)."""
    return user_language_choice(user=user) or settings.LANGUAGE_CODE


def addresses_by_language(*, emails: Iterable[str]) -> dict[str, list[str]]:
    """Returns {language: [addresses]} for the given e-mail addresses, each in its owner's language (their
    choice, else settings.LANGUAGE_CODE; an address of no account gets the default). One query. For the
    messages that go to a list of addresses: send one per language."""
    wanted = list(dict.fromkeys(emails))
    chosen: dict[str, str] = {}
    rows = get_user_model().objects.filter(email__in=wanted).values_list("email", "personal_settings__language")
    for email, language in rows:
        if supported_language(language):
            chosen[email] = language
    groups: dict[str, list[str]] = {}
    for email in wanted:
        groups.setdefault(chosen.get(email, settings.LANGUAGE_CODE), []).append(email)
    return groups
