"""Archive: the tamper-evident public record of everything CivicPost published.

Owns: the append-only, hash-chained archive entries (publications and every later event of a published post:
removed on the platform, retracted or corrected through CivicPost, comments and moderation actions from the
inbox, exports, dispositions), the content those entries point to (kept apart so that disposition can remove
it while the chain still verifies), the archived copies of media files, the capture cursors, retention
schedules, legal holds, dispositions, records-request exports and retractions.

Capture pulls: a periodic job asks each registered source (archive.sources) for what happened after its
cursor; no lower app calls the archive.

May import: scheduler (models, selectors, services, rules, snapshots), analytics (models), departments
(models, selectors), medialibrary (storage reads), audit (the recorder), civicpost helpers; never another app's
views, forms, template tags or URLs. Only demo (and the API) sit above it."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArchiveConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "archive"
    verbose_name = _("Archive")
