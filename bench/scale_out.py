"""Benchmark: the publish burst with 1, 2 and 4 worker processes.

    .venv/bin/python bench/scale_out.py [--deliveries 5000] [--processes 1,2,4] [--concurrency 16]

Each round is bench/publish_burst.py on a fresh database. Prints the throughput of each round, its ratio
to one worker process, and what bounds it:
  cpu           the machine's CPUs were busy (>= 85%) during the burst
  latency       throughput reached >= 80% of processes x concurrency / latency: the fake's latency
  dispatcher    neither: the claim/enqueue side (the dispatcher's batch per tick) limits the rate
Each round runs as many dispatchers as worker processes and samples pg_stat_activity every 0.1 s for
backends waiting on a lock: on 2 cores more processes cannot be faster, but they must claim disjoint work
(one attempt per delivery) without waiting on each other's locks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import log, write_result
from bench.publish_burst import add_common_arguments, run_burst


def bound(figures: dict) -> str:
    if figures["machine_cpu_busy"] >= 0.85:
        return "cpu"
    if figures["ratio"] is not None and figures["ratio"] >= 0.8:
        return "latency"
    return "dispatcher"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, deliveries=5000)
    parser.add_argument("--processes", default="1,2,4", help="worker process counts to try")
    args = parser.parse_args(argv)
    rounds = []
    for processes in [int(p) for p in args.processes.split(",")]:
        log(f"scale_out: {processes} worker process(es)")
        # As many dispatchers as worker processes: both sides scale out, and SKIP LOCKED must keep them apart.
        rounds.append(run_burst(args, workers=processes, dispatchers=processes))
    base = rounds[0]["deliveries_per_s"] or 1.0
    print("scale_out")
    for figures in rounds:
        print(
            f"workers={figures['workers']} concurrency={figures['concurrency']} "
            f"deliveries_per_s={figures['deliveries_per_s']} ratio_to_1={figures['deliveries_per_s'] / base:.2f} "
            f"ideal_per_s={figures['ideal_per_s']} cpu_busy={figures['machine_cpu_busy']:.0%} "
            f"cpu_ms_per_delivery={figures['cpu_ms_per_delivery']} p99_lag_s={figures['p99_lag_s']} "
            f"bound_by={bound(figures)} dispatchers={figures['dispatchers']} "
            f"most_attempts_of_one_delivery={figures['most_attempts_of_one_delivery']} "
            f"lock_wait_samples={figures['samples_with_a_lock_wait']}/{figures['lock_wait_samples']} "
            f"mean_backends_waiting_for_a_lock={figures['mean_backends_waiting_for_a_lock']}"
        )
    print("details: " + json.dumps(rounds, sort_keys=True))
    write_result(args.json_out, {"rounds": rounds})
    return 0


if __name__ == "__main__":
    sys.exit(main())
