"""Benchmark: the first request of each main page after the web server starts (issue 18, goal <= 1 s).

    .venv/bin/python bench/first_request.py [--server embedded|gunicorn|both] [--pages dashboard,calendar,...]

Builds the demo city as `make run` does (a fresh SQLite file, `migrate`, `seed_demo`, DJANGO_DEBUG=true),
signs the Parks admin in (a session row), then for each page starts the server afresh and times
that page's first hit, then its second. Servers:

- `embedded`: `manage.py run_embedded` exactly as `make run` starts it (runserver with its autoreloader,
  the dispatcher loop and the worker beside it);
- `gunicorn`: the production command of the Dockerfile / systemd unit (`gunicorn civicpost.wsgi --preload`,
  one worker), DJANGO_DEBUG=false.

Prints, per server and page: first and second request in ms, and the seconds from starting the server to
its accepting connections (what the warm-up in civicpost/wsgi.py moved out of the first request), with the
machine's load average (wall times; the machine is shared).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PYTHON, ROOT, base_env, free_port, log, temp_folder, tree_cpu_seconds, wait_until

SIGN_IN = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from departments.selectors import department_ids_for_user
from scheduler.models import Post
user = get_user_model().objects.get(email="parks-admin@city.example")
client = Client()
client.force_login(user)
own = Post.objects.filter(department_id__in=department_ids_for_user(user=user), status="draft").order_by("id").first()
any_post = Post.objects.order_by("id").first()
print(json.dumps({"session": client.cookies["sessionid"].value, "pages": {
    "dashboard": reverse("scheduler:dashboard"),
    "calendar month": reverse("scheduler:calendar_month"),
    "calendar week": reverse("scheduler:calendar_week"),
    "compose": reverse("scheduler:post_create"),
    "edit post": reverse("scheduler:post_edit", args=[own.pk]),
    "post": reverse("scheduler:post_detail", args=[any_post.pk]),
    "approvals queue": reverse("scheduler:approval_queue"),
    "channels": reverse("scheduler:channel_list"),
    "connect a channel": reverse("connections:start"),
    "media library": reverse("medialibrary:library"),
    "audit trail": reverse("audit:trail"),
    "security": reverse("accounts:security"),
}}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def get(port: int, path: str, session: str, timeout: float = 60) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": f"sessionid={session}", "Host": "127.0.0.1"})
    response = connection.getresponse()
    response.read()
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    return response.status, elapsed


def accepts(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def server_command(kind: str, port: int) -> list[str]:
    if kind == "embedded":
        return [PYTHON, "manage.py", "run_embedded", f"127.0.0.1:{port}", "--interval", "5"]
    return [
        PYTHON, "-m", "gunicorn", "civicpost.wsgi", "--preload", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--timeout", "60", "--log-level", "warning",
    ]  # fmt: skip


def measure(
    kind: str, env: dict[str, str], folder: Path, path: str, session: str, *, warm_up: bool
) -> dict[str, float]:
    """Starts a server, waits until it accepts connections, times the page's first and second request (wall,
    and CPU of the server's process tree, which the machine's load does not inflate), stops the server."""
    port = free_port()
    env = dict(env, CIVICPOST_WARM_UP="true" if warm_up else "false")
    if kind == "gunicorn":
        env["DJANGO_DEBUG"] = "false"
        env["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1"
        env["CIVICPOST_SECURE_COOKIES"] = "false"
    started = time.perf_counter()
    process = subprocess.Popen(
        server_command(kind, port),
        cwd=ROOT,
        env=env,
        stdout=(folder / f"{kind}.log").open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: accepts(port), 120, f"{kind} server", interval=0.05)
        ready = time.perf_counter() - started
        time.sleep(0.5)  # let the embedded loop's first tick pass
        cpu_before = tree_cpu_seconds(process.pid)
        status, first = get(port, path, session)
        cpu_first = tree_cpu_seconds(process.pid) - cpu_before
        _, second = get(port, path, session)
        if status != 200:
            raise RuntimeError(f"{path} answered {status} on {kind} (see {folder}/{kind}.log)")
        return {"start_s": ready, "first_ms": first, "first_cpu_ms": cpu_first * 1000, "second_ms": second}
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="both", choices=["embedded", "gunicorn", "both"])
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    parser.add_argument(
        "--warm-up", default="off,on", help="run with the start-up warm-up off (as before issue 18), on, or both"
    )
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)
    kinds = ["embedded", "gunicorn"] if args.server == "both" else [args.server]
    with temp_folder("civicpost-first-") as folder:
        env = base_env(
            DJANGO_SETTINGS_MODULE="civicpost.settings",
            DJANGO_DEBUG="true",
            CIVICPOST_REQUIRE_MFA="false",
            CIVICPOST_SQLITE_PATH=str(folder / "db.sqlite3"),
            CIVICPOST_LOG_LEVEL="WARNING",
        )
        for name in ("DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)  # `make run`: SQLite, no Redis
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        signed_in = json.loads(manage(env, "shell", "-c", SIGN_IN).strip().splitlines()[-1])
        pages: dict[str, str] = signed_in["pages"]
        if args.pages:
            pages = {name: pages[name] for name in args.pages.split(",")}
        results: dict[str, dict[str, dict[str, float]]] = {}
        print("first_request")
        for kind in kinds:
            for mode in args.warm_up.split(","):
                label = f"{kind}, warm-up {mode}"
                results[label] = {}
                for name, path in pages.items():
                    log(f"first_request: {label}: {name}")
                    figures = measure(kind, env, folder, path, signed_in["session"], warm_up=mode == "on")
                    results[label][name] = figures
                    print(
                        f"{label:<20} {name:<18} first={figures['first_ms']:7.0f} ms"
                        f" (server cpu {figures['first_cpu_ms']:6.0f} ms)  second={figures['second_ms']:6.0f} ms"
                        f"  server_start={figures['start_s']:5.1f} s  load_1m={os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
                worst = max(results[label].values(), key=lambda f: f["first_cpu_ms"])
                worst_wall = max(f["first_ms"] for f in results[label].values())
                print(
                    f"{label}: slowest first request: server cpu {worst['first_cpu_ms']:.0f} ms,"
                    f" wall {worst_wall:.0f} ms"
                )
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
