from django.core.management.base import BaseCommand, CommandParser

from governance.digest import approval_digest_send, digest_day


class Command(BaseCommand):
    help = "Emails each approver the posts waiting for them (once per person per day unless --force)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Send again even if today's digest went out.")

    def handle(self, *args: object, **options: object) -> None:
        sent = approval_digest_send(day=digest_day(), force=bool(options["force"]))
        self.stdout.write(f"Approval digests sent: {sent}")
