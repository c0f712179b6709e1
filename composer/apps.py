"""The composer: compose and edit a post (compose_views, compose_forms.PostForm, the live check, autosave,
versions), recurring series, CSV import, post templates, composer hints and the one-message-per-series/import
e-mails. Its post pages keep their "scheduler:" URL names (civicpost/urls.py). Imports scheduler,
medialibrary, departments, audit and civicpost."""

from django.apps import AppConfig


class ComposerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "composer"
    verbose_name = "Composer: templates, recurring posts, bulk import"
