from django.contrib import admin

from medialibrary.models import MediaAsset


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = ["original_name", "department", "kind", "mime_type", "size_bytes", "created_at"]
    list_filter = ["department", "kind"]
    search_fields = ["original_name", "alt_text"]
    readonly_fields = ["file_name", "mime_type", "width", "height", "size_bytes", "sha256", "uploaded_by", "created_at"]
