"""The hash chain: capture of publications and platform removals, tamper detection by archive_verify
(change, delete, reorder one entry: named), append-only in the database, appends never fork."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from analytics import services as analytics_services
from analytics.models import RemoteRemoval
from archive.chain import GENESIS_HASH, NewEntry, chain_head, chain_verify, entry_append
from archive.models import ArchiveContent, ArchiveEntry, EntryKind
from archive.services import archive_capture
from archive.sources import publication_key
from medialibrary.services import media_upload
from scheduler.models import ApprovalVote, SandboxPost
from tests.archive.helpers import publish
from tests.medialibrary.helpers import jpeg_upload

pytestmark = pytest.mark.django_db


def entry(n: int, **facts: object) -> NewEntry:
    return NewEntry(
        kind=EntryKind.COMMENT,
        source_key=f"test:{n}",
        occurred_at=dt.datetime(2026, 3, 1, 12, n % 60, tzinfo=dt.UTC),
        facts={"n": n, **facts},
        content={"comment": f"Comment number {n}"},
        search_text=f"Comment number {n}",
    )


def chain_of(count: int) -> list[ArchiveEntry]:
    return [e for e in (entry_append(entry(n)) for n in range(1, count + 1)) if e is not None]


def tamper(sql: str, params: list | None = None) -> None:
    """Changes rows behind the application's back, as a database administrator could (the PostgreSQL
    trigger switched off for the statement, as the table owner can)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE archive_archiveentry DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE archive_archivecontent DISABLE TRIGGER USER")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE archive_archiveentry ENABLE TRIGGER USER")
            cursor.execute("ALTER TABLE archive_archivecontent ENABLE TRIGGER USER")


def verify_names(sequence: int) -> str:
    with pytest.raises(CommandError) as failure:
        call_command("archive_verify")
    assert f"Broken at entry #{sequence}:" in str(failure.value)
    return str(failure.value)


def test_each_entry_hashes_the_previous_one_and_the_chain_verifies(capsys):
    entries = chain_of(3)
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    assert chain_head().head_hash == entries[-1].entry_hash
    call_command("archive_verify")
    assert f"OK: 3 entries verified. Chain head #3 {entries[-1].entry_hash}" in capsys.readouterr().out


def test_the_same_event_is_archived_once():
    assert entry_append(entry(1)) is not None
    assert entry_append(entry(1)) is None
    assert ArchiveEntry.objects.count() == 1


def test_a_changed_entry_is_named():
    chain_of(4)
    tamper("UPDATE archive_archiveentry SET channel_name = 'Somewhere else' WHERE sequence = 3")
    assert "was changed" in verify_names(3)


def test_changed_content_is_named():
    chain_of(4)
    tamper(
        "UPDATE archive_archivecontent SET body = %s WHERE entry_id = "
        "(SELECT id FROM archive_archiveentry WHERE sequence = 2)",
        ['{"comment": "Something the city never said"}'],
    )
    assert "content of entry #2 was changed" in verify_names(2)


def test_a_deleted_entry_is_named():
    chain_of(4)
    tamper("DELETE FROM archive_archiveentry WHERE sequence = 2")
    assert "Entry #2 is missing" in verify_names(2)


def test_a_deleted_last_entry_is_named_through_the_head():
    chain_of(3)
    tamper("DELETE FROM archive_archiveentry WHERE sequence = 3")
    verify_names(3)


def test_two_entries_swapped_are_named_at_the_first():
    chain_of(4)
    tamper("UPDATE archive_archiveentry SET sequence = 1000 WHERE sequence = 2")
    tamper("UPDATE archive_archiveentry SET sequence = 2 WHERE sequence = 3")
    tamper("UPDATE archive_archiveentry SET sequence = 3 WHERE sequence = 1000")
    verify_names(2)


def test_the_application_refuses_to_change_or_delete_an_entry():
    [first] = chain_of(1)
    first.channel_name = "Elsewhere"
    with pytest.raises(PermissionError):
        first.save()
    with pytest.raises(PermissionError):
        first.delete()
    with pytest.raises(PermissionError):
        ArchiveContent.objects.get(entry=first).save()


@pytest.mark.postgres
def test_on_postgresql_the_database_refuses_update_and_delete_of_entries():
    chain_of(2)
    for sql in ("UPDATE archive_archiveentry SET channel_name = 'x'", "DELETE FROM archive_archiveentry"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE archive_archivecontent SET search_text = 'x'")
    assert chain_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_capture_runs_at_once_never_fork_the_chain():
    """Two threads append 20 entries each at the same time: one chain of 40, each linked to the one before."""
    errors: list[BaseException] = []

    def append(offset: int) -> None:
        try:
            for n in range(20):
                entry_append(entry(offset + n))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(offset,)) for offset in (1, 101)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(ArchiveEntry.objects.values_list("sequence", flat=True)) == list(range(1, 41))
    assert chain_verify().ok


