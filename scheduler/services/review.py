"""Review of a post: submit, approve (one step of the department's policy at a time: approval votes), request
changes, the approval that freezes the content and schedules its deliveries, and the renewal of an approval
after an approver moves the post. The only code that moves a post between draft, submitted, changes
requested and approved (with scheduler.services.posts and .holds)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from departments.selectors import user_can_approve_for
from scheduler import events
from scheduler.approvals import (
    StepProgress,
    current_step,
    last_step_user_may_approve,
    post_content_hash,
    post_round_key,
    step_states,
)
from scheduler.blackouts import BlackoutRefused, blackout_clearance, blackout_override_record
from scheduler.models import (
    ApprovalVote,
    Delivery,
    DeliveryKind,
    Post,
    PostApproval,
    PostReview,
    PostStatus,
    ReviewAction,
)
from scheduler.notifications import (
    notify_changes_requested,
    notify_post_approved,
    notify_post_submitted,
    notify_step_waiting,
)
from scheduler.rules import approval_progress_for, approval_refusal, can_approve_post, can_request_changes
from scheduler.services.posts import (
    _require_editor,
    deliveries_to_create,
    delivery_parts,
    post_problems,
    post_version_for_approval,
)
from scheduler.snapshots import approval_content_for, content_hash


@transaction.atomic
def post_submit(*, post: Post, user: User, blackout_override_reason: str = "") -> Post:
    """Sends a draft for approval. Raises ApplicationError with every problem; BlackoutRefused (with the
    other problems too) when its time is inside a blackout no override covers, unless `user` may override
    it and gives `blackout_override_reason` (scheduler/blackouts.py)."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    _require_editor(post=post, user=user)
    if post.status not in (PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED):
        raise ApplicationError(_("Only drafts and posts with requested changes can be submitted."))
    problems = post_problems(post=post)
    try:
        overriding = blackout_clearance(
            post=post, user=user, due_at=post.due_at, override_reason=blackout_override_reason
        )
    except BlackoutRefused as refused:
        every = [refused.message, *problems]
        raise BlackoutRefused(" ".join(every), extra={**refused.extra, "problems": every}) from None
    if problems:
        raise ApplicationError(" ".join(problems), extra={"problems": problems})
    blackout_override_record(post=post, user=user, blackouts=overriding, reason=blackout_override_reason)
    post.status = PostStatus.SUBMITTED
    post.submitted_at = timezone.now()
    post.save(update_fields=["status", "submitted_at", "updated_at"])
    PostReview.objects.create(post=post, actor=user, action=ReviewAction.SUBMITTED)
    audit_record(action=AuditAction.POST_SUBMITTED, actor=user, department_id=post.department_id, target=post)
    events.post_submitted.send(sender=Post, post=post)
    notify_post_submitted(post=post)
    return post


@transaction.atomic
def post_approve(
    *, post: Post, user: User, comment: str = "", blackout_override_reason: str = ""
) -> PostApproval | None:
    """Records `user`'s approval at the current step of the department's approval policy
    (scheduler/approvals.py). When it completes the last step, freezes the post's content as approved,
    schedules its deliveries and returns the PostApproval; otherwise returns None (the next step waits).

    Raises ApplicationError when the user does not approve for the department, wrote the post, is not named
    by the current step, already approved this version of the post, or the post has problems;
    BlackoutRefused when it would go out inside a blackout and the user gives no `blackout_override_reason`
    (nor gave one for this time before: scheduler/blackouts.py)."""
    comment = normalize_text(comment)
    blackout_override_reason = normalize_text(blackout_override_reason)
    post = Post.objects.select_for_update().get(pk=post.pk)
    if not user_can_approve_for(user=user, department_id=post.department_id):
        raise ApplicationError(_("You cannot approve posts of %(department)s.") % {"department": post.department})
    if post.author_id == user.pk:
        raise ApplicationError(_("Nobody approves their own post; another approver must review it."))
    if post.status != PostStatus.SUBMITTED:
        raise ApplicationError(_("Only posts waiting for approval can be approved."))
    progress = approval_progress_for(post)
    refusal = approval_refusal(user, post, progress)
    if refusal:
        raise ApplicationError(refusal)
    now = timezone.now()
    problems = post_problems(post=post, now=now, require_future=False)
    if problems:
        raise ApplicationError(" ".join(problems), extra={"problems": problems})
    overriding = blackout_clearance(
        post=post, user=user, due_at=post.due_at, override_reason=blackout_override_reason, approving=True
    )
    blackout_override_record(post=post, user=user, blackouts=overriding, reason=blackout_override_reason)
    content = approval_content_for(post)
    if not approval_vote_record(post=post, user=user, content=content, progress=progress, comment=comment):
        return None
    approval = post_approval_create(post=post, user=user, content=content, comment=comment, now=now)
    notify_post_approved(post=post, approval=approval)
    return approval


