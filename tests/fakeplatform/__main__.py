"""Runs the fake platform: `python -m tests.fakeplatform --port 8765 [--latency-ms 100] [--p-drop 0.1]`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from tests.fakeplatform.server import DEFAULT_CONFIG, FakePlatform


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakeplatform", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed at start)")
    parser.add_argument("--ledger", default=None, help="JSON-lines file that keeps every accepted post")
    parser.add_argument("--seed", type=int, default=None, help="seed for the fault draws")
    for name, default in DEFAULT_CONFIG.items():
        if isinstance(default, bool):
            parser.add_argument(
                f"--{name.replace('_', '-')}",
                dest=name,
                type=lambda v: v.lower() in ("1", "true", "yes"),
                default=None,
                metavar="BOOL",
            )
        elif isinstance(default, (int, float)):
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(default), default=None)
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("the fake platform only listens on loopback")
    config = {name: getattr(args, name) for name in DEFAULT_CONFIG if getattr(args, name, None) is not None}
    fake = FakePlatform(host=args.host, port=args.port, ledger_path=args.ledger, seed=args.seed, **config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fake.start()
    print(f"fake platform listening on {fake.url}", flush=True)
    stop.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
