"""The audit trail's pages: the searchable list, the CSV export and the objects' names, for the people who may
read it. Above departments and scheduler, whose roles and post visibility it reads; the append-only record
itself (AuditEvent, audit_record) is the `audit` app at the bottom, which every app writes to."""

from django.apps import AppConfig


class AuditTrailConfig(AppConfig):
    name = "audittrail"
    verbose_name = "Audit trail pages"
