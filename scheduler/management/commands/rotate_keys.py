"""Re-encrypts every stored secret under the newest key of CIVICPOST_ENCRYPTION_KEYS.

Rotation: put a new key first in CIVICPOST_ENCRYPTION_KEYS (keep the old ones after it), restart,
run this command, then remove the old keys. The stored tokens are rotated as they are (MultiFernet.rotate):
the secrets are never written out in clear, and a row changed meanwhile is left for the next run."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from civicpost.crypto import EncryptedJSONField, rotate_token


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedJSONField]]:
    """Returns every (model, field) pair of the project that stores an encrypted value."""
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedJSONField)
    ]


def rotate_field(*, model: type[models.Model], field: EncryptedJSONField, batch_size: int = 200) -> int:
    """Rotates one column row by row; returns how many rows were rewritten.

    The raw token is read through a plain-text cast so it is never decrypted into memory as JSON, and
    each update is conditional on the token still being the one read."""
    raw = Cast(field.name, output_field=models.TextField())
    manager = model._default_manager
    rows = list(
        manager.annotate(ciphertext=raw)
        .filter(ciphertext__isnull=False)
        .exclude(ciphertext="")
        .values_list("pk", "ciphertext")
        .order_by("pk")
    )
    rotated = 0
    for start in range(0, len(rows), batch_size):
        with transaction.atomic():
            for pk, token in rows[start : start + batch_size]:
                rotated += (
                    manager.annotate(ciphertext=raw)
                    .filter(pk=pk, ciphertext=token)
                    .update(**{field.name: models.Value(rotate_token(token), output_field=models.TextField())})
                )
    return rotated


class Command(BaseCommand):
    help = (
        "Re-encrypt every channel credential (and any other encrypted field) under the first key of "
        "CIVICPOST_ENCRYPTION_KEYS. Run after putting a new key first; then the old keys can be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args: object, batch_size: int, verbosity: int, **options: object) -> None:
        total = 0
        for model, field in encrypted_fields():
            count = rotate_field(model=model, field=field, batch_size=batch_size)
            total += count
            if verbosity > 1:
                self.stdout.write(f"{model._meta.label}.{field.name}: {count} rotated")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} stored secret(s) under the newest key."))
