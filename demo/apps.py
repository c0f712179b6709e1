"""The demo city that `make run` loads (`manage.py seed_demo`): departments, people, channels and posts in
every state. Top of the layers: may import any app; nothing imports it."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo city"
