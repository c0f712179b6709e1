"""Public RSS/Atom feeds of published posts. Imports scheduler, departments and civicpost."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedsConfig(AppConfig):
    """The city website's own RSS/Atom feeds and the public post pages they link to."""

    name = "feeds"
    verbose_name = _("City website feed")
    default_auto_field = "django.db.models.BigAutoField"
