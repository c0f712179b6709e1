"""The audit trail's pages (issue 6): who reads which events, each filter, the CSV export and its guard
against spreadsheet formulas, and a fixed number of queries whatever the number of events.

Personas (tests.governance.city): Pat administers Parks, Libby the Library, Ivan is the IT admin; Alice
(Parks editor), Bob (Parks approver), Carol (Library editor), Vera (viewer), Max (communications manager by
city role) and Dana (approver of the communications team) read no audit trail: departments.rules.can_view_audit
gives it to department admins (their departments) and the IT admin (everything) only."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from audittrail.presentation import AUDIT_EXPORTED, csv_safe, user_agent_summary
from departments.models import Role
from scheduler import services
from tests.factories import member
from tests.governance.city import City

TRAIL = reverse("audit:trail")
EXPORT = reverse("audit:export")


class AuditCity(City):
    """The city with a Library admin, and a history: a Parks post written and edited (with the browser's
    address), a Library post, and a city-wide sign-in."""

    def __init__(self) -> None:
        super().__init__()
        self.libby = member("libby", self.library, Role.ADMIN)
        self.parks_post = services.post_create(
            author=self.alice,
            department=self.parks,
            text="Pool opens Monday",
            channels=[self.parks_channel],
            due_at=timezone.now() + dt.timedelta(days=2),
        )
        services.post_update(
            post=self.parks_post,
            user=self.alice,
            text="Pool opens Tuesday",
            link="",
            channels=[self.parks_channel],
            due_at=self.parks_post.due_at,
        )
        self.library_post = services.post_create(
            author=self.carol,
            department=self.library,
            text="Story time moves to the annex",
            channels=[self.library_channel],
            due_at=timezone.now() + dt.timedelta(days=2),
        )
        audit_record(action=AuditAction.SIGN_IN, actor=self.ivan)


@pytest.fixture
def city(db: None) -> AuditCity:
    return AuditCity()


def signed_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def shown_event_ids(response) -> list[int]:  # noqa: ANN001
    return [row.event.pk for row in response.context["rows"]]


def events(**filters: object) -> list[int]:
    return list(AuditEvent.objects.filter(**filters).order_by("-occurred_at", "-id").values_list("pk", flat=True))


def read_csv(response) -> list[list[str]]:  # noqa: ANN001
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


# --- Who reads what -------------------------------------------------------------------------------


def test_the_it_admin_reads_every_event_city_wide_ones_included(city) -> None:
    response = signed_in(city.ivan).get(TRAIL)

    assert response.status_code == 200
    assert shown_event_ids(response) == events()
    shown_departments = {row.event.department_id for row in response.context["rows"]}
    assert shown_departments == {city.parks.pk, city.library.pk, None}


def test_a_department_admin_reads_only_the_events_of_their_department(city) -> None:
    pat = signed_in(city.pat).get(TRAIL)
    libby = signed_in(city.libby).get(TRAIL)

    assert shown_event_ids(pat) == events(department=city.parks)
    assert shown_event_ids(libby) == events(department=city.library)
    assert "Story time" not in pat.content.decode()
    assert "Pool opens" not in libby.content.decode()


def test_a_forged_department_parameter_for_another_department_is_404_and_exports_nothing(city) -> None:
    pat = signed_in(city.pat)

    assert shown_event_ids(pat.get(TRAIL, {"department": city.parks.pk})) == events(department=city.parks)
    assert pat.get(TRAIL, {"department": city.library.pk}).status_code == 404
    assert pat.get(EXPORT, {"department": city.library.pk}).status_code == 404
    assert not AuditEvent.objects.filter(action=AUDIT_EXPORTED).exists()


def test_the_department_filter_offers_only_the_departments_the_reader_may_see(city) -> None:
    pat_choices = signed_in(city.pat).get(TRAIL).context["form"].fields["department"].widget.choices
    ivan_choices = signed_in(city.ivan).get(TRAIL).context["form"].fields["department"].widget.choices

    assert [label for value, label in pat_choices if value] == ["Parks and Recreation"]
    assert {label for value, label in ivan_choices if value} == {
        "Communications",
        "Parks and Recreation",
        "Public Library",
    }


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "vera", "max", "dana"])
def test_editors_approvers_viewers_and_communications_managers_get_no_audit_trail(city, persona) -> None:
    client = signed_in(getattr(city, persona))

    assert client.get(TRAIL).status_code == 403
    assert client.get(EXPORT).status_code == 403
    assert not AuditEvent.objects.filter(action=AUDIT_EXPORTED).exists()


def test_an_admin_of_the_communications_team_reads_that_team_s_events_only(city) -> None:
    chris = member("chris", city.communications, Role.ADMIN)
    team_event = audit_record(action=AuditAction.CHANNEL_CONNECTED, actor=chris, department_id=city.communications.pk)

    response = signed_in(chris).get(TRAIL)

    assert shown_event_ids(response) == [team_event.pk]


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(city) -> None:
    response = Client().get(TRAIL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_navigation_links_the_audit_trail_only_for_those_who_may_read_it(city) -> None:
    for reader in (city.pat, city.ivan):
        assert f'href="{TRAIL}"' in signed_in(reader).get(reverse("scheduler:dashboard")).content.decode()
    for other in (city.alice, city.max, city.vera):
        assert f'href="{TRAIL}"' not in signed_in(other).get(reverse("scheduler:dashboard")).content.decode()


# --- What a row says ------------------------------------------------------------------------------


def test_a_post_edit_shows_who_when_from_where_and_the_text_before_and_after(city) -> None:
    response = signed_in(city.pat).get(TRAIL, {"action": AuditAction.POST_EDITED})

    (row,) = response.context["rows"]
    assert row.event.actor == city.alice
    assert row.action == "Post edited"
    assert row.department == "Parks and Recreation"
    assert row.target == f"Post “Pool opens Tuesday” #{city.parks_post.pk}"
    assert row.target_url == reverse("scheduler:post_detail", args=[city.parks_post.pk])
    (change,) = row.changes
    assert (change.field, change.before, change.after) == ("Text", "Pool opens Monday", "Pool opens Tuesday")
    html = response.content.decode()
    assert "Before:</span> Pool opens Monday" in html
    assert "After:</span> Pool opens Tuesday" in html


def test_when_is_shown_in_the_reader_s_department_zone_with_its_offset(city) -> None:
    with time_machine.travel(dt.datetime(2026, 1, 15, 16, 0, 5, tzinfo=dt.UTC), tick=False):
        audit_record(action=AuditAction.CHANNEL_CONNECTED, actor=city.pat, department_id=city.parks.pk)
    with time_machine.travel(dt.datetime(2026, 7, 15, 16, 0, 5, tzinfo=dt.UTC), tick=False):
        audit_record(action=AuditAction.CHANNEL_DISCONNECTED, actor=city.pat, department_id=city.parks.pk)

    html = signed_in(city.pat).get(TRAIL).content.decode()
    libby_html = signed_in(city.libby).get(TRAIL, {"q": "nothing"}).content.decode()

    assert "Thu, Jan 15, 2026, 10:00:05 AM CST (UTC\N{MINUS SIGN}06:00)" in html
    assert "Wed, Jul 15, 2026, 11:00:05 AM CDT (UTC\N{MINUS SIGN}05:00)" in html
    assert 'datetime="2026-01-15T16:00:05Z"' in html
    assert "America/New_York" in libby_html  # the Library admin reads in the Library's zone


def test_where_an_action_came_from_is_shown_as_the_address_and_a_short_browser_name(city) -> None:
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:130.0) Gecko/20100101 Firefox/130.0"
    signed_in(city.alice).post(
        reverse("scheduler:post_submit", args=[city.parks_post.pk]), REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=firefox
    )

    response = signed_in(city.pat).get(TRAIL, {"action": AuditAction.POST_SUBMITTED})

    (row,) = response.context["rows"]
    assert row.origin == "203.0.113.9 · Firefox on Windows"
    assert user_agent_summary("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1") == "Safari on iOS"
    assert user_agent_summary("curl/8.5.0") == "curl/8.5.0"


# --- Filters --------------------------------------------------------------------------------------


def test_the_it_admin_filters_by_department(city) -> None:
    response = signed_in(city.ivan).get(TRAIL, {"department": city.library.pk})

    assert shown_event_ids(response) == events(department=city.library)


def test_filter_by_who(city) -> None:
    response = signed_in(city.ivan).get(TRAIL, {"actor": "CAROL@"})

    assert shown_event_ids(response) == events(actor=city.carol)
    assert shown_event_ids(response) != []


def test_filter_by_action(city) -> None:
    response = signed_in(city.ivan).get(TRAIL, {"action": AuditAction.POST_CREATED})

    assert shown_event_ids(response) == events(action=AuditAction.POST_CREATED)
    assert len(shown_event_ids(response)) == 2


def test_filter_by_object(city) -> None:
    response = signed_in(city.ivan).get(TRAIL, {"target_type": "scheduler.post", "target_id": str(city.parks_post.pk)})

    assert [row.action for row in response.context["rows"]] == ["Post edited", "Post created"]


def test_filter_by_dates_counts_days_in_the_reader_s_zone(city) -> None:
    # 05:30 UTC on March 10 is still March 9 in Chicago (CDT starts March 8, 2026: UTC−05:00).
    with time_machine.travel(dt.datetime(2026, 3, 10, 4, 30, tzinfo=dt.UTC), tick=False):
        late_evening = audit_record(action=AuditAction.CHANNEL_CONNECTED, actor=city.pat, department_id=city.parks.pk)
    with time_machine.travel(dt.datetime(2026, 3, 10, 5, 30, tzinfo=dt.UTC), tick=False):
        after_midnight = audit_record(action=AuditAction.CHANNEL_CONNECTED, actor=city.pat, department_id=city.parks.pk)
    pat = signed_in(city.pat)

    march_9 = pat.get(TRAIL, {"date_from": "2026-03-09", "date_to": "2026-03-09"})
    march_10_on = pat.get(TRAIL, {"date_from": "2026-03-10", "date_to": "2026-03-10"})

    assert shown_event_ids(march_9) == [late_evening.pk]
    assert shown_event_ids(march_10_on) == [after_midnight.pk]


def test_free_text_search_looks_in_messages_and_in_what_changed(city) -> None:
    hold = audit_record(
        action=AuditAction.POST_CANCELLED, actor=city.pat, department_id=city.parks.pk, message="Pool repair"
    )
    ivan = signed_in(city.ivan)

    assert shown_event_ids(ivan.get(TRAIL, {"q": "pool REPAIR"})) == [hold.pk]
    assert shown_event_ids(signed_in(city.pat).get(TRAIL, {"q": "Opens Tuesday"})) == events(
        action=AuditAction.POST_EDITED, target_id=str(city.parks_post.pk)
    )
    # The IT admin may not see the Parks draft, so its words find nothing for them.
    assert shown_event_ids(ivan.get(TRAIL, {"q": "Opens Tuesday"})) == []


def test_a_date_typed_wrongly_is_explained_and_kept(city) -> None:
    response = signed_in(city.pat).get(TRAIL, {"date_from": "5 Dec", "actor": "alice"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the date as year-month-day, such as 2026-12-05." in html
    assert 'value="5 Dec"' in html
    assert 'value="alice"' in html
    assert response.context["rows"] == []


def test_an_end_date_before_the_start_date_is_refused_in_words(city) -> None:
    response = signed_in(city.pat).get(TRAIL, {"date_from": "2026-03-10", "date_to": "2026-03-01"})

    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()


# --- Pages and queries ----------------------------------------------------------------------------


def test_fifty_events_a_page_newest_first_and_the_pages_keep_the_filters(city) -> None:
    for number in range(120):
        audit_record(
            action=AuditAction.CHANNEL_TOKEN_REFRESHED,
            department_id=city.parks.pk,
            message=f"refresh {number}",
        )
    pat = signed_in(city.pat)

    first = pat.get(TRAIL, {"action": AuditAction.CHANNEL_TOKEN_REFRESHED})
    third = pat.get(TRAIL, {"action": AuditAction.CHANNEL_TOKEN_REFRESHED, "page": 3})

    assert [row.event.message for row in first.context["rows"]] == [f"refresh {n}" for n in range(119, 69, -1)]
    assert [row.event.message for row in third.context["rows"]] == [f"refresh {n}" for n in range(19, -1, -1)]
    assert "120 events" in first.content.decode()
    assert "action=channel.token_refreshed&amp;page=2" in first.content.decode()


@pytest.mark.parametrize("reader", ["pat", "ivan"])
def test_the_page_runs_a_fixed_number_of_queries_whatever_the_number_of_events(
    city, reader, django_assert_max_num_queries
) -> None:
    client = signed_in(getattr(city, reader))
    client.get(TRAIL)  # the session and anything cached once per process
    with django_assert_max_num_queries(20) as few:
        client.get(TRAIL)
    for number in range(120):
        audit_record(
            action=AuditAction.POST_EDITED,
            actor=city.alice,
            department_id=city.parks.pk if number % 2 else city.library.pk,
            target=city.parks_post,
            changes={
                "text": {"before": f"v{number}", "after": f"v{number + 1}"},
                "channel_ids": {"before": [city.parks_channel.pk], "after": [city.parks_channel.pk, 1000 + number]},
            },
        )
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(TRAIL)
    assert len(response.context["rows"]) == 50
    assert len(many.captured_queries) == len(few.captured_queries)


# --- CSV export -----------------------------------------------------------------------------------


def test_the_export_is_the_current_filter_as_csv_named_with_the_date(city) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC), tick=False):
        response = signed_in(city.pat).get(EXPORT, {"action": AuditAction.POST_EDITED})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    # 03:00 UTC on Dec 5 is Dec 4 in Chicago, Pat's zone.
    assert response["Content-Disposition"] == 'attachment; filename="civicpost-audit-2026-12-04.csv"'
    header, *rows = read_csv(response)
    assert header[:6] == ["occurred_at_utc", "occurred_at_local", "actor", "action", "action_in_words", "department"]
    (row,) = rows
    edit = AuditEvent.objects.get(action=AuditAction.POST_EDITED)
    assert row[2:8] == [
        "alice@city.example",
        "post.edited",
        "Post edited",
        "Parks and Recreation",
        "scheduler.post",
        str(city.parks_post.pk),
    ]
    assert row[0] == edit.occurred_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    assert '"before": "Pool opens Monday"' in row[10]


def test_the_export_is_scoped_like_the_page(city) -> None:
    pat_rows = read_csv(signed_in(city.pat).get(EXPORT))[1:]

    assert {row[5] for row in pat_rows} == {"Parks and Recreation"}
    assert len(pat_rows) == AuditEvent.objects.filter(department=city.parks).count()


def test_the_export_is_itself_recorded_with_its_filters(city) -> None:
    signed_in(city.pat).get(EXPORT, {"actor": "alice", "page": "2"}, REMOTE_ADDR="198.51.100.4")

    export = AuditEvent.objects.get(action=AUDIT_EXPORTED)
    assert export.actor == city.pat
    assert export.department == city.parks
    assert export.ip_address == "198.51.100.4"
    assert export.changes == {"filters": {"actor": "alice"}, "format": "csv"}
    assert export.pk in shown_event_ids(signed_in(city.pat).get(TRAIL))
    assert "Audit trail exported" in signed_in(city.pat).get(TRAIL).content.decode()


def test_cells_a_spreadsheet_would_run_as_formulas_are_exported_as_text(city) -> None:
    for message in ('=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "plain - text"):
        audit_record(action=AuditAction.CHANNEL_CONNECTED, department_id=city.parks.pk, message=message)

    rows = read_csv(signed_in(city.ivan).get(EXPORT, {"action": AuditAction.CHANNEL_CONNECTED}))[1:]

    assert sorted(row[11] for row in rows) == sorted(
        ['\'=HYPERLINK("http://evil.example","x")', "'+1+2", "'-2+3", "'@SUM(A1)", "'\t=1", "plain - text"]
    )
    assert csv_safe("=1") == "'=1"
    assert csv_safe("") == ""


def test_an_export_with_a_date_typed_wrongly_explains_it_and_records_nothing(city) -> None:
    response = signed_in(city.pat).get(EXPORT, {"date_to": "tomorrow"})

    assert response.status_code == 400
    assert "Enter the date as year-month-day" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AUDIT_EXPORTED).exists()


def test_the_export_streams_in_a_fixed_number_of_queries(city, django_assert_max_num_queries) -> None:
    client = signed_in(city.ivan)
    client.get(TRAIL)
    with django_assert_max_num_queries(20) as few:  # one query per model the events name (posts, channels)
        read_csv(client.get(EXPORT))
    for number in range(80):
        audit_record(action=AuditAction.CHANNEL_CONNECTED, department_id=city.parks.pk, message=str(number))
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        rows = read_csv(client.get(EXPORT))
    assert len(many.captured_queries) == len(few.captured_queries)
    # The header, then every event, the exports' own included (each is recorded before the rows are read).
    assert len(rows) == 1 + AuditEvent.objects.count()
