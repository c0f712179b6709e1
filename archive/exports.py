"""Records-request exports: one ZIP bundle per request, built in the background with bounded memory.

The bundle holds index.html (readable), records.json and records.csv (each record with its approval chain,
publish attempts and chain hashes), media/ (the files as sent), MANIFEST.txt (SHA-256 and size of every
other file), verify_bundle.py (a standalone, standard-library-only checker) and README.txt (how to verify).

Memory does not grow with the number of records: entries are read from the database in chunks and written
one by one into three temporary files on disk (hashed as they are written), which are then copied into the
ZIP in blocks; media files are copied block by block from archive storage."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import json
import logging
import mimetypes
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.contrib.auth.models import User
from django.core.files import File
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from archive import rules
from archive.chain import NewEntry, chain_head, entry_append, entry_payload
from archive.models import ArchiveBlob, ArchiveEntry, EntryKind, ExportStatus, RecordsExport
from archive.sources import person_label
from archive.storage import CHUNK, archive_storage, blob_open
from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.zones import default_zone

logger = logging.getLogger(__name__)
VERIFY_SCRIPT = Path(__file__).with_name("verify_bundle.py")
PROGRESS_EVERY = 500

CSV_COLUMNS = (
    "sequence",
    "kind",
    "occurred_at",
    "department",
    "channel",
    "platform",
    "post_id",
    "delivery_id",
    "remote_id",
    "permalink",
    "author",
    "language",
    "text",
    "link",
    "media_sha256",
    "approvals",
    "attempts",
    "reason",
    "content_disposed",
    "content_hash",
    "entry_hash",
)


@dataclass(frozen=True)
class ExportFilters:
    """What a records request asks for. Dates are days in the city's time zone, both included."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    department_ids: tuple[int, ...] = ()
    channel_ids: tuple[int, ...] = ()
    keywords: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "department_ids": list(self.department_ids),
            "channel_ids": list(self.channel_ids),
            "keywords": list(self.keywords),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportFilters:
        return cls(
            date_from=dt.date.fromisoformat(data["date_from"]) if data.get("date_from") else None,
            date_to=dt.date.fromisoformat(data["date_to"]) if data.get("date_to") else None,
            department_ids=tuple(int(i) for i in data.get("department_ids") or ()),
            channel_ids=tuple(int(i) for i in data.get("channel_ids") or ()),
            keywords=tuple(str(k) for k in data.get("keywords") or ()),
        )


def entries_matching(filters: ExportFilters) -> QuerySet[ArchiveEntry]:
    """The entries a records request covers, in chain order. Keywords match the text of posts and comments
    (any one keyword); exports and disposition certificates are never part of a request."""
    zone = default_zone()
    entries = ArchiveEntry.objects.exclude(kind__in=(EntryKind.EXPORT, EntryKind.DISPOSITION))
    if filters.date_from:
        entries = entries.filter(occurred_at__gte=dt.datetime.combine(filters.date_from, dt.time(), tzinfo=zone))
    if filters.date_to:
        end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        entries = entries.filter(occurred_at__lt=end)
    if filters.department_ids:
        entries = entries.filter(department_id__in=filters.department_ids)
    if filters.channel_ids:
        entries = entries.filter(channel_id__in=filters.channel_ids)
    if filters.keywords:
        matches = Q()
        for keyword in filters.keywords:
            matches |= Q(content__search_text__contains=keyword.lower())
        entries = entries.filter(matches)
    return entries.order_by("sequence")


# --- Requests ------------------------------------------------------------------------------------------


def export_request(*, user: User, filters: ExportFilters, reference: str = "") -> RecordsExport:
    """Queues a records-request export (built by the archive.build_export task after commit)."""
    if not rules.can_use_archive(user):
        raise ApplicationError(_("Only the records officer exports the archive."))
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise ApplicationError(_("The end date is before the start date."))
    from archive.tasks import build_export  # the task module imports this one

    export = RecordsExport.objects.create(requested_by=user, request_reference=reference, filters=filters.as_json())
    transaction.on_commit(lambda: build_export.delay(export.pk))
    return export


