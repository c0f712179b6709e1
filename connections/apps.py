"""Channel pages and connect flows (the Channel model stays in scheduler this round); channel permission
checks (connections.rules). Imports scheduler, departments, audit, accounts and civicpost."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectionsConfig(AppConfig):
    """Connecting a department's channels: OAuth flows, app passwords, webhook secrets, token refresh."""

    name = "connections"
    verbose_name = _("Channel connections")
    default_auto_field = "django.db.models.BigAutoField"
