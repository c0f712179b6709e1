"""The translation catalogues (locale/<lang>/LC_MESSAGES/*.po): read them, compile them to the .mo files
Django loads, and report what is left to translate. Pure Python, so `make run` works on a machine without
GNU gettext; extracting new strings (`make messages`) still needs gettext's xgettext, like Django's
makemessages.

    python -m civicpost.catalogues compile   # every .po whose .mo is missing or older
    python -m civicpost.catalogues report    # untranslated and fuzzy entries; exit status 1 if any

Imports nothing from Django or the apps (it runs before the settings can load).
"""

from __future__ import annotations

import argparse
import ast
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


@dataclass
class Entry:
    """One message of a .po file. `msgstr` holds the translations: one item, or one per plural form."""

    msgid: str
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr)


def _unquote(text: str) -> str:
    # A .po string is a C string literal; Python's literal syntax is close enough for the escapes xgettext writes.
    return str(ast.literal_eval(text))


def parse_po(path: Path) -> list[Entry]:
    """Returns the entries of a .po file in order, the header (msgid "") first. Raises ValueError on a line
    it cannot read."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # which field a continuation line ("...") extends
    pending_flags: set[str] = set()
    pending_refs: list[str] = []

    def finish() -> None:
        nonlocal current
        if current is not None:
            entries.append(current)
        current = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#,"):
            finish()
            pending_flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#:"):
            finish()
            pending_refs.extend(line[2:].split())
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"{path}:{number}: a string continues nothing")
            name, index = target
            value = _unquote(line)
            if name == "msgstr":
                current.msgstr[index] += value
            else:
                setattr(current, name, (getattr(current, name) or "") + value)
            continue
        keyword, _space, rest = line.partition(" ")
        # A new entry starts at msgctxt, or at a msgid that does not follow its own msgctxt.
        if keyword == "msgctxt" or (
            keyword == "msgid" and (current is None or current.msgctxt is None or current.msgstr)
        ):
            finish()
            current = Entry(msgid="", flags=pending_flags, references=pending_refs, obsolete=obsolete)
            pending_flags, pending_refs = set(), []
        if current is None:
            raise ValueError(f"{path}:{number}: {keyword} outside an entry")
        value = _unquote(rest)
        if keyword == "msgctxt":
            current.msgctxt = value
            target = ("msgctxt", 0)
        elif keyword == "msgid":
            current.msgid = value
            target = ("msgid", 0)
        elif keyword == "msgid_plural":
            current.msgid_plural = value
            target = ("msgid_plural", 0)
        elif keyword == "msgstr":
            current.msgstr = [value]
            target = ("msgstr", 0)
        elif keyword.startswith("msgstr["):
            index = int(keyword[len("msgstr[") : -1])
            while len(current.msgstr) <= index:
                current.msgstr.append("")
            current.msgstr[index] = value
            target = ("msgstr", index)
        else:
            raise ValueError(f"{path}:{number}: unknown keyword {keyword!r}")
    finish()
    return entries


def write_mo(entries: list[Entry], path: Path) -> int:
    """Writes the translated, non-fuzzy, non-obsolete entries (and the header) as a GNU .mo file, the
    format gettext and Django read. Returns how many messages it holds."""
    messages: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.obsolete or (entry.msgid and (entry.fuzzy or not entry.translated)):
            continue
        key = entry.msgid
        if entry.msgid_plural is not None:
            key = f"{key}\0{entry.msgid_plural}"
        if entry.msgctxt is not None:
            key = f"{entry.msgctxt}\x04{key}"
        messages[key.encode("utf-8")] = "\0".join(entry.msgstr).encode("utf-8")
    keys = sorted(messages)
    ids = b""
    strs = b""
    offsets: list[tuple[int, int, int, int]] = []
    for raw_key in keys:
        value = messages[raw_key]
        offsets.append((len(ids), len(raw_key), len(strs), len(value)))
        ids += raw_key + b"\0"
        strs += value + b"\0"
    count = len(keys)
    header_size = 7 * 4
    ids_start = header_size + count * 16
    strs_start = ids_start + len(ids)
    key_table: list[int] = []
    value_table: list[int] = []
    for id_offset, id_length, str_offset, str_length in offsets:
        key_table += [id_length, ids_start + id_offset]
        value_table += [str_length, strs_start + str_offset]
    data = struct.pack("Iiiiiii", 0x950412DE, 0, count, header_size, header_size + count * 8, 0, 0)
    data += struct.pack(f"{len(key_table)}i", *key_table) + struct.pack(f"{len(value_table)}i", *value_table)
    data += ids + strs
    tmp = path.with_suffix(".mo.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return count


def po_files(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def compile_all(locale_dir: Path = LOCALE_DIR, *, force: bool = False) -> list[tuple[Path, int]]:
    """Compiles each .po whose .mo is missing or older. Returns [(mo path, messages)] of those written."""
    written = []
    for po in po_files(locale_dir):
        mo = po.with_suffix(".mo")
        if force or not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            written.append((mo, write_mo(parse_po(po), mo)))
    return written


def unfinished(entries: list[Entry]) -> list[Entry]:
    """Returns the live entries (not the header, not obsolete) that are untranslated or fuzzy."""
    return [e for e in entries if e.msgid and not e.obsolete and (e.fuzzy or not e.translated)]


def report(locale_dir: Path = LOCALE_DIR) -> int:
    """Prints, per catalogue, its size and each untranslated or fuzzy entry. Returns how many there are."""
    total = 0
    for po in po_files(locale_dir):
        entries = parse_po(po)
        live = [e for e in entries if e.msgid and not e.obsolete]
        todo = unfinished(entries)
        total += len(todo)
        print(f"{po.relative_to(locale_dir.parent)}: {len(live)} messages, {len(todo)} to translate")
        for entry in todo:
            where = entry.references[0] if entry.references else "?"
            state = "fuzzy" if entry.fuzzy else "untranslated"
            print(f"  [{state}] {where}: {entry.msgid[:100]!r}")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["compile", "report"])
    parser.add_argument("--force", action="store_true", help="compile every catalogue, even an up-to-date one")
    args = parser.parse_args(argv)
    if args.command == "compile":
        for mo, count in compile_all(force=args.force):
            print(f"compiled {mo.relative_to(LOCALE_DIR.parent)} ({count} messages)")
        return 0
    return 1 if report() else 0


if __name__ == "__main__":
    sys.exit(main())