def export_build(*, export_id: int) -> RecordsExport | None:
    """Builds the bundle of a queued export, records it in the chain and the audit trail. Returns the
    export (None when it is gone or already started). A failure is stored on the export."""
    if not RecordsExport.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    ):
        return None
    export = RecordsExport.objects.select_related("requested_by").get(pk=export_id)
    try:
        _build(export)
    except Exception as error:  # noqa: BLE001 - stored on the export and shown on its page, never lost
        logger.exception("records export %s failed", export.key)
        RecordsExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED, failure_message=str(error)[:2000], finished_at=timezone.now()
        )
    export.refresh_from_db()
    return export


def _build(export: RecordsExport) -> None:
    filters = ExportFilters.from_json(export.filters)
    entries = entries_matching(filters)
    total = entries.count()
    RecordsExport.objects.filter(pk=export.pk).update(total=total)
    with tempfile.TemporaryDirectory(prefix="civicpost-export-") as work:
        bundle_path = Path(work) / "bundle.zip"
        info = write_bundle(
            entries=entries,
            path=bundle_path,
            title=_("Records request %(reference)s") % {"reference": export.request_reference or export.key},
            filters=filters,
            requested_by=person_label(export.requested_by),
            progress=lambda done: RecordsExport.objects.filter(pk=export.pk).update(done=done),
        )
        name = f"exports/{export.key}.zip"
        with bundle_path.open("rb") as handle:
            stored = archive_storage().save(name, File(handle))
    now = timezone.now()
    entry_append(
        NewEntry(
            kind=EntryKind.EXPORT,
            source_key=f"export:{export.key}",
            occurred_at=now,
            facts={
                "export": str(export.key),
                "reference": export.request_reference,
                "requested_by": person_label(export.requested_by),
                "filters": filters.as_json(),
                "records": info.records,
                "bundle_sha256": info.sha256,
                "manifest_sha256": info.manifest_sha256,
            },
        )
    )
    RecordsExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.DONE,
        done=info.records,
        file_name=stored,
        size_bytes=info.size_bytes,
        sha256=info.sha256,
        finished_at=now,
    )
    audit_record(
        action=AuditAction.ARCHIVE_EXPORTED,
        actor=export.requested_by,
        target=export,
        changes={"filters": filters.as_json(), "records": info.records, "sha256": info.sha256},
    )


# --- The bundle ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleInfo:
    records: int
    sha256: str
    size_bytes: int
    manifest_sha256: str


