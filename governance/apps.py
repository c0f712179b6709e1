"""Crisis-hold, per-post-hold and emergency pages and their orchestration (permission checks in
governance.rules, then scheduler.services.holds), emergency alerts and templates, the approval-policy pages
and the daily approval digest. Imports scheduler, departments, audit, accounts (reauth) and civicpost."""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance: approval policies, crisis holds, emergency posts"
    default_auto_field = "django.db.models.BigAutoField"
