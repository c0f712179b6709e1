"""The chaos run: proof that publishing holds under crashed workers, restarted Redis and PostgreSQL and a
misbehaving platform (shared/reliability.md, "How to prove it"; issue 7).

    .venv/bin/python bench/chaos.py [--deliveries 2000] [--workers 2] [--duration 180]

It starts its own throwaway PostgreSQL (initdb in a temporary folder, own port) and redis-server (own
port) and the fake platform (tests/fakeplatform, dropping 10% of answers after storing the post), all on
127.0.0.1; migrates; builds a small city whose Mastodon, X and Facebook channels point at the fake;
schedules the deliveries over `--duration` seconds, among them posts edited after approval (which must
not go out edited), posts altered in the database behind the approval's back, and posts never
approved; runs `--workers` Celery worker processes and the dispatcher (`publish_due --loop`, two at
once for the middle half); SIGKILLs workers at random moments and at each crash point (bench/_chaos_hooks.py);
restarts Redis once and PostgreSQL once; waits for every delivery to settle; then compares the fake's
ledger with the database and prints one line per figure. Everything it started is removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    FakePlatformProcess,
    Supervisor,
    TempPostgres,
    TempRedis,
    base_env,
    celery_worker,
    dispatcher,
    log,
    manage,
    percentile,
    setup_django,
    temp_folder,
    wait_for_dispatcher,
    wait_for_workers,
    write_result,
)

FIGURES = (
    "deliveries",
    "published",
    "failed_with_reason",
    "needs_attention",
    "duplicates",
    "lost",
    "unapproved_published",
    "p50_lateness_s",
    "p99_lateness_s",
    "kills",
    "restarts",
)
EDIT_MARKER = " EDITED-AFTER-APPROVAL"
TAMPER_MARKER = " TAMPERED-IN-DATABASE"
NEVER_MARKER = " NEVER-APPROVED"
LEAD_IN = 10.0  # seconds between the end of seeding and the first due time
# The platforms of the chaos city whose adapters take threads of posts (each part a reply to the one before).
THREAD_PLATFORMS = ("mastodon", "x")
DEFAULT_CRASH_AT = "after_claim:{p},after_sending:{p},after_accept:{p},after_db_write:{p},dispatcher_after_claim:{p}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=2000, help="deliveries to schedule (default 2000)")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=4, help="prefork children per worker (default 4)")
    parser.add_argument("--duration", type=float, default=180, help="seconds over which deliveries fall due")
    parser.add_argument("--drain-timeout", type=float, default=600, help="seconds to wait for deliveries to settle")
    parser.add_argument("--kills", type=int, default=None, help="random worker SIGKILLs (default duration/30, >= 2)")
    parser.add_argument("--crash-probability", type=float, default=0.01, help="per crash point and pass")
    parser.add_argument("--drop", type=float, default=0.10, help="share of posts the fake stores then drops")
    parser.add_argument("--other-faults", type=float, default=0.01, help="share each of 429, 5xx, drop-before, slow")
    parser.add_argument(
        "--platform-duplicate-check",
        action="store_true",
        help="let the fake refuse exact repeats like X/Facebook do (off: any double post is counted)",
    )
    parser.add_argument("--edited", type=float, default=0.05, help="share of posts edited after approval")
    parser.add_argument("--tampered", type=float, default=0.03, help="share of posts altered in the database")
    parser.add_argument("--unapproved", type=float, default=0.03, help="share of posts never approved")
    parser.add_argument(
        "--threads",
        type=float,
        default=0.0,
        help="share of posts that are threads of --thread-parts parts on the Mastodon and X channels (default 0)",
    )
    parser.add_argument("--thread-parts", type=int, default=3, help="parts per thread (default 3)")
    parser.add_argument(
        "--replies",
        type=float,
        default=0.0,
        help="share of posts that are inbox replies to a resident on Mastodon (default 0: the classic run)",
    )
    parser.add_argument("--no-restarts", action="store_true", help="do not restart Redis and PostgreSQL")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", dest="json_out", default=None, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, ledger)")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless duplicates = lost = unapproved = 0")
    return parser.parse_args(argv)


def db_retry(action, attempts: int = 60):  # noqa: ANN001, ANN201
    """Runs a harness database action, waiting out the PostgreSQL restart."""
    from django.db import DatabaseError, close_old_connections, connections

    for attempt in range(attempts):
        try:
            close_old_connections()
            return action()
        except DatabaseError:
            connections.close_all()
            if attempt == attempts - 1:
                raise
            time.sleep(1)
    return None


class ChaosRun:
    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args = args
        self.folder = folder
        self.rng = random.Random(args.seed)  # noqa: S311
        self.tag = f"run{self.rng.randrange(10**6)}"
        self.postgres = TempPostgres(folder)
        self.redis = TempRedis(folder)
        other = args.other_faults
        self.fake = FakePlatformProcess(
            folder,
            p_drop=args.drop,
            p_rate_limit=other,
            rate_limit_reset_seconds=5,
            p_server_error=other,
            p_drop_before=other,
            p_slow=other,
            slow_seconds=6,
            latency_ms=10,
            latency_jitter_ms=40,
            duplicate_check=str(args.platform_duplicate_check).lower(),
            seed=args.seed if args.seed is not None else self.rng.randrange(10**6),
        )
        self.supervisor = Supervisor()
        self.random_kills = 0
        self.service_restarts: list[str] = []
        self.edits: dict[int, str] = {}
        self.tampered: set[int] = set()
        self.unapproved_posts: list[int] = []
        self.thread_posts: list[int] = []
        self.reply_posts: list[int] = []

    # --- set-up -----------------------------------------------------------------------------

    def start_services(self) -> dict[str, str]:
        log(f"chaos: temporary folder {self.folder}")
        self.postgres.init().start()
        database_url = self.postgres.createdb("civicpost_chaos")
        self.redis.start()
        self.fake.start()
        log(f"chaos: postgres :{self.postgres.port}, redis :{self.redis.port}, fake platform {self.fake.url}")
        return base_env(
            DATABASE_URL=database_url,
            DATABASE_CONN_MAX_AGE="0",
            REDIS_URL=self.redis.url,
            CIVICPOST_PLATFORM_URLS=f"x={self.fake.url},facebook={self.fake.url}",
            CIVICPOST_DISPATCH_INTERVAL_SECONDS="1",
            CIVICPOST_CLAIM_LEASE_SECONDS="15",
            # The send lease must outlast the task time limit (settings refuse otherwise); the soft limit is
            # 30 s below the hard one.
            CIVICPOST_SEND_LEASE_SECONDS="45",
            CELERY_TASK_TIME_LIMIT="40",
            CIVICPOST_HTTP_TIMEOUT_SECONDS="3",
            CIVICPOST_CACHE_PREFIX="chaos",
        )

    def seed(self) -> dict[str, Any]:
        from django.utils import timezone

        from bench._city import create_city, post_text, schedule_approved_post, schedule_unapproved_post
        from scheduler.models import Delivery

        city = create_city(fake_url=self.fake.url)
        self.city = city
        # Posts are approved through the real services, which want a future time; seeding takes a while,
        # so everything is scheduled two hours ahead and moved to the real window once all is in place.
        provisional = timezone.now() + dt.timedelta(hours=2)
        made, number = 0, 0
        plan: list[tuple[float, str, int]] = []
        started = time.monotonic()
        while made < self.args.deliveries:
            number += 1
            department = self.rng.choice(city.departments)
            channels = city.channels[department.pk]
            chosen = self.rng.sample(channels, k=min(self.rng.randint(1, len(channels)), self.args.deliveries - made))
            offset = self.rng.uniform(0, self.args.duration)
            due_at = provisional + dt.timedelta(seconds=offset)
            if self.args.replies and self.rng.random() < self.args.replies:
                mastodon = [channel for channel in channels if channel.platform == "mastodon"]
                if mastodon:
                    self.seed_reply(department, mastodon[0], post_text(self.rng, number, self.tag), due_at)
                    made += 1
                    continue
            roll = self.rng.random()
            if roll < self.args.unapproved:
                post = schedule_unapproved_post(
                    city=city,
                    department=department,
                    channels=chosen,
                    text=post_text(self.rng, number, self.tag, NEVER_MARKER),
                    due_at=due_at,
                    request_changes=self.rng.random() < 0.5,
                )
                self.unapproved_posts.append(post.pk)
                continue
            thread_parts = None
            if self.args.threads and self.rng.random() < self.args.threads:
                # A thread: only channels that take threads, one delivery per part and channel.
                takers = [c for c in channels if c.platform in THREAD_PLATFORMS]
                room = (self.args.deliveries - made) // self.args.thread_parts
                if takers and room >= 1:
                    chosen = self.rng.sample(takers, k=min(self.rng.randint(1, len(takers)), room))
                    thread_parts = [
                        post_text(self.rng, number, self.tag, f" (part {part}/{self.args.thread_parts})")
                        for part in range(2, self.args.thread_parts + 1)
                    ]
            post = schedule_approved_post(
                city=city,
                department=department,
                channels=chosen,
                text=post_text(self.rng, number, self.tag),
                due_at=due_at,
                thread_parts=thread_parts,
            )
            made += len(chosen) * (1 + len(thread_parts or []))
            if thread_parts:
                self.thread_posts.append(post.pk)
            if roll < self.args.unapproved + self.args.edited and offset > 10:
                plan.append((offset - self.rng.uniform(0.5, 10), "edit", post.pk))
            elif roll < self.args.unapproved + self.args.edited + self.args.tampered and offset > 10:
                plan.append((offset - self.rng.uniform(0.5, 10), "tamper", post.pk))
        log(f"chaos: scheduled {made} deliveries in {number} posts ({time.monotonic() - started:.0f} s)")
        assert Delivery.objects.count() == made
        self.provisional = provisional
        return {"events": plan, "deliveries": made}

    def seed_reply(self, department: Any, channel: Any, text: str, due_at: dt.datetime) -> None:
        """An inbox reply through scheduler.services.reply_create (approved automatically, as by default), answering
        a resident's status; due with the others once the window opens."""
        from scheduler.adapters.base import ReplyTarget
        from scheduler.models import Delivery, Post
        from scheduler.services import reply_create

        resident_status = str(7_000_000 + len(self.reply_posts))
        # The fake refuses a reply to a status it does not know (Mastodon: 404), as the real server does.
        self.fake.control(mastodon_resident_statuses=[resident_status])
        post = reply_create(
            author=self.city.editors[department.pk],
            channel=channel,
            text=text,
            reply_to=ReplyTarget(remote_id=resident_status),
        )
        Post.objects.filter(pk=post.pk).update(due_at=due_at)
        Delivery.objects.filter(post=post).update(due_at=due_at, next_attempt_at=due_at)
        self.reply_posts.append(post.pk)

    def open_window(self) -> None:
        """Moves every due time so that the window starts LEAD_IN seconds from now."""
        from django.db.models import F
        from django.utils import timezone

        from scheduler.models import Delivery, Post

        shift = timezone.now() + dt.timedelta(seconds=LEAD_IN) - self.provisional
        Delivery.objects.update(due_at=F("due_at") + shift, next_attempt_at=F("next_attempt_at") + shift)
        Post.objects.update(due_at=F("due_at") + shift)
        window_start = self.provisional + shift
        # time.monotonic() at the window start: event times are offsets from it
        self.clock_zero = time.monotonic() + (window_start - timezone.now()).total_seconds()

    # --- the run ----------------------------------------------------------------------------

    def timeline(self, plan: list[tuple[float, str, int]]) -> list[tuple[float, str, int]]:
        duration = self.args.duration
        events = list(plan)
        events.append((0.25 * duration, "dispatcher_b_start", 0))
        events.append((0.75 * duration, "dispatcher_b_stop", 0))
        if not self.args.no_restarts:
            events.append((0.40 * duration, "restart_redis", 0))
            events.append((0.60 * duration, "restart_postgres", 0))
        kills = self.args.kills if self.args.kills is not None else max(2, int(duration / 30))
        for _ in range(kills):
            events.append((self.rng.uniform(0.05, 0.95) * duration, "kill_worker", 0))
        heapq.heapify(events)
        return events

    def run_event(self, kind: str, target: int) -> None:
        if kind == "edit":
            self.edit_post(target)
        elif kind == "tamper":
            self.tamper_post(target)
        elif kind == "kill_worker":
            workers = [m for name, m in self.supervisor.managed.items() if name.startswith("worker") and m.alive]
            if workers:
                victim = self.rng.choice(workers)
                log(f"chaos: SIGKILL {victim.name}")
                victim.kill()
                self.random_kills += 1
        elif kind == "restart_redis":
            log("chaos: restarting Redis (its queue is lost)")
            self.redis.restart()
            self.service_restarts.append("redis")
        elif kind == "restart_postgres":
            log("chaos: restarting PostgreSQL (immediate shutdown)")
            self.postgres.restart("immediate")
            self.service_restarts.append("postgres")
        elif kind == "dispatcher_b_start":
            log("chaos: second dispatcher on")
            self.supervisor.add(dispatcher("dispatcher-b", self.child_env, self.folder))
        elif kind == "dispatcher_b_stop":
            log("chaos: second dispatcher off")
            self.supervisor.managed["dispatcher-b"].stop()

    def edit_post(self, post_id: int) -> None:
        from civicpost.exceptions import ApplicationError
        from scheduler.models import Post
        from scheduler.services import post_update

        def edit() -> str:
            post = Post.objects.get(pk=post_id)
            try:
                post_update(
                    post=post,
                    user=self.city.editors[post.department_id],
                    text=post.text + EDIT_MARKER,
                    link=post.link,
                    channels=list(post.channels.all()),
                    due_at=post.due_at,
                )
            except ApplicationError as error:
                return f"refused: {error}"
            return "edited"

        self.edits[post_id] = db_retry(edit)

    def tamper_post(self, post_id: int) -> None:
        from scheduler.models import Post

        def tamper() -> None:
            post = Post.objects.get(pk=post_id)
            Post.objects.filter(pk=post_id).update(text=post.text + TAMPER_MARKER)

        db_retry(tamper)
        self.tampered.add(post_id)

    def pending(self) -> int:
        from scheduler.models import PENDING_DELIVERY_STATUSES, Delivery

        return db_retry(lambda: Delivery.objects.filter(status__in=PENDING_DELIVERY_STATUSES).count())

    def execute(self) -> dict[str, Any]:
        env = self.start_services()
        log("chaos: migrating")
        manage(env, "migrate", "--noinput")
        setup_django(env)
        seeded = self.seed()
        crash_at = DEFAULT_CRASH_AT.format(p=self.args.crash_probability) if self.args.crash_probability > 0 else ""
        self.child_env = {**env, "CIVICPOST_CHAOS_CRASH_AT": crash_at, "CIVICPOST_CHAOS_DIR": str(self.folder)}
        for index in range(self.args.workers):
            self.supervisor.add(
                celery_worker(
                    f"worker{index + 1}", self.child_env, self.folder, pool="prefork", concurrency=self.args.concurrency
                )
            )
        self.supervisor.add(dispatcher("dispatcher-a", self.child_env, self.folder))
        self.supervisor.start()
        try:
            wait_for_workers(self.folder, [f"worker{index + 1}" for index in range(self.args.workers)])
            wait_for_dispatcher("dispatcher-a")
        except TimeoutError as error:
            tail = (self.folder / "worker1.log").read_text(errors="replace")[-3000:]
            raise TimeoutError(f"{error}; worker1.log ends with:\n{tail}") from error
        log("chaos: workers and dispatcher running; the due window opens")
        self.open_window()
        events = self.timeline(seeded["events"])
        while events:
            at, kind, target = heapq.heappop(events)
            delay = self.clock_zero + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.run_event(kind, target)
        window_end = self.clock_zero + self.args.duration
        time.sleep(max(0.0, window_end - time.monotonic()))
        log(f"chaos: due window over; waiting for {self.pending()} pending deliveries to settle")
        deadline = time.monotonic() + self.args.drain_timeout
        while time.monotonic() < deadline:
            left = self.pending()
            if left == 0:
                break
            time.sleep(2)
        drained_in = self.args.drain_timeout - max(0.0, deadline - time.monotonic())
        log(f"chaos: settled after {drained_in:.0f} s of drain; stopping processes")
        self.supervisor.stop_all()
        figures = self.compare()
        figures["drain_seconds"] = round(drained_in, 1)
        figures["deliveries_scheduled"] = seeded["deliveries"]
        return figures

    # --- the comparison ---------------------------------------------------------------------

    def compare(self) -> dict[str, Any]:
        from scheduler.models import Delivery, DeliveryAttempt, DeliveryStatus
        from scheduler.publishing import NOT_CONFIRMED_MESSAGE

        ledger = self.fake.ledger()
        posts = ledger["posts"]
        by_key: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
        for entry in posts:
            by_key[(entry["platform"], entry["account"], entry["text"])].append(entry)

        deliveries = list(
            Delivery.objects.select_related("approval")
            .order_by("id")
            .values(
                "id",
                "status",
                "failure_message",
                "channel_id",
                "due_at",
                "approval__content",
                "post_id",
                "part",
                "part_count",
            )
        )
        uncertain_ids = set(
            DeliveryAttempt.objects.filter(outcome__in=["unknown", "sending"]).values_list("delivery_id", flat=True)
        )
        status_counts = Counter(d["status"] for d in deliveries)
        # Inbox replies: every copy on the platform must answer the resident's status it was written for.
        replies = [d for d in deliveries if d["approval__content"].get("reply_to")]
        replies_not_as_reply = 0
        for delivery in replies:
            platform, account = self.city.accounts[delivery["channel_id"]]
            wanted = delivery["approval__content"]["reply_to"]["remote_id"]
            for entry in by_key.get((platform, account, delivery["approval__content"]["text"]), []):
                if (entry.get("extra") or {}).get("in_reply_to_id") != wanted:
                    replies_not_as_reply += 1
        matched: set[tuple[str, str, str]] = set()
        duplicates = lost = cancelled_but_sent = failed_but_on_platform = published_not_on_platform = 0
        still_pending = 0
        pending_examples: list[str] = []
        lateness: list[float] = []
        lateness_by_platform: dict[str, list[float]] = defaultdict(list)
        na_on_platform = na_absent = na_unexplained = 0
        na_examples: list[str] = []
        duplicates_by_platform: Counter[str] = Counter()
        duplicate_examples: list[str] = []
        failed_examples: list[str] = []
        na_by_platform: Counter[str] = Counter()
        for delivery in deliveries:
            platform, account = self.city.accounts[delivery["channel_id"]]
            key = (platform, account, part_text(delivery))
            entries = by_key.get(key, [])
            matched.add(key)
            duplicates += max(0, len(entries) - 1)
            if len(entries) > 1:
                duplicates_by_platform[platform] += len(entries) - 1
                outcomes = list(
                    DeliveryAttempt.objects.filter(delivery_id=delivery["id"])
                    .order_by("number")
                    .values_list("outcome", flat=True)
                )
                gaps = sorted(round(e["received_at"] - delivery["due_at"].timestamp(), 1) for e in entries)
                duplicate_examples.append(
                    f"{delivery['id']}:{platform}:{delivery['status']}:{outcomes}:received {gaps}"
                )
            status = delivery["status"]
            if entries:
                first = min(e["received_at"] for e in entries)
                lateness.append(first - delivery["due_at"].timestamp())
                lateness_by_platform[platform].append(first - delivery["due_at"].timestamp())
            if status == DeliveryStatus.CANCELLED:
                if entries:
                    cancelled_but_sent += 1
            elif status == DeliveryStatus.PUBLISHED:
                if not entries:
                    published_not_on_platform += 1
                    lost += 1
            elif status == DeliveryStatus.FAILED:
                if not delivery["failure_message"].strip():
                    lost += 1
                if entries:
                    failed_but_on_platform += 1
                    outcomes = list(
                        DeliveryAttempt.objects.filter(delivery_id=delivery["id"])
                        .order_by("number")
                        .values_list("outcome", flat=True)
                    )
                    failed_examples.append(
                        f"{delivery['id']}:{platform}:{outcomes}:{delivery['failure_message'][:120]}"
                    )
            elif status == DeliveryStatus.NEEDS_ATTENTION:
                na_by_platform[platform] += 1
                if entries:
                    na_on_platform += 1
                else:
                    na_absent += 1
                explained = delivery["id"] in uncertain_ids or "already there" in delivery["failure_message"]
                if not explained or not (
                    NOT_CONFIRMED_MESSAGE in delivery["failure_message"]
                    or "already there" in delivery["failure_message"]
                ):
                    na_unexplained += 1
                    outcomes = list(
                        DeliveryAttempt.objects.filter(delivery_id=delivery["id"])
                        .order_by("number")
                        .values_list("outcome", flat=True)
                    )
                    na_examples.append(f"{delivery['id']}:{platform}:{outcomes}:{delivery['failure_message'][:90]}")
            else:
                still_pending += 1
                lost += 1
                pending_examples.append(f"{delivery['id']}:{platform}:{status}:{delivery['failure_message'][:80]}")
        attempt_rows = list(
            DeliveryAttempt.objects.filter(finished_at__isnull=False).values_list(
                "started_at", "finished_at", "delivery__due_at", "number"
            )
        )
        send_seconds = [(f - s).total_seconds() for s, f, _, _ in attempt_rows]
        first_attempt_delay = [(s - d).total_seconds() for s, _, d, n in attempt_rows if n == 1]
        threads = self.thread_figures(deliveries, by_key) if self.thread_posts else {}
        unmatched = [e for k, group in by_key.items() if k not in matched for e in group]
        marked = [e for e in posts if any(m.strip() in e["text"] for m in (EDIT_MARKER, TAMPER_MARKER, NEVER_MARKER))]
        unapproved = len({e["seq"] for e in unmatched} | {e["seq"] for e in marked}) + cancelled_but_sent
        kills_log = self.folder / "kills.log"
        hook_kills = Counter(
            line.split()[2] for line in kills_log.read_text().splitlines() if line.strip()
        ) if kills_log.exists() else Counter()  # fmt: skip
        worker_restarts = sum(m.restarts for m in self.supervisor.managed.values())
        return {
            "deliveries": len(deliveries),
            "published": status_counts.get(DeliveryStatus.PUBLISHED, 0),
            "failed_with_reason": sum(
                1 for d in deliveries if d["status"] == DeliveryStatus.FAILED and d["failure_message"].strip()
            ),
            "needs_attention": status_counts.get(DeliveryStatus.NEEDS_ATTENTION, 0),
            "duplicates": duplicates,
            "lost": lost,
            "unapproved_published": unapproved,
            "p50_lateness_s": round(percentile(lateness, 50), 2),
            "p99_lateness_s": round(percentile(lateness, 99), 2),
            "kills": self.random_kills + sum(hook_kills.values()),
            "restarts": len(self.service_restarts),
            # details
            "duplicates_by_platform": dict(duplicates_by_platform),
            "duplicate_examples": duplicate_examples[:20],
            "cancelled": status_counts.get(DeliveryStatus.CANCELLED, 0),
            "still_pending": still_pending,
            "still_pending_examples": pending_examples[:20],
            "p50_lateness_by_platform": {p: round(percentile(v, 50), 2) for p, v in lateness_by_platform.items()},
            "published_not_on_platform": published_not_on_platform,
            "failed_but_on_platform": failed_but_on_platform,
            "failed_but_on_platform_examples": failed_examples[:20],
            "needs_attention_on_platform": na_on_platform,
            "needs_attention_absent": na_absent,
            "needs_attention_by_platform": dict(na_by_platform),
            "needs_attention_unexplained": na_unexplained,
            "needs_attention_unexplained_examples": na_examples[:20],
            "p50_send_s": round(percentile(send_seconds, 50), 2),
            "p99_send_s": round(percentile(send_seconds, 99), 2),
            "p50_due_to_first_attempt_s": round(percentile(first_attempt_delay, 50), 2),
            "p99_due_to_first_attempt_s": round(percentile(first_attempt_delay, 99), 2),
            "random_kills": self.random_kills,
            "crash_point_kills": dict(hook_kills),
            "process_restarts": worker_restarts,
            "service_restarts": list(self.service_restarts),
            "edits": dict(Counter(v.split(":")[0] for v in self.edits.values())),
            "tampered_posts": len(self.tampered),
            "never_approved_posts": len(self.unapproved_posts),
            "replies": len(replies),
            "replies_published": sum(1 for d in replies if d["status"] == DeliveryStatus.PUBLISHED),
            "replies_not_sent_as_reply": replies_not_as_reply,
            "ledger_posts": len(posts),
            "fake_stats": ledger["stats"],
            **threads,
        }

    def thread_figures(self, deliveries: list[dict[str, Any]], by_key: dict[tuple[str, str, str], list[dict]]) -> dict:
        """Checks every thread against the fake's ledger: each part on the platform at most once (counted with
        the duplicates above), each later part a reply to the ledger entry of the part before, received after
        it, and never published while the part before is not."""
        chains: dict[tuple[int, int], dict[int, dict[str, Any]]] = defaultdict(dict)
        for delivery in deliveries:
            if delivery["part_count"] > 1:
                chains[(delivery["post_id"], delivery["channel_id"])][delivery["part"]] = delivery
        wrong_parent = out_of_order = published_after_unpublished = complete = stopped = 0
        examples: list[str] = []
        for (post_id, channel_id), parts in chains.items():
            platform, account = self.city.accounts[channel_id]
            entries = {n: by_key.get((platform, account, part_text(d)), []) for n, d in parts.items()}
            if all(d["status"] == "published" for d in parts.values()):
                complete += 1
            elif any(d["status"] in ("failed", "needs_attention") for d in parts.values()):
                stopped += 1
            for number in sorted(parts)[1:]:
                here, before = entries[number], entries[number - 1]
                if parts[number]["status"] == "published" and parts[number - 1]["status"] != "published":
                    published_after_unpublished += 1
                if len(here) != 1 or len(before) != 1:
                    continue
                if reply_target(here[0]) != before[0]["remote_id"]:
                    wrong_parent += 1
                    examples.append(f"post {post_id} {platform} part {number}: replies to {reply_target(here[0])}")
                if here[0]["received_at"] < before[0]["received_at"]:
                    out_of_order += 1
        return {
            "thread_posts": len(self.thread_posts),
            "thread_chains": len(chains),
            "thread_chains_complete": complete,
            "thread_chains_stopped": stopped,
            "thread_parts": sum(len(parts) for parts in chains.values()),
            "thread_reply_mismatches": wrong_parent,
            "thread_parts_out_of_order": out_of_order,
            "thread_parts_published_before_their_parent": published_after_unpublished,
            "thread_examples": examples[:20],
        }

    def cleanup(self) -> None:
        for action in (self.supervisor.stop_all, self.fake.stop, self.redis.stop, self.postgres.remove):
            try:
                action()
            except Exception as error:  # noqa: BLE001 - clean up as much as possible
                log(f"chaos: cleanup step failed: {error!r}")


def part_text(delivery: dict[str, Any]) -> str:
    """The text one delivery sends: the post's text for part 1, else that part of the approved thread."""
    content = delivery["approval__content"]
    part = delivery.get("part", 1)
    return content["text"] if part == 1 else content["thread"][part - 2]


def reply_target(entry: dict[str, Any]) -> str:
    """The remote id a ledger entry answers ("" for a post that answers none): Mastodon's in_reply_to_id, X's
    reply.in_reply_to_tweet_id."""
    extra = entry.get("extra") or {}
    return str(extra.get("in_reply_to_id") or (extra.get("reply") or {}).get("in_reply_to_tweet_id") or "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with temp_folder("civicpost-chaos-", keep=args.keep) as folder:
        run = ChaosRun(args, folder)
        try:
            figures = run.execute()
        finally:
            run.cleanup()
    for name in FIGURES:
        print(f"{name}: {figures[name]}")
    details = {k: v for k, v in figures.items() if k not in FIGURES}
    print("details: " + json.dumps(details, sort_keys=True))
    write_result(args.json_out, figures)
    if args.strict and (figures["duplicates"] or figures["lost"] or figures["unapproved_published"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
