"""The only writers of the inbox's rows: reading the channels (one pass of the periodic job), flagging urgent items
and telling the department, working an item (assign, note, status, reply), moderation on the record, the
department's inbox settings, saved replies and the city's policy clauses."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import get_connection
from django.core.mail.message import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from departments.models import Department
from departments.selectors import department_ids_for_user, department_member_ids
from inbox.models import (
    ChannelInboxState,
    InboxItem,
    InboxNote,
    InboxReply,
    InboxSettings,
    ItemStatus,
    ModerationAction,
    ModerationKind,
    ModerationOutcome,
    PolicyClause,
    SavedReply,
)
from inbox.rules import can_manage_inbox_settings, can_manage_policy, can_work_inbox
from scheduler.adapter_changes import channel_save_adapter_changes
from scheduler.adapters.base import (
    UNDO_ACTIONS,
    AdapterError,
    AuthExpired,
    ConversationItem,
    PlatformAdapter,
    RateLimited,
    ReplyTarget,
)
from scheduler.adapters.registry import UnknownPlatform, adapter_for_channel
from scheduler.models import Channel, ChannelStatus, Delivery, DeliveryStatus
from scheduler.services import reply_create

logger = logging.getLogger(__name__)

# Our posts whose replies a platform that reads per post is asked about: the channel's latest published ones.
OUR_POSTS_WINDOW = dt.timedelta(days=30)
OUR_POSTS_LIMIT = 200


# --- Reading the channels -----------------------------------------------------------------------------------


@dataclass
class PollReport:
    channels: int = 0
    items_new: int = 0
    items_seen_again: int = 0
    urgent: int = 0
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # per platform
    paused_channels: list[int] = field(default_factory=list)
    over_budget_channels: list[int] = field(default_factory=list)
    problems: dict[int, str] = field(default_factory=dict)
    out_of_time: bool = False
    deadline: float | None = None

    def time_is_up(self) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.out_of_time = True
        return self.out_of_time


def _inbox_channels() -> list[Channel]:
    """Connected channels whose platform reads conversations and whose reading is not switched off."""
    channels = Channel.objects.filter(status=ChannelStatus.CONNECTED).exclude(inbox_state__enabled=False)
    found = []
    for channel in channels.select_related("department").order_by("pk"):
        try:
            adapter_class = type(adapter_for_channel(channel))
        except UnknownPlatform:
            continue
        if adapter_class.supports_inbox:
            found.append(channel)
    return found


def inbox_poll_pass(
    *, now: dt.datetime | None = None, seconds: float | None = None, channel_ids: list[int] | None = None
) -> PollReport:
    """Reads every inbox channel once, each within its request budget per pass (CIVICPOST_INBOX_REQUESTS_PER_CHANNEL)
    and any pause its platform asked for. `seconds`: no new request after that long (the rest waits for the next
    pass). Returns what it did. One channel's failure never stops the others."""
    now = now or timezone.now()
    report = PollReport()
    report.deadline = None if seconds is None else time.monotonic() + seconds
    for channel in _inbox_channels():
        if channel_ids is not None and channel.pk not in channel_ids:
            continue
        if report.time_is_up():
            break
        try:
            channel_poll(channel=channel, now=now, report=report)
        except Exception:  # noqa: BLE001 - one channel's unexpected failure must not stop the others
            logger.exception("inbox of channel %s not read", channel.pk)
    return report


def _our_remote_ids(channel: Channel, now: dt.datetime) -> dict[str, int]:
    """{remote id: delivery id} of the channel's own published posts (not its replies) of the last 30 days."""
    rows = (
        Delivery.objects.filter(
            channel=channel,
            status=DeliveryStatus.PUBLISHED,
            published_at__gte=now - OUR_POSTS_WINDOW,
            post__reply_to__isnull=True,
        )
        .exclude(remote_id="")
        .order_by("-published_at", "-pk")
        .values_list("remote_id", "pk")[:OUR_POSTS_LIMIT]
    )
    return dict(rows)