def post_approval_create(
    *, post: Post, user: User, content: dict[str, Any], comment: str, now: dt.datetime
) -> PostApproval:
    """Freezes `content` as the approved post and schedules its deliveries (the post must be locked and
    its policy complete: post_approve, or an emergency post by an authorised official). Returns it."""
    approval = PostApproval.objects.create(
        post=post,
        content=content,
        content_hash=content_hash(content),
        approved_by=user,
        approved_at=now,
        version=post_version_for_approval(post=post, content=content),
    )
    post.status = PostStatus.APPROVED
    post.current_approval = approval
    post.save(update_fields=["status", "current_approval", "updated_at"])
    deliveries_create_for_approval(post=post, approval=approval)
    PostReview.objects.create(post=post, actor=user, action=ReviewAction.APPROVED, comment=comment)
    audit_record(
        action=AuditAction.POST_APPROVED,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes={"content_hash": approval.content_hash},
        message=comment,
    )
    events.post_approved.send(sender=Post, post=post, approval=approval)
    return approval


def deliveries_create_for_approval(*, post: Post, approval: PostApproval) -> list[Delivery]:
    """Creates the deliveries an approval schedules: per channel and language, one per part of a thread
    (each part `after` the one before, so it is claimed only once that one is published) and a first comment
    `after` the post, where the platform takes them. Returns them, first parts first."""
    targets = deliveries_to_create(post, approval)
    plans = [delivery_parts(approval.content, channel, language) for channel, language in targets]
    firsts = Delivery.objects.bulk_create(
        Delivery(
            post=post,
            channel=channel,
            language=language,
            approval=approval,
            due_at=post.due_at,
            next_attempt_at=post.due_at,
            part_count=parts,
        )
        for (channel, language), (parts, _comment) in zip(targets, plans, strict=True)
    )
    made = list(firsts)
    for first, (parts, comment) in zip(firsts, plans, strict=True):
        previous = first
        for number in range(2, parts + 1):
            previous = Delivery.objects.create(
                post=post,
                channel=first.channel,
                language=first.language,
                approval=approval,
                due_at=post.due_at,
                next_attempt_at=post.due_at,
                part=number,
                part_count=parts,
                after=previous,
            )
            made.append(previous)
        if comment:
            made.append(
                Delivery.objects.create(
                    post=post,
                    channel=first.channel,
                    language=first.language,
                    approval=approval,
                    due_at=post.due_at,
                    next_attempt_at=post.due_at,
                    kind=DeliveryKind.FIRST_COMMENT,
                    after=first,
                )
            )
    return made


@transaction.atomic
def post_request_changes(*, post: Post, user: User, comment: str) -> Post:
    comment = normalize_text(comment)
    post = Post.objects.select_for_update().get(pk=post.pk)
    if not user_can_approve_for(user=user, department_id=post.department_id):
        raise ApplicationError(_("You cannot review posts of %(department)s.") % {"department": post.department})
    if post.status != PostStatus.SUBMITTED:
        raise ApplicationError(_("Only posts waiting for approval can be sent back."))
    if not can_request_changes(user, post):
        raise ApplicationError(_("Only the approvers of a step still to come can send this post back."))
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
    notify_changes_requested(post=post, reviewer=user, comment=comment.strip())
    return post


