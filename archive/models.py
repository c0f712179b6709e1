"""The archive's tables. ArchiveEntry is the hash chain (append-only: the models refuse changes and, on
PostgreSQL, a trigger refuses UPDATE and DELETE for everyone). Each entry hashes the SHA-256 of its content,
never the content itself: the content lives in ArchiveContent (and media files in ArchiveBlob), which
disposition may delete once retention has passed while the chain still verifies."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EntryKind(models.TextChoices):
    PUBLICATION = "publication", _("Published")
    REMOVED_ON_PLATFORM = "removed_on_platform", _("Deleted or hidden on the platform")
    RETRACTED = "retracted", _("Deleted through CivicPost")
    RETRACTION_FAILED = "retraction_failed", _("Could not be deleted on the platform")
    CORRECTION = "correction", _("Correction requested")
    COMMENT = "comment", _("Comment captured")
    MODERATION = "moderation", _("Moderation action")
    EXPORT = "export", _("Records request exported")
    DISPOSITION = "disposition", _("Disposition certificate")


class ArchiveEntry(models.Model):
    """One event of the public record, chained: `entry_hash` = SHA-256 of the canonical JSON of the entry's
    fields (archive.chain.entry_payload), which include `prev_hash` (the previous entry's `entry_hash`) and
    `content_hash` (the SHA-256 of the content kept in ArchiveContent)."""

    sequence = models.PositiveBigIntegerField(unique=True)
    kind = models.CharField(max_length=32, choices=EntryKind.choices, db_index=True)
    # What this entry records, unique so that two capture runs never archive one event twice
    # ("publication:delivery:12", "removed:remoteremoval:4", "export:<uuid>").
    source_key = models.CharField(max_length=120, unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    recorded_at = models.DateTimeField()
    # Plain ids with labels, no foreign keys: the record outlives renamed or deleted rows.
    department_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    department_name = models.CharField(max_length=120, blank=True)
    channel_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    channel_name = models.CharField(max_length=200, blank=True)
    platform = models.CharField(max_length=40, blank=True)
    post_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    delivery_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # Facts that stay after disposition (no content): remote id, permalink, author, reason, counts.
    facts = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        verbose_name_plural = "archive entries"
        indexes = [models.Index(fields=["department_id", "occurred_at"]), models.Index(fields=["kind", "occurred_at"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Archive entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # noqa: ANN201
        raise PermissionError("Archive entries are never deleted.")


class ArchiveBlob(models.Model):
    """A file as it was sent, copied into archive storage under its SHA-256 (one copy per distinct file)."""

    sha256 = models.CharField(max_length=64, unique=True)
    storage_name = models.CharField(max_length=300)
    mime_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.mime_type})"


class ArchiveContent(models.Model):
    """The content of one entry (text, link, media list, raw answer, votes...). Never changed (a trigger
    refuses UPDATE on PostgreSQL); deleted only by an approved disposition."""

    entry = models.OneToOneField(ArchiveEntry, on_delete=models.DO_NOTHING, related_name="content", db_constraint=False)
    content_hash = models.CharField(max_length=64)
    body = models.JSONField()
    # Lower-cased searchable text (post text, comment text) for keyword filters.
    search_text = models.TextField(blank=True)
    blobs = models.ManyToManyField(ArchiveBlob, blank=True, related_name="contents")

    def __str__(self) -> str:
        return f"content of entry {self.entry_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Archived content is never changed (only disposed of).")
        super().save(*args, **kwargs)


class ChainHead(models.Model):
    """The one row every append locks (SELECT ... FOR UPDATE) so that two capture runs never fork the chain."""

    singleton = models.PositiveSmallIntegerField(unique=True, default=1)
    sequence = models.PositiveBigIntegerField(default=0)
    head_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"head #{self.sequence} {self.head_hash[:12]}"


class CaptureCursor(models.Model):
    """How far the capture job has read one source (the source decides what the position means)."""

    source = models.CharField(max_length=60, unique=True)
    position = models.CharField(max_length=100, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_problem = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.source} at {self.position or 'start'}"


class HeadNotice(models.Model):
    """The chain head e-mailed to the records officers on one day (once per UTC day)."""

    day = models.DateField(unique=True)
    sequence = models.PositiveBigIntegerField()
    head_hash = models.CharField(max_length=64)
    recipients = models.JSONField(default=list)
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"head of {self.day}: #{self.sequence}"


# --- Retention, legal holds, disposition ------------------------------------------------------------


class RetentionTrigger(models.TextChoices):
    AFTER_PUBLICATION = "after_publication", _("After publication")
    AFTER_END_OF_YEAR = "after_end_of_year", _("After the end of the calendar year of publication")


class RetentionSchedule(models.Model):
    """A retention rule of the city, citing the state schedule it applies."""

    name = models.CharField(max_length=120, unique=True)
    citation = models.CharField(max_length=200, help_text=_("The state schedule and item, such as “GS 1-12”."))
    period_years = models.PositiveSmallIntegerField(default=0)
    period_months = models.PositiveSmallIntegerField(default=0)
    trigger = models.CharField(
        max_length=24, choices=RetentionTrigger.choices, default=RetentionTrigger.AFTER_PUBLICATION
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.citation})"


class RetentionAssignment(models.Model):
    """A schedule applied to a department or to one channel (a channel's assignment wins)."""

    schedule = models.ForeignKey(RetentionSchedule, on_delete=models.PROTECT, related_name="assignments")
    department = models.OneToOneField(
        "departments.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="retention"
    )
    channel = models.OneToOneField(
        "scheduler.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="retention"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(department__isnull=False, channel__isnull=True)
                | Q(department__isnull=True, channel__isnull=False),
                name="archive_retention_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule} for {self.channel or self.department}"


class LegalHold(models.Model):
    """Records that must not be disposed of while the hold is active (a lawsuit, an audit, a request)."""

    case_reference = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    department = models.ForeignKey(
        "departments.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.ForeignKey("scheduler.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    search_terms = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.case_reference

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class DispositionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for the records officer")
    APPROVED = "approved", _("Approved, removing content")
    DONE = "done", _("Disposed")
    CANCELLED = "cancelled", _("Cancelled")


class Disposition(models.Model):
    """A list of entries whose retention has passed, proposed by the periodic job; disposed once approved."""

    status = models.CharField(max_length=16, choices=DispositionStatus.choices, default=DispositionStatus.PROPOSED)
    proposed_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    certificate = models.OneToOneField(
        ArchiveEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )

    class Meta:
        ordering = ["-proposed_at"]

    def __str__(self) -> str:
        return f"disposition {self.pk} ({self.status})"


class DispositionItem(models.Model):
    disposition = models.ForeignKey(Disposition, on_delete=models.CASCADE, related_name="items")
    entry = models.ForeignKey(ArchiveEntry, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    schedule = models.ForeignKey(RetentionSchedule, on_delete=models.PROTECT, related_name="+")
    eligible_on = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["disposition", "entry"], name="archive_disposition_entry_once")]

    def __str__(self) -> str:
        return f"entry {self.entry_id} in disposition {self.disposition_id}"


# --- Records-request exports -----------------------------------------------------------------------


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Building the bundle")
    DONE = "done", _("Ready to download")
    FAILED = "failed", _("Failed")


class RecordsExport(models.Model):
    """One records-request export: its filters, its progress and the ZIP bundle it produced."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    request_reference = models.CharField(max_length=120, blank=True)
    filters = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=300, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.key} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0


# --- Retractions -----------------------------------------------------------------------------------


class Retraction(models.Model):
    """ "Retract or correct a post everywhere": who asked, why, and per channel what happened."""

    post = models.ForeignKey("scheduler.Post", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    correction_post = models.ForeignKey(
        "scheduler.Post", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcomes = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"retraction of post {self.post_id}"
