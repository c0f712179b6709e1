"""A person's own settings that every app may need to read: today, the interface language they chose (pages
and the e-mails sent to them). Sits at the bottom with audit: imports only civicpost's core helpers, so any
app that tells a person something (scheduler's notifications, governance's digest, monitoring) can read it."""

from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = "People's settings"
