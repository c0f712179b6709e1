"""The compact calendar (issue 19): one line per post in the month and week (time without the offset, which
the header says once; department colour, platform names, status dot), "+N more", the preview with the whole
text, the per-channel versions and the approver; a post started from a day; the drafts panel whose moves go
through the reschedule service; the filter bar's chips; a fixed number of queries for the month page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scheduler.calendar.drafts import calendar_drafts
from scheduler.calendar.month import calendar_month
from scheduler.calendar.week import calendar_week
from scheduler.models import Post, PostApproval, PostStatus
from tests.scheduler.test_calendar import CHICAGO, NOW, _bulk_posts, at, fresh, make_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def month_page(client, user, **params) -> str:  # noqa: ANN001
    client.force_login(user)
    response = client.get(reverse("scheduler:calendar_month"), {"month": "2026-11", "filtered": "1", **params})
    assert response.status_code == 200
    return response.content.decode()


def line_of(page: str, post: Post) -> str:
    """The month line of `post` (its <li> up to the next line)."""
    start = page.index(f'data-post-id="{post.pk}"')
    end = page.find('<li class="civic-cal-line', start)
    return page[start : end if end != -1 else len(page)]


def test_a_month_line_shows_the_time_without_the_offset_which_the_header_says_once(personas, client):
    post = make_post(
        author=personas.alice,
        channels=[personas.parks_channel],
        due_at=at(2026, 11, 10, 9),
        status=PostStatus.APPROVED,
        approver=personas.bob,
    )
    page = month_page(client, personas.alice)
    line = line_of(page, post)
    assert re.search(r"<time datetime=\"[^\"]+\">9:00 AM</time>", line)
    shown = line.split('">', 1)[1].split('class="civic-cal-preview"')[0]  # after the line's own attributes
    assert "UTC−06:00" not in shown
    assert "Times are shown in America/Chicago" in page and "UTC−06:00" in page
    assert 'class="civic-cal-dot civic-cal-dot--approved"' in line
    assert 'class="civic-cal-line civic-cal-line--' in page
    assert 'role="img" aria-label="Sandbox"' in line
    # The line names its department and status for screen readers (the dot and the colour are second cues).
    assert '<span class="usa-sr-only">Parks and Recreation, Approved and scheduled:</span>' in line


def test_the_preview_has_the_whole_text_the_channel_versions_and_the_approver(personas, client):
    long_text = "Splash pads open Saturday. " * 8
    post = make_post(
        author=personas.alice,
        channels=[personas.parks_channel],
        due_at=at(2026, 11, 10, 9),
        status=PostStatus.APPROVED,
        approver=personas.bob,
        text=long_text.strip(),
    )
    Post.objects.filter(pk=post.pk).update(channel_text={str(personas.parks_channel.pk): "Short version for Sandbox"})
    page = month_page(client, personas.alice)
    line = line_of(page, post)
    preview = line.split(f'id="cal-preview-{post.pk}"')[1]
    assert f'aria-describedby="cal-preview-{post.pk}"' in line
    assert long_text.strip() in preview
    assert "<strong>Parks on Sandbox:</strong> Short version for Sandbox" in preview
    bob = personas.bob
    assert f"Approved by {bob.get_full_name() or bob.email}." in preview
    entry = next(e for e in calendar_month(user=fresh(personas.alice), year=2026, month=11).entries)
    assert entry.versions == [("Parks on Sandbox", "Short version for Sandbox")]


def test_a_post_sent_back_for_approval_names_no_approver(personas):
    post = make_post(
        author=personas.alice,
        channels=[personas.parks_channel],
        due_at=at(2026, 11, 10, 9),
        status=PostStatus.APPROVED,
        approver=personas.bob,
    )
    Post.objects.filter(pk=post.pk).update(status=PostStatus.SUBMITTED)
    entry = calendar_month(user=fresh(personas.alice), year=2026, month=11).entries[0]
    assert entry.approved_by == ""
    assert PostApproval.objects.filter(post=post).exists()


def test_on_the_day_the_clocks_change_each_line_says_its_offset(personas):
    fall_back = make_post(author=personas.alice, channels=[personas.parks_channel], due_at=at(2026, 11, 1, 1, 30))
    ordinary = make_post(author=personas.alice, channels=[personas.parks_channel], due_at=at(2026, 11, 2, 9))
    entries = {e.post.pk: e for e in calendar_month(user=fresh(personas.alice), year=2026, month=11).entries}
    assert entries[fall_back.pk].offset_note == "CDT (UTC−05:00)"
    assert entries[ordinary.pk].offset_note == ""


def test_a_full_day_lists_its_first_posts_and_plus_n_more(personas, client, settings):
    settings.CIVICPOST_CALENDAR_MONTH_CELL_LIMIT = 3
    for minute in range(5):
        make_post(author=personas.alice, channels=[personas.parks_channel], due_at=at(2026, 11, 10, 9, minute * 10))
    page = month_page(client, personas.alice)
    assert page.count('<li class="civic-cal-line') == 3
    assert "+2 more" in page
    assert "posts on Tuesday, November 10, 2026" in page


def test_each_coming_day_offers_a_new_post_on_that_date_to_members_only(personas, client):
    page = month_page(client, personas.alice)
    assert '<span class="usa-sr-only">New post on Tuesday, November 10, 2026</span>' in page
    assert f'href="{reverse("scheduler:post_create")}?date=2026-11-10"' in page
    # October 19 has passed (the clock says October 20): no new post there.
    october = month_page(client, personas.alice, month="2026-10")
    assert "?date=2026-10-19" not in october and "?date=2026-10-20" in october
    # Dana (communications manager) is a member too; a person with no department is not offered it.
    from tests.factories import UserFactory

    outsider = UserFactory(username="visitor")
    assert "New post on" not in month_page(client, outsider)


def test_the_composer_fills_in_the_date_of_the_day_it_was_started_from(personas, client):
    client.force_login(personas.alice)
    page = client.get(reverse("scheduler:post_create"), {"date": "2026-11-10"}).content.decode()
    assert re.search(r'name="publish_date"[^>]*value="2026-11-10"|value="2026-11-10"[^>]*name="publish_date"', page)
    ignored = client.get(reverse("scheduler:post_create"), {"date": "not-a-date"})
    assert ignored.status_code == 200
    assert "not-a-date" not in ignored.content.decode()


def test_the_week_is_a_time_grid_with_quiet_night_hours_drawn_low(personas, client):
    make_post(author=personas.alice, channels=[personas.parks_channel], due_at=at(2026, 11, 10, 5))
    week = calendar_week(user=fresh(personas.alice), day=dt.date(2026, 11, 10))
    quiet = [row.hour for row in week.rows if row.quiet]
    assert 5 not in quiet and 3 in quiet and 12 not in quiet and 22 in quiet
    client.force_login(personas.alice)
    page = client.get(reverse("scheduler:calendar_week"), {"week": "2026-11-10", "filtered": "1"}).content.decode()
    assert page.count('class="civic-cal-week__night"') == len(quiet)
    assert '<li class="civic-cal-line' in page


# --- Drafts panel -----------------------------------------------------------------------------------


def test_the_drafts_panel_lists_own_drafts_not_on_the_page(personas, client):
    in_month = make_post(author=personas.alice, channels=[personas.parks_channel], due_at=at(2026, 11, 10, 9))
    later = make_post(
        author=personas.alice, channels=[personas.parks_channel], due_at=at(2027, 1, 5, 9), text="Winter camp"
    )
    waiting = make_post(
        author=personas.alice, channels=[personas.parks_channel], due_at=at(2027, 1, 6, 9), status=PostStatus.SUBMITTED
    )
    library = make_post(author=personas.carol, channels=[personas.library_channel], due_at=at(2027, 1, 5, 9))
    passed = make_post(author=personas.bob, channels=[personas.parks_channel], due_at=at(2026, 11, 20, 9))
    Post.objects.filter(pk=passed.pk).update(due_at=at(2026, 10, 1, 9))

    page = month_page(client, personas.alice)
    panel = page.split('aria-labelledby="calendar-drafts-heading"')[1].split("</aside>")[0]
    assert f'data-post-id="{later.pk}"' in panel and f'data-post-id="{passed.pk}"' in panel
    for absent in (in_month, waiting, library):
        assert f'data-post-id="{absent.pk}"' not in panel
    assert panel.index(f'data-post-id="{passed.pk}"') < panel.index(f'data-post-id="{later.pk}"')
    assert "Its time has passed" in panel
    assert f'data-move-url="{reverse("scheduler:calendar_reschedule", args=[later.pk])}"' in panel
    assert 'draggable="true"' in panel and "Place on a day" in panel

    # Viewers who may not post (no department) get no panel.
    from tests.factories import UserFactory

    assert "calendar-drafts-heading" not in month_page(client, UserFactory(username="visitor"))


def test_placing_a_draft_on_a_day_goes_through_the_reschedule_service_and_its_rules(personas, client):
    draft = make_post(author=personas.alice, channels=[personas.parks_channel], due_at=at(2027, 1, 5, 9))
    url = reverse("scheduler:calendar_reschedule", args=[draft.pk])
    # Another department's editor: the post is not theirs to move (404, never revealed).
    client.force_login(personas.carol)
    assert (
        client.post(url, {"date": "2026-11-12", "time": "09:00"}, headers={"accept": "application/json"}).status_code
        == 404
    )
    # A day that has passed is refused in words.
    client.force_login(personas.alice)
    refused = client.post(url, {"date": "2026-10-01", "time": "09:00"}, headers={"accept": "application/json"})
    assert refused.status_code == 400 and "already passed" in refused.json()["message"]
    moved = client.post(url, {"date": "2026-11-12", "time": "09:00"}, headers={"accept": "application/json"})
    assert moved.status_code == 200 and moved.json()["ok"]
    draft.refresh_from_db()
    assert draft.due_at == at(2026, 11, 12, 9) and draft.status == PostStatus.DRAFT
    # It is on the grid now, so no longer in the panel.
    panel = calendar_drafts(
        user=fresh(personas.alice),
        start=at(2026, 11, 1, 0),
        end=at(2026, 12, 1, 0),
        zone=CHICAGO,
        now=NOW,
    )
    assert draft.pk not in [d.post.pk for d in panel.drafts]


def test_the_panel_lists_at_most_its_limit_and_links_to_all_drafts(personas):
    for day in range(1, 6):
        make_post(author=personas.alice, channels=[personas.parks_channel], due_at=at(2027, 1, day, 9))
    panel = calendar_drafts(
        user=fresh(personas.alice), start=at(2026, 11, 1, 0), end=at(2026, 12, 1, 0), zone=CHICAGO, now=NOW, limit=3
    )
    assert len(panel.drafts) == 3 and panel.more


# --- Filter bar ---------------------------------------------------------------------------------------


def test_filters_that_are_on_are_chips_that_each_remove_themselves(personas, client):
    page = month_page(client, personas.dana, department=str(personas.library.pk), status="approved")
    chips = page.split('aria-label="Filters that are on"')[1].split("</ul>")[0]
    assert "Department: Public Library" in chips and "Status: Approved and scheduled" in chips
    department_chip = re.search(r'<a class="civic-cal-fchip" href="([^"]+)">Department', chips)
    assert department_chip is not None
    address = department_chip.group(1).replace("&amp;", "&")
    assert "department=" not in address and "status=approved" in address and "month=2026-11" in address
    assert "(2 on)" in page
    # The panel is closed until asked for.
    assert '<details class="civic-cal-filters" data-cal-filters>' in page


def test_no_filters_no_chips(personas, client):
    page = month_page(client, personas.alice)
    assert "Filters that are on" not in page


# --- A fixed number of queries --------------------------------------------------------------------


# Session and sign-in bookkeeping included; the same for 20 and 2,000 posts (see scheduler/calendar/__init__.py).
# 26 since the departments a person approves for through approval steps are read once per request.
MONTH_PAGE_QUERY_COUNT = 26


@pytest.mark.parametrize("total", [20, 2000])
def test_the_month_page_runs_a_fixed_number_of_queries_whatever_the_posts(personas, client, total):
    _bulk_posts(
        count=total,
        department=personas.parks,
        author=personas.alice,
        channels=[personas.parks_channel],
        start=at(2026, 11, 1, 6),
    )
    # Approved posts name their approver; drafts outside the month fill the panel.
    approved = Post.objects.filter(status__in=(PostStatus.APPROVED, PostStatus.PUBLISHED))
    approvals = PostApproval.objects.bulk_create(
        PostApproval(post=p, content={}, content_hash="0" * 64, approved_by=personas.bob, approved_at=NOW)
        for p in approved
    )
    for approval in approvals:
        Post.objects.filter(pk=approval.post_id).update(current_approval=approval)
    Post.objects.filter(pk__in=list(Post.objects.values_list("pk", flat=True)[:5])).update(
        channel_text={str(personas.parks_channel.pk): "Own words"}
    )
    for day in range(1, 4):
        make_post(author=personas.alice, channels=[personas.parks_channel], due_at=at(2027, 1, day, 9))
    client.force_login(personas.alice)
    params = {"month": "2026-11", "filtered": "1"}
    client.get(reverse("scheduler:calendar_month"), params)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("scheduler:calendar_month"), params)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Approved by" in page and "Own words" in page and "calendar-drafts-heading" in page
    assert len(queries) == MONTH_PAGE_QUERY_COUNT, [q["sql"][:120] for q in queries.captured_queries]