class _HashingWriter:
    """A text file on disk that hashes what is written to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] = path.open("wb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> int:
        data = text.encode()
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(text)

    def close(self) -> None:
        self.handle.close()


def record_of(entry: ArchiveEntry) -> dict[str, Any]:
    """Returns one record as records.json holds it: the entry's chained fields and hash, its content (None
    once disposed of) and the media file names inside the bundle."""
    content = getattr(entry, "content", None) if _content_loaded(entry) else None
    body = content.body if content is not None else None
    return {
        "chain": {**entry_payload(entry), "entry_hash": entry.entry_hash},
        "content": body,
        "media_files": [media_path(m["sha256"], m.get("mime_type", "")) for m in (body or {}).get("media", [])]
        if body
        else [],
    }


def _content_loaded(entry: ArchiveEntry) -> bool:
    try:
        entry.content  # noqa: B018 - a missing reverse one-to-one raises
    except ArchiveEntry.content.RelatedObjectDoesNotExist:
        return False
    return True


def media_path(sha256: str, mime_type: str) -> str:
    extension = mimetypes.guess_extension(mime_type or "") or ""
    return f"media/{sha256}{extension}" if sha256 else ""


def write_bundle(
    *,
    entries: QuerySet[ArchiveEntry],
    path: Path,
    title: str,
    filters: ExportFilters,
    requested_by: str,
    progress: Any = None,
) -> BundleInfo:
    """Writes the ZIP bundle of `entries` to `path`. Returns its record count, SHA-256 and size."""
    work = path.parent
    json_out = _HashingWriter(work / "records.json")
    csv_out = _HashingWriter(work / "records.csv")
    html_out = _HashingWriter(work / "index.html")
    head = chain_head()
    generated = timezone.now()
    json_out.write(
        '{"bundle":'
        + json.dumps(
            {
                "title": title,
                "generated_at": generated.isoformat(),
                "requested_by": requested_by,
                "filters": filters.as_json(),
                "chain_head_at_export": {"sequence": head.sequence, "hash": head.head_hash},
            },
            ensure_ascii=False,
        )
        + ',\n"records":[\n'
    )
    writer = csv.writer(csv_out)
    writer.writerow(CSV_COLUMNS)
    html_out.write(_html_head(title, filters, requested_by, generated))
    count = 0
    for entry in entries.select_related("content").iterator(chunk_size=1000):
        record = record_of(entry)
        json_out.write(("," if count else "") + json.dumps(record, ensure_ascii=False, default=str) + "\n")
        writer.writerow(_csv_row(entry, record))
        html_out.write(_html_record(entry, record))
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    json_out.write(f'],\n"count":{count}}}\n')
    html_out.write(_html_foot(count))
    for writer_ in (json_out, csv_out, html_out):
        writer_.close()

    manifest: list[tuple[str, str, int]] = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as bundle:
        for writer_ in (html_out, json_out, csv_out):
            bundle.write(writer_.path, writer_.path.name)
            manifest.append((writer_.digest.hexdigest(), writer_.path.name, writer_.size))
            writer_.path.unlink()
        for blob in _blobs_of(entries):
            name = media_path(blob.sha256, blob.mime_type)
            with blob_open(blob) as source, bundle.open(name, "w", force_zip64=True) as target:
                digest = hashlib.sha256()
                size = 0
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
                    size += len(chunk)
            manifest.append((digest.hexdigest(), name, size))
        script = VERIFY_SCRIPT.read_bytes()
        bundle.writestr("verify_bundle.py", script)
        manifest.append((hashlib.sha256(script).hexdigest(), "verify_bundle.py", len(script)))
        readme = README.format(title=title).encode()
        bundle.writestr("README.txt", readme)
        manifest.append((hashlib.sha256(readme).hexdigest(), "README.txt", len(readme)))
        manifest_text = "".join(f"{sha}  {size}  {name}\n" for sha, name, size in manifest).encode()
        bundle.writestr("MANIFEST.txt", manifest_text)
    if progress is not None:
        progress(count)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return BundleInfo(
        records=count,
        sha256=digest.hexdigest(),
        size_bytes=os.path.getsize(path),
        manifest_sha256=hashlib.sha256(manifest_text).hexdigest(),
    )


def _blobs_of(entries: QuerySet[ArchiveEntry]) -> Iterator[ArchiveBlob]:
    """Each distinct media file of the entries once, read in chunks (the database removes duplicates)."""
    return (
        ArchiveBlob.objects.filter(contents__entry__in=entries.values("pk"))
        .distinct()
        .order_by("sha256")
        .iterator(chunk_size=500)
    )


def _csv_row(entry: ArchiveEntry, record: dict[str, Any]) -> list[Any]:
    body = record["content"] or {}
    approval = body.get("approval") or {}
    votes = "; ".join(f"{v['step_name']}: {v['voter']} at {v['at']}" for v in approval.get("votes", []))
    attempts = "; ".join(f"#{a['number']} {a['outcome']} at {a['started_at']}" for a in body.get("attempts", []))
    facts = entry.facts or {}
    return [
        entry.sequence,
        entry.kind,
        entry.occurred_at.astimezone(dt.UTC).isoformat(),
        entry.department_name,
        entry.channel_name,
        entry.platform,
        entry.post_id or "",
        entry.delivery_id or "",
        facts.get("remote_id", ""),
        facts.get("permalink", ""),
        facts.get("author", ""),
        body.get("language", ""),
        _csv_safe(body.get("text", body.get("comment", ""))),
        _csv_safe(body.get("link", "")),
        " ".join(m.get("sha256", "") for m in body.get("media", [])),
        _csv_safe(votes),
        _csv_safe(attempts),
        _csv_safe(facts.get("reason", "")),
        "yes" if record["content"] is None and entry.content_hash else "",
        entry.content_hash,
        entry.entry_hash,
    ]


def _csv_safe(value: Any) -> str:
    """Text that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = str(value or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _html_head(title: str, filters: ExportFilters, requested_by: str, generated: dt.datetime) -> str:
    e = html.escape
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#1b1b1b}"
        "section{border-top:1px solid #888;padding:.5rem 0}dt{font-weight:bold}table{border-collapse:collapse}"
        "td,th{border:1px solid #888;padding:.2rem .4rem;text-align:left}</style></head><body>"
        f"<h1>{e(title)}</h1><p>{e(_('Generated'))}: {e(generated.isoformat())} · {e(_('Requested by'))}: "
        f"{e(requested_by)}</p><p>{e(_('Filters'))}: <code>{e(json.dumps(filters.as_json()))}</code></p>"
        f"<p>{e(_('Check this bundle with verify_bundle.py (see README.txt).'))}</p>\n"
    )


