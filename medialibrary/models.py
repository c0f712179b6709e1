"""A department's media library: images, MP4 video and PDF documents that posts attach, each with its alt text
(a document's title).

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
    # A PDF (LinkedIn Page posts only). Its title is kept in alt_text: LinkedIn requires one and shows it.
    DOCUMENT = "document", _("PDF document")


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
    # "The captions are part of the picture" (open captions), declared by a person instead of a captions file:
    # who said so and when, kept as the accessibility record.
    captions_burned_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    captions_burned_in_at = models.DateTimeField(null=True, blank=True)
    # Video only, read at upload (medialibrary/video.py): with ffprobe when installed, else from the container.
    duration_seconds = models.FloatField(null=True, blank=True)
    video_codec = models.CharField(max_length=20, blank=True)
    audio_codec = models.CharField(max_length=20, blank=True)
    frame_rate = models.FloatField(null=True, blank=True)
    probed_with = models.CharField(max_length=10, blank=True)
    # A JPEG of the first frame for the composer's preview (only when ffmpeg made one).
    poster_name = models.CharField(max_length=300, blank=True)
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
    def is_document(self) -> bool:
        return self.kind == MediaKind.DOCUMENT

    @property
    def captions_burned_in(self) -> bool:
        return self.captions_burned_in_at is not None

    @property
    def has_captions(self) -> bool:
        """True when a captions file is attached or someone declared the captions burned into the picture."""
        return bool(self.captions_name or self.captions_burned_in)

    @property
    def poster_src(self) -> str:
        """The poster frame's address on this site, or "" when ffmpeg made none."""
        from django.core.files.storage import default_storage  # storage settings are read at call time

        return default_storage.url(self.poster_name) if self.poster_name else ""

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


class PlatformUpload(models.Model):
    """A video upload to a platform that is not finished yet: the platform's processing is still running, or
    a chunked upload was interrupted. Keyed by the delivery's idempotency key, so the next attempt of the same
    delivery resumes it (the confirmed offset, the platform's media id) instead of uploading again. Adapters
    read and write it only through scheduler.adapters.video.UploadProgressStore (medialibrary/uploads.py)."""

    key = models.CharField(max_length=64)
    platform = models.CharField(max_length=30)
    state = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "platform"], name="one_upload_per_delivery_platform")]

    def __str__(self) -> str:
        return f"{self.platform} upload {self.key}"
