"""A department's media library: images (and MP4 video) that posts attach, each with its alt text.

The app is called `medialibrary`, not `media`: `/media/` is MEDIA_ROOT (git-ignored, and the upload
directory in the Docker image), so a `media` package would live inside the uploads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from departments.models import Department


class MediaKind(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")


class MediaAsset(models.Model):
    """One uploaded file, already checked and cleaned (images re-encoded without EXIF/GPS)."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="media_assets")
    kind = models.CharField(max_length=10, choices=MediaKind.choices)
    # Name in Django's default storage (under MEDIA_ROOT with the file system storage).
    file_name = models.CharField(max_length=300, unique=True)
    original_name = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=60)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    alt_text = models.TextField(blank=True, help_text=_("What the image shows, for people who cannot see it."))
    captions_name = models.CharField(max_length=300, blank=True)
    transcript = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["department", "-created_at"], name="media_department_recent_idx")]

    def __str__(self) -> str:
        return self.original_name or self.file_name

    @property
    def is_video(self) -> bool:
        return self.kind == MediaKind.VIDEO

    @property
    def has_captions(self) -> bool:
        return bool(self.captions_name or self.transcript.strip())

    @property
    def src(self) -> str:
        """The file's address on this site, for showing it on CivicPost's own pages."""
        from django.core.files.storage import default_storage  # storage settings are read at call time

        return default_storage.url(self.file_name)

    @property
    def url(self) -> str:
        from medialibrary.services import media_public_url  # services imports these models

        return media_public_url(self.file_name)

    @property
    def captions_url(self) -> str:
        from medialibrary.services import media_public_url  # services imports these models

        return media_public_url(self.captions_name) if self.captions_name else ""


class PostMedia(models.Model):
    """An asset attached to a post, in order, with the alt text written for this post."""

    post = models.ForeignKey("scheduler.Post", on_delete=models.CASCADE, related_name="media_items")
    asset = models.ForeignKey(MediaAsset, on_delete=models.PROTECT, related_name="uses")
    position = models.PositiveSmallIntegerField()
    alt_text = models.TextField(blank=True)

    class Meta:
        ordering = ["post_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["post", "asset"], name="one_attachment_per_asset_and_post")]

    def __str__(self) -> str:
        return f"{self.asset} on post {self.post_id}"
