"""CSV bulk import: a preview that reports every problem of every row and saves nothing, then an import
of the good rows (drafts or submitted) in one transaction; nothing from a broken row is ever saved."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from civicpost.exceptions import ApplicationError
from composer.csv_import import (
    EXAMPLE_CSV,
    MAX_ROWS,
    csv_decode,
    csv_import_queue,
    csv_import_run,
    csv_import_store,
    csv_preview,
)
from composer.models import CsvImport, ImportStatus
from scheduler.models import Post, PostStatus, PostVersion
from tests.factories import ChannelFactory

NOW = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)
HEADER = "department,channels,date,time,text,link,language,status\n"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def bluesky(personas):
    return ChannelFactory(department=personas.parks, platform="bluesky", display_name="Parks on Bluesky")


def csv_file(*rows: str, header: str = HEADER) -> str:
    return header + "".join(row + "\n" for row in rows)


def run_import(user, text: str) -> tuple[list[Post], CsvImport]:  # noqa: ANN001
    """Stores a file, queues it as the import button does, and runs the task's service."""
    upload = CsvImport.objects.create(uploaded_by=user, content=text)
    csv_import_queue(user=user, upload=upload)
    done = csv_import_run(upload_id=upload.pk)
    assert done is not None and done.status == ImportStatus.DONE
    posts = list(Post.objects.filter(pk__in=done.result["post_ids"]).order_by("pk"))
    return posts, done


GOOD_DRAFT = "Parks and Recreation,Parks on Sandbox,2026-03-02,10:00,Splash pads open Monday.,,en,draft"
GOOD_SUBMIT = "parks,Parks on Sandbox,03/03/2026,2:30 PM,Pools open Tuesday.,https://www.example.gov/pools,,submit"


def test_a_file_full_of_broken_rows_reports_each_problem_and_saves_nothing(personas, bluesky):
    text = csv_file(
        GOOD_DRAFT,
        "Parks and Recreation,Parks on Sandbox,2026-02-30,10:00,Bad date,,en,draft",
        "Parks and Recreation,Parks on Sandbox,2026-03-08,02:30,In the spring gap,,en,draft",
        "Parks and Recreation,Parks on Sandbox,2026-11-01,01:30,Happens twice,,en,draft",
        "Parks and Recreation,Parks on Nowhere,2026-03-02,10:00,Unknown channel,,en,draft",
        "Public Library,Library on Sandbox,2026-03-02,10:00,Not Alice's department,,en,draft",
        f"Parks and Recreation,Parks on Bluesky,2026-03-02,10:00,{'x' * 301},,en,draft",
        "Parks and Recreation,Parks on Sandbox,2026-01-01,10:00,In the past,,en,draft",
        "Parks and Recreation,Parks on Sandbox,2026-03-02,25:00,Bad time,not a link,fr,maybe",
        "Parks and Recreation,,2026-03-02,10:00,,,en,draft",
        "Parks and Recreation,Parks on Sandbox,2026-03-02,10:00,Too, many, cells,,en,draft",
    )
    preview = csv_preview(user=personas.alice, text=text)
    assert preview.file_problems == []
    problems = {row.line: row.problems for row in preview.rows}
    assert problems[2] == []
    assert problems[3] == ["“2026-02-30” is not a date: write it as 2026-12-05 (or 12/05/2026)."]
    assert problems[4] == [
        "2:30 AM does not exist on Sun, Mar 8, 2026 in America/Chicago: the clocks jump forward that night."
    ]
    assert "1:30 AM happens twice on Sun, Nov 1, 2026 in America/Chicago" in problems[5][0]
    assert problems[6] == ["Parks and Recreation has no channel called “Parks on Nowhere”."]
    assert problems[7][0] == "“Public Library” is not a department you post for."
    assert problems[8] == ["Parks on Bluesky: Bluesky allows 300 characters; this post has 301 (1 too many)."]
    assert problems[9] == ["10:00 AM on Thu, Jan 1, 2026 has already passed in America/Chicago."]
    assert problems[10] == [
        "“25:00” is not a time: write it as 14:30 (or 2:30 PM).",
        "“not a link” is not a full web address (https://…).",
        "Parks and Recreation does not post in “fr” (it posts in English).",
        "The status “maybe” is unknown: write draft or submit.",
    ]
    assert problems[11] == ["No channel is given (separate several with a semicolon).", "The text is empty."]
    assert "more cells than the file has columns" in problems[12][0]
    assert not Post.objects.exists()

    posts, done = run_import(personas.alice, text)
    assert [post.text for post in posts] == ["Splash pads open Monday."]
    assert Post.objects.count() == 1  # nothing from the eleven broken rows
    assert [row["line"] for row in done.result["left_out"]] == list(range(3, 13))
    with pytest.raises(ApplicationError, match="imported already"):
        csv_import_queue(user=personas.alice, upload=done)
    assert csv_import_run(upload_id=done.pk) is None  # a second delivery of the task does nothing
    assert Post.objects.count() == 1


