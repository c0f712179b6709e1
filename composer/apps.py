from django.apps import AppConfig


class ComposerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "composer"
    verbose_name = "Composer: templates, recurring posts, bulk import"
