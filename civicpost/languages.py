"""Names of the languages departments post in. Imports no feature app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

# Names for the language codes departments use most; any other code is shown as it is.
LANGUAGE_NAMES = {
    "en": _("English"),
    "es": _("Spanish"),
    "zh": _("Chinese"),
    "vi": _("Vietnamese"),
    "tl": _("Tagalog"),
    "ar": _("Arabic"),
    "fr": _("French"),
    "ko": _("Korean"),
    "ru": _("Russian"),
    "ht": _("Haitian Creole"),
    "pt": _("Portuguese"),
    "so": _("Somali"),
    "hmn": _("Hmong"),
    "pl": _("Polish"),
    "de": _("German"),
}


def language_name(code: str) -> str:
    """Returns a language's name in the interface language for labels and messages ("es" -> "Spanish")."""
    names = {**dict(settings.LANGUAGES), **LANGUAGE_NAMES}
    return str(names.get(code, code))


def channel_language(channel: Any) -> str:
    """Returns the language a channel is set to (Channel.options["language"]), or "" for any language."""
    return str((channel.options or {}).get("language", "") or "")
