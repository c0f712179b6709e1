from django.apps import AppConfig


class NavigationConfig(AppConfig):
    name = "navigation"
    default_auto_field = "django.db.models.BigAutoField"
