"""The REST API (/api/v1/) for the city's own systems, and the personal API tokens that open it.

Owns ApiToken and IdempotencyRecord. The top layer beside accounts: it may import every app below it
(scheduler, medialibrary, departments, audit, civicpost) and reads and writes only through their selectors,
services and rules modules — the same ones the web pages use. No app imports api."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the OpenAPI extension of the token authentication once the apps are loaded.
        from api import schema  # noqa: F401
