from django.contrib import admin

from departments.models import CityRole, Department, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "is_communications_team"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    search_fields = ["name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role"]
    list_filter = ["department", "role"]
    autocomplete_fields = ["user", "department"]


@admin.register(CityRole)
class CityRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "can_post_emergency", "updated_at"]
    list_filter = ["role", "can_post_emergency"]
    autocomplete_fields = ["user"]
    search_fields = ["user__email", "user__username"]
