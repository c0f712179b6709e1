from django.contrib import admin

from composer.models import CsvImport, PostTemplate, RecurringSeries


@admin.register(PostTemplate)
class PostTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "updated_at"]
    list_filter = ["department"]
    search_fields = ["name", "text"]


@admin.register(RecurringSeries)
class RecurringSeriesAdmin(admin.ModelAdmin):
    list_display = ["text", "department", "frequency", "start_date", "local_time", "time_zone", "approval_mode"]
    list_filter = ["department", "frequency"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(CsvImport)
class CsvImportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "uploaded_by", "status", "imported_count", "created_at"]
    readonly_fields = ["uploaded_by", "file_name", "content", "status", "result", "imported_at", "imported_count"]
