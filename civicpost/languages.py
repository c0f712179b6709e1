"""Names of the languages departments post in. Imports no feature app."""

from __future__ import annotations

from typing import Any

from django.conf import settings

# Names for the language codes departments use most; any other code is shown as it is.
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "tl": "Tagalog",
    "ar": "Arabic",
    "fr": "French",
    "ko": "Korean",
    "ru": "Russian",
    "ht": "Haitian Creole",
    "pt": "Portuguese",
    "so": "Somali",
    "hmn": "Hmong",
    "pl": "Polish",
    "de": "German",
}


def language_name(code: str) -> str:
    """Returns a language's English name for labels and messages ("es" -> "Spanish")."""
    names = {**dict(settings.LANGUAGES), **LANGUAGE_NAMES}
    return str(names.get(code, code))


def channel_language(channel: Any) -> str:
    """Returns the language a channel is set to (Channel.options["language"]), or "" for any language."""
    return str((channel.options or {}).get("language", "") or "")
