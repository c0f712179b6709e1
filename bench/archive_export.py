"""Benchmark: a records-request export of the archive, with media.

    .venv/bin/python bench/archive_export.py [--sizes 10000,100000] [--media-files 200] [--media-kb 64]

Fills a fresh PostgreSQL database (default civicpost_bench_archive on 127.0.0.1:5432) with a hash chain of
publication entries (a valid chain, as archive.chain.entry_append would write it, inserted in bulk), each
pointing to one of `--media-files` distinct media files of `--media-kb` KB (random bytes: they do not
compress, like JPEG) kept in archive storage. For each size it exports the first `size` entries in a child
process (archive.exports.write_bundle, the function the export task runs) and prints the wall time, the
child's peak memory during the export (VmHWM after resetting it with /proc/self/clear_refs, so Django's
start-up is not counted), the bundle's size, and whether verify_bundle.py accepts it.

The claim (issue 14): memory does not grow with the number of entries; the export streams.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PYTHON, ROOT, log, write_result
from bench.publish_burst import DEFAULT_PG, migrated_database

BATCH = 5000


def fill(*, entries: int, media_files: int, media_kb: int) -> None:
    """Appends `entries` publication entries to the chain in bulk, with content and media links."""
    from django.core.files.base import ContentFile
    from django.db import transaction

    from archive.chain import GENESIS_HASH, content_hash_of, entry_hash_of
    from archive.models import ArchiveBlob, ArchiveContent, ArchiveEntry, ChainHead
    from archive.storage import archive_storage, blob_name

    blobs = []
    for _n in range(media_files):
        data = os.urandom(media_kb * 1024)
        sha = hashlib.sha256(data).hexdigest()
        archive_storage().save(blob_name(sha), ContentFile(data))
        blobs.append(ArchiveBlob(sha256=sha, storage_name=blob_name(sha), mime_type="image/jpeg", size_bytes=len(data)))
    blobs = ArchiveBlob.objects.bulk_create(blobs)
    through = ArchiveContent.blobs.through
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    previous = GENESIS_HASH
    for first in range(1, entries + 1, BATCH):
        rows, contents = [], []
        for sequence in range(first, min(entries, first + BATCH - 1) + 1):
            blob = blobs[sequence % len(blobs)]
            body = {
                "text": f"Post number {sequence}: the pool at park {sequence % 97} opens at noon. " * 2,
                "link": f"https://city.example/parks/{sequence}",
                "language": "en",
                "media": [{"sha256": blob.sha256, "mime_type": "image/jpeg", "alt_text": "A pool", "kept": True}],
                "approval": {
                    "votes": [
                        {
                            "step": 1,
                            "step_name": "Review",
                            "voter": "Bob <bob@city.example>",
                            "at": "2026-01-01T00:00:00+00:00",
                            "comment": "",
                        }
                    ]
                },
                "attempts": [
                    {
                        "number": 1,
                        "started_at": "2026-01-01T00:00:00+00:00",
                        "finished_at": None,
                        "outcome": "published",
                        "message": "",
                        "remote_id": str(sequence),
                    }
                ],
            }
            entry = ArchiveEntry(
                sequence=sequence,
                kind="publication",
                source_key=f"bench:{sequence}",
                occurred_at=start + dt.timedelta(minutes=sequence),
                recorded_at=start + dt.timedelta(minutes=sequence, seconds=5),
                department_id=1 + sequence % 5,
                department_name=f"Department {1 + sequence % 5}",
                channel_id=1 + sequence % 11,
                channel_name=f"Channel {1 + sequence % 11}",
                platform="sandbox",
                facts={
                    "remote_id": str(sequence),
                    "permalink": f"https://sandbox.example/{sequence}",
                    "author": "Alice",
                },
                content_hash=content_hash_of(body),
                prev_hash=previous,
            )
            entry.entry_hash = entry_hash_of(entry)
            previous = entry.entry_hash
            rows.append(entry)
            contents.append((body, blob))
        with transaction.atomic():
            saved = ArchiveEntry.objects.bulk_create(rows)
            made = ArchiveContent.objects.bulk_create(
                [
                    ArchiveContent(entry=e, content_hash=e.content_hash, body=body, search_text=body["text"].lower())
                    for e, (body, _blob) in zip(saved, contents, strict=True)
                ]
            )
            links = [
                through(archivecontent_id=c.pk, archiveblob_id=blob.pk)
                for c, (_b, blob) in zip(made, contents, strict=True)
            ]
            through.objects.bulk_create(links)
    ChainHead.objects.update_or_create(singleton=1, defaults={"sequence": entries, "head_hash": previous})


CHILD = r"""
import json, os, sys, time
from pathlib import Path
import django
django.setup()
from archive.exports import ExportFilters, write_bundle
from archive.models import ArchiveEntry

size = int(sys.argv[1]); out = Path(sys.argv[2])
entries = ArchiveEntry.objects.filter(sequence__lte=size).order_by("sequence")
ArchiveEntry.objects.filter(sequence=1).first()  # connection and models loaded before the reset
def status(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key))
before = status("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")
started = time.monotonic()
info = write_bundle(entries=entries, path=out, title="bench", filters=ExportFilters(), requested_by="bench")
wall = time.monotonic() - started
print(json.dumps({"records": info.records, "wall_s": round(wall, 1), "rss_before_kb": before,
                  "peak_rss_kb": status("VmHWM:"), "bundle_mb": round(info.size_bytes / 1e6, 1)}))
"""


def export_in_child(env: dict[str, str], size: int, out: Path) -> dict:
    done = subprocess.run(
        [PYTHON, "-c", CHILD, str(size), str(out)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--media-files", type=int, default=200)
    parser.add_argument("--media-kb", type=int, default=64)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--database", default="civicpost_bench_archive")
    parser.add_argument("--no-verify", action="store_true", help="skip running verify_bundle.py on each bundle")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))

    with tempfile.TemporaryDirectory(prefix="civicpost-bench-archive-") as work:
        env = migrated_database(args.postgres, args.database, CIVICPOST_ARCHIVE_ROOT=str(Path(work) / "store"))
        started = time.monotonic()
        fill(entries=sizes[-1], media_files=args.media_files, media_kb=args.media_kb)
        log(f"archive_export: filled {sizes[-1]} entries in {time.monotonic() - started:.0f} s")
        results = {}
        for size in sizes:
            out = Path(work) / f"bundle-{size}.zip"
            figures = export_in_child(env, size, out)
            if not args.no_verify:
                check = subprocess.run(
                    [sys.executable, str(ROOT / "archive" / "verify_bundle.py"), str(out)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                figures["verifies"] = check.returncode == 0
            figures["peak_growth_mb"] = round((figures["peak_rss_kb"] - figures["rss_before_kb"]) / 1024, 1)
            results[size] = figures
            out.unlink()
            print(
                f"archive_export: {size:>7} entries ({args.media_files} media files of {args.media_kb} KB): "
                f"{figures['wall_s']} s, peak RSS {figures['peak_rss_kb'] / 1024:.0f} MB "
                f"(+{figures['peak_growth_mb']} MB over the idle process), bundle {figures['bundle_mb']} MB"
                + (f", verifies: {figures['verifies']}" if "verifies" in figures else "")
            )
        write_result(args.json_out, {"sizes": results, "load_average_1m": round(os.getloadavg()[0], 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
