"""`manage.py archive_capture`: runs one capture pass now (the periodic job does it every few minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from archive.services import archive_capture


class Command(BaseCommand):
    help = "Appends what each archive source recorded since its cursor to the archive."

    def handle(self, *args: Any, **options: Any) -> None:
        report = archive_capture()
        for name, count in report.appended.items():
            self.stdout.write(f"{name}: {count} new entries")
        for name, problem in report.problems.items():
            self.stderr.write(f"{name}: {problem}")
