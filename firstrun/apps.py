"""The first run of a new installation (issue 19): a checklist for the IT admin and the communications
managers (departments, members, single sign-on, channels, approval policies, a first published post) whose
items tick themselves from the real state of the installation; the navigation links it while it is
incomplete.

Owns no models: it reads departments and scheduler. May import: scheduler and departments (models,
selectors), civicpost helpers; never another app's views, forms, template tags or URLs. Sits beside composer;
only navigation (the composition root of the menu) imports it."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FirstrunConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "firstrun"
    verbose_name = _("Getting started")