def test_good_rows_become_drafts_or_submitted_posts_at_the_local_time(personas):
    text = csv_file(GOOD_DRAFT, GOOD_SUBMIT)
    posts, done = run_import(personas.alice, text)
    assert done.result["left_out"] == [] and done.result["submitted"] == 1
    draft, submitted = posts
    assert draft.status == PostStatus.DRAFT and submitted.status == PostStatus.SUBMITTED
    assert draft.due_at == dt.datetime(2026, 3, 2, 16, 0, tzinfo=dt.UTC)  # 10:00 CST
    assert submitted.due_at == dt.datetime(2026, 3, 3, 20, 30, tzinfo=dt.UTC)  # 2:30 PM CST
    assert submitted.link == "https://www.example.gov/pools"
    assert PostVersion.objects.count() == 2


def test_an_ambiguous_time_is_accepted_with_its_utc_offset(personas):
    header = "department,channels,date,time,text,utc_offset\n"
    text = csv_file(
        "parks,Parks on Sandbox,2026-11-01,01:30,First 1:30,-05:00",
        "parks,Parks on Sandbox,2026-11-01,01:30,Second 1:30,UTC−06:00",
        "parks,Parks on Sandbox,2026-03-02,10:00,Wrong offset,-05:00",
        header=header,
    )
    rows = csv_preview(user=personas.alice, text=text).rows
    assert rows[0].due_at == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)
    assert rows[1].due_at == dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.UTC)
    assert rows[2].problems == ["The UTC offset -05:00 does not match 10:00 AM on Mon, Mar 2, 2026 in America/Chicago."]


def test_missing_and_unknown_columns_are_reported_before_any_row(personas):
    preview = csv_preview(user=personas.alice, text="department,channel,date,text\nparks,x,2026-03-02,Hi\n")
    assert preview.file_problems == [
        "The file has no column channels, time.",
        "The file has columns CivicPost does not know: channel. "
        "Use only department, channels, date, time, text, link, language, status, utc_offset.",
    ]
    assert preview.good_rows == []
    assert csv_preview(user=personas.alice, text="").file_problems == ["The file is empty."]
    assert csv_preview(user=personas.alice, text=HEADER).file_problems == ["The file has a header but no rows."]


def test_bad_encoding_gets_a_clear_message_and_a_byte_order_mark_is_fine(personas):
    latin1 = csv_file(GOOD_DRAFT, "parks,Parks on Sandbox,2026-03-02,10:00,Piñata at the park,,,draft").encode(
        "latin-1"
    )
    with pytest.raises(ApplicationError, match=r"not UTF-8 text \(line 3 has a character"):
        csv_decode(latin1)
    with_bom = "\ufeff" + csv_file(GOOD_DRAFT)
    text = csv_decode(with_bom.encode("utf-8"))
    assert csv_preview(user=personas.alice, text=text).rows[0].problems == []


def test_more_than_2000_rows_are_refused_as_a_whole(personas):
    text = csv_file(*[GOOD_DRAFT] * (MAX_ROWS + 1))
    preview = csv_preview(user=personas.alice, text=text)
    assert preview.file_problems == [
        "The file has more than 2,000 rows; CivicPost takes up to 2,000 at a time. Split it."
    ]
    assert preview.good_rows == []


def test_2000_rows_preview_and_import_in_one_go(personas, capsys):
    rows = [
        f"Parks and Recreation,Parks on Sandbox,2026-03-{2 + n % 20:02d},{8 + n % 10:02d}:{n % 60:02d},"
        f"Post number {n}: splash pads open at every city park.,,en,{'submit' if n % 2 else 'draft'}"
        for n in range(MAX_ROWS)
    ]
    text = csv_file(*rows)
    started = time.perf_counter()
    preview = csv_preview(user=personas.alice, text=text)
    checked = time.perf_counter()
    assert len(preview.good_rows) == MAX_ROWS
    posts, _done = run_import(personas.alice, text)
    finished = time.perf_counter()
    assert len(posts) == MAX_ROWS
    assert Post.objects.filter(status=PostStatus.SUBMITTED).count() == MAX_ROWS // 2
    with capsys.disabled():
        print(  # noqa: T201 - the figure the issue asks for
            f"\nCSV import of {MAX_ROWS} rows: preview {checked - started:.1f} s, "
            f"import (re-check + save) {finished - checked:.1f} s"
        )


