"""Benchmark: the dispatcher's claim query on a big table.

    .venv/bin/python bench/dispatch_claim.py [--rows 1000000] [--due 500] [--repeat 20]

Fills a fresh PostgreSQL database (default civicpost_bench_claim on 127.0.0.1:5432) with `--rows`
delivery rows, almost all of them long published, some failed or cancelled, some scheduled for the
coming weeks, and `--due` due now. Prints the EXPLAIN (ANALYZE, BUFFERS) of the claim query exactly
as scheduler.publishing.deliveries_claim_due sends it, whether it uses the partial index
delivery_claimable_idx, and the time of one whole claim batch (query, checks, update), measured
`--repeat` times inside a transaction that is rolled back so every round claims the same rows: with a
VACUUM before each round (the goal's figures: a rolled-back round leaves dead row versions and index
entries that production's autovacuum would clear) and, prefixed `no_vacuum_`, back to back without one.
Then the floor: a bare UPDATE of the due rows' status, lease and updated_at, and which indexes each claimed
row gets a new entry in. Goal (issue 7, issue 18): <= 20 ms per batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import base_env, log, manage, percentile, setup_django, write_result
from bench.publish_burst import DEFAULT_PG, fresh_database

CHANNELS_PER_POST = 3


def _column_values(model: Any, known: dict[str, str]) -> tuple[list[str], list[str], list[Any]]:
    """Columns, SQL expressions and parameters for an INSERT ... SELECT into `model`: the expressions in
    `known`, each other column from its field default, so fields added later still insert."""
    from django.db import connection

    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in known:
            continue
        columns.append(f'"{field.column}"')
        if field.name in known:
            expressions.append(known[field.name])
        else:
            default = field.get_default()
            expressions.append("%s")
            params.append(field.get_db_prep_save(default, connection=connection) if default is not None else None)
    return columns, expressions, params


def fill(*, rows: int, due: int) -> dict[str, int]:
    """Inserts posts, approvals and deliveries with generate_series; returns counts by status."""
    from django.db import connection, transaction

    from bench._city import create_city
    from scheduler.models import Delivery, Post, PostApproval
    from scheduler.snapshots import content_hash

    city = create_city(fake_url="http://127.0.0.1:9")
    departments = city.departments
    editor_ids = [city.editors[d.pk].pk for d in departments]
    approver_ids = [city.approvers[d.pk].pk for d in departments]
    channel_ids = [[c.pk for c in city.channels[d.pk]] for d in departments]
    assert all(len(ids) == CHANNELS_PER_POST for ids in channel_ids)
    posts = -(-rows // CHANNELS_PER_POST)
    # Post n: the last `due_posts` are approved and due now, the `future_posts` before them scheduled
    # for the coming 30 days, the rest published over the past year.
    due_posts = -(-due // CHANNELS_PER_POST)
    future_posts = max(1, posts // 50)
    first_due = posts - due_posts + 1
    first_future = first_due - future_posts
    dept = "(n %% 3)"
    array = lambda values: "ARRAY[" + ",".join(str(v) for v in values) + "]"  # noqa: E731
    editors, approvers = array(editor_ids), array(approver_ids)
    department_ids = array([d.pk for d in departments])
    flat_channels = array([c for ids in channel_ids for c in ids])
    when = (
        f"CASE WHEN n >= {first_due} THEN now() - (random() * interval '60 seconds') "
        f"WHEN n >= {first_future} THEN now() + (random() * interval '30 days') "
        f"ELSE now() - (random() * interval '365 days') END"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE bench_posts AS SELECT n, {when} AS due FROM generate_series(1, {posts}) n",  # noqa: S608
            [],
        )
        columns, expressions, params = _column_values(
            Post,
            {
                "department": f"({department_ids})[{dept} + 1]",
                "author": f"({editors})[{dept} + 1]",
                "text": "'Benchmark post ' || n",
                "link": "''",
                "due_at": "due",
                "status": f"CASE WHEN n >= {first_future} THEN 'approved' ELSE 'published' END",
                "current_approval": "NULL",
                "created_at": "due - interval '1 day'",
                "updated_at": "due",
                "submitted_at": "due - interval '1 day'",
            },
        )
        cursor.execute(
            f"INSERT INTO scheduler_post ({', '.join(columns)}) SELECT {', '.join(expressions)} "  # noqa: S608 - our own numbers
            f"FROM bench_posts ORDER BY n",
            params,
        )
        cursor.execute("SELECT min(id) FROM scheduler_post WHERE text LIKE 'Benchmark post %%'", [])
        first_post_id = cursor.fetchone()[0]
        columns, expressions, params = _column_values(
            PostApproval,
            {
                "post": f"{first_post_id} + n - 1",
                "content": "jsonb_build_object('text', 'Benchmark post ' || n, 'link', '', 'due_at', "
                "to_char(due AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
                f"'channel_ids', to_jsonb(({flat_channels})[{dept} * 3 + 1 : {dept} * 3 + 3]))",
                "content_hash": "md5(n::text) || md5(n::text)",
                "approved_by": f"({approvers})[{dept} + 1]",
                "approved_at": "due - interval '12 hours'",
            },
        )
        cursor.execute(
            f"INSERT INTO scheduler_postapproval ({', '.join(columns)}) SELECT {', '.join(expressions)} "  # noqa: S608 - our own numbers
            f"FROM bench_posts ORDER BY n",
            params,
        )
        cursor.execute("SELECT min(id) FROM scheduler_postapproval")
        first_approval_id = cursor.fetchone()[0]
        cursor.execute(
            "UPDATE scheduler_post p SET current_approval_id = a.id "
            "FROM scheduler_postapproval a WHERE a.post_id = p.id",
            [],
        )
        cursor.execute(
            f"INSERT INTO scheduler_post_channels (post_id, channel_id) SELECT {first_post_id} + n - 1, "  # noqa: S608 - our own numbers
            f"({flat_channels})[{dept} * 3 + k] FROM bench_posts, generate_series(1, 3) k",
            [],
        )
        status = (
            f"CASE WHEN n >= {first_due} THEN 'scheduled' "
            f"WHEN n >= {first_future} THEN (CASE WHEN n %% 40 = 0 THEN 'retry_wait' ELSE 'scheduled' END) "
            "WHEN n %% 97 = 0 THEN 'failed' WHEN n %% 89 = 0 THEN 'cancelled' ELSE 'published' END"
        )
        columns, expressions, params = _column_values(
            Delivery,
            {
                "post": f"{first_post_id} + n - 1",
                "channel": f"({flat_channels})[{dept} * 3 + k]",
                "approval": f"{first_approval_id} + n - 1",
                "status": status,
                "idempotency_key": "md5(n::text || '-' || k)::uuid",
                "due_at": "due",
                "next_attempt_at": "due",
                "lease_expires_at": "NULL",
                "attempts": f"CASE WHEN n >= {first_future} THEN 0 ELSE 1 END",
                "remote_id": f"CASE WHEN n < {first_future} THEN (n * 10 + k)::text ELSE '' END",
                "permalink": "''",
                "failure_message": "CASE WHEN n %% 97 = 0 THEN 'Gave up after 5 attempts.' ELSE '' END",
                "published_at": f"CASE WHEN n < {first_future} THEN due + interval '2 seconds' END",
                "created_at": "due - interval '12 hours'",
                "updated_at": "due",
            },
        )
        cursor.execute(
            f"INSERT INTO scheduler_delivery ({', '.join(columns)}) SELECT {', '.join(expressions)} "  # noqa: S608 - our own numbers
            f"FROM bench_posts, generate_series(1, 3) k "
            f"WHERE (n < {first_due} AND (n - 1) * 3 + k <= {rows - due}) "
            f"OR (n >= {first_due} AND (n - {first_due}) * 3 + k <= {due}) ORDER BY n, k",
            params,
        )
    # The due posts need true fingerprints: the claim re-checks them.
    due_approvals = PostApproval.objects.filter(
        post__status="approved", post__deliveries__status="scheduled", post__deliveries__next_attempt_at__lte=time_now()
    ).distinct()
    for approval in due_approvals:
        PostApproval.objects.filter(pk=approval.pk).update(content_hash=content_hash(approval.content))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scheduler_delivery")
        cursor.execute("VACUUM ANALYZE scheduler_post")
        cursor.execute("VACUUM ANALYZE scheduler_postapproval")
        cursor.execute("VACUUM ANALYZE scheduler_channel")
        cursor.execute("SELECT status, count(*) FROM scheduler_delivery GROUP BY status ORDER BY status")
        return dict(cursor.fetchall())


def time_now():  # noqa: ANN201
    from django.utils import timezone

    return timezone.now()


def claim_sql() -> list[tuple[str, tuple]]:
    """Runs one claim in a rolled-back transaction and returns the SQL it sent."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from scheduler.publishing import deliveries_claim_due

    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        deliveries_claim_due()
        transaction.set_rollback(True)
    return [(q["sql"], ()) for q in captured.captured_queries]


