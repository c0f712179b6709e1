"""The demo of `make run`: the clerk (records officer) finds the archive filled, sees the post deleted on the
Sandbox as deleted once the collector has read it, and answers a records request for one department and
month with a bundle that verifies."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zipfile
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from analytics.services import metrics_collect_pass
from archive.models import ArchiveEntry, EntryKind, RecordsExport
from archive.services import archive_capture
from departments.models import CityRoleName, Department
from scheduler.models import SandboxPost

pytestmark = pytest.mark.django_db


def test_the_demo_clerk_sees_the_post_deleted_on_the_sandbox_and_exports_a_month_that_verifies(
    settings, client, tmp_path
):
    settings.DEBUG = True
    settings.CIVICPOST_METRICS_AGES = ["2m", "1h"]  # as `make run` sets them
    call_command("seed_demo", stdout=StringIO())
    clerk = get_user_model().objects.get(email="clerk@city.example")
    assert clerk.city_role.role == CityRoleName.RECORDS_OFFICER

    # The demo's history (issue 13) is archived too; this is the one post the demo deletes on the Sandbox.
    published = ArchiveEntry.objects.get(
        kind=EntryKind.PUBLICATION, content__body__text__icontains="deleted on the Sandbox"
    )
    assert "deleted on the Sandbox" in published.content.body["text"]
    assert not SandboxPost.objects.filter(pk=published.facts["remote_id"]).exists()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3), tick=False):
        metrics_collect_pass()
        archive_capture()
    removed = ArchiveEntry.objects.get(kind=EntryKind.REMOVED_ON_PLATFORM)
    assert removed.delivery_id == published.delivery_id

    client.force_login(clerk)
    page = client.get(reverse("archive:index")).content.decode()
    assert "Deleted or hidden on the platform" in page

    today = timezone.localdate()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            reverse("archive:export_list"),
            {
                "reference": "PRR-DEMO",
                "departments": [Department.objects.get(slug="parks").pk],
                "date_from": today.replace(day=1).isoformat(),
                "date_to": (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1),
            },
        )
    assert response.status_code == 302
    export = RecordsExport.objects.get()
    assert export.status == "done"
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(b"".join(client.get(reverse("archive:export_download", args=[export.key])).streaming_content))
    with zipfile.ZipFile(bundle) as archive:
        records = json.loads(archive.read("records.json"))["records"]
    # The month holds the demo's published history of Parks too; the deleted post and its removal are in it.
    assert export.done == len(records) >= 2
    sequences = {record["chain"]["sequence"] for record in records}
    assert {published.sequence, removed.sequence} <= sequences
    assert {record["chain"]["department_id"] for record in records} == {Department.objects.get(slug="parks").pk}
    script = Path(__file__).resolve().parents[2] / "archive" / "verify_bundle.py"
    result = subprocess.run([sys.executable, str(script), str(bundle)], capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stdout
