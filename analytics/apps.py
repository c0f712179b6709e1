"""Analytics: what happened to posts after they went out.

Owns: metric snapshots per published delivery (append-only), follower counts per channel per day, posts
found removed on a platform, the per-pass collection state of each channel (rate-limit pauses), X's paid
read usage per department and month, CivicPost's own short links (`/l/<code>`) with their click counts
and the per-department switch that turns them on, and the weekly reports sent. Reads: the department and
city figures (`figures.py`, aggregated in SQL), best time to post, channel health (`health.py`, extensible
through CIVICPOST_HEALTH_CHECKS), the weekly e-mail report (`weekly.py`).

May import: departments (models, selectors), audit (the recorder), medialibrary (models: which posts had an
image), scheduler (models, selectors, the adapter contract and registry, adapter_changes), civicpost helpers;
never another app's views, forms, template tags or URLs. It sits above scheduler and below composer (whose
counter uses `shortlinks.short_link_preview` and whose compose page shows `selectors.best_times_for_department`)
and api (/api/v1/analytics/); nothing at or below scheduler imports it: publishing reaches the short links only
through the CIVICPOST_DELIVERY_CONTENT_FILTERS setting, which the composition root (civicpost/settings.py)
fills."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "analytics"
    verbose_name = _("Analytics")
