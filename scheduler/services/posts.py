"""Writing a post: create, update (an approved post goes back for approval), save-and-submit in one call
(post_save), versions, cancel, and marking it finished once its deliveries are done. With .review and .holds
(and scheduler.publishing, the delivery state machine) the only code that writes Post and Delivery state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.contrib.auth.models import User
from django.db import connections, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, field_changes
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text, normalize_text_tree
from departments.models import Department
from departments.selectors import user_can_approve_for, user_can_edit_for
from medialibrary.models import MediaAsset
from medialibrary.services import ALT_TEXT_REQUIRED, media_gate_problems, post_media_set
from scheduler.adapters.base import Problem
from scheduler.adapters.registry import adapter_for_channel, get_adapter_class
from scheduler.blackouts import blackout_clearance, blackout_override_record
from scheduler.content import (
    delivery_targets,
    language_name,
    language_version_problems,
    target_problems,
)
from scheduler.models import (
    CANCELLABLE_STATUSES,
    EDITABLE_STATUSES,
    FINISHED_DELIVERY_STATUSES,
    PENDING_DELIVERY_STATUSES,
    WITHDRAWABLE_DELIVERY_STATUSES,
    BlackoutPeriod,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryStatus,
    Post,
    PostApproval,
    PostReview,
    PostStatus,
    PostVersion,
    ReviewAction,
)
from scheduler.snapshots import approval_content_for, channel_content, content_hash
from scheduler.threads import thread_problems


def deliveries_to_create(post: Post, approval: PostApproval) -> list[tuple[Channel, str]]:
    """Returns (channel, language) for each Delivery an approval makes: one per chosen channel and
    language version, or per language-specific channel, as the department publishes languages."""
    chosen = set(approval.content.get("channel_ids", []))
    channels = [channel for channel in post.channels.all() if channel.pk in chosen]
    return delivery_targets(content=approval.content, channels=channels, publishing=post.department.language_publishing)


def delivery_parts(content: dict[str, Any], channel: Channel, language: str) -> tuple[int, bool]:
    """Returns (parts, first comment) for one channel and language of an approved snapshot: how many thread
    parts it publishes there (1 where the platform takes no threads, or for another language version), and
    whether a first comment follows the post there."""
    adapter_class = get_adapter_class(channel.platform)
    main = content.get("language", "en") == language
    thread = content.get("thread", [])
    parts = 1 + len(thread) if thread and main and adapter_class.supports_threads else 1
    comment = bool(content.get("first_comment")) and main and adapter_class.supports_first_comment
    return parts, comment


def _check_channels(*, department: Department, channels: Iterable[Channel]) -> list[Channel]:
    channels = list(channels)
    foreign = [c for c in channels if c.department_id != department.pk]
    if foreign:
        raise ApplicationError(_("You can only post to your department's own channels."))
    return channels


def _require_editor(*, post: Post, user: User) -> None:
    if not user_can_edit_for(user=user, department_id=post.department_id):
        raise ApplicationError(
            _("Only members of %(department)s can change this post.") % {"department": post.department}
        )


def _withdraw_pending_deliveries(*, post: Post, reason: str, refuse_if_finished: bool = False) -> int:
    """Cancels this post's deliveries that have not reached a platform. Raises ApplicationError if one is
    in flight (or, with refuse_if_finished, if one already has its final outcome)."""
    # Lock the rows before looking at them: a worker moving one to `sending` at this moment either
    # commits first (and we refuse here) or waits and then finds it cancelled (and sends nothing).
    # Looking first and updating after let that worker slip in between and publish a cancelled post.
    statuses = set(post.deliveries.select_for_update().values_list("status", flat=True))
    if statuses & {DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN}:
        raise ApplicationError(_("This post is being published right now and can no longer be changed or cancelled."))
    if refuse_if_finished and statuses & set(FINISHED_DELIVERY_STATUSES):
        # A new approval would need a second live delivery on a channel that already has its outcome.
        raise ApplicationError(
            _(
                "Part of this post has already been published (or could not be), so it can no longer be edited. "
                "Cancel it and write a new post instead."
            )
        )
    return post.deliveries.filter(status__in=WITHDRAWABLE_DELIVERY_STATUSES).update(
        status=DeliveryStatus.CANCELLED, failure_message=reason, lease_expires_at=None, updated_at=timezone.now()
    )


@transaction.atomic
def post_create(
    *,
    author: User,
    department: Department,
    text: str,
    link: str = "",
    channels: Iterable[Channel],
    due_at: dt.datetime,
    language: str | None = None,
    channel_text: dict[str, str] | None = None,
    languages: dict[str, dict[str, Any]] | None = None,
    media: Iterable[tuple[MediaAsset, str]] | None = None,
    autosaved: bool = False,
    thread_parts: list[str] | None = None,
    first_comment: str = "",
    reply_to: dict[str, Any] | None = None,
) -> Post:
    """Creates a draft and its first saved version. `reply_to` makes it a reply (scheduler.services.replies).
    `channel_text` {channel id: text} holds per-channel
    versions, `languages` {code: {"text", "channel_text", "media_alt", "reviewed"}} the other language
    versions, `media` the attached (asset, alt text) in order."""
    if not user_can_edit_for(user=author, department_id=department.pk):
        raise ApplicationError(_("You are not a member of %(department)s.") % {"department": department})
    channels = _check_channels(department=department, channels=channels)
    text, link, channel_text, languages, media = _normalized(text, link, channel_text, languages, media)
    post = Post.objects.create(
        department=department,
        author=author,
        text=text,
        link=link,
        due_at=due_at,
        language=language or department.main_language,
        channel_text=dict(channel_text or {}),
        languages=dict(languages or {}),
        thread_parts=_normalized_parts(thread_parts) or [],
        first_comment=normalize_text(first_comment or "").strip(),
        reply_to=dict(reply_to) if reply_to else None,
    )
    post.channels.set(channels)
    if media:
        post_media_set(post=post, items=media)
    content = approval_content_for(post)
    audit_record(
        action=AuditAction.POST_CREATED,
        actor=author,
        department_id=department.pk,
        target=post,
        changes=field_changes({}, content),
    )
    post_version_record(post=post, user=author, content=content, autosaved=autosaved)
    return post


@transaction.atomic
def post_update(
    *,
    post: Post,
    user: User,
    text: str,
    link: str,
    channels: Iterable[Channel],
    due_at: dt.datetime,
    channel_text: dict[str, str] | None = None,
    languages: dict[str, dict[str, Any]] | None = None,
    media: Iterable[tuple[MediaAsset, str]] | None = None,
    autosaved: bool = False,
    blackout_override_reason: str = "",
    thread_parts: list[str] | None = None,
    first_comment: str | None = None,
) -> Post:
    """Saves an edit and records it as a new version (when anything changed). An approved post goes back
    to the approval queue: its old approval no longer counts. `channel_text`, `languages`, `media`,
    `thread_parts` and `first_comment` left as None stay as they are. An autosave (`autosaved`) only ever
    touches drafts, and does nothing when nothing changed.

    Moving a post that waits for approval or is approved into a blackout needs an approver's
    `blackout_override_reason` (scheduler/blackouts.py; raises BlackoutRefused); a draft may be saved there."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    _require_editor(post=post, user=user)
    if post.status not in EDITABLE_STATUSES:
        raise ApplicationError(
            _("A post that is %(status)s can no longer be edited.") % {"status": post.get_status_display().lower()}
        )
    if autosaved and post.status not in (PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED):
        raise ApplicationError(_("Only drafts are saved automatically; save your changes with the button."))
    channels = _check_channels(department=post.department, channels=channels)
    text, link, channel_text, languages, media = _normalized(text, link, channel_text, languages, media)
    thread_parts = _normalized_parts(thread_parts)
    first_comment = None if first_comment is None else normalize_text(first_comment).strip()
    before = approval_content_for(post)
    if (
        autosaved
        and _unchanged(post, before, text, link, channels, due_at, channel_text, languages, media)
        and (thread_parts is None or thread_parts == post.thread_parts)
        and (first_comment is None or first_comment == post.first_comment)
    ):
        return post
    previous_due_at = post.due_at
    overriding: list[BlackoutPeriod] = []
    if post.status in (PostStatus.SUBMITTED, PostStatus.APPROVED) and due_at != previous_due_at:
        overriding = blackout_clearance(post=post, user=user, due_at=due_at, override_reason=blackout_override_reason)
    if post.status == PostStatus.APPROVED:
        _withdraw_pending_deliveries(
            post=post, reason=_("The post was edited after approval."), refuse_if_finished=True
        )
        post.status = PostStatus.SUBMITTED
        post.current_approval = None
        post.submitted_at = timezone.now()
        PostReview.objects.create(post=post, actor=user, action=ReviewAction.RETURNED)
    post.text = text
    post.link = link
    post.due_at = due_at
    if channel_text is not None:
        post.channel_text = dict(channel_text)
    if languages is not None:
        post.languages = dict(languages)
    if thread_parts is not None:
        post.thread_parts = thread_parts
    if first_comment is not None:
        post.first_comment = first_comment
    post.save()
    post.channels.set(channels)
    if media is not None:
        post_media_set(post=post, items=media)
    after = approval_content_for(post)
    audit_record(
        action=AuditAction.POST_EDITED,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes=field_changes(before, after),
    )
    post_version_record(post=post, user=user, content=after, autosaved=autosaved)
    blackout_override_record(
        post=post, user=user, blackouts=overriding, reason=blackout_override_reason, previous_due_at=previous_due_at
    )
    return post