def channel_poll(*, channel: Channel, now: dt.datetime, report: PollReport | None = None) -> int:
    """Reads one channel from its stored cursor: page after page while the platform has more and the budget
    allows. Each page's items are stored, and the cursor moved past them, in one transaction, so an item is
    never read twice into the inbox nor skipped. Returns the number of new items."""
    report = report or PollReport()
    state, _created = ChannelInboxState.objects.get_or_create(channel=channel)
    if not state.enabled:
        return 0
    if state.paused_until and state.paused_until > now:
        report.paused_channels.append(channel.pk)
        return 0
    report.channels += 1
    adapter = adapter_for_channel(channel)
    ours = _our_remote_ids(channel, now)
    budget = settings.CIVICPOST_INBOX_REQUESTS_PER_CHANNEL
    cursor: str | None = state.cursor or None
    new = 0
    requests_made = 0
    problem = ""
    paused_until = None
    try:
        while True:
            if budget <= 0:
                report.over_budget_channels.append(channel.pk)
                break
            if report.time_is_up():
                break
            if adapter.conversation_reads_are_paid and not _paid_reads_switched_on(channel):
                problem = _("The department switched off reading platforms that bill every read.")
                break
            if adapter.conversation_reads_are_paid and not _paid_read_allowed(channel, now):
                problem = _("This month's budget of paid reads is used up; the inbox reads this channel next month.")
                report.over_budget_channels.append(channel.pk)
                break
            page = adapter.fetch_conversation(cursor, our_remote_ids=list(ours))
            budget -= page.requests
            requests_made += page.requests
            report.requests[channel.platform] += page.requests
            if adapter.conversation_reads_are_paid:
                _count_paid_reads(channel, now, page.requests)
            if page.next_cursor is not None:
                cursor = page.next_cursor
            with transaction.atomic():
                created = _store_items(channel, page.items, ours=ours, report=report)
                ChannelInboxState.objects.filter(pk=state.pk).update(cursor=cursor or "")
            new += created
            if not page.more:
                break
    except RateLimited as error:
        paused_until = now + dt.timedelta(seconds=error.retry_after)
        problem = _("The platform asked CivicPost to wait before reading replies again.")
        report.paused_channels.append(channel.pk)
    except AuthExpired as error:
        problem = error.message
    except AdapterError as error:
        problem = error.message
        logger.warning("inbox of channel %s not read: %s", channel.pk, error.message)
    finally:
        channel_save_adapter_changes(channel=channel, adapter=adapter)
    if problem:
        report.problems[channel.pk] = problem
    ChannelInboxState.objects.filter(pk=state.pk).update(
        paused_until=paused_until,
        last_pass_at=now,
        last_problem=problem,
        requests_total=state.requests_total + requests_made,
    )
    return new


def _paid_reads_switched_on(channel: Channel) -> bool:
    """False when the department switched off billed reads (InboxSettings.paid_reads_enabled)."""
    return not InboxSettings.objects.filter(department_id=channel.department_id, paid_reads_enabled=False).exists()


def _paid_read_allowed(channel: Channel, now: dt.datetime) -> bool:
    from analytics.services import paid_reads_used  # analytics is beside inbox, loaded only for paid platforms

    used = paid_reads_used(department_id=channel.department_id, platform=channel.platform, now=now)
    return used < settings.CIVICPOST_X_MONTHLY_READ_BUDGET


def _count_paid_reads(channel: Channel, now: dt.datetime, requests: int) -> None:
    from analytics.services import paid_reads_record  # analytics is beside inbox, loaded only for paid platforms

    paid_reads_record(department_id=channel.department_id, platform=channel.platform, now=now, requests=requests)


