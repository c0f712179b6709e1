from django.contrib import admin

from monitoring.models import OverdueAlert


@admin.register(OverdueAlert)
class OverdueAlertAdmin(admin.ModelAdmin):
    list_display = ("delivery", "sent_at", "recipient_count")
    readonly_fields = ("delivery", "sent_at", "recipient_count")

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False
