"""Django admin: read-mostly views for support staff. Publishing state only changes through services,
and channel credentials are never shown."""

from django.contrib import admin

from scheduler.models import Channel, Delivery, DeliveryAttempt, Post, PostApproval, PostReview, SandboxPost


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["display_name", "platform", "department", "status", "token_expires_at"]
    list_filter = ["platform", "status", "department"]
    search_fields = ["display_name", "account_handle"]
    exclude = ["credentials"]
    readonly_fields = ["connected_by", "created_at", "updated_at"]


DELIVERY_INLINE_FIELDS = ("channel", "status", "due_at", "attempts", "permalink", "failure_message")


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = DELIVERY_INLINE_FIELDS
    readonly_fields = DELIVERY_INLINE_FIELDS

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Post)
class PostAdmin(ReadOnlyAdmin):
    list_display = ["id", "department", "author", "status", "due_at"]
    list_filter = ["status", "department"]
    search_fields = ["text"]
    inlines = [DeliveryInline]


@admin.register(PostApproval)
class PostApprovalAdmin(ReadOnlyAdmin):
    list_display = ["post", "approved_by", "approved_at", "content_hash"]


@admin.register(PostReview)
class PostReviewAdmin(ReadOnlyAdmin):
    list_display = ["post", "actor", "action", "created_at"]
    list_filter = ["action"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "post", "channel", "status", "due_at", "attempts", "updated_at"]
    list_filter = ["status", "channel__platform"]
    search_fields = ["remote_id", "idempotency_key"]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["delivery", "number", "outcome", "started_at", "finished_at"]
    list_filter = ["outcome"]


@admin.register(SandboxPost)
class SandboxPostAdmin(ReadOnlyAdmin):
    list_display = ["id", "channel", "created_at"]


# Shared calendar (issue 5): blackouts are also managed on the calendar's own page by department admins.
from scheduler.models import BlackoutPeriod  # noqa: E402


@admin.register(BlackoutPeriod)
class BlackoutPeriodAdmin(admin.ModelAdmin):
    list_display = ["reason", "department", "starts_at", "ends_at", "created_by"]
    list_filter = ["department"]
    search_fields = ["reason"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
