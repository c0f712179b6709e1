"""Outbound webhooks: a department's subscriptions to what happens to its posts (Standard Webhooks).

Owns WebhookSubscription (the URL, the encrypted signing secret, the event types) and WebhookDelivery (the
outbox and delivery log: one row per event and subscription, written in the transaction that changed the
post, sent after commit and retried with backoff). Listens to scheduler.events; the pages are for the
department's admins.

May import: scheduler (models, events, selectors, the SSRF guard and HTTP helper of scheduler.adapters),
departments (models, selectors), audit (the recorder), civicpost helpers; never another app's views, forms,
template tags or URLs. Sits above scheduler and below the feature apps; only the API (and civicpost's
composition root) imports it."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        # Connects the outbox writers to scheduler's events once the apps are loaded.
        from webhooks import receivers

        receivers.connect()
