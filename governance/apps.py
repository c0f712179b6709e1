from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance: approval policies, crisis holds, emergency posts"
    default_auto_field = "django.db.models.BigAutoField"
