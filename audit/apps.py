"""The append-only audit trail: audit_record (used by every app) and its pages. The recorder imports nothing
above it; the pages read departments and scheduler (left to split: see issue 12's note)."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from audit import receivers  # noqa: F401 - connects the signal receivers once the apps are loaded
