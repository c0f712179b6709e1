"""Shared helpers for the chaos run and the benchmarks: throwaway PostgreSQL and Redis servers, the fake
platform as a process, Celery workers and dispatchers as supervised processes, /proc readings.

Everything listens on 127.0.0.1 only. Servers started here are removed by `stop()` / the context
managers, even when the run fails.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
CHAOS_SETTINGS = "bench._chaos_settings"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 0.2) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as error:  # noqa: BLE001 - keep polling
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s ({last_error!r})")


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


# --- /proc readings ----------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    return children


def process_tree(pid: int) -> list[int]:
    children = _children_map()
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (its own threads; reaped children are not included)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_seconds_precise(pid: int) -> float:
    """CPU time of one process from /proc/<pid>/schedstat (nanoseconds), for operations shorter than the
    10 ms clock tick `cpu_seconds` counts in; falls back to `cpu_seconds` where schedstat is missing."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return cpu_seconds(pid)


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in process_tree(pid))


def rss_mb(pid: int, peak: bool = False) -> float:
    key = "VmHWM:" if peak else "VmRSS:"
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TreeSampler(threading.Thread):
    """Samples the CPU and RSS of process trees every `interval` seconds; CPU of processes that exit
    between samples is kept (their last reading)."""

    def __init__(self, roots: dict[str, int], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.interval = interval
        self.stop_event = threading.Event()
        self.peak_rss_mb: dict[str, float] = dict.fromkeys(roots, 0.0)
        self.peak_tree_rss_mb: dict[str, float] = dict.fromkeys(roots, 0.0)
        self._cpu: dict[str, dict[int, float]] = {name: {} for name in roots}

    def sample(self) -> None:
        for name, root in self.roots.items():
            pids = process_tree(root)
            tree_rss = 0.0
            for pid in pids:
                self._cpu[name][pid] = max(self._cpu[name].get(pid, 0.0), cpu_seconds(pid))
                rss = max(rss_mb(pid), rss_mb(pid, peak=True))
                self.peak_rss_mb[name] = max(self.peak_rss_mb[name], rss)
                tree_rss += rss_mb(pid)
            self.peak_tree_rss_mb[name] = max(self.peak_tree_rss_mb[name], tree_rss)

    def cpu_seconds(self, name: str) -> float:
        return sum(self._cpu[name].values())

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)
        self.sample()


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (field 3 onwards), or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def pids_named(command: str) -> list[int]:
    """Processes whose command name (/proc/<pid>/comm) is `command`, whoever runs them."""
    found = []
    for comm in glob.glob("/proc/[0-9]*/comm"):
        try:
            if Path(comm).read_text().strip() == command:
                found.append(int(comm.split("/")[2]))
        except (OSError, ValueError):
            continue
    return found


def postgres_cpu_seconds() -> float:
    """CPU of the whole PostgreSQL server, every database: user + system of each live `postgres` process, plus
    the postmaster's cutime + cstime (the backends that exited and were reaped). A backend that exits between
    two readings moves from the first term to the second with its whole life, so deltas stay right."""
    pids = set(pids_named("postgres"))
    total = 0.0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        if int(fields[1]) not in pids:  # the postmaster: its parent is not a postgres process
            total += (int(fields[13]) + int(fields[14])) / CLK_TCK
    return total


