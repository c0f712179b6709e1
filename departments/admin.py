"""Departments in the Django admin. Memberships and city-wide roles are shown here but only changed on
CivicPost's own pages ("People and policies", departments.services): there every change asks for the
password again, is in the audit trail, and nobody gives a role to themselves. The admin would write the
rows directly, so a staff account could make itself an approver."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from departments.models import CityRole, Department, Membership


class ReadOnlyRolesMixin:
    """Shows the rows; adding, changing and deleting happen through departments.services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(ReadOnlyRolesMixin, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role"]
    readonly_fields = ["user", "role"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "is_communications_team"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    search_fields = ["name"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyRolesMixin, admin.ModelAdmin):
    list_display = ["user", "department", "role"]
    list_filter = ["department", "role"]
    search_fields = ["user__email", "user__username"]


@admin.register(CityRole)
class CityRoleAdmin(ReadOnlyRolesMixin, admin.ModelAdmin):
    list_display = ["user", "role", "can_post_emergency", "updated_at"]
    list_filter = ["role", "can_post_emergency"]
    search_fields = ["user__email", "user__username"]
