#!/usr/bin/env python3
"""Checks a CivicPost records-request bundle. Standard library only; Python 3.9 or later.

    python3 verify_bundle.py bundle.zip      (or a folder the bundle was unpacked into)

1. Every file listed in MANIFEST.txt is present with the listed size and SHA-256, and no other file is.
2. Each record in records.json: its "chain" fields hash (SHA-256 of their canonical JSON) to its entry hash,
   and its content (unless disposed of) hashes to the content hash recorded in the chain.
Exit status 0 and "OK" when everything matches; 1 and a line per problem otherwise."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

CHUNK = 1024 * 1024


def canonical(value):  # noqa: ANN001, ANN201
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Bundle:
    def __init__(self, location: str) -> None:
        self.path = Path(location)
        self.zip = zipfile.ZipFile(self.path) if self.path.is_file() else None

    def names(self) -> set[str]:
        if self.zip is not None:
            return {name for name in self.zip.namelist() if not name.endswith("/")}
        return {str(p.relative_to(self.path)).replace("\\", "/") for p in self.path.rglob("*") if p.is_file()}

    def open(self, name: str):  # noqa: ANN201
        return self.zip.open(name) if self.zip is not None else (self.path / name).open("rb")


def check_manifest(bundle: Bundle) -> list[str]:
    problems = []
    listed = {}
    with bundle.open("MANIFEST.txt") as handle:
        for line in handle.read().decode().splitlines():
            sha, size, name = line.split("  ", 2)
            listed[name] = (sha, int(size))
    present = bundle.names() - {"MANIFEST.txt"}
    for name in sorted(present - set(listed)):
        problems.append(f"{name}: not in the manifest (added after export)")
    for name, (sha, size) in sorted(listed.items()):
        if name not in present:
            problems.append(f"{name}: missing")
            continue
        digest = hashlib.sha256()
        length = 0
        with bundle.open(name) as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                length += len(chunk)
        if length != size or digest.hexdigest() != sha:
            problems.append(f"{name}: changed (SHA-256 or size differs from the manifest)")
    return problems


def check_records(bundle: Bundle) -> tuple[int, list[str]]:
    problems = []
    with bundle.open("records.json") as handle:
        data = json.load(handle)
    for record in data["records"]:
        chain = dict(record["chain"])
        entry_hash = chain.pop("entry_hash")
        sequence = chain.get("sequence")
        if hashlib.sha256(canonical(chain).encode()).hexdigest() != entry_hash:
            problems.append(f"record #{sequence}: its fields do not match its entry hash")
        content = record.get("content")
        if content is not None and hashlib.sha256(canonical(content).encode()).hexdigest() != chain["content_hash"]:
            problems.append(f"record #{sequence}: its content does not match the content hash in the chain")
    return len(data["records"]), problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    bundle = Bundle(argv[1])
    problems = check_manifest(bundle)
    count, record_problems = check_records(bundle)
    problems += record_problems
    for problem in problems:
        print(problem)
    if problems:
        print(f"NOT OK: {len(problems)} problem(s)")
        return 1
    print(f"OK: every file matches MANIFEST.txt; {count} records match their chain hashes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
