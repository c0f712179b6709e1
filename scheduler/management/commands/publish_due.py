import signal
import time
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, close_old_connections, connections

from civicpost.periodic import EmbeddedPeriodicRunner
from scheduler import publishing
from scheduler.tasks import enqueue_publish


class Command(BaseCommand):
    help = (
        "Publish every approved post that is due (for cron). With --loop, keep running and check every "
        "CIVICPOST_DISPATCH_INTERVAL_SECONDS. Without REDIS_URL the posts are sent in this process; "
        "with it, they are handed to the Celery workers."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--loop", action="store_true", help="Run until stopped.")
        parser.add_argument("--interval", type=float, default=None, help="Seconds between rounds in --loop mode.")
        parser.add_argument("--name", default="publish_due", help="Name of this loop on the health page.")
        parser.add_argument(
            "--housekeeping",
            choices=["auto", "on", "off"],
            default="auto",
            help="In --loop mode, also run the periodic jobs (overdue alerts, token refresh). 'auto': only "
            "when there is no Celery beat, i.e. without REDIS_URL.",
        )

    def handle(
        self, *args, loop: bool, interval: float | None, name: str, housekeeping: str, verbosity: int, **options
    ) -> None:
        interval = interval if interval is not None else settings.CIVICPOST_DISPATCH_INTERVAL_SECONDS
        runs_housekeeping = housekeeping == "on" or (housekeeping == "auto" and settings.CELERY_TASK_ALWAYS_EAGER)
        periodic = EmbeddedPeriodicRunner()
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        if loop:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            self.stdout.write(f"Publisher running: checking for due posts every {interval:g} s.")
        while True:
            if not loop:
                report = publishing.dispatch_tick(enqueue=enqueue_publish, loop_name=name)
                if verbosity > 0 and report.claimed:
                    self.stdout.write(f"published round: {report.as_dict()}")
                return
            try:
                report = publishing.dispatch_tick(enqueue=enqueue_publish, loop_name=name)
            except (OperationalError, InterfaceError) as error:
                # PostgreSQL restarting or briefly unreachable: keep the loop alive and try again.
                self.stderr.write(f"database unavailable ({type(error).__name__}); retrying in {interval:g} s")
                close_old_connections()
                connections.close_all()
            else:
                if verbosity > 1 or (report.claimed and verbosity > 0):
                    self.stdout.write(f"published round: {report.as_dict()}")
            if runs_housekeeping:
                periodic.run_due()
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.2)
            if stopping:
                self.stdout.write("Publisher stopped.")
                return
