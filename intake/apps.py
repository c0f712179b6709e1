"""Inbound drafts from the city's own sources: a department subscribes to the feeds the city already
publishes (the website's events calendar as iCal, its news as RSS or Atom); each new item becomes a draft
(and, for an event, an optional reminder draft before it) through scheduler's draft service, so it goes out
only after the normal approval.

Owns FeedSubscription (the URL, the template, the channels, the reminder lead time, the last fetch and its
error) and FeedItem (one per item taken: its stable id, its content hash and its drafts). Fetches through
scheduler.adapters' SSRF guard; parses with feedparser and icalendar.

May import: scheduler (models, services, the SSRF guard), departments, audit, civicpost helpers; never another
app's views, forms, template tags or URLs. Sits above scheduler; the channels page reaches its findings
(`intake.selectors.feed_findings`) through the CIVICPOST_CHANNEL_PAGE_FINDINGS setting."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "intake"
    verbose_name = _("Feeds to drafts")
