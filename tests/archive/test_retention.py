"""Retention across years (time-machine), legal holds blocking disposition, the records officer's approval,
the disposition certificate in a chain that still verifies; the daily chain head e-mail."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from archive.chain import chain_head, chain_verify
from archive.models import (
    ArchiveBlob,
    ArchiveContent,
    ArchiveEntry,
    Disposition,
    DispositionStatus,
    EntryKind,
    HeadNotice,
    RetentionTrigger,
)
from archive.retention import eligible_on
from archive.services import (
    archive_capture,
    disposition_approve,
    disposition_propose,
    head_notice_send_daily,
    legal_hold_create,
    legal_hold_release,
    retention_schedule_save,
)
from civicpost.exceptions import ApplicationError
from civicpost.periodic import PERIODIC_JOBS
from medialibrary.services import media_upload
from tests.archive.helpers import publish, records_officer
from tests.medialibrary.helpers import jpeg_upload

pytestmark = pytest.mark.django_db

PUBLISHED = dt.datetime(2024, 3, 15, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def old_posts(city):
    """Two Parks posts (one with a photo) and one Library post, published and archived in March 2024."""
    with time_machine.travel(PUBLISHED, tick=False):
        asset = media_upload(user=city.alice, department=city.parks, upload=jpeg_upload("pool.jpg"), alt_text="Pool")
        publish(city, text="Pool party at Lincoln Park", media=[(asset, "Pool")])
        publish(city, text="Trail work on the river path")
        publish(city, text="Book sale", channels=[city.library_channel], author=city.carol, approver=city.dana)
        archive_capture()
    return city


def two_year_schedule(officer, city, trigger=RetentionTrigger.AFTER_PUBLICATION):
    return retention_schedule_save(
        user=officer,
        name="Social media, 2 years",
        citation="GS 1-12 item 3",
        period_years=2,
        period_months=0,
        trigger=trigger,
        department_ids=[city.parks.pk],
        channel_ids=[],
    )


def test_retention_counts_from_publication_or_from_the_end_of_the_year(city):
    officer = records_officer()
    schedule = two_year_schedule(officer, city)
    assert eligible_on(schedule, dt.date(2024, 3, 15)) == dt.date(2026, 3, 15)
    schedule.trigger = RetentionTrigger.AFTER_END_OF_YEAR
    assert eligible_on(schedule, dt.date(2024, 3, 15)) == dt.date(2027, 1, 1)


def test_nothing_is_listed_before_the_period_has_passed_and_only_assigned_departments_are(old_posts):
    officer = records_officer()
    two_year_schedule(officer, old_posts)
    with time_machine.travel(dt.datetime(2026, 3, 14, 12, tzinfo=dt.UTC), tick=False):
        assert disposition_propose() is None
    with time_machine.travel(dt.datetime(2026, 3, 16, 12, tzinfo=dt.UTC), tick=False):
        disposition = disposition_propose()
        assert disposition is not None
        # Listed once: the next daily run does not list them again while the list waits.
        assert disposition_propose() is None
    listed = ArchiveEntry.objects.filter(pk__in=disposition.items.values("entry_id"))
    assert {e.department_name for e in listed} == {"Parks and Recreation"}
    assert listed.count() == 2


def test_after_the_end_of_the_year_waits_until_january_two_years_on(old_posts):
    officer = records_officer()
    two_year_schedule(officer, old_posts, trigger=RetentionTrigger.AFTER_END_OF_YEAR)
    with time_machine.travel(dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC), tick=False):
        assert disposition_propose() is None
    with time_machine.travel(dt.datetime(2027, 1, 1, 12, tzinfo=dt.UTC), tick=False):
        assert disposition_propose() is not None


def test_approved_disposition_removes_content_and_media_and_leaves_a_certificate_in_a_chain_that_verifies(old_posts):
    officer = records_officer()
    two_year_schedule(officer, old_posts)
    assert ArchiveBlob.objects.count() == 1
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC), tick=False):
        disposition = disposition_propose()
        certificate = disposition_approve(user=officer, disposition=disposition)

    parks = ArchiveEntry.objects.filter(department_name="Parks and Recreation", kind=EntryKind.PUBLICATION)
    assert not ArchiveContent.objects.filter(entry__in=parks).exists()
    assert ArchiveContent.objects.filter(entry__department_name="Public Library").count() == 1
    assert ArchiveBlob.objects.count() == 0
    assert certificate.kind == EntryKind.DISPOSITION
    assert certificate.facts["approved_by"] == "Rita <rita@city.example>"
    assert [d["schedule"] for d in certificate.facts["disposed"]] == ["Social media, 2 years"] * 2
    assert {d["citation"] for d in certificate.facts["disposed"]} == {"GS 1-12 item 3"}
    assert "Pool party" not in str(certificate.facts)
    disposition.refresh_from_db()
    assert disposition.status == DispositionStatus.DONE
    assert disposition.certificate == certificate
    assert chain_verify().ok


def test_a_legal_hold_blocks_disposition_of_what_it_covers_until_released(old_posts):
    officer = records_officer()
    two_year_schedule(officer, old_posts)
    hold = legal_hold_create(
        user=officer, case_reference="Doe v. City 24-CV-118", department_id=old_posts.parks.pk, search_terms="pool"
    )
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC), tick=False):
        disposition = disposition_propose()
    listed = ArchiveEntry.objects.filter(pk__in=disposition.items.values("entry_id"))
    assert [e.content.body["text"] for e in listed] == ["Trail work on the river path"]

    legal_hold_release(user=officer, hold=hold)
    with time_machine.travel(dt.datetime(2026, 4, 2, 12, tzinfo=dt.UTC), tick=False):
        later = disposition_propose()
    assert [ArchiveEntry.objects.get(pk=i.entry_id).content.body["text"] for i in later.items.all()] == [
        "Pool party at Lincoln Park"
    ]


def test_a_hold_placed_after_the_list_was_made_still_keeps_its_records(old_posts):
    officer = records_officer()
    two_year_schedule(officer, old_posts)
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC), tick=False):
        disposition = disposition_propose()
        legal_hold_create(user=officer, case_reference="Audit 2026-3", starts_on=dt.date(2024, 1, 1))
        certificate = disposition_approve(user=officer, disposition=disposition)
    assert certificate.facts["disposed"] == []
    assert len(certificate.facts["kept_under_legal_hold"]) == 2
    assert ArchiveContent.objects.count() == 3


def test_only_the_records_officer_approves_and_only_once(old_posts):
    officer = records_officer()
    two_year_schedule(officer, old_posts)
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC), tick=False):
        disposition = disposition_propose()
        with pytest.raises(ApplicationError):
            disposition_approve(user=old_posts.max, disposition=disposition)
        disposition_approve(user=officer, disposition=disposition)
        with pytest.raises(ApplicationError, match="no longer waiting"):
            disposition_approve(user=officer, disposition=disposition)
    assert ArchiveEntry.objects.filter(kind=EntryKind.DISPOSITION).count() == 1


def test_the_disposition_pages_approve_through_the_service(old_posts, client):
    officer = records_officer()
    two_year_schedule(officer, old_posts)
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC), tick=False):
        disposition = disposition_propose()
    client.force_login(officer)
    page = client.get(reverse("archive:disposition_detail", args=[disposition.pk]))
    assert b"Approve: remove their content" in page.content
    response = client.post(reverse("archive:disposition_approve", args=[disposition.pk]))
    assert response.status_code == 302
    assert Disposition.objects.get().status == DispositionStatus.DONE


def test_the_chain_head_is_emailed_to_the_records_officers_once_a_day(old_posts):
    records_officer("rita")
    records_officer("ron")
    head = chain_head()
    notice = head_notice_send_daily(now=dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC))
    assert notice is not None
    assert head_notice_send_daily(now=dt.datetime(2026, 5, 1, 18, tzinfo=dt.UTC)) is None
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["rita@city.example", "ron@city.example"]
    assert head.head_hash in mail.outbox[0].body
    assert f"#{head.sequence}" in mail.outbox[0].body
    assert head_notice_send_daily(now=dt.datetime(2026, 5, 2, 6, tzinfo=dt.UTC)) is not None
    assert HeadNotice.objects.count() == 2


def test_the_archive_jobs_are_periodic():
    tasks = {job.task: job.every_seconds for job in PERIODIC_JOBS}
    assert "archive.tasks.capture" in tasks
    assert tasks["archive.tasks.send_chain_head"] <= 3600
    assert tasks["archive.tasks.propose_disposition"] == 86400


def test_retention_and_hold_pages_save_through_the_services(city, client):
    officer = records_officer()
    client.force_login(officer)
    response = client.post(
        reverse("archive:retention"),
        {
            "name": "GS 7 years",
            "citation": "GS 1-1",
            "period_years": "7",
            "period_months": "0",
            "trigger": "after_end_of_year",
            "departments": [city.library.pk],
        },
    )
    assert response.status_code == 302
    assert city.library.retention.schedule.name == "GS 7 years"
    response = client.post(reverse("archive:legal_holds"), {"case_reference": "PRR 12", "search_terms": "budget"})
    assert response.status_code == 302
    page = client.get(reverse("archive:legal_holds"))
    assert b"PRR 12" in page.content