@transaction.atomic
def post_save(
    *,
    user: User,
    post: Post | None = None,
    submit: bool = False,
    blackout_override_reason: str = "",
    **fields: Any,
) -> Post:
    """Creates (`post` None: post_create, `fields` with its `department`) or updates (post_update) a post
    and, with `submit`, sends it for approval (review.post_submit) in the same transaction: a refused
    submission leaves no stray draft and no half-saved edit. Returns the post; raises what those raise."""
    from scheduler.services.review import post_submit  # review imports this module: resolved at call time

    if post is None:
        post = post_create(author=user, **fields)
    else:
        post = post_update(post=post, user=user, blackout_override_reason=blackout_override_reason, **fields)
    if submit:
        post_submit(post=post, user=user, blackout_override_reason=blackout_override_reason)
    return post


def _normalized_parts(parts: list[str] | None) -> list[str] | None:
    """Returns thread parts as stored: normalised text, empty parts dropped (None stays None)."""
    if parts is None:
        return None
    return [cleaned for cleaned in (normalize_text(str(part)).strip() for part in parts) if cleaned]


def _normalized(
    text: str,
    link: str,
    channel_text: dict[str, str] | None,
    languages: dict[str, dict[str, Any]] | None,
    media: Iterable[tuple[MediaAsset, str]] | None,
) -> tuple[str, str, dict[str, str] | None, dict[str, dict[str, Any]] | None, list[tuple[MediaAsset, str]] | None]:
    """Returns everything typed into a post as it is stored (civicpost/text.py): done here, not only in
    the forms, so CSV import, series, templates, the emergency post and any API client get it too."""
    return (
        normalize_text(text),
        normalize_text(link, single_line=True).strip(),
        normalize_text_tree(channel_text),
        normalize_text_tree(languages),
        None if media is None else [(asset, normalize_text(alt_text)) for asset, alt_text in media],
    )