def explain(sql: str) -> str:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def time_batches(repeat: int, *, vacuum_between: bool) -> dict[str, list[float]]:
    """Times `repeat` claims, each in a transaction that is rolled back so every round claims the same rows.
    Returns per round: wall ms, the SQL part, the UPDATE part, and CPU ms of this process (Python) and of its
    PostgreSQL backend (nanoseconds from /proc: not inflated by other processes waiting for the cores).

    A rolled-back round leaves its new row versions and index entries behind until a vacuum, so without one
    each round writes into a more bloated table than the last (production has autovacuum). With
    `vacuum_between` every round starts from a vacuumed table, as a dispatcher's tick does on a table that
    autovacuum keeps up with."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from bench._common import cpu_seconds_precise
    from scheduler.publishing import deliveries_claim_due

    backend = _backend_pid()
    rounds: dict[str, list[float]] = {key: [] for key in ("wall", "sql", "update", "python_cpu", "postgres_cpu")}
    rounds["claimed"] = []
    for _ in range(repeat):
        if vacuum_between:
            vacuum(analyze=False)
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            started, cpu_started, pg_started = time.perf_counter(), time.process_time(), cpu_seconds_precise(backend)
            rounds["claimed"].append(len(deliveries_claim_due()))
            rounds["wall"].append((time.perf_counter() - started) * 1000)
            rounds["python_cpu"].append((time.process_time() - cpu_started) * 1000)
            rounds["postgres_cpu"].append((cpu_seconds_precise(backend) - pg_started) * 1000)
            transaction.set_rollback(True)
        queries = [q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(("SELECT", "UPDATE"))]
        rounds["sql"].append(sum(float(q["time"]) for q in queries) * 1000)
        rounds["update"].append(
            sum(float(q["time"]) for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")) * 1000
        )
    vacuum()
    return rounds


def bare_update_floor(repeat: int, due: int) -> dict[str, Any]:
    """The write the claim cannot avoid: `UPDATE ... SET status = 'claimed', lease, updated_at WHERE id =
    ANY(ids)` of the due rows and nothing else (no conditions, no Python), vacuumed before each rolled-back
    round; with the indexes that get a new entry for each claimed row (a status change is never a HOT update:
    status is in index columns and predicates, so every index whose predicate holds for the new row does)."""
    from django.db import connection, transaction

    from bench._common import cpu_seconds_precise

    backend = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM scheduler_delivery WHERE status IN ('scheduled', 'retry_wait') "
            "AND next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT %s",
            [due],
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT c.relname, pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'scheduler_delivery'::regclass ORDER BY 1"
        )
        indexes = cursor.fetchall()
    wall, cpu = [], []
    written: list[str] = []
    for round_number in range(repeat):
        vacuum(analyze=False)
        with transaction.atomic(), connection.cursor() as cursor:
            started, pg_started = time.perf_counter(), cpu_seconds_precise(backend)
            cursor.execute(
                "UPDATE scheduler_delivery SET status = 'claimed', lease_expires_at = now() + interval '5 minutes', "
                "updated_at = now() WHERE id = ANY(%s)",
                [ids],
            )
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((cpu_seconds_precise(backend) - pg_started) * 1000)
            if round_number == 0:
                for name, predicate in indexes:
                    cursor.execute(
                        f"SELECT count(*) FROM scheduler_delivery WHERE id = %s AND ({predicate or 'true'})",  # noqa: S608 - PostgreSQL's own text
                        [ids[0]],
                    )
                    if cursor.fetchone()[0]:
                        written.append(name)
            transaction.set_rollback(True)
    vacuum()
    return {
        "bare_update_ms_median": round(statistics.median(wall), 2),
        "bare_update_cpu_postgres_ms_median": round(statistics.median(cpu), 2),
        "indexes": len(indexes),
        "indexes_written_by_claim": len(written),
        "indexes_written_by_claim_names": ", ".join(written),
    }


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _round_figures(prefix: str, rounds: dict[str, list[float]]) -> dict[str, Any]:
    median = statistics.median
    return {
        f"{prefix}batch_ms_median": round(median(rounds["wall"]), 2),
        f"{prefix}batch_ms_p95": round(percentile(rounds["wall"], 95), 2),
        f"{prefix}batch_ms_min": round(min(rounds["wall"]), 2),
        f"{prefix}batch_sql_ms_median": round(median(rounds["sql"]), 2),
        f"{prefix}batch_update_ms_median": round(median(rounds["update"]), 2),
        f"{prefix}batch_cpu_python_ms_median": round(median(rounds["python_cpu"]), 2),
        f"{prefix}batch_cpu_postgres_ms_median": round(median(rounds["postgres_cpu"]), 2),
        f"{prefix}batch_cpu_ms_median": round(
            median(p + q for p, q in zip(rounds["python_cpu"], rounds["postgres_cpu"], strict=True)), 2
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--database", default="civicpost_bench_claim")
    parser.add_argument("--reuse", action="store_true", help="keep the rows of an earlier run (same --rows)")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)

    env = base_env(DATABASE_URL=f"{args.postgres}/{args.database}", CIVICPOST_DISPATCH_BATCH_SIZE="500")
    env.pop("REDIS_URL", None)
    counts = existing_counts(args) if args.reuse else None
    if counts is None or sum(counts.values()) != args.rows:
        fresh_database(args.postgres, args.database)
        manage(env, "migrate", "--noinput")
        setup_django(env)
        started = time.monotonic()
        counts = fill(rows=args.rows, due=args.due)
        log(f"dispatch_claim: filled {sum(counts.values())} rows in {time.monotonic() - started:.0f} s: {counts}")
    else:
        manage(env, "migrate", "--noinput")  # the code may have gained migrations since the fill
        setup_django(env)
        log(f"dispatch_claim: reusing {sum(counts.values())} rows: {counts}")

    # Rounds roll back, but their row versions stay until a vacuum: an earlier run's leave the indexes bloated.
    vacuum()
    queries = claim_sql()
    select = next(sql for sql, _ in queries if sql.lstrip().upper().startswith("SELECT") and "FOR UPDATE" in sql)
    update = next((sql for sql, _ in queries if sql.lstrip().upper().startswith("UPDATE")), "")
    plan = explain(select)
    update_plan = explain(update) if update else ""
    fair = time_batches(args.repeat, vacuum_between=True)
    bloating = time_batches(args.repeat, vacuum_between=False)
    uses_index = "delivery_claimable_idx" in plan
    figures = {
        "rows": sum(counts.values()),
        "rows_by_status": counts,
        "due": args.due,
        "claimed_per_batch": int(fair["claimed"][-1]),
        "uses_delivery_claimable_idx": uses_index,
        # Each round on a vacuumed table (what a dispatcher meets with autovacuum on): the goal's figures.
        **_round_figures("", fair),
        # The same rounds back to back without a vacuum: each leaves dead row versions for the next.
        **_round_figures("no_vacuum_", bloating),
        **bare_update_floor(args.repeat, args.due),
        "statements_per_batch": sum(1 for sql, _ in queries if sql.lstrip().upper().startswith(("SELECT", "UPDATE"))),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "select_execution_ms": _execution_ms(plan),
        "update_execution_ms": _execution_ms(update_plan),
    }
    print("dispatch_claim")
    print(f"claim query:\n{select}\n")
    print(f"EXPLAIN (ANALYZE, BUFFERS):\n{plan}\n")
    if update_plan:
        print(f"claim update:\n{update}\n\nEXPLAIN (ANALYZE, BUFFERS):\n{update_plan}\n")
    for key, value in figures.items():
        print(f"{key}: {value}")
    write_result(args.json_out, figures)
    return 0 if uses_index else 1


def vacuum(*, analyze: bool = True) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scheduler_delivery" if analyze else "VACUUM scheduler_delivery")


def existing_counts(args: argparse.Namespace) -> dict[str, int] | None:
    """Deliveries by status in an earlier run's database, or None when there is none."""
    try:
        out = psql_in(args.postgres, args.database, "SELECT status, count(*) FROM scheduler_delivery GROUP BY status")
    except subprocess.CalledProcessError:
        return None
    return {line.split("|")[0]: int(line.split("|")[1]) for line in out.split() if "|" in line}


def psql_in(server_url: str, database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", f"{server_url}/{database}", "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _execution_ms(plan: str) -> float | None:
    for line in plan.splitlines():
        if line.strip().startswith("Execution Time:"):
            return float(line.split(":")[1].split()[0])
    return None


if __name__ == "__main__":
    sys.exit(main())
