"""The audit trail names the objects its events refer to by id (issue 6 follow-up): channels, media files,
people and departments read as their names with the id kept ("Parks Mastodon (@parks@city.social) #3"), on
the page and in the CSV file; an object that is gone reads "#7 (deleted)". The object of an event links to
its page when the reader may open it. A page names every object in one query per model, whatever the
number of events.

Personas as in tests/audit/test_views.py: Pat administers Parks, Ivan is the IT admin (no department)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from departments.models import Membership, Role
from departments.services import approval_step_add, membership_change_role
from governance.services import crisis_hold_start
from medialibrary.models import MediaAsset
from medialibrary.services import media_asset_delete
from scheduler import services
from tests.audit.test_views import read_csv
from tests.factories import ChannelFactory
from tests.governance.city import City

TRAIL = reverse("audit:trail")
EXPORT = reverse("audit:export")


def an_asset(department, original_name: str) -> MediaAsset:  # noqa: ANN001
    return MediaAsset.objects.create(
        department=department,
        kind="image",
        file_name=f"library/{department.slug}/{uuid.uuid4().hex}.png",
        original_name=original_name,
        mime_type="image/png",
        size_bytes=10,
        sha256="0" * 64,
        alt_text="",
    )


class NamedCity(City):
    """Parks has two Mastodon accounts and a Threads account; Alice's post moves from Mastodon and the pool
    photo to Threads and the splash-pad photo; then the old Mastodon account is removed."""

    def __init__(self) -> None:
        super().__init__()
        self.mastodon = ChannelFactory(
            department=self.parks, display_name="Parks Mastodon", account_handle="@parks@city.social"
        )
        self.old_mastodon = ChannelFactory(department=self.parks, display_name="Old Parks Mastodon")
        self.threads = ChannelFactory(department=self.parks, display_name="Parks Threads", account_handle="@cityparks")
        self.pool_photo = an_asset(self.parks, "pool.png")
        self.splash_photo = an_asset(self.parks, "splash-pad.png")
        self.post = services.post_create(
            author=self.alice,
            department=self.parks,
            text="Pool opens Monday",
            channels=[self.mastodon, self.old_mastodon],
            due_at=timezone.now() + dt.timedelta(days=2),
            media=[(self.pool_photo, "The pool")],
        )
        services.post_update(
            post=self.post,
            user=self.alice,
            text="Pool opens Monday",
            link="",
            channels=[self.mastodon, self.threads],
            due_at=self.post.due_at,
            media=[(self.splash_photo, "The splash pad")],
        )
        self.old_mastodon_id = self.old_mastodon.pk
        self.old_mastodon.delete()
        self.edit = AuditEvent.objects.get(action=AuditAction.POST_EDITED, target_id=str(self.post.pk))


@pytest.fixture
def city(db: None) -> NamedCity:
    return NamedCity()


def signed_in(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def the_row(response, event: AuditEvent):  # noqa: ANN001, ANN201
    (row,) = [row for row in response.context["rows"] if row.event.pk == event.pk]
    return row


def change(row, field: str):  # noqa: ANN001, ANN201
    (line,) = [line for line in row.changes if line.field == field]
    return line


def csv_row(rows: list[list[str]], event: AuditEvent) -> dict[str, str]:
    header, *body = rows
    by_column = [dict(zip(header, row, strict=True)) for row in body]
    (row,) = [row for row in by_column if (row["action"], row["object_id"]) == (event.action, event.target_id)]
    return row


# --- Names in what changed ------------------------------------------------------------------------


def test_a_post_edit_names_its_channels_before_and_after_and_a_removed_channel_reads_deleted(city) -> None:
    row = the_row(signed_in(city.pat).get(TRAIL), city.edit)

    channels = change(row, "Channels")
    assert (
        channels.before == f"Parks Mastodon (@parks@city.social) #{city.mastodon.pk}, #{city.old_mastodon_id} (deleted)"
    )
    assert channels.after == (
        f"Parks Mastodon (@parks@city.social) #{city.mastodon.pk}, Parks Threads (@cityparks) #{city.threads.pk}"
    )
    assert city.edit.changes["channel_ids"] == {  # the record keeps the ids
        "before": sorted([city.mastodon.pk, city.old_mastodon_id]),
        "after": sorted([city.mastodon.pk, city.threads.pk]),
    }


def test_a_post_edit_names_its_media_files_and_a_deleted_file_reads_deleted(city) -> None:
    pat = signed_in(city.pat)
    media = change(the_row(pat.get(TRAIL), city.edit), "Media")
    assert f'"path": "pool.png #{city.pool_photo.pk}"' in media.before
    assert f'"path": "splash-pad.png #{city.splash_photo.pk}"' in media.after

    pool_path = city.pool_photo.file_name
    media_asset_delete(asset=city.pool_photo, actor=city.alice)
    response = pat.get(TRAIL)

    assert f'"path": "{pool_path} (deleted)"' in change(the_row(response, city.edit), "Media").before
    deleted = AuditEvent.objects.get(action="media.deleted")
    assert the_row(response, deleted).target == f"Media asset #{city.pool_photo.pk} (deleted)"


def test_a_role_change_names_the_person_and_a_policy_change_names_its_approvers(city) -> None:
    membership_change_role(
        actor=city.pat, membership=Membership.objects.get(user=city.alice, department=city.parks), role=Role.APPROVER
    )
    approval_step_add(user=city.pat, department=city.parks, name="Director", users=[city.quinn])
    role_change = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED)
    policy_change = AuditEvent.objects.get(action="policy.changed")

    response = signed_in(city.pat).get(TRAIL)

    assert the_row(response, role_change).target == f"User Alice (alice@city.example) #{city.alice.pk}"
    steps = change(the_row(response, policy_change), "Steps")
    assert steps.before == "—"
    assert f'"users": ["Quinn (quinn@city.example) #{city.quinn.pk}"]' in steps.after
    assert the_row(response, policy_change).target == f"Department Parks and Recreation #{city.parks.pk}"


def test_a_crisis_hold_names_its_departments(city) -> None:
    crisis_hold_start(user=city.ivan, reason="Flood", departments=[city.parks, city.library])
    hold = AuditEvent.objects.get(action=AuditAction.CRISIS_ON)

    row = the_row(signed_in(city.ivan).get(TRAIL), hold)

    assert change(row, "Departments").after == (
        f"Parks and Recreation #{city.parks.pk}, Public Library #{city.library.pk}"
    )
    assert row.target == f"Crisis hold “Flood” #{hold.target_id}"


def test_the_page_shows_the_names_in_its_html(city) -> None:
    html = signed_in(city.pat).get(TRAIL, {"action": AuditAction.POST_EDITED}).content.decode()

    assert f"After:</span> Parks Mastodon (@parks@city.social) #{city.mastodon.pk}, Parks Threads" in html
    assert f"#{city.old_mastodon_id} (deleted)" in html


# --- The CSV file ---------------------------------------------------------------------------------


def test_the_csv_names_the_object_and_the_changes_and_keeps_the_stored_ids(city) -> None:
    membership_change_role(
        actor=city.pat, membership=Membership.objects.get(user=city.alice, department=city.parks), role=Role.APPROVER
    )
    crisis_hold_start(user=city.ivan, reason="Flood", departments=[city.parks, city.library])

    rows = read_csv(signed_in(city.ivan).get(EXPORT))
    # The IT admin may not see the Parks draft: Pat, who administers Parks, reads its edit in full.
    edit = csv_row(read_csv(signed_in(city.pat).get(EXPORT)), city.edit)
    assert edit["object"] == f"Post “Pool opens Monday” #{city.post.pk}"
    assert edit["object_id"] == str(city.post.pk)
    in_words = edit["changes_in_words"].splitlines()
    assert (
        f"Channels: Parks Mastodon (@parks@city.social) #{city.mastodon.pk}, #{city.old_mastodon_id} (deleted)"
        f" → Parks Mastodon (@parks@city.social) #{city.mastodon.pk}, Parks Threads (@cityparks) #{city.threads.pk}"
    ) in in_words
    media_line = next(line for line in in_words if line.startswith("Media: "))
    assert f"pool.png #{city.pool_photo.pk}" in media_line
    assert f"splash-pad.png #{city.splash_photo.pk}" in media_line
    assert json.loads(edit["changes"])["channel_ids"]["after"] == sorted([city.mastodon.pk, city.threads.pk])

    role = csv_row(rows, AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED))
    assert role["object"] == f"User Alice (alice@city.example) #{city.alice.pk}"
    assert "Role: editor → approver" in role["changes_in_words"].splitlines()

    crisis = csv_row(rows, AuditEvent.objects.get(action=AuditAction.CRISIS_ON))
    assert f"Departments: Parks and Recreation #{city.parks.pk}, Public Library #{city.library.pk}" in (
        crisis["changes_in_words"].splitlines()
    )


# --- Links to the object --------------------------------------------------------------------------


def test_the_object_links_to_its_page_only_for_a_reader_who_may_open_it(city) -> None:
    channel_event = audit_record(
        action=AuditAction.CHANNEL_DISCONNECTED, actor=city.pat, department_id=city.parks.pk, target=city.mastodon
    )
    pat, ivan = signed_in(city.pat), signed_in(city.ivan)
    pat_page, ivan_page = pat.get(TRAIL), ivan.get(TRAIL)

    post_link = reverse("scheduler:post_detail", args=[city.post.pk])
    channel_link = reverse("connections:channel", args=[city.mastodon.pk])
    assert the_row(pat_page, city.edit).target_url == post_link
    assert the_row(pat_page, channel_event).target_url == channel_link
    assert f'<a class="usa-link" href="{post_link}">Post “Pool opens Monday” #{city.post.pk}</a>' in (
        pat_page.content.decode()
    )
    assert pat.get(post_link).status_code == 200
    assert pat.get(channel_link).status_code == 200
    # The IT admin reads every event but opens no Parks draft and no Parks channel: no links, and the draft
    # is named by its id only (its name is its text).
    assert the_row(ivan_page, city.edit).target == f"Post #{city.post.pk}"
    assert the_row(ivan_page, city.edit).target_url == ""
    assert the_row(ivan_page, channel_event).target_url == ""
    assert ivan.get(post_link).status_code == 404
    assert ivan.get(channel_link).status_code == 404
    assert f'href="{post_link}"' not in ivan_page.content.decode()


# --- Queries --------------------------------------------------------------------------------------


def more_history(city: NamedCity, count: int) -> None:
    """`count` events of each kind that names objects: post edits (channels, media), role changes (a
    person), crisis holds (departments), each naming other ids."""
    for number in range(count):
        audit_record(
            action=AuditAction.POST_EDITED,
            actor=city.alice,
            department_id=city.parks.pk,
            target=city.post,
            changes={
                "channel_ids": {"before": [city.mastodon.pk], "after": [city.threads.pk, 5000 + number]},
                "media": {
                    "before": [{"path": city.pool_photo.file_name}],
                    "after": [{"path": city.splash_photo.file_name}, {"path": f"library/parks/gone-{number}.png"}],
                },
            },
        )
        audit_record(
            action=AuditAction.ROLE_CHANGED,
            actor=city.ivan,
            department_id=city.parks.pk,
            target=city.alice if number % 2 else city.bob,
            changes={"role": {"before": "editor", "after": "approver"}},
        )
        audit_record(
            action=AuditAction.CRISIS_ON,
            actor=city.ivan,
            changes={"departments": [city.parks.pk, 6000 + number]},
        )
        audit_record(action="media.uploaded", actor=city.alice, department_id=city.parks.pk, target=city.splash_photo)


@pytest.mark.parametrize("reader", ["pat", "ivan"])
def test_the_page_names_everything_in_the_same_number_of_queries_for_5_and_60_events(
    city, reader, django_assert_max_num_queries
) -> None:
    client = signed_in(getattr(city, reader))
    more_history(city, 1)
    client.get(TRAIL)
    with django_assert_max_num_queries(25) as few:
        five = client.get(TRAIL)
    more_history(city, 20)
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        sixty = client.get(TRAIL)

    assert len(many.captured_queries) == len(few.captured_queries)
    assert 5 <= five.context["page"].paginator.count < 10
    assert sixty.context["page"].paginator.count >= 60
    assert len(sixty.context["rows"]) == 50
    html = sixty.content.decode()
    if reader == "pat":
        assert f"#{5000 + 19} (deleted)" in html
    else:  # the Parks draft's edits: that its channels changed, not to what
        assert f"#{5000 + 19}" not in html
        assert "changed (hidden: you cannot open this post)" in html
    assert f"splash-pad.png #{city.splash_photo.pk}" in html
    assert f"Alice (alice@city.example) #{city.alice.pk}" in html


def test_the_export_names_everything_in_the_same_number_of_queries_for_5_and_60_events(
    city, django_assert_max_num_queries
) -> None:
    client = signed_in(city.ivan)
    more_history(city, 1)
    client.get(TRAIL)
    with django_assert_max_num_queries(25) as few:
        five = read_csv(client.get(EXPORT))
    more_history(city, 15)
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        sixty = read_csv(client.get(EXPORT))

    assert len(many.captured_queries) == len(few.captured_queries)
    assert 5 <= len(five) - 1 < 10
    assert len(sixty) - 1 == len(five) - 1 + 4 * 15 + 1 >= 60  # and the first export's own event
    assert any(
        f"Departments: Parks and Recreation #{city.parks.pk}, #{6000 + 14} (deleted)" in row[-1] for row in sixty
    )
