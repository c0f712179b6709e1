"""Analytics: what happened to posts after they went out.

Owns: metric snapshots per published delivery (append-only), follower counts per channel per day, posts
found removed on a platform, the per-pass collection state of each channel (rate-limit pauses), X's paid
read usage per department and month, and CivicPost's own short links (`/l/<code>`) with their click counts
and the per-department switch that turns them on.

May import: departments (models, selectors), audit (the recorder), scheduler (models, selectors, the adapter
contract and registry, adapter_changes), civicpost helpers; never another app's views, forms, template tags or
URLs. It sits above scheduler and below composer (whose counter uses `shortlinks.short_link_preview`); nothing
at or below scheduler imports it: publishing reaches the short links only through the
CIVICPOST_DELIVERY_CONTENT_FILTERS setting, which the composition root (civicpost/settings.py) fills."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "analytics"
    verbose_name = _("Analytics")