def approval_vote_record(
    *, post: Post, user: User, content: dict[str, Any], progress: list[StepProgress], comment: str = ""
) -> bool:
    """Records `user`'s approval of the locked, submitted `post` at its current step (the caller checked
    scheduler.rules.approval_refusal). Returns True when that completes the post's whole policy."""
    step = current_step(progress)
    if step is None:
        raise ApplicationError(_("This post has no approval step waiting."))
    digest = content_hash(content)
    ApprovalVote.objects.create(
        post=post,
        step_number=step.number,
        step_name=step.name,
        voter=user,
        content_hash=digest,
        round_key=post_round_key(post),
        comment=comment,
    )
    remaining = current_step(step_states(post))
    if remaining is None:
        return True
    audit_record(
        action=AuditAction.STEP_APPROVED,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes={"step": step.number, "step_name": step.name, "content_hash": digest},
        message=comment,
    )
    if remaining.number != step.number:
        notify_step_waiting(post=post)
    return False


def approval_renew_after_move(
    *,
    post: Post,
    user: User,
    approved_votes: list[ApprovalVote],
    moved_from: dt.datetime,
    comment: str = "",
) -> PostApproval | None:
    """Renews an approval after an approver moved the approved post to a new time (the calendar's "move
    and keep approval"). `post` is locked and back in review after the move (post_update: new round, new
    content hash, since the time is part of the approved content); `approved_votes` are the votes that
    completed the approval it had (scheduler.approvals.approved_round_votes); `user` approves for the
    department and did not write the post. Returns the new PostApproval, or None when the post now waits.

    The rule: a move changes only the time, so the decisions of the steps *before the mover's step* stand,
    and the mover's step and every step after it decide again on the new time.

    - The mover's step is the last step of the policy the mover may approve: named by it, and not one of
      the people whose votes are kept for the steps before it (each step is another person).
    - The kept votes are copied into the new round for the new content hash, each marked as carried over
      and the copy audited ("post.votes_carried"); the originals stay as history.
    - The mover's vote is then recorded at the step that waits, through post_approve and the policy.

    So the approver of the last step ("any one") keeps the post approved: a new snapshot with the new time
    and new deliveries (with the default one-step policy, any approver). An earlier step's approver sends
    it on to the next step, whose approvers are told; an "all" step waits again for its other approvers;
    and a kept vote that no longer counts (its approver left) makes that step wait again. A mover named by
    no step keeps nothing: the post is back at the first step with every vote reset, as after any edit.
    The author never approves (the caller does not call this for them; no step names them here either)."""
    mover_step = last_step_user_may_approve(user=user, post=post, kept_votes=approved_votes)
    kept = [vote for vote in approved_votes if mover_step is not None and vote.step_number < mover_step]
    if kept:
        zone = post.department.zone
        message = _("Carried over: %(mover)s moved the post from %(before)s to %(after)s; nothing else changed.") % {
            "mover": user.get_full_name() or user.get_username(),
            "before": f"{moved_from.astimezone(zone):%Y-%m-%d %H:%M %Z}",
            "after": f"{post.due_at.astimezone(zone):%Y-%m-%d %H:%M %Z}",
        }
        digest, round_key = post_content_hash(post), post_round_key(post)
        ApprovalVote.objects.bulk_create(
            ApprovalVote(
                post=post,
                step_number=vote.step_number,
                step_name=vote.step_name,
                voter_id=vote.voter_id,
                content_hash=digest,
                round_key=round_key,
                comment=message,
            )
            for vote in kept
        )
        audit_record(
            action=AuditAction.VOTES_CARRIED,
            actor=user,
            department_id=post.department_id,
            target=post,
            changes={
                "votes": [{"vote": v.pk, "step": v.step_number, "voter": v.voter_id} for v in kept],
                "content_hash": digest,
            },
            message=message,
        )
    waiting = current_step(step_states(post))
    if mover_step is None or waiting is None or not can_approve_post(user, post):
        notify_post_submitted(post=post)
        return None
    approval = post_approve(post=post, user=user, comment=comment or _("Moved on the calendar by an approver."))
    still_waiting = current_step(step_states(post))
    # Not approved means a step still waits; the check keeps mypy and a policy edited meanwhile both happy.
    if approval is None and still_waiting is not None and still_waiting.number == waiting.number:
        # Still the same ("all") step: its other approvers decide again on the new time.
        notify_post_submitted(post=post)
    return approval
