"""The media library: files, their cleaning and storage, and who may delete them (medialibrary.rules).
Imports departments, audit and civicpost (and scheduler's time labels until they move to civicpost/)."""

from django.apps import AppConfig


class MedialibraryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "medialibrary"
    verbose_name = "Media library"
