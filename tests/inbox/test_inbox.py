"""The inbox end to end on the Sandbox: reading residents' replies from a stored cursor, urgency, working an item,
replying through the exactly-once publishing path, and moderation on the record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from civicpost.exceptions import ApplicationError
from inbox.models import ChannelInboxState, InboxItem, InboxSettings, ItemStatus, ModerationAction
from inbox.selectors import archive_items_after, moderation_actions_after
from inbox.services import (
    inbox_poll_pass,
    item_assign,
    item_moderate,
    item_note_add,
    item_reply,
    item_set_status,
    moderation_undo,
)
from scheduler.adapters.base import ReplyTarget
from scheduler.adapters.sandbox.adapter import SandboxAdapter
from scheduler.models import Delivery, Post, PostStatus, SandboxPost
from scheduler.snapshots import channel_content
from tests.governance.city import City
from tests.inbox import clause, published_post, read
from tests.scheduler import set_mode, tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(db: None) -> City:
    return City()


# --- Reading ---------------------------------------------------------------------------------------------------


def test_residents_replies_are_stored_once_under_the_post_they_answer(city: City) -> None:
    post = published_post(author=city.alice, approver=city.bob, channel=city.parks_channel)
    delivery = Delivery.objects.get(post=post)

    items = read(city.parks_channel)

    assert 2 <= len(items) <= 3
    assert {item.delivery_id for item in items} == {delivery.pk}
    assert all(item.in_reply_to_remote_id == delivery.remote_id for item in items)
    assert all(item.department_id == city.parks.pk and item.status == ItemStatus.NEW for item in items)
    assert all(item.author_handle and item.author_profile_url and item.raw["id"] == item.remote_id for item in items)
    state = ChannelInboxState.objects.get(channel=city.parks_channel)
    assert state.cursor == delivery.remote_id
    # A second read from the stored cursor finds nothing new, and stores nothing twice.
    assert read(city.parks_channel) == items


def test_a_later_post_brings_only_its_own_replies(city: City) -> None:
    published_post(author=city.alice, approver=city.bob, channel=city.parks_channel, text="First")
    first = read(city.parks_channel)
    second_post = published_post(author=city.alice, approver=city.bob, channel=city.parks_channel, text="Second")

    items = read(city.parks_channel)

    new = [item for item in items if item not in first]
    assert new and {item.delivery.post_id for item in new} == {second_post.pk}


def test_the_periodic_pass_reads_every_inbox_channel_and_counts_requests(city: City) -> None:
    published_post(author=city.alice, approver=city.bob, channel=city.parks_channel)
    published_post(author=city.carol, approver=city.dana, channel=city.library_channel)

    report = inbox_poll_pass()

    assert report.items_new == InboxItem.objects.count() > 0
    assert report.requests["sandbox"] >= 2
    assert set(InboxItem.objects.values_list("department_id", flat=True)) == {city.parks.pk, city.library.pk}


def test_a_rate_limited_channel_is_paused_until_the_platform_allows_it(city: City) -> None:
    published_post(author=city.alice, approver=city.bob, channel=city.parks_channel)
    set_mode(city.parks_channel, "rate_limit")

    report = inbox_poll_pass()

    state = ChannelInboxState.objects.get(channel=city.parks_channel)
    assert city.parks_channel.pk in report.paused_channels
    assert state.paused_until is not None and state.paused_until > timezone.now() + dt.timedelta(seconds=50)
    assert state.cursor == ""
    set_mode(city.parks_channel, "ok")
    # Still paused: the next pass does not ask the platform.
    assert city.parks_channel.pk in inbox_poll_pass().paused_channels
    assert not InboxItem.objects.filter(channel=city.parks_channel).exists()


def test_a_channel_switched_off_is_not_read(city: City) -> None:
    published_post(author=city.alice, approver=city.bob, channel=city.parks_channel)
    ChannelInboxState.objects.create(channel=city.parks_channel, enabled=False)

    inbox_poll_pass()

    assert not InboxItem.objects.filter(channel=city.parks_channel).exists()


def test_urgency_keywords_flag_an_item_and_mail_the_watchers_at_once(
    city: City, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    settings_row = InboxSettings.objects.create(department=city.parks, urgency_keywords=["Flooding", "gas leak"])
    settings_row.watchers.add(city.bob)
    published_posts = [
        published_post(author=city.alice, approver=city.bob, channel=city.parks_channel, text=f"Post {n}")
        for n in range(4)
    ]
    assert published_posts
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        items = read(city.parks_channel)

    urgent = [item for item in items if item.urgent]
    assert urgent, "in any three sandbox posts in a row a resident mentions flooding"
    assert all("flooding" in item.text.casefold() and item.matched_keywords == ["Flooding"] for item in urgent)
    assert not any(item.urgent for item in items if "flooding" not in item.text.casefold())
    assert [message.to for message in mail.outbox] == [[city.bob.email]]
    assert "flooding" in mail.outbox[0].body.casefold()
    assert AuditEvent.objects.filter(action="inbox.urgent").count() == len(urgent)


# --- Working an item -------------------------------------------------------------------------------------------


@pytest.fixture
def item(city: City) -> InboxItem:
    published_post(author=city.alice, approver=city.bob, channel=city.parks_channel)
    return read(city.parks_channel)[0]


def test_assign_note_close_and_reopen_are_recorded(city: City, item: InboxItem) -> None:
    item = item_assign(item=item, user=city.alice, assignee=city.bob)
    assert item.status == ItemStatus.ASSIGNED and item.assigned_to == city.bob
    item_note_add(item=item, user=city.bob, text="Called public works.")
    item = item_set_status(item=item, user=city.bob, status=ItemStatus.CLOSED)
    assert item.status == ItemStatus.CLOSED
    item = item_set_status(item=item, user=city.bob, status="reopen")
    assert item.status == ItemStatus.ASSIGNED
    actions = list(AuditEvent.objects.filter(target_id=str(item.pk)).values_list("action", flat=True))
    assert sorted(actions) == sorted(
        ["inbox.assigned", "inbox.note_added", "inbox.status_changed", "inbox.status_changed"]
    )


def test_only_members_of_the_items_department_work_it(city: City, item: InboxItem) -> None:
    with pytest.raises(ApplicationError):
        item_note_add(item=item, user=city.carol, text="Not my department")
    with pytest.raises(ApplicationError):
        item_assign(item=item, user=city.alice, assignee=city.carol)  # not a Parks member
    # A communications manager works every department's inbox.
    item_note_add(item=item, user=city.max, text="Seen by communications")


def test_a_reply_goes_out_once_through_the_publishing_path_as_a_reply(city: City, item: InboxItem) -> None:
    reply = item_reply(item=item, user=city.alice, text="Thanks, we are on it.")

    post = Post.objects.get(pk=reply.post_id)
    assert post.status == PostStatus.APPROVED
    assert post.reply_to == {"remote_id": item.remote_id, "root_remote_id": item.root_remote_id, "details": {}}
    assert post.current_approval is not None
    assert post.current_approval.content["reply_to"]["remote_id"] == item.remote_id
    assert post.reviews.last().comment.startswith("Approved automatically")
    delivery = Delivery.objects.get(post=post)
    assert channel_content(post.current_approval.content, city.parks_channel).reply_to == ReplyTarget(
        remote_id=item.remote_id, root_remote_id=item.root_remote_id
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.ANSWERED and item.answered_at is not None

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    tick(2)

    delivery.refresh_from_db()
    assert delivery.status == "published"
    assert SandboxPost.objects.filter(channel=city.parks_channel, text="Thanks, we are on it.").count() == 1


def test_the_adapter_is_handed_the_reply_target(city: City, item: InboxItem, monkeypatch) -> None:  # noqa: ANN001
    seen = []
    original = SandboxAdapter.publish

    def spy(self, content, *, idempotency_key):  # noqa: ANN001, ANN202
        seen.append(content.reply_to)
        return original(self, content, idempotency_key=idempotency_key)

    monkeypatch.setattr(SandboxAdapter, "publish", spy)
    reply = item_reply(item=item, user=city.alice, text="On it.")
    Delivery.objects.filter(post=reply.post).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    tick()

    assert seen == [ReplyTarget(remote_id=item.remote_id, root_remote_id=item.root_remote_id)]


def test_replies_wait_for_approval_when_the_department_says_so(city: City, item: InboxItem) -> None:
    InboxSettings.objects.create(department=city.parks, replies_need_approval=True)

    reply = item_reply(item=item, user=city.alice, text="We will check.")

    post = Post.objects.get(pk=reply.post_id)
    assert post.status == PostStatus.SUBMITTED
    assert not Delivery.objects.filter(post=post).exists()


def test_a_platform_that_cannot_reply_refuses_the_reply(city: City, item: InboxItem, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(SandboxAdapter, "supports_replies", False)
    with pytest.raises(ApplicationError):
        item_reply(item=item, user=city.alice, text="Hello")
    assert not Post.objects.filter(reply_to__isnull=False).exists()


# --- Moderation --------------------------------------------------------------------------------------------------


def test_moderation_without_a_policy_clause_is_refused_and_nothing_is_kept(city: City, item: InboxItem) -> None:
    with pytest.raises(ApplicationError, match="clause"):
        item_moderate(item=item, user=city.alice, action="hide", clause_id=None, note="Spam")
    retired = clause()
    retired.active = False
    retired.save()
    with pytest.raises(ApplicationError, match="clause"):
        item_moderate(item=item, user=city.alice, action="hide", clause_id=retired.pk, note="Spam")
    with pytest.raises(ApplicationError, match="note"):
        item_moderate(item=item, user=city.alice, action="hide", clause_id=clause("5").pk, note="  ")
    assert not ModerationAction.objects.exists()
    item.refresh_from_db()
    assert not item.hidden


def test_moderation_view_refuses_a_missing_clause_on_the_server(city: City, item: InboxItem, client) -> None:  # noqa: ANN001
    client.force_login(city.alice)
    response = client.post(reverse("inbox:item_moderate", args=[item.pk]), {"action": "hide", "note": "Spam"})
    assert response.status_code == 400
    assert not ModerationAction.objects.exists()


def test_hiding_keeps_the_item_as_it_was_cites_the_clause_and_can_be_undone(city: City, item: InboxItem) -> None:
    policy = clause()
    original_text = item.text

    action = item_moderate(item=item, user=city.alice, action="hide", clause_id=policy.pk, note="Threatens a neighbour")

    assert action.outcome == "done"
    assert action.snapshot["text"] == original_text and action.snapshot["hidden"] is False
    assert action.clause_number == "4.2" and "Threats and harassment" in action.clause_text
    item.refresh_from_db()
    assert item.hidden
    events = AuditEvent.objects.filter(action="inbox.moderated", target_id=str(item.pk)).order_by("pk")
    assert [event.changes["outcome"] for event in events] == ["pending", "done"]

    undo = moderation_undo(action=action, user=city.bob, clause_id=policy.pk, note="Hidden by mistake")

    assert undo.action == "unhide" and undo.outcome == "done" and undo.undoes == action
    item.refresh_from_db()
    assert not item.hidden
    with pytest.raises(ApplicationError):
        moderation_undo(action=action, user=city.bob, clause_id=policy.pk, note="Again")


def test_a_delete_closes_the_item_and_cannot_be_undone(city: City, item: InboxItem) -> None:
    policy = clause()
    action = item_moderate(item=item, user=city.alice, action="delete", clause_id=policy.pk, note="Doxxing")
    item.refresh_from_db()
    assert item.removed and item.status == ItemStatus.CLOSED
    with pytest.raises(ApplicationError):
        moderation_undo(action=action, user=city.alice, clause_id=policy.pk, note="Undo")
    with pytest.raises(ApplicationError):
        item_moderate(item=item, user=city.alice, action="hide", clause_id=policy.pk, note="Again")


def test_a_platform_refusal_is_recorded_on_the_action(city: City, item: InboxItem) -> None:
    set_mode(city.parks_channel, "rate_limit")
    action = item_moderate(item=item, user=city.alice, action="mute", clause_id=clause().pk, note="Spam")
    assert action.outcome == "failed" and action.failure_message
    assert action.snapshot["remote_id"] == item.remote_id


def test_members_of_another_department_cannot_moderate(city: City, item: InboxItem) -> None:
    with pytest.raises(ApplicationError):
        item_moderate(item=item, user=city.carol, action="hide", clause_id=clause().pk, note="Spam")
    assert not ModerationAction.objects.exists()


# --- For the records archive ---------------------------------------------------------------------------------


def test_the_archive_reads_items_and_actions_in_id_order_from_where_it_stopped(city: City, item: InboxItem) -> None:
    everything = archive_items_after(0, 100)
    ids = [row["id"] for row in everything]
    assert ids == sorted(ids) and ids[0] == InboxItem.objects.order_by("pk").first().pk
    assert archive_items_after(ids[0], 1)[0]["id"] == ids[1]
    assert everything[0]["post_id"] == item.delivery.post_id and everything[0]["raw"]
    policy = clause()
    first = item_moderate(item=item, user=city.alice, action="hide", clause_id=policy.pk, note="One")
    moderation_undo(action=first, user=city.alice, clause_id=policy.pk, note="Two")
    actions = moderation_actions_after(0, 10)
    assert [row["action"] for row in actions] == ["hide", "unhide"]
    assert actions[0]["snapshot"]["text"] == item.text and actions[1]["undoes_id"] == actions[0]["id"]
    assert moderation_actions_after(actions[0]["id"], 10) == actions[1:]


# --- Pages -------------------------------------------------------------------------------------------------------


def test_the_inbox_page_runs_a_fixed_number_of_queries(city: City, client) -> None:  # noqa: ANN001
    client.force_login(city.alice)
    published_post(author=city.alice, approver=city.bob, channel=city.parks_channel)
    read(city.parks_channel)
    url = reverse("inbox:department", args=[city.parks.pk])
    client.get(url)  # the first request of a session writes the session and fills caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(6):
        published_post(author=city.alice, approver=city.bob, channel=city.parks_channel, text=f"More {n}")
    read(city.parks_channel)
    assert InboxItem.objects.count() > 12
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_the_post_page_fragment_shows_replies_and_moderation(city: City, item: InboxItem, client) -> None:  # noqa: ANN001
    item_reply(item=item, user=city.alice, text="Thank you for asking.")
    item_moderate(item=item, user=city.alice, action="hide", clause_id=clause().pk, note="Off topic")
    client.force_login(city.bob)
    response = client.get(reverse("inbox:post_conversation", args=[item.delivery.post_id]))
    body = response.content.decode()
    assert response.status_code == 200
    assert item.author_handle in body and "Thank you for asking." in body and "4.2" in body


def test_the_item_page_reminds_moderators_that_viewpoint_removal_is_not_allowed(
    city: City, item: InboxItem, client
) -> None:  # noqa: ANN001
    client.force_login(city.alice)
    body = client.get(reverse("inbox:item", args=[item.pk])).content.decode()
    assert "Never hide, delete or block because of the opinion expressed" in body
    client.force_login(city.carol)
    assert client.get(reverse("inbox:item", args=[item.pk])).status_code == 404


# --- The demo ------------------------------------------------------------------------------------------------


def test_in_the_demo_residents_answer_the_welcome_post_and_an_editor_answers_and_hides_one(settings) -> None:  # noqa: ANN001
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from inbox.models import PolicyClause

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    welcome = Delivery.objects.filter(status="scheduled").order_by("due_at").first().post_id
    Delivery.objects.filter(post_id=welcome).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    call_command("publish_due", stdout=StringIO())

    inbox_poll_pass()

    items = list(InboxItem.objects.filter(delivery__post_id=welcome))
    assert len(items) >= 4  # two Sandbox channels, two or three residents each
    editor = get_user_model().objects.get(email="parks-editor@city.example")
    reply = item_reply(item=items[0], user=editor, text="Thanks! The splash pad is open 10 to 6.")
    hidden = item_moderate(
        item=items[1], user=editor, action="hide", clause_id=PolicyClause.objects.get(number="3").pk, note="Spam"
    )
    assert reply.post.status == PostStatus.APPROVED and hidden.outcome == "done"
    assert AuditEvent.objects.filter(action="inbox.replied").exists()
    assert AuditEvent.objects.filter(action="inbox.moderated").exists()
    assert InboxSettings.objects.get(department__slug="parks").urgency_keywords == ["fire", "flooding", "gas leak"]