class BackendSampler(threading.Thread):
    """Samples, every `interval` s, the CPU of the PostgreSQL backends connected to one database (their
    process title names it); a backend that exits between samples keeps its last reading."""

    def __init__(self, database: str, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.marker = f" {database} "
        self.interval = interval
        self.stop_event = threading.Event()
        self._cpu: dict[int, float] = {}
        self._start: dict[int, float] = {}

    def sample(self) -> None:
        for pid in pids_named("postgres"):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if self.marker in f"{title} ":
                self._cpu[pid] = max(self._cpu.get(pid, 0.0), cpu_seconds(pid))

    def start(self) -> None:
        self.sample()
        self._start = dict(self._cpu)
        super().start()

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> float:
        """Stops sampling; returns the CPU seconds the database's backends used since `start()`."""
        self.stop_event.set()
        self.join(timeout=5)
        self.sample()
        return sum(cpu - self._start.get(pid, 0.0) for pid, cpu in self._cpu.items())


def named_cpu_seconds(command: str) -> float:
    """User + system CPU of every live process with that command name (e.g. redis-server)."""
    return sum(cpu_seconds(pid) for pid in pids_named(command))


def machine_cpu_seconds() -> tuple[float, float]:
    """Returns (busy, total) jiffies of the whole machine, in seconds."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


# --- Throwaway PostgreSQL ------------------------------------------------------------------------------


def postgres_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found (install PostgreSQL)")
    return found


class TempPostgres:
    """A PostgreSQL cluster in a temporary folder on its own port, run as the `postgres` user when we
    are root (PostgreSQL refuses to run as root). Trust auth on 127.0.0.1 only."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder / "pgdata"
        self.socket_dir = folder / "pgsocket"
        self.logfile = folder / "postgres.log"
        self.port = port or free_port()
        self.run_as = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _run(self, args: list[str], check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        if self.run_as:
            args = ["runuser", "-u", self.run_as, "--", *args]
        return subprocess.run(args, check=check, capture_output=True, text=True, timeout=timeout)

    def init(self) -> TempPostgres:
        self.folder.mkdir(parents=True)
        self.socket_dir.mkdir(parents=True)
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            for path in (self.folder.parent, self.folder, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
            self.folder.parent.chmod(0o755)
        self._run(
            [
                postgres_bin("initdb"),
                "-D",
                str(self.folder),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        with (self.folder / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                # fsync off only matters for an OS crash; every commit still reaches the OS before
                # it is acknowledged, so an immediate shutdown loses nothing.
                "fsync = off\nfull_page_writes = off\nmax_connections = 200\nshared_buffers = 128MB\n"
                "logging_collector = off\n"
            )
        return self

    def start(self) -> None:
        self._run([postgres_bin("pg_ctl"), "-D", str(self.folder), "-l", str(self.logfile), "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._run([postgres_bin("pg_ctl"), "-D", str(self.folder), "-m", mode, "-w", "-t", "60", "stop"], check=False)

    def restart(self, mode: str = "immediate", down_seconds: float = 2.0) -> None:
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()

    def createdb(self, name: str) -> str:
        self._run([postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])
        return f"{self.url}/{name}"

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class TempRedis:
    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self.ping, 20, "redis")

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)

    def restart(self, down_seconds: float = 2.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


# --- The fake platform as a process ---------------------------------------------------------------------


class FakePlatformProcess:
    def __init__(self, folder: Path, **settings: Any) -> None:
        self.port = free_port()
        self.ledger_path = folder / "ledger.jsonl"
        self.settings = settings
        self.process: subprocess.Popen | None = None
        self.logfile = folder / "fakeplatform.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakePlatformProcess:
        args = [PYTHON, "-m", "tests.fakeplatform", "--port", str(self.port), "--ledger", str(self.ledger_path)]
        for name, value in self.settings.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(args, cwd=ROOT, stdout=self.logfile.open("w"), stderr=subprocess.STDOUT)
        wait_until(lambda: self.get("/__health")["ok"], 20, "fake platform")
        return self

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=30) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def control(self, **settings: Any) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.url}/__control", data=json.dumps(settings).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def ledger(self) -> dict[str, Any]:
        return self.get("/__ledger")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- Supervised processes -------------------------------------------------------------------------------


@dataclass
class Managed:
    name: str
    args: list[str]
    env: dict[str, str]
    logfile: Path
    process: subprocess.Popen | None = None
    wanted: bool = True
    restarts: int = 0
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=self.logfile.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill takes its children with it
        )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 20) -> None:
        self.wanted = False
        if not self.alive:
            return
        self.kill(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.process.wait(timeout=10)
        # prefork children that outlived their parent
        self.kill(signal.SIGKILL)


class Supervisor(threading.Thread):
    """Restarts wanted processes that died (crash hooks, random kills, a dispatcher that lost its
    database or broker), like systemd or a container runtime would."""

    def __init__(self, restart_delay: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.managed: dict[str, Managed] = {}
        self.restart_delay = restart_delay
        self.stop_event = threading.Event()
        self.lock = threading.Lock()

    def add(self, item: Managed, start: bool = True) -> Managed:
        with self.lock:
            self.managed[item.name] = item
            if start:
                item.start()
        return item

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            with self.lock:
                for item in self.managed.values():
                    if item.wanted and item.process is not None and item.process.poll() is not None:
                        item.exits.append(item.process.returncode)
                        item.kill()  # orphans of a killed prefork parent
                        time.sleep(self.restart_delay)
                        item.restarts += 1
                        item.start()

    def stop_all(self) -> None:
        self.stop_event.set()
        if self.ident is not None:
            self.join(timeout=5)
        with self.lock:
            for item in self.managed.values():
                item.stop()


def celery_worker(name: str, env: dict[str, str], folder: Path, *, pool: str, concurrency: int) -> Managed:
    args = [
        PYTHON, "-m", "celery", "-A", "civicpost", "worker", "--pool", pool, "--concurrency", str(concurrency),
        "--loglevel", "WARNING", "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-Q", "celery",
    ]  # fmt: skip
    return Managed(name=name, args=args, env=env, logfile=folder / f"{name}.log")


def dispatcher(name: str, env: dict[str, str], folder: Path, *, interval: float = 1.0) -> Managed:
    args = [PYTHON, "manage.py", "publish_due", "--loop", "--interval", str(interval), "--name", name, "-v", "0"]
    return Managed(name=name, args=args, env=env, logfile=folder / f"{name}.log")


def wait_for_workers(folder: Path, names: list[str], timeout: float = 180) -> None:
    """Waits until each named Celery worker announced that it consumes (bench/_chaos_hooks.py)."""
    wait_until(lambda: all((folder / f"ready-{name}").exists() for name in names), timeout, "celery workers")


def wait_for_dispatcher(name: str, timeout: float = 180) -> None:
    from scheduler.models import PublisherHeartbeat

    wait_until(lambda: PublisherHeartbeat.objects.filter(name=name).exists(), timeout, f"dispatcher {name}")


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIVICPOST_CHAOS", "PYTEST", "DJANGO_SETTINGS"))}
    env.update(
        DJANGO_SETTINGS_MODULE=CHAOS_SETTINGS,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        CIVICPOST_ALLOW_LOOPBACK_PLATFORMS="true",
        # Notifications would go to the console of every process; nobody reads them here.
        EMAIL_URL="dummymail://",
        CIVICPOST_X_CONSUMER_KEY="fake-consumer-key",
        CIVICPOST_X_CONSUMER_SECRET="fake-consumer-secret",  # noqa: S106 - the fake accepts any
    )
    if not env.get("CIVICPOST_ENCRYPTION_KEYS"):
        from cryptography.fernet import Fernet

        env["CIVICPOST_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    if not env.get("DJANGO_SECRET_KEY"):
        env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)  # settings refuse to start without one
    env.update(extra)
    return env


def setup_django(env: dict[str, str]) -> None:
    """Configures Django in this (harness) process with the same environment as its children."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextlib.contextmanager
def temp_folder(prefix: str, keep: bool = False) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def write_result(path: str | None, figures: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, default=str))


# --- instruction counts (valgrind --tool=callgrind) ----------------------------------------------------


def under_callgrind() -> bool:
    """True when this process runs under `valgrind --tool=callgrind` (its preload library is loaded)."""
    return "vgpreload" in os.environ.get("LD_PRELOAD", "")


def instructions(fn) -> int | None:  # noqa: ANN001
    """Runs fn and returns the instructions this process executed for it, counted by callgrind, or None
    when not under callgrind. Start the bench with `valgrind --tool=callgrind --instr-atstart=no
    --callgrind-out-file=/tmp/cg.%p .venv/bin/python bench/<script>.py ...`: instruction counts are
    what other processes on a shared machine cannot inflate (CPU time can: caches, frequency, SMT)."""
    if not under_callgrind():
        return None
    pid = str(os.getpid())

    def control(*args: str) -> str:
        return subprocess.run(["callgrind_control", *args, pid], capture_output=True, text=True, check=True).stdout

    control("--instr=on")
    time.sleep(0.5)  # callgrind_control is asynchronous: let it take effect before fn runs
    before = _callgrind_total(control("-e", "-b"))
    fn()
    after = _callgrind_total(control("-e", "-b"))
    control("--instr=off")
    return after - before


def _callgrind_total(report: str) -> int:
    """The instructions counted so far, summed over threads ("Totals: Ir / Th 1  178,375,575")."""
    totals = [
        int(report_line.split()[2].replace(",", ""))
        for report_line in report.split("Frame:", 1)[0].splitlines()
        if report_line.strip().startswith("Th ")
    ]
    if not totals:
        raise RuntimeError(f"no instruction count in callgrind_control -e -b: {report[:300]!r}")
    return sum(totals)
