"""What the API shows and accepts. Every field is named: a model field added later (a channel's
credentials are one) never appears by itself. Writes are validated here only for shape; the rules
(membership, channels, blackouts, approval) are the services' (scheduler.services, medialibrary.services)."""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.selectors import channels_for_api, departments_for_api
from civicpost.fields import DATE_OUT_OF_RANGE, MAX_DATE, MAX_ID, MIN_DATE
from medialibrary.models import MediaAsset
from medialibrary.selectors import media_for_user
from scheduler.models import Channel, Delivery, Post, PostStatus


class DepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    slug = serializers.CharField(read_only=True)
    time_zone = serializers.CharField(read_only=True)
    main_language = serializers.CharField(read_only=True)
    languages = serializers.ListField(child=serializers.CharField(), read_only=True)


class ChannelSerializer(serializers.Serializer):
    """A channel as the API shows it: never its credentials or options."""

    id = serializers.IntegerField(read_only=True)
    department = serializers.IntegerField(source="department_id", read_only=True)
    platform = serializers.CharField(read_only=True)
    platform_label = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    account_handle = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Channel._meta.get_field("status").choices, read_only=True)


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    post = serializers.IntegerField(source="post_id", read_only=True)
    channel = serializers.IntegerField(source="channel_id", read_only=True)
    channel_name = serializers.CharField(source="channel.display_name", read_only=True)
    language = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Delivery._meta.get_field("status").choices, read_only=True)
    due_at = serializers.DateTimeField(read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    permalink = serializers.CharField(read_only=True)
    failure_message = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})?")


def _in_range(day: Any) -> None:
    """Refuses a day outside 2000-2100 (civicpost.fields, as the pages do): a typing mistake, and beyond the
    dates every time computation handles."""
    if not MIN_DATE <= day <= MAX_DATE:
        raise serializers.ValidationError(DATE_OUT_OF_RANGE % {"first": MIN_DATE.year, "last": MAX_DATE.year})


