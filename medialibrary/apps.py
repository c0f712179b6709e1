from django.apps import AppConfig


class MedialibraryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "medialibrary"
    verbose_name = "Media library"
