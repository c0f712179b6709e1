"""`manage.py archive_verify`: recomputes the archive's hash chain and names the first broken entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from archive.chain import chain_verify


class Command(BaseCommand):
    help = "Recomputes the archive's hash chain; names the first entry that was changed, removed or moved."

    def handle(self, *args: Any, **options: Any) -> None:
        result = chain_verify()
        if not result.ok:
            raise CommandError(
                f"Broken at entry #{result.broken_sequence}: {result.problem} "
                f"({result.checked} entries before it verified.)"
            )
        self.stdout.write(
            f"OK: {result.checked} entries verified. Chain head #{result.head_sequence} {result.head_hash}"
        )
