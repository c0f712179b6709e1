"""The only writes of people's own settings."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from civicpost.exceptions import ApplicationError
from people.models import PersonalSettings
from people.selectors import supported_language


def user_language_set(*, user: Any, language: str) -> PersonalSettings:
    """Stores the interface language the user chose ("" = follow the browser). Returns their settings row.
    Raises ApplicationError for a language CivicPost does not offer."""
    if language and not supported_language(language):
        raise ApplicationError(_("CivicPost is not available in that language."))
    row, _created = PersonalSettings.objects.update_or_create(user=user, defaults={"language": language})
    return row
