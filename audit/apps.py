"""The append-only audit trail: AuditEvent, audit_record (used by every app), the request's origin and the
references an event makes. The bottom of the layers with civicpost: imports no other app. Its pages, which
read departments' roles and scheduler's post visibility, are the audittrail app."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # Connects the signal receivers once the apps are loaded.
        from audit import receivers  # noqa: F401