def _store_items(
    channel: Channel, items: tuple[ConversationItem, ...], *, ours: dict[str, int], report: PollReport
) -> int:
    """Stores the items not yet stored (one row per channel and platform id), threaded under our delivery they
    answer; marks stored ones the platform now reports deleted. Flags and announces urgent ones. Returns how
    many were new."""
    if not items:
        return 0
    remote_ids = [item.remote_id for item in items]
    known = set(InboxItem.objects.filter(channel=channel, remote_id__in=remote_ids).values_list("remote_id", flat=True))
    gone = [item.remote_id for item in items if item.deleted and item.remote_id in known]
    if gone:
        InboxItem.objects.filter(channel=channel, remote_id__in=gone).update(deleted_by_author=True)
    report.items_seen_again += len(known)
    keywords = _keywords(channel.department_id)
    rows = []
    seen: set[str] = set()
    for item in items:
        if item.remote_id in known or item.remote_id in seen:
            continue
        seen.add(item.remote_id)
        delivery_id = ours.get(item.in_reply_to_remote_id) or ours.get(item.root_remote_id)
        matched = _matched_keywords(item.text, keywords)
        rows.append(
            InboxItem(
                channel=channel,
                department_id=channel.department_id,
                remote_id=item.remote_id[:300],
                kind=item.kind,
                delivery_id=delivery_id,
                in_reply_to_remote_id=item.in_reply_to_remote_id[:300],
                root_remote_id=item.root_remote_id[:300],
                author_handle=item.author_handle[:300],
                author_name=item.author_name[:300],
                author_profile_url=item.author_profile_url[:500],
                permalink=item.permalink[:500],
                text=item.text,
                media=list(item.media),
                reply_details=dict(item.reply_details),
                created_at=item.created_at,
                raw=item.raw,
                urgent=bool(matched),
                matched_keywords=matched,
                deleted_by_author=item.deleted,
            )
        )
    created = InboxItem.objects.bulk_create(rows, ignore_conflicts=True)
    report.items_new += len(created)
    urgent = [row for row in rows if row.urgent]
    if urgent:
        report.urgent += len(urgent)
        stored = list(
            InboxItem.objects.filter(channel=channel, remote_id__in=[row.remote_id for row in urgent]).order_by("pk")
        )
        _announce_urgent(channel.department, stored)
    return len(rows)


def _keywords(department_id: int) -> list[str]:
    row = InboxSettings.objects.filter(department_id=department_id).values_list("urgency_keywords", flat=True).first()
    return [str(word).strip() for word in (row or []) if str(word).strip()]


def _matched_keywords(text: str, keywords: list[str]) -> list[str]:
    folded = text.casefold()
    return [word for word in keywords if word.casefold() in folded]


def _announce_urgent(department: Department, items: list[InboxItem]) -> None:
    """E-mails the department's watchers (or, when nobody watches, its admins and approvers) about urgent items,
    after commit, and records each flag in the audit trail."""
    for item in items:
        audit_record(
            action=AuditAction.INBOX_URGENT,
            department_id=department.pk,
            target=item,
            changes={"keywords": item.matched_keywords, "channel": item.channel_id},
        )
    watcher_ids = set(
        InboxSettings.watchers.through.objects.filter(inboxsettings__department=department).values_list(
            "user_id", flat=True
        )
    )
    if not watcher_ids:
        watcher_ids = department_member_ids(department_id=department.pk, roles=("admin", "approver"))
    users = get_user_model().objects.filter(pk__in=watcher_ids, is_active=True).exclude(email="")
    subject = _("Urgent: a resident wrote to %(department)s") % {"department": department.name}
    messages = []
    for user in users:
        body = render_to_string(
            "inbox/email/urgent.txt",
            {
                "user": user,
                "department": department,
                "items": items,
                "site_url": settings.SITE_URL,
                "urls": [f"{settings.SITE_URL}{reverse('inbox:item', args=[item.pk])}" for item in items],
            },
        )
        messages.append(EmailMessage(subject=subject, body=body, to=[user.email]))
    if not messages:
        return

    def send() -> None:
        try:
            get_connection().send_messages(messages)
        except Exception:  # noqa: BLE001 - an e-mail problem must never stop reading the inbox
            logger.exception("could not send %d urgent inbox notice(s)", len(messages))

    transaction.on_commit(send)


# --- Working an item -----------------------------------------------------------------------------------------


