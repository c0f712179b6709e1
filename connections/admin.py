from django.contrib import admin

from connections.models import MastodonApp


@admin.register(MastodonApp)
class MastodonAppAdmin(admin.ModelAdmin):
    """Read-only view of the per-instance registrations; the client secret is never shown."""

    list_display = ("instance_url", "client_id", "redirect_uri", "created_at")
    fields = ("instance_url", "redirect_uri", "scopes", "client_id", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
