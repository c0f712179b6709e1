"""`make run`: the web app and the publisher in one command; Ctrl-C stops both.

Without REDIS_URL the publisher is `publish_due --loop` (deliveries are sent in that process). With
REDIS_URL it is a Celery worker with an embedded beat, so the same path as production is exercised.

A publisher that exits on its own is started again, as systemd's `Restart=always` or compose's `restart:`
do in production (docs/deploy/): Celery workers have been seen to exit under faults (Redis restarting,
a long stall). Publishing loses nothing meanwhile: the database keeps the schedule and the leases."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess  # nosec B404  # starts our own manage.py/celery processes with fixed arguments
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

STOP_TIMEOUT_SECONDS = 15
# Seconds to wait before each restart of a publisher that keeps exiting; a publisher that ran for
# STABLE_SECONDS starts again from the first delay.
RESTART_DELAYS_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_SECONDS = 60.0


def _die_with_parent() -> None:
    """Runs in each child before exec: on Linux, the child gets SIGTERM if this process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: Ctrl-C still reaches the whole process group
        pass


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def site_url_for(addrport: str) -> str:
    """Returns the address "View the post" links should use for a server at addrport ("http://127.0.0.1:8001").

    A server listening on every interface (0.0.0.0 or ::) is reached on this machine through the loopback."""
    host, _, port = addrport.rpartition(":")
    if not host and not port.isdigit():  # "localhost" alone: runserver's default port
        host, port = port, "8000"
    host = (host or "127.0.0.1").strip("[]")
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104  # nosec B104
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def child_environment(*, addrport: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Returns the environment of the web and publisher processes: links in emails and alerts point at the
    address being served, unless the person set CIVICPOST_SITE_URL (in the environment or in .env, which
    settings have already copied into os.environ)."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("CIVICPOST_SITE_URL", site_url_for(addrport))
    return env


class Command(BaseCommand):
    help = "Serve CivicPost and run publishing together (used by `make run`). Ctrl-C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="Where to serve the app.")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between publisher rounds.")
        parser.add_argument("--noreload", action="store_true", help="Do not restart the web server on code changes.")

    def commands(self, *, addrport: str, interval: float, noreload: bool) -> dict[str, list[str]]:
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        web = [*manage, "runserver", addrport, *(["--noreload"] if noreload else [])]
        if settings.REDIS_URL:
            schedule = Path(tempfile.gettempdir()) / f"civicpost-celerybeat-{os.getuid()}"
            publisher = [
                sys.executable, "-m", "celery", "-A", "civicpost", "worker", "--beat",
                "--loglevel", "info", "--concurrency", "2", "--schedule", str(schedule),
            ]  # fmt: skip
        else:
            publisher = [*manage, "publish_due", "--loop", "--interval", f"{interval:g}", "--name", "make-run"]
        return {"web": web, "publisher": publisher}

    def handle(self, *args: object, addrport: str, interval: float, noreload: bool, **options: object) -> None:
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop)

        supervisor = Supervisor(
            self.commands(addrport=addrport, interval=interval, noreload=noreload),
            restartable={"publisher"},
            write=self.stderr.write,
            env=child_environment(addrport=addrport),
        )
        supervisor.start()
        host, _, port = addrport.rpartition(":")
        host = (host or "127.0.0.1").strip("[]")
        how = "by a Celery worker and beat, through Redis" if settings.REDIS_URL else f"every {interval:g} s"
        announced = False

        exit_code = 0
        while not stopping:
            if not announced and _accepts_connections(host, int(port)):
                announced = True
                self.stdout.write(
                    self.style.SUCCESS(
                        f"\nCivicPost is ready: http://{addrport}/  (due posts are published {how})."
                        "\nSign in with a demo account listed above. Press Ctrl-C to stop.\n"
                    )
                )
            stopped_code = supervisor.check()
            if stopped_code is not None:
                exit_code = stopped_code or 1
                break
            time.sleep(0.3)

        self._stop_all(supervisor.processes)
        self.stdout.write("CivicPost stopped.")
        if exit_code:
            sys.exit(exit_code)

    def _stop_all(self, processes: dict[str, subprocess.Popen]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Supervisor:
    """Keeps the child processes of `make run` running.

    A child named in `restartable` (the publisher) that exits is started again after a short delay that
    grows while it keeps exiting; any other child (the web server) that exits stops `make run`, so the
    person sees why."""

    def __init__(
        self,
        commands: dict[str, list[str]],
        *,
        restartable: set[str],
        write: Callable[[str], object],
        clock: Callable[[], float] = time.monotonic,
        env: dict[str, str] | None = None,
    ) -> None:
        self.commands = commands
        # The environment of every child (None: this process's own).
        self.env = env
        self.restartable = restartable
        self.write = write
        self.clock = clock
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.restarts: dict[str, int] = {}
        self.restart_at: dict[str, float] = {}

    def start(self) -> None:
        for name in self.commands:
            self._spawn(name)

    def _spawn(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(self.commands[name], env=self.env, preexec_fn=_die_with_parent)  # noqa: S603, PLW1509  # nosec B603
        self.started_at[name] = self.clock()

    def check(self) -> int | None:
        """Restarts what is due for a restart. Returns the exit code of a child that stopped and is not
        restarted (then everything must stop), else None."""
        now = self.clock()
        for name, process in self.processes.items():
            if process.poll() is None:
                continue
            if name not in self.restartable:
                self.write(f"The {name} process stopped (exit code {process.returncode}); stopping.")
                return process.returncode
            if name not in self.restart_at:
                if now - self.started_at[name] >= STABLE_SECONDS:
                    self.restarts[name] = 0
                count = self.restarts.get(name, 0)
                delay = RESTART_DELAYS_SECONDS[min(count, len(RESTART_DELAYS_SECONDS) - 1)]
                self.restarts[name] = count + 1
                self.restart_at[name] = now + delay
                self.write(
                    f"The {name} process stopped (exit code {process.returncode}); starting it again in {delay:g} s."
                )
            elif now >= self.restart_at[name]:
                del self.restart_at[name]
                self._spawn(name)
                self.write(f"The {name} process was started again (pid {self.processes[name].pid}).")
        return None