def _require_worker(item: InboxItem, user: User) -> None:
    if not can_work_inbox(user, item.department_id):
        raise ApplicationError(_("Only members of %(department)s work this inbox.") % {"department": item.department})


def _locked(item: InboxItem) -> InboxItem:
    return InboxItem.objects.select_for_update().select_related("department", "channel").get(pk=item.pk)


@transaction.atomic
def item_assign(*, item: InboxItem, user: User, assignee: User | None) -> InboxItem:
    """Assigns the item to a member of its department (None: nobody). Raises ApplicationError."""
    item = _locked(item)
    _require_worker(item, user)
    if assignee is not None and item.department_id not in department_ids_for_user(user=assignee):
        raise ApplicationError(_("Assign it to a member of %(department)s.") % {"department": item.department})
    before = item.assigned_to_id
    item.assigned_to = assignee
    if item.status == ItemStatus.NEW and assignee is not None:
        item.status = ItemStatus.ASSIGNED
    elif item.status == ItemStatus.ASSIGNED and assignee is None:
        item.status = ItemStatus.NEW
    item.save(update_fields=["assigned_to", "status"])
    audit_record(
        action=AuditAction.INBOX_ASSIGNED,
        actor=user,
        department_id=item.department_id,
        target=item,
        changes={"assigned_to": {"before": before, "after": assignee.pk if assignee else None}},
    )
    return item


@transaction.atomic
def item_note_add(*, item: InboxItem, user: User, text: str) -> InboxNote:
    """Adds an internal note (never sent to the platform). Raises ApplicationError."""
    item = _locked(item)
    _require_worker(item, user)
    text = normalize_text(text).strip()
    if not text:
        raise ApplicationError(_("Write the note."))
    note = InboxNote.objects.create(item=item, author=user, text=text)
    audit_record(action=AuditAction.INBOX_NOTE_ADDED, actor=user, department_id=item.department_id, target=item)
    return note


@transaction.atomic
def item_set_status(*, item: InboxItem, user: User, status: str) -> InboxItem:
    """Closes an item (nothing to answer) or opens it again. Raises ApplicationError."""
    item = _locked(item)
    _require_worker(item, user)
    if status == ItemStatus.CLOSED:
        if item.status == ItemStatus.CLOSED:
            raise ApplicationError(_("This item is already closed."))
    elif status == "reopen":
        if item.status not in (ItemStatus.CLOSED, ItemStatus.ANSWERED):
            raise ApplicationError(_("Only closed or answered items can be opened again."))
        status = ItemStatus.ASSIGNED if item.assigned_to_id else ItemStatus.NEW
    else:
        raise ApplicationError(_("Choose close or open again."))
    before = item.status
    item.status = status
    item.save(update_fields=["status"])
    audit_record(
        action=AuditAction.INBOX_STATUS_CHANGED,
        actor=user,
        department_id=item.department_id,
        target=item,
        changes={"status": {"before": before, "after": status}},
    )
    return item


@transaction.atomic
def item_reply(*, item: InboxItem, user: User, text: str, language: str = "") -> InboxReply:
    """Answers the item on its platform from CivicPost: a reply Post on the item's channel through the same
    exactly-once publishing path as every post (scheduler.services.reply_create), approved at once unless the
    department's replies need approval. Marks the item answered. Raises ApplicationError."""
    item = _locked(item)
    _require_worker(item, user)
    if item.removed or item.deleted_by_author:
        raise ApplicationError(_("This comment is no longer on the platform; there is nothing to reply to."))
    needs_approval = InboxSettings.objects.filter(department_id=item.department_id, replies_need_approval=True).exists()
    post = reply_create(
        author=user,
        channel=item.channel,
        text=text,
        reply_to=ReplyTarget(
            remote_id=item.remote_id, root_remote_id=item.root_remote_id, details=dict(item.reply_details)
        ),
        language=language,
        needs_approval=needs_approval,
    )
    reply = InboxReply.objects.create(item=item, post=post, author=user)
    before = item.status
    item.status = ItemStatus.ANSWERED
    item.answered_at = item.answered_at or timezone.now()
    item.save(update_fields=["status", "answered_at"])
    audit_record(
        action=AuditAction.INBOX_REPLIED,
        actor=user,
        department_id=item.department_id,
        target=item,
        changes={"post": post.pk, "status": {"before": before, "after": item.status}, "needs_approval": needs_approval},
    )
    return reply


