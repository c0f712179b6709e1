"""Recurring series, CSV import, post templates, composer hints and the one-message-per-series/import
e-mails. Imports scheduler, medialibrary, departments, audit and civicpost."""

from django.apps import AppConfig


class ComposerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "composer"
    verbose_name = "Composer: templates, recurring posts, bulk import"
