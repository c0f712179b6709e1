"""The account page's own forms."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _


def language_choices() -> list[tuple[str, str]]:
    """Returns ("", "Use my browser's language") and each interface language named in itself ("Español")."""
    choices = [("", str(_("Use my browser's language")))]
    for code, _name in settings.LANGUAGES:
        name = get_language_info(code)["name_local"]  # "español": a label starts with a capital
        choices.append((code, name[:1].upper() + name[1:]))
    return choices


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=language_choices,
        help_text=_("The language of CivicPost's pages and of the e-mails it sends you."),
    )
