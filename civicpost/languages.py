"""Names of the languages departments post in. Imports no feature app."""

from __future__ import annotations

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