def Id(**kwargs: Any) -> serializers.IntegerField:  # noqa: N802 - reads as a field class
    """A database id (1 to MAX_ID)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class PostMediaSerializer(serializers.Serializer):
    id = Id(help_text=_("A media library file of the post's department (POST /api/v1/media/)."))
    alt_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class LanguageVersionSerializer(serializers.Serializer):
    """Another language version of the post (the department's languages). A version goes out only once a
    person confirms they wrote or checked it (`reviewed`)."""

    text = serializers.CharField(allow_blank=True, max_length=20000)
    channel_text = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    media_alt = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    reviewed = serializers.BooleanField(default=False)


class PostSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    department = serializers.IntegerField(source="department_id", read_only=True)
    author = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=PostStatus.choices, read_only=True)
    text = serializers.CharField(read_only=True)
    link = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    due_at = serializers.DateTimeField(read_only=True)
    channels = serializers.SerializerMethodField()
    channel_text = serializers.DictField(child=serializers.CharField(), read_only=True)
    languages = serializers.DictField(child=LanguageVersionSerializer(), read_only=True)
    media = serializers.SerializerMethodField()
    deliveries = DeliverySerializer(many=True, read_only=True)
    is_emergency = serializers.BooleanField(read_only=True, default=False)
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    web_url = serializers.SerializerMethodField()

    @extend_schema_field({"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}})
    def get_author(self, post: Post) -> dict[str, Any]:
        return {"id": post.author_id, "name": post.author.get_full_name() or post.author.get_username()}

    def get_channels(self, post: Post) -> list[int]:
        return sorted(channel.pk for channel in post.channels.all())

    @extend_schema_field(PostMediaSerializer(many=True))
    def get_media(self, post: Post) -> list[dict[str, Any]]:
        return [{"id": item.asset_id, "alt_text": item.alt_text} for item in post.media_items.all()]

    def get_web_url(self, post: Post) -> str:
        request = self.context.get("request")
        path = reverse("scheduler:post_detail", kwargs={"post_id": post.pk})
        return request.build_absolute_uri(path) if request else path


class _CallerScopedMixin:
    """Resolves department, channel and media ids among the caller's own (others are "not found")."""

    context: dict[str, Any]

    @property
    def _user(self) -> Any:
        return self.context["request"].user

    def _channels(self, ids: list[int]) -> list[Channel]:
        found = {c.pk: c for c in channels_for_api(user=self._user).filter(pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise serializers.ValidationError(_("No channel of yours has the id %(ids)s.") % {"ids": missing})
        return [found[i] for i in dict.fromkeys(ids)]

    def _media(self, items: list[dict[str, Any]]) -> list[tuple[MediaAsset, str]]:
        ids = [item["id"] for item in items]
        found = {a.pk: a for a in media_for_user(user=self._user).filter(pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise serializers.ValidationError(_("No media file of yours has the id %(ids)s.") % {"ids": missing})
        return [(found[item["id"]], item.get("alt_text", "")) for item in items]


class PostWriteSerializer(_CallerScopedMixin, serializers.Serializer):
    """A new draft. `channel_text` holds per-channel versions {channel id: text}; `media` the attached files
    in order, each with its alt text for this post."""

    department = Id(help_text=_("One of your departments (GET /api/v1/departments/)."))
    text = serializers.CharField(allow_blank=True, max_length=20000)
    link = serializers.URLField(required=False, allow_blank=True, default="", max_length=500)
    due_at = serializers.DateTimeField(help_text=_("When to publish (ISO 8601 with an offset)."))
    channels = serializers.ListField(child=Id(), max_length=50)
    channel_text = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    languages = serializers.DictField(
        child=LanguageVersionSerializer(),
        required=False,
        help_text=_('Other language versions {language code: version}, e.g. {"es": {"text": …, "reviewed": true}}.'),
    )
    media = PostMediaSerializer(many=True, required=False)

    def validate_department(self, value: int) -> Any:
        department = departments_for_api(user=self._user).filter(pk=value).first()
        if department is None:
            raise serializers.ValidationError(_("You are not a member of a department with this id."))
        return department

    def validate_due_at(self, value: Any) -> Any:
        _in_range(value.date())
        return value

    def validate_channels(self, value: list[int]) -> list[Channel]:
        return self._channels(value)

    def validate_media(self, value: list[dict[str, Any]]) -> list[tuple[MediaAsset, str]]:
        return self._media(value)

    def validate_channel_text(self, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key.isdigit():
                raise serializers.ValidationError(_("Keys are channel ids."))
        return value

    def validate_languages(self, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for code, version in value.items():
            if not LANGUAGE_CODE.fullmatch(code):
                raise serializers.ValidationError(_("Keys are language codes, such as “es”."))
            for field in ("channel_text", "media_alt"):
                if not all(key.isdigit() for key in version.get(field, {})):
                    raise serializers.ValidationError(_("Keys of %(field)s are ids.") % {"field": field})
        return {code: dict(version) for code, version in value.items()}


class PostUpdateSerializer(PostWriteSerializer):
    """A change: fields left out stay as they are. Moving a post waiting for approval or approved into a
    blackout needs `blackout_override_reason` from someone who may give one."""

    department = None
    text = serializers.CharField(allow_blank=True, max_length=20000, required=False)
    due_at = serializers.DateTimeField(required=False)
    channels = serializers.ListField(child=Id(), max_length=50, required=False)
    blackout_override_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class PostActionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    blackout_override_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class MediaAssetSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    department = serializers.IntegerField(source="department_id", read_only=True)
    kind = serializers.CharField(read_only=True)
    original_name = serializers.CharField(read_only=True)
    mime_type = serializers.CharField(read_only=True)
    width = serializers.IntegerField(read_only=True, allow_null=True)
    height = serializers.IntegerField(read_only=True, allow_null=True)
    size_bytes = serializers.IntegerField(read_only=True)
    alt_text = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class MediaUploadSerializer(serializers.Serializer):
    department = Id()
    file = serializers.FileField(help_text=_("An image (JPEG, PNG, GIF, WebP) or an MP4 video."))
    alt_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)

    def validate_department(self, value: int) -> Any:
        department = departments_for_api(user=self.context["request"].user).filter(pk=value).first()
        if department is None:
            raise serializers.ValidationError(_("You are not a member of a department with this id."))
        return department


class CalendarQuerySerializer(serializers.Serializer):
    start = serializers.DateField(help_text=_("First day (inclusive), in UTC."))
    end = serializers.DateField(help_text=_("Last day (inclusive), in UTC; at most 92 days after start."))

    def validate_start(self, value: Any) -> Any:
        _in_range(value)
        return value

    def validate_end(self, value: Any) -> Any:
        _in_range(value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError(_("The end comes before the start."))
        if (attrs["end"] - attrs["start"]).days > 92:
            raise serializers.ValidationError(_("Ask for at most 92 days at a time."))
        return attrs


class CalendarEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    department = serializers.IntegerField(source="department_id", read_only=True)
    status = serializers.ChoiceField(choices=PostStatus.choices, read_only=True)
    due_at = serializers.DateTimeField(read_only=True)
    text = serializers.CharField(read_only=True)
    link = serializers.CharField(read_only=True)
    channels = serializers.SerializerMethodField()
    is_emergency = serializers.BooleanField(read_only=True, default=False)

    def get_channels(self, post: Post) -> list[int]:
        return sorted(channel.pk for channel in post.channels.all())


class CalendarSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    ical_feed_settings = serializers.CharField(
        help_text=_("Where you create your private iCal feed address (the same entries, for calendar apps).")
    )
    entries = CalendarEntrySerializer(many=True)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    problems = serializers.ListField(child=serializers.CharField(), required=False)


# --- The public-records archive (records officers) ---------------------------------------------------


class ArchiveExportSerializer(serializers.Serializer):
    """A records-request export: its filters, progress and, when done, where to download the ZIP bundle."""

    key = serializers.UUIDField(read_only=True)
    reference = serializers.CharField(source="request_reference", read_only=True)
    filters = serializers.DictField(read_only=True)
    status = serializers.CharField(read_only=True)
    total = serializers.IntegerField(read_only=True)
    done = serializers.IntegerField(read_only=True)
    percent = serializers.IntegerField(read_only=True)
    size_bytes = serializers.IntegerField(read_only=True)
    sha256 = serializers.CharField(read_only=True)
    failure_message = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, export: Any) -> str | None:
        if export.status != "done":
            return None
        return reverse("api:archive-export-download", kwargs={"export_key": export.key})


class ArchiveExportRequestSerializer(serializers.Serializer):
    """What a records request covers. Dates are days in the city's time zone, both included."""

    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    date_from = serializers.DateField(required=False, allow_null=True, default=None, validators=[_in_range])
    date_to = serializers.DateField(required=False, allow_null=True, default=None, validators=[_in_range])
    departments = serializers.ListField(child=Id(), required=False, default=list, max_length=500)
    channels = serializers.ListField(child=Id(), required=False, default=list, max_length=500)
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list, max_length=20
    )
