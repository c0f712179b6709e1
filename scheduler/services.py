"""Every change to a post goes through one of these functions; each owns one transition."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, field_changes
from civicpost.exceptions import ApplicationError
from departments.models import Department
from departments.selectors import user_can_approve_for, user_can_edit_for
from scheduler.adapters.base import MediaItem, PostContent, Problem
from scheduler.adapters.registry import adapter_for_channel
from scheduler.models import (
    PENDING_DELIVERY_STATUSES,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryStatus,
    Post,
    PostApproval,
    PostReview,
    PostStatus,
    ReviewAction,
)

EDITABLE_STATUSES = (PostStatus.DRAFT, PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED, PostStatus.APPROVED)
CANCELLABLE_STATUSES = EDITABLE_STATUSES
# Deliveries that have not contacted the platform yet can be withdrawn without risk.
WITHDRAWABLE_DELIVERY_STATUSES = (DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.RETRY_WAIT)
FINISHED_DELIVERY_STATUSES = (DeliveryStatus.PUBLISHED, DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION)


def approval_content_for(post: Post) -> dict[str, Any]:
    """Returns the canonical content of a post as it would be approved (also used for the hash)."""
    return {
        "text": post.text,
        "link": post.link,
        "due_at": post.due_at.astimezone(dt.UTC).isoformat(),
        "channel_ids": sorted(channel.pk for channel in post.channels.all()),
    }


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def channel_content(approval_content: dict[str, Any], channel: Channel) -> PostContent:
    """Returns what one channel receives, built only from an approved (or to-be-approved) snapshot."""
    per_channel = approval_content.get("channel_text", {}).get(str(channel.pk))
    return PostContent(
        text=per_channel or approval_content["text"],
        link=approval_content.get("link", ""),
        language=approval_content.get("language", "en"),
        media=tuple(
            MediaItem(url=item["url"], mime_type=item.get("mime_type", ""), alt_text=item.get("alt_text", ""))
            for item in approval_content.get("media", [])
        ),
    )


def _check_channels(*, department: Department, channels: Iterable[Channel]) -> list[Channel]:
    channels = list(channels)
    foreign = [c for c in channels if c.department_id != department.pk]
    if foreign:
        raise ApplicationError(_("You can only post to your department's own channels."))
    return channels


def _require_editor(*, post: Post, user: AbstractBaseUser) -> None:
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
    author: AbstractBaseUser,
    department: Department,
    text: str,
    link: str = "",
    channels: Iterable[Channel],
    due_at: dt.datetime,
) -> Post:
    if not user_can_edit_for(user=author, department_id=department.pk):
        raise ApplicationError(_("You are not a member of %(department)s.") % {"department": department})
    channels = _check_channels(department=department, channels=channels)
    post = Post.objects.create(department=department, author=author, text=text, link=link, due_at=due_at)
    post.channels.set(channels)
    audit_record(
        action=AuditAction.POST_CREATED,
        actor=author,
        department_id=department.pk,
        target=post,
        changes=field_changes({}, approval_content_for(post)),
    )
    return post


@transaction.atomic
def post_update(
    *,
    post: Post,
    user: AbstractBaseUser,
    text: str,
    link: str,
    channels: Iterable[Channel],
    due_at: dt.datetime,
) -> Post:
    """Saves an edit. An approved post goes back to the approval queue: its old approval no longer counts."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    _require_editor(post=post, user=user)
    if post.status not in EDITABLE_STATUSES:
        raise ApplicationError(
            _("A post that is %(status)s can no longer be edited.") % {"status": post.get_status_display().lower()}
        )
    channels = _check_channels(department=post.department, channels=channels)
    before = approval_content_for(post)
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
    post.save()
    post.channels.set(channels)
    audit_record(
        action=AuditAction.POST_EDITED,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes=field_changes(before, approval_content_for(post)),
    )
    return post


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
    for channel in channels:
        if channel.status != ChannelStatus.CONNECTED:
            problems.append(
                _("%(channel)s needs to be reconnected by a department admin.") % {"channel": channel.display_name}
            )
        problem: Problem
        for problem in adapter_for_channel(channel).validate(channel_content(content, channel)):
            problems.append(f"{channel.display_name}: {problem.message}")
    return problems


