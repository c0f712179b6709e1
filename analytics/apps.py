"""Analytics: what happened to posts after they went out.

Owns: metric snapshots per published delivery (append-only), follower counts per channel per day, posts
found removed on a platform, the per-pass collection state of each channel (rate-limit pauses), X's paid
read usage per department and month, and CivicPost's own short links (`/l/<code>`) with their click counts
and the per-department switch that turns them on.

May import: departments (models, selectors), audit (services), scheduler (models, selectors, the adapter contract and
registry, adapter_changes), civicpost helpers. Nothing below imports analytics: publishing reaches the short
links only through the CIVICPOST_DELIVERY_CONTENT_FILTERS setting. Imports no other app's views, forms or
templates (it sits above scheduler, beside the web layers)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "analytics"
    verbose_name = _("Analytics")
