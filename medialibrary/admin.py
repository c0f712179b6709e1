from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from medialibrary.models import MediaAsset
from medialibrary.services import media_asset_delete


def _staff(request: HttpRequest) -> User | None:
    # The admin site lets only signed-in staff in, so this is always the user.
    return request.user if request.user.is_authenticated else None


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = ["original_name", "department", "kind", "mime_type", "size_bytes", "created_at"]
    list_filter = ["department", "kind"]
    search_fields = ["original_name", "alt_text"]
    readonly_fields = ["file_name", "mime_type", "width", "height", "size_bytes", "sha256", "uploaded_by", "created_at"]

    # Through the service, so the files (and their fitted copies) leave storage with the row.
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        media_asset_delete(asset=obj, actor=_staff(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MediaAsset]) -> None:
        for asset in queryset:
            media_asset_delete(asset=asset, actor=_staff(request))