def _unchanged(
    post: Post,
    before: dict[str, Any],
    text: str,
    link: str,
    channels: list[Channel],
    due_at: dt.datetime,
    channel_text: dict[str, str] | None,
    languages: dict[str, dict[str, Any]] | None,
    media: Iterable[tuple[MediaAsset, str]] | None,
) -> bool:
    """Returns whether an edit would change nothing that is stored (so an autosave can skip it)."""
    media_now = [(item.asset_id, item.alt_text) for item in post.media_items.all()]
    return (
        text == post.text
        and link == post.link
        and due_at == post.due_at
        and sorted(c.pk for c in channels) == before["channel_ids"]
        and (channel_text is None or dict(channel_text) == post.channel_text)
        and (languages is None or dict(languages) == post.languages)
        and (media is None or [(asset.pk, alt.strip()) for asset, alt in media] == media_now)
    )


def post_version_record(
    *, post: Post, user: User | None, content: dict[str, Any], autosaved: bool = False
) -> PostVersion:
    """Keeps `content` (an approval_content_for snapshot) as the post's next version. Returns the new
    version, or the latest one when it already holds exactly this content."""
    digest = content_hash(content)
    latest = post.versions.order_by("-number").first()
    if latest is not None and latest.content_hash == digest:
        return latest
    return PostVersion.objects.create(
        post=post,
        number=(latest.number + 1) if latest else 1,
        text=content["text"],
        link=content["link"],
        language=content.get("language", "en"),
        channel_ids=content["channel_ids"],
        channel_text=content.get("channel_text", {}),
        media=content.get("media", []),
        languages=content.get("languages", {}),
        thread_parts=content.get("thread", []),
        first_comment=content.get("first_comment", ""),
        due_at=dt.datetime.fromisoformat(content["due_at"]),
        content_hash=digest,
        saved_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
        saved_at=timezone.now(),
        autosaved=autosaved,
    )


def post_version_for_approval(*, post: Post, content: dict[str, Any]) -> PostVersion:
    """Returns the saved version an approval of `content` approves: the latest version with the same
    hash (one is recorded now if the post was last saved before version history existed)."""
    version = post.versions.filter(content_hash=content_hash(content)).order_by("-number").first()
    return version or post_version_record(post=post, user=None, content=content)