def test_the_import_pages_preview_then_import(personas, django_capture_on_commit_callbacks):
    alice = Client()
    alice.force_login(personas.alice)
    example = alice.get(reverse("composer:import_example"))
    assert example["Content-Disposition"] == 'attachment; filename="civicpost-import-example.csv"'
    text = csv_file(GOOD_DRAFT, "Parks and Recreation,Parks on Nowhere,2026-03-02,10:00,Unknown channel,,en,draft")
    response = alice.post(
        reverse("composer:import_upload"), {"file": SimpleUploadedFile("plan.csv", text.encode(), "text/csv")}
    )
    assert response.status_code == 302
    preview = alice.get(response["Location"]).content.decode()
    assert "2 rows, 1 ready, 1 with problems. Nothing is saved yet." in preview
    assert "Parks and Recreation has no channel called “Parks on Nowhere”." in preview
    assert not Post.objects.exists()
    carol = Client()
    carol.force_login(personas.carol)
    assert carol.get(response["Location"]).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = alice.post(response["Location"])
    assert confirmed.status_code == 302
    done = alice.get(response["Location"]).content.decode()
    assert "1 posts were imported (0 sent for approval). 1 rows were left out." in done
    assert "Parks and Recreation has no channel called “Parks on Nowhere”." in done
    assert Post.objects.count() == 1
    again = alice.post(response["Location"], follow=True).content.decode()
    assert "This file was imported already." in again
    assert Post.objects.count() == 1

    bad = alice.post(
        reverse("composer:import_upload"),
        {"file": SimpleUploadedFile("plan.csv", "text,é\n".encode("cp1252"), "text/csv")},
    )
    assert "not UTF-8 text" in bad.content.decode()


def test_the_documented_example_file_is_the_downloadable_one_and_imports_cleanly(personas):
    assert (DOCS / "csv-import-example.csv").read_text(encoding="utf-8") == EXAMPLE_CSV
    assert "csv-import-example.csv" in (DOCS / "csv-import.md").read_text(encoding="utf-8")
    ChannelFactory(department=personas.parks, platform="sandbox", display_name="Parks on Mastodon")
    with time_machine.travel(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), tick=False):
        stored = csv_import_store(user=personas.alice, file_name="example.csv", data=EXAMPLE_CSV.encode())
        preview = csv_preview(user=personas.alice, text=stored.content)
    assert [row.problems for row in preview.rows] == [[], []]


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC),  # the demo's day: the documented dates are past
        dt.datetime(2026, 12, 6, 4, 30, tzinfo=dt.UTC),  # still 5 December in New York, already the 6th in UTC
    ],
)
def test_the_downloaded_example_imports_unchanged_for_the_person_who_downloads_it(
    personas, django_capture_on_commit_callbacks, now
):
    ChannelFactory(department=personas.library, platform="sandbox", display_name="Library; events")
    carol = Client()
    with time_machine.travel(now, tick=False):
        carol.force_login(personas.carol)
        example = carol.get(reverse("composer:import_example"))
        assert example.status_code == 200
        assert example["Content-Disposition"] == 'attachment; filename="civicpost-import-example.csv"'
        text = example.content.decode()
        uploaded = carol.post(
            reverse("composer:import_upload"),
            {"file": SimpleUploadedFile("civicpost-import-example.csv", example.content, "text/csv")},
        )
        preview = carol.get(uploaded["Location"]).content.decode()
        assert "2 rows, 2 ready, 0 with problems. Nothing is saved yet." in preview
        with django_capture_on_commit_callbacks(execute=True):
            carol.post(uploaded["Location"])
    assert "Parks" not in text
    posts = list(Post.objects.order_by("due_at"))
    assert [post.department for post in posts] == [personas.library, personas.library]
    assert [post.status for post in posts] == [PostStatus.DRAFT, PostStatus.SUBMITTED]
    assert [set(post.channels.all()) for post in posts] == [
        {personas.library_channel},
        {personas.library_channel, personas.library.channels.get(display_name="Library; events")},
    ]
    local_today = now.astimezone(personas.library.zone).date()
    assert all(post.due_at.astimezone(personas.library.zone).date() > local_today for post in posts)


def test_the_example_for_someone_without_channels_is_the_documented_one(city):
    vera = Client()
    vera.force_login(city.vera)
    assert vera.get(reverse("composer:import_example")).content.decode() == EXAMPLE_CSV
    assert Client().get(reverse("composer:import_example")).status_code == 302