@transaction.atomic
def post_submit(*, post: Post, user: AbstractBaseUser) -> Post:
    post = Post.objects.select_for_update().get(pk=post.pk)
    _require_editor(post=post, user=user)
    if post.status not in (PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED):
        raise ApplicationError(_("Only drafts and posts with requested changes can be submitted."))
    problems = post_problems(post=post)
    if problems:
        raise ApplicationError(" ".join(problems), extra={"problems": problems})
    post.status = PostStatus.SUBMITTED
    post.submitted_at = timezone.now()
    post.save(update_fields=["status", "submitted_at", "updated_at"])
    PostReview.objects.create(post=post, actor=user, action=ReviewAction.SUBMITTED)
    audit_record(action=AuditAction.POST_SUBMITTED, actor=user, department_id=post.department_id, target=post)
    return post


@transaction.atomic
def post_approve(*, post: Post, user: AbstractBaseUser, comment: str = "") -> PostApproval:
    """Freezes the post's content as approved and schedules one delivery per channel."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    if not user_can_approve_for(user=user, department_id=post.department_id):
        raise ApplicationError(_("You cannot approve posts of %(department)s.") % {"department": post.department})
    if post.author_id == user.pk:
        raise ApplicationError(_("Nobody approves their own post; another approver must review it."))
    if post.status != PostStatus.SUBMITTED:
        raise ApplicationError(_("Only posts waiting for approval can be approved."))
    now = timezone.now()
    problems = post_problems(post=post, now=now, require_future=False)
    if problems:
        raise ApplicationError(" ".join(problems), extra={"problems": problems})
    content = approval_content_for(post)
    approval = PostApproval.objects.create(
        post=post, content=content, content_hash=content_hash(content), approved_by=user, approved_at=now
    )
    post.status = PostStatus.APPROVED
    post.current_approval = approval
    post.save(update_fields=["status", "current_approval", "updated_at"])
    Delivery.objects.bulk_create(
        Delivery(post=post, channel=channel, approval=approval, due_at=post.due_at, next_attempt_at=post.due_at)
        for channel in post.channels.all()
    )
    PostReview.objects.create(post=post, actor=user, action=ReviewAction.APPROVED, comment=comment)
    audit_record(
        action=AuditAction.POST_APPROVED,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes={"content_hash": approval.content_hash},
        message=comment,
    )
    return approval


@transaction.atomic
def post_request_changes(*, post: Post, user: AbstractBaseUser, comment: str) -> Post:
    post = Post.objects.select_for_update().get(pk=post.pk)
    if not user_can_approve_for(user=user, department_id=post.department_id):
        raise ApplicationError(_("You cannot review posts of %(department)s.") % {"department": post.department})
    if post.status != PostStatus.SUBMITTED:
        raise ApplicationError(_("Only posts waiting for approval can be sent back."))
    if not comment.strip():
        raise ApplicationError(_("Say what should change, so the author knows what to fix."))
    post.status = PostStatus.CHANGES_REQUESTED
    post.save(update_fields=["status", "updated_at"])
    PostReview.objects.create(post=post, actor=user, action=ReviewAction.CHANGES_REQUESTED, comment=comment.strip())
    audit_record(
        action=AuditAction.POST_CHANGES_REQUESTED,
        actor=user,
        department_id=post.department_id,
        target=post,
        message=comment.strip(),
    )
    return post


@transaction.atomic
def post_cancel(*, post: Post, user: AbstractBaseUser, comment: str = "") -> Post:
    """Stops a post. Deliveries already published stay published; the rest never go out."""
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


def post_refresh_status(*, post_id: int) -> None:
    """Marks an approved post finished once none of its current deliveries is still pending."""
    still_pending = Delivery.objects.filter(post_id=post_id, status__in=PENDING_DELIVERY_STATUSES).exists()
    if not still_pending:
        Post.objects.filter(pk=post_id, status=PostStatus.APPROVED).update(
            status=PostStatus.PUBLISHED, updated_at=timezone.now()
        )
