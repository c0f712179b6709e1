"""/api/v1/archive/exports/: a records officer's token starts an export, reads its status and downloads the
bundle; every other token gets 404; a date the wrong way round is a 400 problem."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import TestCase

from archive.models import RecordsExport
from archive.services import archive_capture
from tests.api.conftest import client_with, token_for
from tests.archive.helpers import publish, records_officer

pytestmark = pytest.mark.django_db

URL = "/api/v1/archive/exports/"


def test_a_records_officer_exports_through_the_api(city):
    publish(city, text="Pool opens Monday")
    archive_capture()
    client = client_with(token_for(records_officer(), scopes=("read",)))
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = client.post(
            URL, {"reference": "PRR-9", "departments": [city.parks.pk], "keywords": ["pool"]}, format="json"
        )
    assert created.status_code == 202
    key = created.json()["key"]
    assert created["Location"] == f"{URL}{key}/"

    status = client.get(f"{URL}{key}/").json()
    assert (status["status"], status["done"], status["reference"]) == ("done", 1, "PRR-9")
    assert status["download_url"] == f"{URL}{key}/download/"
    assert status["filters"]["keywords"] == ["pool"]
    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "MANIFEST.txt" in bundle.namelist()
    assert [e["key"] for e in client.get(URL).json()["results"]] == [key]


def test_other_tokens_do_not_see_the_archive(city):
    export = RecordsExport.objects.create(requested_by=records_officer())
    for user in (city.alice, city.max, city.ivan):
        client = client_with(token_for(user))
        assert client.get(URL).status_code == 404
        assert client.post(URL, {}, format="json").status_code == 404
        assert client.get(f"{URL}{export.key}/").status_code == 404
    assert RecordsExport.objects.count() == 1


def test_dates_the_wrong_way_round_are_a_problem(city):
    client = client_with(token_for(records_officer(), scopes=("read",)))
    response = client.post(URL, {"date_from": "2026-05-02", "date_to": "2026-05-01"}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert RecordsExport.objects.count() == 0
