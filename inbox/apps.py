"""Inbox: what residents say to the city's accounts (replies, comments, mentions), answered and moderated on the
record (issue 15).

Owns: captured conversation items (one per channel and platform id, threaded under the delivery they answer),
each channel's read cursor and pause, the department's inbox settings (urgency keywords, who is told, the
response-time target, whether replies need approval), saved replies, internal notes, assignment and status, the
city's numbered social media policy clauses, and moderation actions with the item as it was before each one.
Also Meta's Instagram webhook for @mentions (inbox.hooks, public but signed) and the mention notices it keeps until
each mention is read into the inbox (inbox.mentions).

May import: departments (models, selectors), audit (the recorder), scheduler (models, selectors, services
— replies go out as scheduler Posts through `scheduler.services.reply_create` —, the adapter contract and
registry, adapter_changes), analytics (the paid-read budget of X), civicpost helpers; never another app's views,
forms, template tags or URLs. Above scheduler; the records archive (above it) reads `inbox.selectors`."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "inbox"
    verbose_name = _("Inbox")
