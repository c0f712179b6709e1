"""A reply from CivicPost to something a resident said (the inbox, issue 15): a Post on exactly one channel whose
`reply_to` names the platform post it answers. It goes out through the same exactly-once path as every post
(approval snapshot with the reply target in it, Delivery with its idempotency key, dispatcher, reconcile);
publishing hands `reply_to` to the adapter in PostContent (scheduler.snapshots.channel_content).

Whether a reply needs approval is the department's choice (the inbox keeps that setting and passes it in):
without approval the reply is submitted and approved at once, on the record ("approved automatically"), by
the person who wrote it; with approval it waits in the approval queue like any post."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from departments.selectors import user_can_edit_for
from scheduler.adapters.base import ReplyTarget
from scheduler.adapters.registry import adapter_for_channel
from scheduler.blackouts import blackout_clearance, blackout_override_record
from scheduler.models import Channel, ChannelStatus, Post, PostReview, PostStatus, ReviewAction
from scheduler.services.posts import post_create, post_problems
from scheduler.services.review import post_approval_create, post_submit
from scheduler.snapshots import approval_content_for

# A reply is due a moment after it is written: post_submit refuses a time that has passed.
REPLY_DELAY = dt.timedelta(seconds=1)


def _target_dict(target: ReplyTarget) -> dict[str, object]:
    return {
        "remote_id": target.remote_id,
        "root_remote_id": target.root_remote_id,
        "details": dict(target.details),
    }


@transaction.atomic
def reply_create(
    *,
    author: User,
    channel: Channel,
    text: str,
    reply_to: ReplyTarget,
    language: str = "",
    needs_approval: bool = False,
) -> Post:
    """Writes a reply on `channel` to the platform post `reply_to` and sends it on its way. Returns the Post:
    approved (its delivery scheduled now) when `needs_approval` is False, else waiting for approval.

    Raises ApplicationError when the author is not a member of the channel's department, the channel is not
    connected or cannot publish replies, the text is empty or too long for the platform, or a blackout holds it
    (BlackoutRefused, from scheduler.blackouts)."""
    if not user_can_edit_for(user=author, department_id=channel.department_id):
        raise ApplicationError(
            _("Only members of %(department)s can answer here.") % {"department": channel.department}
        )
    if channel.status != ChannelStatus.CONNECTED:
        raise ApplicationError(_("%(channel)s must be reconnected before replies can go out.") % {"channel": channel})
    if not adapter_for_channel(channel).supports_replies:
        raise ApplicationError(_("CivicPost cannot publish replies on %(channel)s.") % {"channel": channel})
    if not reply_to.remote_id:
        raise ApplicationError(_("There is nothing to reply to."))
    now = timezone.now()
    post = post_create(
        author=author,
        department=channel.department,
        text=text,
        channels=[channel],
        due_at=now + REPLY_DELAY,
        language=language or None,
        reply_to=_target_dict(reply_to),
    )
    if needs_approval:
        return post_submit(post=post, user=author)
    return _approve_automatically(post=post, user=author, now=now)


def _approve_automatically(*, post: Post, user: User, now: dt.datetime) -> Post:
    """Submits and approves a reply in one step, recorded as such, when the department's replies need no approval.
    Every check of a submission and an approval still runs (problems per platform, blackouts)."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    problems = post_problems(post=post, now=now, require_future=False)
    if problems:
        raise ApplicationError(" ".join(problems), extra={"problems": problems})
    overriding = blackout_clearance(post=post, user=user, due_at=post.due_at)
    blackout_override_record(post=post, user=user, blackouts=overriding, reason="")
    post.status = PostStatus.SUBMITTED
    post.submitted_at = now
    post.save(update_fields=["status", "submitted_at", "updated_at"])
    PostReview.objects.create(post=post, actor=user, action=ReviewAction.SUBMITTED)
    audit_record(action=AuditAction.POST_SUBMITTED, actor=user, department_id=post.department_id, target=post)
    comment = _("Approved automatically: the department's replies to residents need no approval.")
    post_approval_create(post=post, user=user, content=approval_content_for(post), comment=comment, now=now)
    post.refresh_from_db()
    return post
