"""Standard Webhooks signatures (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/
standard-webhooks.md, "Signature scheme"): the secret is "whsec_" + base64 of the key bytes; the signed
content is "<webhook-id>.<webhook-timestamp>.<body>"; the header is "v1,<base64 HMAC-SHA256>". Written
out here (a few lines) so that tests/webhooks can check it against the reference `standardwebhooks`
verifier rather than against itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def generate_secret() -> str:
    """Returns a new signing secret: "whsec_" + base64 of 24 random bytes (192 bits)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def sign(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """Returns the webhook-signature header value for one message: "v1,<base64 HMAC-SHA256>"."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")
