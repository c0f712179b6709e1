from django.contrib import admin

from departments.models import ApprovalStep
from governance.models import EmergencyAlert, EmergencyPost, EmergencyReview, EmergencyTemplate
from scheduler.models import ApprovalVote, CrisisHold, PostHold


@admin.register(EmergencyTemplate)
class EmergencyTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "text"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: changed only through the app's pages, which write the audit trail."""

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001, ARG002
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001, ARG002
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001, ARG002
        return False


@admin.register(ApprovalStep)
class ApprovalStepAdmin(ReadOnlyAdmin):
    """A step names who approves, so changing it gives approval rights: only on the policy page
    (departments.views.policy), which asks for the password again, writes the audit trail, and is not open
    to staff accounts as such."""

    list_display = ["department", "position", "name", "mode", "department_approvers", "communications_managers"]
    list_filter = ["department", "mode"]


@admin.register(ApprovalVote)
class ApprovalVoteAdmin(ReadOnlyAdmin):
    list_display = ["post", "step_number", "step_name", "voter", "created_at"]


@admin.register(CrisisHold)
class CrisisHoldAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "reason", "city_wide", "started_by", "ended_at", "ended_by", "release_choice"]


@admin.register(PostHold)
class PostHoldAdmin(ReadOnlyAdmin):
    list_display = ["post", "created_at", "created_by", "released_at", "released_by"]


class EmergencyPostInline(admin.TabularInline):
    model = EmergencyPost
    extra = 0
    can_delete = False
    readonly_fields = ["post", "language"]

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001, ARG002
        return False


@admin.register(EmergencyAlert)
class EmergencyAlertAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "title", "created_by"]
    inlines = [EmergencyPostInline]


@admin.register(EmergencyReview)
class EmergencyReviewAdmin(ReadOnlyAdmin):
    list_display = ["alert", "reviewed_by", "reviewed_at"]