# --- Moderation ----------------------------------------------------------------------------------------------


def item_snapshot(item: InboxItem) -> dict[str, Any]:
    """The item exactly as it is, kept before any moderation action changes it."""
    return {
        "id": item.pk,
        "channel_id": item.channel_id,
        "remote_id": item.remote_id,
        "kind": item.kind,
        "author_handle": item.author_handle,
        "author_name": item.author_name,
        "author_profile_url": item.author_profile_url,
        "permalink": item.permalink,
        "text": item.text,
        "media": item.media,
        "created_at": item.created_at.isoformat(),
        "captured_at": item.captured_at.isoformat() if item.captured_at else None,
        "status": item.status,
        "hidden": item.hidden,
        "removed": item.removed,
        "raw": item.raw,
    }


def _conversation_item(item: InboxItem) -> ConversationItem:
    return ConversationItem(
        remote_id=item.remote_id,
        kind=item.kind,
        author_handle=item.author_handle,
        text=item.text,
        created_at=item.created_at,
        in_reply_to_remote_id=item.in_reply_to_remote_id,
        root_remote_id=item.root_remote_id,
        author_name=item.author_name,
        author_profile_url=item.author_profile_url,
        permalink=item.permalink,
        reply_details=dict(item.reply_details),
        raw=item.raw,
    )


def moderation_choices(adapter: PlatformAdapter) -> list[str]:
    """The moderation actions the item's platform allows, in the order the page offers them."""
    return [action for action in ("hide", "delete", "mute", "block") if action in adapter.moderation_actions]


def item_moderate(
    *,
    item: InboxItem,
    user: User,
    action: str,
    clause_id: int | None,
    note: str,
    undoes: ModerationAction | None = None,
) -> ModerationAction:
    """Hides, deletes, blocks or mutes on the platform (or undoes an earlier action: `undoes`), citing a clause of
    the city's social media policy and a note, both required. The item as it was is kept first (the action's
    snapshot, committed before the platform is asked); then the platform is asked and the answer recorded, and
    both steps go to the audit trail. Returns the action (outcome done or failed). Raises ApplicationError before
    anything is kept when the user may not, the clause or note is missing, or the platform does not allow it."""
    note = normalize_text(note).strip()
    _require_worker(item, user)
    if clause_id is None:
        raise ApplicationError(_("Choose the clause of the social media policy this action applies."))
    clause = PolicyClause.objects.filter(pk=clause_id, active=True).first()
    if clause is None:
        raise ApplicationError(_("Choose a clause of the city's current social media policy."))
    if not note:
        raise ApplicationError(_("Write a note saying why: it is kept on the record with the action."))
    adapter = adapter_for_channel(item.channel)
    allowed = adapter.undo_actions if undoes is not None else adapter.moderation_actions
    if action not in ModerationKind.values or action not in allowed:
        raise ApplicationError(
            _("%(platform)s does not let CivicPost do this: %(action)s.")
            % {"platform": adapter.label, "action": action}
        )
    with transaction.atomic():
        locked = _locked(item)
        if undoes is not None:
            if undoes.item_id != locked.pk or UNDO_ACTIONS.get(undoes.action) != action:
                raise ApplicationError(_("That action cannot be undone this way."))
            if undoes.outcome != ModerationOutcome.DONE or ModerationAction.objects.filter(undoes=undoes).exists():
                raise ApplicationError(_("That action was not done, or was already undone."))
        elif locked.removed:
            raise ApplicationError(_("This comment was deleted; nothing more can be done to it."))
        record = ModerationAction.objects.create(
            item=locked,
            action=action,
            clause=clause,
            clause_number=clause.number,
            clause_text=f"{clause.title}\n\n{clause.text}",
            note=note,
            actor=user,
            snapshot=item_snapshot(locked),
            undoes=undoes,
        )
        audit_record(
            action=AuditAction.INBOX_MODERATION_UNDONE if undoes else AuditAction.INBOX_MODERATED,
            actor=user,
            department_id=locked.department_id,
            target=locked,
            changes={"moderation": record.pk, "action": action, "clause": clause.number, "outcome": "pending"},
            message=note,
        )
    return _moderation_send(record=record, item=locked, adapter=adapter)


