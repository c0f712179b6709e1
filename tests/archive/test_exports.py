"""Records-request exports: the page starts a background export whose progress the page polls; the bundle
holds the index, records.json/csv, the media, a manifest and a standalone script that verifies it (and
catches a changed file); the export is itself recorded in the chain and the audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse

from archive.chain import chain_verify
from archive.exports import ExportFilters, entries_matching
from archive.models import ArchiveEntry, EntryKind, ExportStatus, RecordsExport
from archive.services import archive_capture
from audit.models import AuditAction, AuditEvent
from medialibrary.services import media_upload
from tests.archive.helpers import publish, records_officer
from tests.medialibrary.helpers import jpeg_upload

pytestmark = pytest.mark.django_db


def run_verify(path: Path) -> subprocess.CompletedProcess:
    script = Path(__file__).resolve().parents[2] / "archive" / "verify_bundle.py"
    return subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, check=False)  # noqa: S603


@pytest.fixture
def archived(city):
    asset = media_upload(user=city.alice, department=city.parks, upload=jpeg_upload("pool.jpg"), alt_text="Pool")
    publish(city, text="Pool opens Monday", media=[(asset, "Pool")])
    publish(city, text="Trail closed for repairs")
    library = publish(
        city, text="Library story time", channels=[city.library_channel], author=city.carol, approver=city.dana
    )
    assert library
    archive_capture()
    return city


def export_through_the_page(client, officer, **data) -> RecordsExport:
    """Posts the form; the export task runs after commit (eagerly, as in `make run`)."""
    from django.test import TestCase

    client.force_login(officer)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("archive:export_list"), data)
    assert response.status_code == 302, response.content.decode()[response.content.decode().find("usa-alert") :][:1500]
    export = RecordsExport.objects.get()
    assert response["Location"] == reverse("archive:export_detail", args=[export.key])
    export.refresh_from_db()
    return export


def download(client, export: RecordsExport, tmp_path: Path) -> Path:
    response = client.get(reverse("archive:export_download", args=[export.key]))
    assert response.status_code == 200
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"".join(response.streaming_content))
    return path


def test_the_clerk_exports_one_department_and_the_bundle_verifies(archived, client, tmp_path):
    officer = records_officer()
    export = export_through_the_page(
        client, officer, reference="PRR-2026-41", departments=[archived.parks.pk], keywords=""
    )
    assert export.status == ExportStatus.DONE
    assert (export.total, export.done) == (2, 2)
    page = client.get(reverse("archive:export_detail", args=[export.key]), headers={"HX-Request": "true"})
    assert b"Download the bundle" in page.content
    assert b"hx-trigger" not in page.content  # finished: the page stops polling

    bundle = download(client, export, tmp_path)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        records = json.loads(archive.read("records.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("records.csv").decode())))
        index = archive.read("index.html").decode()
    media = [n for n in names if n.startswith("media/")]
    assert {"index.html", "records.json", "records.csv", "MANIFEST.txt", "verify_bundle.py", "README.txt"} <= names
    assert len(media) == 1 and media[0].endswith(".jpg")
    assert [r["content"]["text"] for r in records["records"]] == ["Pool opens Monday", "Trail closed for repairs"]
    assert records["records"][0]["content"]["approval"]["votes"][0]["voter"] == "Bob <bob@city.example>"
    assert [r["department"] for r in rows] == ["Parks and Recreation", "Parks and Recreation"]
    assert "Publish attempts" in index and "Library story time" not in index

    result = run_verify(bundle)
    assert result.returncode == 0, result.stdout
    assert "OK: every file matches MANIFEST.txt; 2 records match their chain hashes" in result.stdout


def test_a_bundle_with_a_changed_file_does_not_verify(archived, client, tmp_path):
    export = export_through_the_page(client, records_officer())
    bundle = download(client, export, tmp_path)
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(changed, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "records.csv":
                data = data.replace(b"Trail closed", b"Trail opened")
            target.writestr(item, data)
    result = run_verify(changed)
    assert result.returncode == 1
    assert "records.csv: changed" in result.stdout


def test_a_record_whose_text_was_changed_inside_records_json_and_the_manifest_is_caught(archived, client, tmp_path):
    """Rewriting records.json and its manifest line together still fails: the record's hashes do not match."""
    import hashlib

    export = export_through_the_page(client, records_officer())
    bundle = download(client, export, tmp_path)
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(bundle) as source:
        records = source.read("records.json").replace(b"Trail closed for repairs", b"Trail open all week")
        manifest = source.read("MANIFEST.txt").decode().splitlines()
        manifest = [
            f"{hashlib.sha256(records).hexdigest()}  {len(records)}  records.json"
            if line.endswith("  records.json")
            else line
            for line in manifest
        ]
        with zipfile.ZipFile(changed, "w") as target:
            for item in source.infolist():
                data = {"records.json": records, "MANIFEST.txt": ("\n".join(manifest) + "\n").encode()}.get(
                    item.filename, source.read(item.filename)
                )
                target.writestr(item, data)
    result = run_verify(changed)
    assert result.returncode == 1
    assert "its content does not match the content hash in the chain" in result.stdout


def test_the_export_is_recorded_in_the_chain_and_the_audit_trail(archived, client):
    officer = records_officer()
    export = export_through_the_page(client, officer, reference="PRR-7")
    recorded = ArchiveEntry.objects.get(kind=EntryKind.EXPORT)
    assert recorded.facts["bundle_sha256"] == export.sha256
    assert recorded.facts["reference"] == "PRR-7"
    assert recorded.facts["records"] == 3
    assert AuditEvent.objects.filter(action=AuditAction.ARCHIVE_EXPORTED, actor=officer).count() == 1
    assert chain_verify().ok


def test_keywords_match_text_and_dates_are_days_in_the_city_zone(archived):
    assert entries_matching(ExportFilters(keywords=("TRAIL", "story"))).count() == 2
    today = ArchiveEntry.objects.first().occurred_at.date()
    assert entries_matching(ExportFilters(date_from=today + dt.timedelta(days=2))).count() == 0
    assert (
        entries_matching(
            ExportFilters(date_from=today - dt.timedelta(days=1), date_to=today + dt.timedelta(days=1))
        ).count()
        == 3
    )


def test_the_progress_fragment_polls_while_the_export_runs(archived, client):
    officer = records_officer()
    export = RecordsExport.objects.create(requested_by=officer, status=ExportStatus.RUNNING, total=10, done=4)
    client.force_login(officer)
    page = client.get(reverse("archive:export_detail", args=[export.key]), headers={"HX-Request": "true"})
    assert b'hx-trigger="every 2s"' in page.content
    assert b"4 of 10 records" in page.content
    assert b'value="40"' in page.content


def test_an_export_with_dates_the_wrong_way_round_is_refused(archived, client):
    client.force_login(records_officer())
    response = client.post(reverse("archive:export_list"), {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert response.status_code == 400
    assert RecordsExport.objects.count() == 0