def _html_record(entry: ArchiveEntry, record: dict[str, Any]) -> str:
    e = html.escape
    body = record["content"]
    facts = entry.facts or {}
    parts = [
        f'<section id="entry-{entry.sequence}"><h2>#{entry.sequence} · {e(entry.get_kind_display())} · '
        f"{e(entry.occurred_at.astimezone(dt.UTC).strftime('%Y-%m-%d %H:%M UTC'))}</h2><dl>",
        f"<dt>{e(_('Department'))}</dt><dd>{e(entry.department_name)}</dd>",
        f"<dt>{e(_('Channel'))}</dt><dd>{e(entry.channel_name)} ({e(entry.platform)})</dd>",
    ]
    for key in ("author", "remote_id", "permalink", "reason"):
        if facts.get(key):
            parts.append(f"<dt>{e(key.replace('_', ' ').capitalize())}</dt><dd>{e(str(facts[key]))}</dd>")
    if body is None:
        if entry.content_hash:
            parts.append(f"<dt>{e(_('Content'))}</dt><dd>{e(_('Disposed of under its retention schedule.'))}</dd>")
    else:
        if body.get("text_as_sent") or body.get("text"):
            parts.append(
                f"<dt>{e(_('Text as sent'))}</dt><dd><pre>{e(body.get('text_as_sent') or body['text'])}</pre></dd>"
            )
        for media, file_name in zip(body.get("media", []), record["media_files"], strict=False):
            parts.append(
                f"<dt>{e(_('Media'))}</dt><dd>{e(file_name or _('not kept'))} — {e(media.get('alt_text', ''))}</dd>"
            )
        approval = body.get("approval")
        if approval:
            votes = "".join(
                f"<tr><td>{e(v['step_name'])}</td><td>{e(v['voter'])}</td><td>{e(str(v['at']))}</td></tr>"
                for v in approval.get("votes", [])
            )
            parts.append(
                f"<dt>{e(_('Approvals'))}</dt><dd><table><tr><th>{e(_('Step'))}</th><th>{e(_('Approver'))}</th>"
                f"<th>{e(_('Time'))}</th></tr>{votes}</table></dd>"
            )
        attempts = body.get("attempts")
        if attempts:
            rows = "".join(
                f"<tr><td>{a['number']}</td><td>{e(str(a['started_at']))}</td><td>{e(a['outcome'])}</td>"
                f"<td>{e(a['message'])}</td></tr>"
                for a in attempts
            )
            parts.append(
                f"<dt>{e(_('Publish attempts'))}</dt><dd><table><tr><th>#</th><th>{e(_('Started'))}</th>"
                f"<th>{e(_('Outcome'))}</th><th>{e(_('Message'))}</th></tr>{rows}</table></dd>"
            )
        if body.get("comment"):
            parts.append(f"<dt>{e(_('Comment'))}</dt><dd>{e(str(body['comment']))}</dd>")
    parts.append(f"<dt>{e(_('Entry hash'))}</dt><dd><code>{e(entry.entry_hash)}</code></dd></dl></section>\n")
    return "".join(parts)


def _html_foot(count: int) -> str:
    return f"<p>{html.escape(_('Records in this bundle'))}: {count}</p></body></html>\n"


README = """{title}

This bundle was exported from CivicPost's public-records archive.

Files
  index.html     the records, readable in a browser
  records.json   every record: its chained fields and hash ("chain"), its content, its media file names
  records.csv    one row per record, for a spreadsheet
  media/         the files exactly as they were posted, named by their SHA-256
  MANIFEST.txt   the SHA-256 and size of every other file in this bundle

How to verify (Python 3.9 or later, nothing to install):
  python3 verify_bundle.py this-bundle.zip
It checks every file against MANIFEST.txt, that no file was added, and recomputes each record's
hash and content hash from records.json. It prints OK or names what does not match.
Compare "chain_head_at_export" in records.json with the chain head e-mailed daily to the records officer.
"""


def export_open(export: RecordsExport) -> IO[bytes]:
    return archive_storage().open(export.file_name, "rb")


def export_remove_file(export: RecordsExport) -> None:
    if export.file_name:
        archive_storage().delete(export.file_name)