def post_problems(*, post: Post, now: dt.datetime | None = None, require_future: bool = True) -> list[str]:
    """Returns every reason the post cannot be submitted or approved as it stands.

    An approver may approve a post whose time passed while it waited: it then goes out at once."""
    now = now or timezone.now()
    problems: list[str] = []
    if not post.text.strip():
        problems.append(_("Write the text of the post."))
    channels = list(post.channels.all())
    if not channels:
        problems.append(_("Choose at least one channel."))
    if require_future and post.due_at <= now:
        problems.append(_("The publish time has passed; choose a time in the future."))
    content = approval_content_for(post)
    # Alt text and captions are asked for once, for the whole post, whatever the channels.
    problems.extend(media_gate_problems(content.get("media", [])))
    problems.extend(
        language_version_problems(
            languages=post.languages,
            department_languages=post.department.languages or ["en"],
            media_asset_ids=list(post.media_items.values_list("asset_id", flat=True)),
        )
    )
    publishing = post.department.language_publishing
    problems.extend(target_problems(content=content, channels=channels, publishing=publishing))
    for channel in channels:
        if channel.status != ChannelStatus.CONNECTED:
            problems.append(
                _("%(channel)s needs to be reconnected by a department admin.") % {"channel": channel.display_name}
            )
    main = content.get("language", "en")
    # Each language version is checked on each channel it goes to: one over-long version holds the post.
    for channel, language in delivery_targets(content=content, channels=channels, publishing=publishing):
        label = channel.display_name if language == main else f"{channel.display_name} ({language_name(language)})"
        problem: Problem
        for problem in adapter_for_channel(channel).validate(channel_content(content, channel, language)):
            if problem.message == ALT_TEXT_REQUIRED:
                continue
            message = f"{label}: {problem.message}"
            if message not in problems:
                problems.append(message)
    problems.extend(
        problem for problem in thread_problems(content=content, channels=channels) if problem not in problems
    )
    return problems


@transaction.atomic
def post_cancel(*, post: Post, user: User, comment: str = "") -> Post:
    """Stops a post. Deliveries already published stay published; the rest never go out."""
    comment = normalize_text(comment)
    post = Post.objects.select_for_update().get(pk=post.pk)
    may_cancel = user_can_edit_for(user=user, department_id=post.department_id) or user_can_approve_for(
        user=user, department_id=post.department_id
    )
    if not may_cancel:
        raise ApplicationError(_("You cannot cancel posts of %(department)s.") % {"department": post.department})
    if post.status not in CANCELLABLE_STATUSES:
        raise ApplicationError(_("This post has already been published and cannot be cancelled."))
    _withdraw_pending_deliveries(post=post, reason=_("Cancelled by %(user)s.") % {"user": user})
    post.status = PostStatus.CANCELLED
    post.save(update_fields=["status", "updated_at"])
    PostReview.objects.create(post=post, actor=user, action=ReviewAction.CANCELLED, comment=comment)
    audit_record(
        action=AuditAction.POST_CANCELLED, actor=user, department_id=post.department_id, target=post, message=comment
    )
    return post


# Built once: every finished delivery runs post_refresh_status, and building the subquery is most of its cost.
_NO_DELIVERY_PENDING = ~Exists(Delivery.objects.filter(post_id=OuterRef("pk"), status__in=PENDING_DELIVERY_STATUSES))


def post_finish_after(
    *, step: str, post_id: int, finishing_delivery_id: int, now: dt.datetime
) -> tuple[str, list[Any]]:
    """`post_refresh_status` as an `UPDATE ... WHERE EXISTS (SELECT 1 FROM <step>)` with its parameters, for a
    writer that publishes a delivery and finishes its post in one statement (the worker's outcome, issue 18).
    Every part of one statement sees the rows as they were before it, so "no delivery still pending" leaves
    out the delivery that the statement's part `step` finishes. PostgreSQL (a data-modifying WITH)."""
    params: list[Any] = [PostStatus.PUBLISHED.value, now, post_id, PostStatus.APPROVED.value, post_id]
    params += [[str(status) for status in PENDING_DELIVERY_STATUSES], finishing_delivery_id]
    return _post_finish_sql(step), params


@cache
def _post_finish_sql(step: str) -> str:
    quote = connections[Post.objects.db].ops.quote_name
    post, delivery = quote(Post._meta.db_table), quote(Delivery._meta.db_table)
    return (
        f"UPDATE {post} SET status = %s, updated_at = %s WHERE id = %s AND status = %s"  # noqa: S608  # nosec B608 - names from _meta, values as parameters
        f" AND EXISTS (SELECT 1 FROM {step}) AND NOT EXISTS (SELECT 1 FROM {delivery} other"
        " WHERE other.post_id = %s AND other.status = ANY(%s) AND other.id <> %s)"
    )


def post_refresh_status(*, post_id: int) -> None:
    """Marks an approved post finished once none of its current deliveries is still pending (one statement)."""
    Post.objects.filter(_NO_DELIVERY_PENDING, pk=post_id, status=PostStatus.APPROVED).update(
        status=PostStatus.PUBLISHED, updated_at=timezone.now()
    )
