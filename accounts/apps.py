"""Sign-in, MFA, SSO, re-authentication and sessions: the top layer; may import any app below it."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Sign-in and account security"

    def ready(self) -> None:
        # Connects the signal receivers once the apps are loaded.
        from accounts import receivers  # noqa: F401
