from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from analytics.models import FollowerSnapshot, MetricSnapshot, RemoteRemoval, ShortLink, ShortLinkSetting


@admin.register(ShortLinkSetting)
class ShortLinkSettingAdmin(admin.ModelAdmin):
    list_display = ("department", "enabled")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records are looked at, never changed here (snapshots are append-only; clicks only the redirect counts)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("delivery", "age", "taken_at", "views", "likes", "shares", "replies", "quotes", "clicks")
    list_select_related = ("delivery",)


@admin.register(FollowerSnapshot)
class FollowerSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("channel", "day", "followers")


@admin.register(RemoteRemoval)
class RemoteRemovalAdmin(ReadOnlyAdmin):
    list_display = ("delivery", "noticed_at", "emailed_at")


@admin.register(ShortLink)
class ShortLinkAdmin(ReadOnlyAdmin):
    list_display = ("code", "platform", "clicks", "created_at")
    search_fields = ("code",)
