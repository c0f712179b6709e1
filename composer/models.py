"""Ways to make many posts at once: templates with placeholders, recurring series, CSV imports.

Every post they make is an ordinary Post made by scheduler.services.post_create, so it is checked,
versioned, submitted and approved like any other."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from departments.models import Department, SeriesApproval


class PostTemplate(models.Model):
    """A department's reusable text, such as "Trash pickup moves to {day} this week"."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="post_templates")
    name = models.CharField(max_length=120)
    text = models.TextField(help_text=_("Put a name in curly brackets where the text changes: {day}, {place}."))
    link = models.URLField(max_length=500, blank=True)
    channel_ids = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department__name", "name"]
        constraints = [models.UniqueConstraint(fields=["department", "name"], name="one_template_name_per_department")]

    def __str__(self) -> str:
        return self.name


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Every week")
    MONTHLY = "monthly", _("Every month")


class RecurringSeries(models.Model):
    """A post that repeats at the same local wall time (weekly council meeting, monthly programme).

    `start_date` + `local_time` are wall-clock values in `time_zone` (IANA), never UTC: each occurrence
    is computed in local time, then turned into an instant (see composer.series)."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="recurring_series")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    link = models.URLField(max_length=500, blank=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)
    interval = models.PositiveSmallIntegerField(default=1)
    start_date = models.DateField()
    local_time = models.TimeField()
    time_zone = models.CharField(max_length=64)
    until = models.DateField(null=True, blank=True)
    count = models.PositiveSmallIntegerField(null=True, blank=True)
    approval_mode = models.CharField(max_length=20, choices=SeriesApproval.choices, default=SeriesApproval.OCCURRENCE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "recurring series"

    def __str__(self) -> str:
        return f"{self.get_frequency_display()}: {self.text[:40]}"


class Adjustment(models.TextChoices):
    NONE = "", _("As asked")
    MOVED_FORWARD = "moved_forward", _("Moved forward: that time does not exist when the clocks jump forward")
    FIRST_OF_TWO = "first_of_two", _("The first of the two: that time happens twice when the clocks go back")


class SeriesPost(models.Model):
    """One occurrence of a series: an ordinary post, with the local date it stands for."""

    series = models.ForeignKey(RecurringSeries, on_delete=models.CASCADE, related_name="occurrences")
    post = models.OneToOneField("scheduler.Post", on_delete=models.CASCADE, related_name="series_link")
    sequence = models.PositiveIntegerField()
    local_date = models.DateField()
    adjustment = models.CharField(max_length=20, choices=Adjustment.choices, blank=True, default="")

    class Meta:
        ordering = ["series_id", "sequence"]
        constraints = [models.UniqueConstraint(fields=["series", "sequence"], name="one_post_per_series_sequence")]

    def __str__(self) -> str:
        return f"Occurrence {self.sequence} of series {self.series_id}"


class ImportStatus(models.TextChoices):
    CHECKED = "checked", _("Checked, not imported")
    QUEUED = "queued", _("Importing")
    DONE = "done", _("Imported")


class CsvImport(models.Model):
    """An uploaded CSV file, kept between the preview and the import (decoded text, never run twice).

    The import runs as a task (a 2,000-row file takes longer than a web request should): `status` goes
    checked -> queued (the person confirmed) -> done, with `result` {"post_ids", "submitted", "left_out"}."""

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=255, blank=True)
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.CHECKED)
    result = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    imported_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"CSV import {self.pk} ({self.file_name})"
