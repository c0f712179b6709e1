"""Encryption at rest for channel credentials: MultiFernet under a key list from the environment."""

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "CIVICPOST_ENCRYPTION_KEYS is empty. Generate a key with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        )
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError):
            # Never echo the key itself: this message ends up in logs and error pages.
            raise ImproperlyConfigured(
                f"Key {number} of CIVICPOST_ENCRYPTION_KEYS is not a valid Fernet key (32 url-safe "
                "base64-encoded bytes, as printed by Fernet.generate_key())."
            ) from None
    return MultiFernet(fernets)


def fernet() -> MultiFernet:
    """Returns the MultiFernet for the configured keys (newest first). Raises ImproperlyConfigured when
    the list is empty or a key is malformed."""
    return _fernet_for(tuple(key.strip() for key in settings.CIVICPOST_ENCRYPTION_KEYS))


def encrypt_text(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with CIVICPOST_ENCRYPTION_KEYS.") from error


def rotate_token(token: str) -> str:
    """Returns the same secret encrypted under the newest key."""
    return fernet().rotate(token.encode()).decode()


if TYPE_CHECKING:
    # For django-stubs: the attribute holds a dict, not the TextField's str (Django's fields are not
    # subscriptable at run time).
    _DictTextField = models.TextField[dict[str, Any], dict[str, Any]]
else:
    _DictTextField = models.TextField


class EncryptedJSONField(_DictTextField):
    """A JSON object stored as one Fernet token; the database never holds it in clear."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> Any:
        if value is None or value == "":
            return {}
        return json.loads(decrypt_text(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        if not value:
            return {}
        return json.loads(decrypt_text(value))

    def get_prep_value(self, value: Any) -> str:
        return encrypt_text(json.dumps(value or {}, sort_keys=True))

    def value_to_string(self, obj: models.Model) -> str:
        # Serialisation (dumpdata) keeps the ciphertext, never the clear secret.
        return self.get_prep_value(self.value_from_object(obj))