def _moderation_send(*, record: ModerationAction, item: InboxItem, adapter: PlatformAdapter) -> ModerationAction:
    try:
        result = adapter.moderate(_conversation_item(item), record.action)
    except AdapterError as error:
        outcome, message, response = ModerationOutcome.FAILED, error.message, error.raw
    except Exception:  # noqa: BLE001 - recorded on the row: a person decides
        logger.exception("moderation %s failed unexpectedly", record.pk)
        outcome, message, response = ModerationOutcome.FAILED, _("Unexpected error; check the platform."), {}
    else:
        outcome, message, response = ModerationOutcome.DONE, "", result.raw
    finally:
        channel_save_adapter_changes(channel=item.channel, adapter=adapter)
    with transaction.atomic():
        ModerationAction.objects.filter(pk=record.pk).update(
            outcome=outcome, failure_message=message, response=response
        )
        if outcome == ModerationOutcome.DONE:
            effects: dict[str, dict[str, Any]] = {
                "hide": {"hidden": True},
                "unhide": {"hidden": False},
                "delete": {"removed": True, "status": ItemStatus.CLOSED},
            }
            changes = effects.get(record.action, {})
            if changes:
                InboxItem.objects.filter(pk=item.pk).update(**changes)
        audit_record(
            action=AuditAction.INBOX_MODERATION_UNDONE if record.undoes_id else AuditAction.INBOX_MODERATED,
            actor=record.actor,
            department_id=item.department_id,
            target=item,
            changes={"moderation": record.pk, "action": record.action, "outcome": outcome},
            message=message,
        )
    record.refresh_from_db()
    return record


def moderation_undo(*, action: ModerationAction, user: User, clause_id: int | None, note: str) -> ModerationAction:
    """Undoes a hide, block or mute where the platform allows it (a delete cannot be undone), on the record like
    the action itself. Raises ApplicationError."""
    undo = UNDO_ACTIONS.get(action.action)
    if undo is None:
        raise ApplicationError(_("A deleted comment cannot be brought back."))
    return item_moderate(item=action.item, user=user, action=undo, clause_id=clause_id, note=note, undoes=action)


# --- Settings, saved replies, policy -------------------------------------------------------------------------


@transaction.atomic
def inbox_settings_save(
    *,
    department: Department,
    user: User,
    replies_need_approval: bool,
    response_target_hours: int,
    urgency_keywords: list[str],
    watcher_ids: list[int],
    paid_reads_enabled: bool = True,
) -> InboxSettings:
    """Saves the department's inbox settings. Raises ApplicationError."""
    if not can_manage_inbox_settings(user, department.pk):
        raise ApplicationError(_("Only the department's admins or a communications manager change these settings."))
    if response_target_hours < 1:
        raise ApplicationError(_("The response-time target must be at least one hour."))
    keywords = sorted({normalize_text(word, single_line=True).strip() for word in urgency_keywords} - {""})
    members = department_member_ids(department_id=department.pk, roles=("editor", "approver", "admin"))
    if set(watcher_ids) - members:
        raise ApplicationError(
            _("Only members of %(department)s can be told about urgent items.") % {"department": department}
        )
    row, _created = InboxSettings.objects.select_for_update().get_or_create(department=department)
    before = {
        "replies_need_approval": row.replies_need_approval,
        "response_target_hours": row.response_target_hours,
        "paid_reads_enabled": row.paid_reads_enabled,
        "urgency_keywords": row.urgency_keywords,
    }
    row.replies_need_approval = replies_need_approval
    row.response_target_hours = response_target_hours
    row.paid_reads_enabled = paid_reads_enabled
    row.urgency_keywords = keywords
    row.save()
    row.watchers.set(watcher_ids)
    after = {
        "replies_need_approval": replies_need_approval,
        "response_target_hours": response_target_hours,
        "paid_reads_enabled": paid_reads_enabled,
        "urgency_keywords": keywords,
        "watchers": sorted(watcher_ids),
    }
    audit_record(
        action=AuditAction.INBOX_SETTINGS_CHANGED,
        actor=user,
        department_id=department.pk,
        target=row,
        changes={key: {"before": before.get(key), "after": value} for key, value in after.items()},
    )
    return row


