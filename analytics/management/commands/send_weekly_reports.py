"""Sends the weekly analytics reports that are due and not yet sent (the periodic job does the same every
hour); `make run` calls it at start so the demo's report shows in the console at once."""

from django.core.management.base import BaseCommand

from analytics.weekly import weekly_reports_send


class Command(BaseCommand):
    help = "Send each department's and the city's weekly report for the last full week, once."

    def handle(self, *args: object, **options: object) -> None:
        sent = weekly_reports_send()
        self.stdout.write(f"Weekly reports sent: {sent}.")