# --- Capture -------------------------------------------------------------------------------------------


def test_a_publication_is_archived_with_what_was_sent_the_votes_and_the_platforms_answer(city):
    [delivery] = publish(city, text="Pools open at noon.", link="https://parks.example/pools")
    report = archive_capture()
    assert report.appended == {"publications": 1, "remote_removals": 0, "inbox_comments": 0, "inbox_moderation": 0}
    archived = ArchiveEntry.objects.get(source_key=publication_key(delivery.pk))
    assert archived.kind == EntryKind.PUBLICATION
    assert (archived.department_name, archived.channel_name, archived.platform) == (
        "Parks and Recreation",
        "Parks on Sandbox",
        "sandbox",
    )
    assert archived.facts["remote_id"] == delivery.remote_id
    assert archived.facts["permalink"] == delivery.permalink
    assert "alice@city.example" in archived.facts["author"]
    body = archived.content.body
    sent = SandboxPost.objects.get(pk=delivery.remote_id)
    assert (body["text"], body["link"]) == (sent.text, sent.link)
    assert body["raw_answer"]["id"] == int(delivery.remote_id)
    vote = ApprovalVote.objects.get(post=delivery.post)
    assert [v["voter"] for v in body["approval"]["votes"]] == ["Bob <bob@city.example>"]
    assert body["approval"]["votes"][0]["at"] == vote.created_at.astimezone(dt.UTC).isoformat()
    assert [a["outcome"] for a in body["attempts"]] == ["published"]
    # A second run finds nothing new.
    assert archive_capture().appended == {
        "publications": 0,
        "remote_removals": 0,
        "inbox_comments": 0,
        "inbox_moderation": 0,
    }


def test_media_as_sent_are_kept_after_the_library_deletes_them(city, settings):
    from django.core.files.storage import default_storage

    asset = media_upload(user=city.alice, department=city.parks, upload=jpeg_upload("pool.jpg"), alt_text="The pool")
    with default_storage.open(asset.file_name, "rb") as handle:
        original = handle.read()
    publish(city, text="The new pool", media=[(asset, "The pool")])
    archive_capture()
    default_storage.delete(asset.file_name)

    body = ArchiveEntry.objects.get(kind=EntryKind.PUBLICATION).content.body
    [media] = body["media"]
    import hashlib

    assert media["sha256"] == hashlib.sha256(original).hexdigest()
    assert media["kept"] is True
    assert media["alt_text"] == "The pool"
    from archive.models import ArchiveBlob
    from archive.storage import blob_open

    with blob_open(ArchiveBlob.objects.get(sha256=media["sha256"])) as handle:
        assert handle.read() == original


def test_a_post_deleted_on_the_sandbox_platform_shows_as_deleted_in_the_archive(city):
    start = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        [delivery] = publish(city)
        archive_capture()
        SandboxPost.objects.filter(pk=delivery.remote_id).delete()
        clock.shift(dt.timedelta(hours=2))
        analytics_services.metrics_collect_pass()
        report = archive_capture()

    assert report.appended["remote_removals"] == 1
    removal = RemoteRemoval.objects.get(delivery=delivery)
    archived = ArchiveEntry.objects.get(kind=EntryKind.REMOVED_ON_PLATFORM)
    assert archived.delivery_id == delivery.pk
    assert archived.occurred_at == removal.noticed_at == start + dt.timedelta(hours=2)
    assert archived.facts["publication"] == publication_key(delivery.pk)
    assert archived.sequence == 2
    assert chain_verify().ok


def test_a_failing_source_is_recorded_and_the_others_still_run(city, settings):
    settings.CIVICPOST_ARCHIVE_SOURCES = ["tests.archive.test_chain.BROKEN", "archive.sources.PUBLICATIONS"]
    publish(city)
    report = archive_capture()
    assert report.appended["publications"] == 1
    assert "no inbox yet" in report.problems["broken"]
    from archive.models import CaptureCursor

    assert "no inbox yet" in CaptureCursor.objects.get(source="broken").last_problem


def _broken(cursor: str, limit: int) -> tuple[list[NewEntry], str]:
    raise RuntimeError("no inbox yet")


from archive.sources import CaptureSource  # noqa: E402 - the test source, next to the function it names

BROKEN = CaptureSource("broken", _broken)