def channel_inbox_enable(*, channel: Channel, user: User, enabled: bool) -> ChannelInboxState:
    """Switches reading one channel's conversations on or off (X's reads are paid). Raises ApplicationError."""
    if not can_manage_inbox_settings(user, channel.department_id):
        raise ApplicationError(_("Only the department's admins or a communications manager change these settings."))
    state, _created = ChannelInboxState.objects.get_or_create(channel=channel)
    ChannelInboxState.objects.filter(pk=state.pk).update(enabled=enabled)
    audit_record(
        action=AuditAction.INBOX_SETTINGS_CHANGED,
        actor=user,
        department_id=channel.department_id,
        target=channel,
        changes={"inbox_enabled": {"before": state.enabled, "after": enabled}},
    )
    state.enabled = enabled
    return state


def saved_reply_create(*, department: Department, user: User, title: str, text: str, language: str) -> SavedReply:
    """Adds a saved reply in one of the department's languages. Raises ApplicationError."""
    if not can_work_inbox(user, department.pk):
        raise ApplicationError(_("Only members of %(department)s add its saved replies.") % {"department": department})
    title, text = normalize_text(title, single_line=True).strip(), normalize_text(text).strip()
    if not title or not text:
        raise ApplicationError(_("Give the saved reply a title and a text."))
    languages = department.languages or [department.main_language]
    if language not in languages:
        raise ApplicationError(_("Choose one of the department's languages."))
    return SavedReply.objects.create(department=department, title=title, text=text, language=language)


def saved_reply_delete(*, saved_reply: SavedReply, user: User) -> None:
    if not can_work_inbox(user, saved_reply.department_id):
        raise ApplicationError(_("Only members of the department delete its saved replies."))
    saved_reply.delete()


@transaction.atomic
def policy_clause_create(*, user: User, number: str, title: str, text: str) -> PolicyClause:
    """Adds a numbered clause to the city's social media policy (communications managers). Raises ApplicationError."""
    if not can_manage_policy(user):
        raise ApplicationError(_("Only communications managers change the social media policy."))
    number = normalize_text(number, single_line=True).strip()
    title = normalize_text(title, single_line=True).strip()
    text = normalize_text(text).strip()
    if not number or not title or not text:
        raise ApplicationError(_("Give the clause its number, a title and its words."))
    if PolicyClause.objects.filter(number=number, active=True).exists():
        raise ApplicationError(_("Clause %(number)s exists already; retire it first.") % {"number": number})
    clause = PolicyClause.objects.create(number=number, title=title, text=text)
    audit_record(
        action=AuditAction.POLICY_CLAUSE_CHANGED,
        actor=user,
        target=clause,
        changes={"number": number, "title": title, "active": True},
        message=text,
    )
    return clause


@transaction.atomic
def policy_clause_retire(*, user: User, clause: PolicyClause) -> PolicyClause:
    """Retires a clause: actions keep citing it, new ones cannot. Raises ApplicationError."""
    if not can_manage_policy(user):
        raise ApplicationError(_("Only communications managers change the social media policy."))
    PolicyClause.objects.filter(pk=clause.pk).update(active=False)
    audit_record(
        action=AuditAction.POLICY_CLAUSE_CHANGED,
        actor=user,
        target=clause,
        changes={"number": clause.number, "active": False},
    )
    clause.active = False
    return clause
