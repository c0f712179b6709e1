from django.db import models
from django.utils.translation import gettext_lazy as _

from civicpost.crypto import EncryptedJSONField


class MastodonApp(models.Model):
    """CivicPost's OAuth app on one Mastodon instance (platforms.md §6.2: each instance needs its own).

    Registered the first time a department connects an account there and reused for every account on
    that instance afterwards. The client secret is encrypted at rest like every channel token."""

    instance_url = models.URLField(max_length=300, help_text=_("Normalised https://host of the instance."))
    redirect_uri = models.URLField(max_length=500)
    scopes = models.CharField(max_length=300)
    client_id = models.CharField(max_length=300)
    # {"client_secret": "..."}
    secrets = EncryptedJSONField(blank=True, default=dict, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Mastodon app registration")
        constraints = [
            models.UniqueConstraint(
                fields=["instance_url", "redirect_uri", "scopes"], name="one_mastodon_app_per_instance_and_redirect"
            )
        ]

    def __str__(self) -> str:
        return self.instance_url

    @property
    def client_secret(self) -> str:
        return str(self.secrets.get("client_secret", ""))
