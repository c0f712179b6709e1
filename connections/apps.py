"""Channel pages and connect flows (the Channel model stays in scheduler this round); channel permission
checks (connections.rules). Imports scheduler, departments, audit, accounts and civicpost."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectionsConfig(AppConfig):
    """Connecting a department's channels: the connect pages, saving what a platform's flow returns,
    per-server OAuth app registrations, connection checks and token refresh. Each platform's own flow and
    forms are in scheduler/adapters/<platform>/ (connect.py, forms.py), found through the registry; the
    views name no platform."""

    name = "connections"
    verbose_name = _("Channel connections")
    default_auto_field = "django.db.models.BigAutoField"
