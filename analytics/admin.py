from django.contrib import admin

from analytics.models import ShortLinkSetting


@admin.register(ShortLinkSetting)
class ShortLinkSettingAdmin(admin.ModelAdmin):
    list_display = ("department", "enabled")
