"""One row of personal settings per user, created the first time they choose something."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PersonalSettings(models.Model):
    """What one person chose for themselves. `language` (one of settings.LANGUAGES, checked by the
    service) is "" until they choose: then the browser's language (Accept-Language) decides the pages, and
    the site's default language their e-mails."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_settings")
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        help_text=_("The language of CivicPost's pages and the e-mails it sends you."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("personal settings")
        verbose_name_plural = _("personal settings")

    def __str__(self) -> str:
        return f"settings of user {self.user_id}"
