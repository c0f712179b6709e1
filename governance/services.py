"""Writes of governance: approval votes, approval policies, crisis holds and per-post holds.

Crisis hold, in the terms of shared/reliability.md: a hold changes no delivery's state. Its deliveries
stay `scheduled` (or `retry_wait`) and the dispatcher's claim query passes over them
(scheduler.publishing.deliveries_claim_due, through governance.selectors.held_deliveries_filter). So a
held delivery is never sent, never marked sent and never cancelled; when the hold ends it is released
(the dispatcher sends it at its time, at once if its time passed), moved to a new time, or kept on hold
post by post (a PostHold) until someone releases it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from departments import rules
from departments.models import Department
from governance.approvals import StepProgress, current_step, post_round_key, step_states
from governance.models import ApprovalMode, ApprovalStep, ApprovalVote, CrisisHold, PostHold, ReleaseChoice
from governance.selectors import deliveries_in_hold_scope, posts_held_by_crisis
from scheduler.models import Delivery, DeliveryStatus, Post, PostApproval, PostReview, PostStatus, ReviewAction

# Audit actions of governance beside audit.models.AuditAction (stored as they are, like the calendar's).
AUDIT_STEP_APPROVED = "post.step_approved"
AUDIT_VOTES_CARRIED = "post.votes_carried"
AUDIT_POLICY_CHANGED = "policy.changed"
AUDIT_HOLD_KEPT = "hold.kept"
AUDIT_HOLD_RELEASED = "hold.released"
AUDIT_HOLD_RESCHEDULED = "hold.rescheduled"

# --- Approval votes -------------------------------------------------------------------------------


def approval_vote_record(
    *, post: Post, user: User, content: dict[str, Any], progress: list[StepProgress], comment: str = ""
) -> bool:
    """Records `user`'s approval of the locked, submitted `post` at its current step (the caller checked
    departments.rules.approval_refusal). Returns True when that completes the post's whole policy."""
    from governance.notifications import notify_step_waiting
    from scheduler.services import content_hash

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
        action=AUDIT_STEP_APPROVED,
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
    completed the approval it had (governance.approvals.approved_round_votes); `user` approves for the
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
    from governance.approvals import last_step_user_may_approve, post_content_hash
    from governance.notifications import notify_post_submitted
    from scheduler.services import post_approve

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
            action=AUDIT_VOTES_CARRIED,
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
    if mover_step is None or waiting is None or not rules.can_approve_post(user, post):
        notify_post_submitted(post=post)
        return None
    approval = post_approve(post=post, user=user, comment=comment or _("Moved on the calendar by an approver."))
    still_waiting = current_step(step_states(post))
    # Not approved means a step still waits; the check keeps mypy and a policy edited meanwhile both happy.
    if approval is None and still_waiting is not None and still_waiting.number == waiting.number:
        # Still the same ("all") step: its other approvers decide again on the new time.
        notify_post_submitted(post=post)
    return approval


# --- Approval policies ----------------------------------------------------------------------------


def _require_policy_manager(*, user: User, department: Department) -> None:
    if not rules.can_manage_approval_policy(user, department.pk):
        raise ApplicationError(
            _("Only admins of %(department)s can change its approval policy.") % {"department": department}
        )


def _policy_snapshot(department: Department) -> list[dict[str, Any]]:
    return [
        {
            "position": step.position,
            "name": step.name,
            "mode": step.mode,
            "department_approvers": step.department_approvers,
            "department_admins": step.department_admins,
            "communications_managers": step.communications_managers,
            "users": sorted(user.pk for user in step.users.all()),
        }
        for step in ApprovalStep.objects.filter(department=department)
        .prefetch_related("users")
        .order_by("position", "id")
    ]


@transaction.atomic
def approval_step_add(
    *,
    user: User,
    department: Department,
    name: str,
    mode: str = ApprovalMode.ANY,
    department_approvers: bool = False,
    department_admins: bool = False,
    communications_managers: bool = False,
    users: Iterable[User] = (),
) -> ApprovalStep:
    """Adds a step at the end of the department's policy. Raises ApplicationError when the person may not
    or the step names nobody."""
    _require_policy_manager(user=user, department=department)
    users = list(users)
    if not (department_approvers or department_admins or communications_managers or users):
        raise ApplicationError(_("Say who approves this step."))
    if mode not in ApprovalMode.values:
        raise ApplicationError(_("Choose whether any one or all of them must approve."))
    before = _policy_snapshot(department)
    last = ApprovalStep.objects.filter(department=department).aggregate(last=Max("position"))["last"] or 0
    step = ApprovalStep.objects.create(
        department=department,
        position=last + 1,
        name=name.strip() or _("Step %(number)s") % {"number": last + 1},
        mode=mode,
        department_approvers=department_approvers,
        department_admins=department_admins,
        communications_managers=communications_managers,
    )
    step.users.set(users)
    _audit_policy(user=user, department=department, before=before)
    return step


@transaction.atomic
def approval_step_delete(*, user: User, step: ApprovalStep) -> None:
    _require_policy_manager(user=user, department=step.department)
    before = _policy_snapshot(step.department)
    step.delete()
    _audit_policy(user=user, department=step.department, before=before)


@transaction.atomic
def approval_step_move_up(*, user: User, step: ApprovalStep) -> None:
    """Swaps the step with the one before it (the first step stays first)."""
    _require_policy_manager(user=user, department=step.department)
    before = _policy_snapshot(step.department)
    steps = list(ApprovalStep.objects.select_for_update().filter(department=step.department).order_by("position", "id"))
    index = next(i for i, s in enumerate(steps) if s.pk == step.pk)
    if index == 0:
        return
    steps[index - 1], steps[index] = steps[index], steps[index - 1]
    for position, row in enumerate(steps, start=1):
        if row.position != position:
            ApprovalStep.objects.filter(pk=row.pk).update(position=position)
    _audit_policy(user=user, department=step.department, before=before)


def _audit_policy(*, user: User, department: Department, before: list[dict[str, Any]]) -> None:
    audit_record(
        action=AUDIT_POLICY_CHANGED,
        actor=user,
        department_id=department.pk,
        target=department,
        changes={"steps": {"before": before, "after": _policy_snapshot(department)}},
    )


# --- Crisis holds ---------------------------------------------------------------------------------


@transaction.atomic
def crisis_hold_start(*, user: User, reason: str, departments: Iterable[Department] | None = None) -> CrisisHold:
    """Switches a crisis hold on, city-wide (no departments) or for `departments`, and returns it.

    Every scheduled non-emergency delivery in scope is held from this commit on: the in-scope rows are
    locked while the hold is written, so a dispatcher cannot claim one in between (it skips locked rows),
    and a delivery claimed but not yet sending is put back to `scheduled` (no HTTP has been sent for it;
    the worker finds it no longer claimed and does nothing). A delivery already `sending` finishes.
    Raises ApplicationError when the person may not, or gives no reason."""
    if not rules.can_start_crisis_hold(user):
        raise ApplicationError(_("Only a communications manager or an IT admin can switch on a crisis hold."))
    reason = normalize_text(reason).strip()
    if not reason:
        raise ApplicationError(_("Say why everything is held, such as “Shooting downtown: hold all posts”."))
    departments = list(departments or [])
    hold = CrisisHold.objects.create(city_wide=not departments, reason=reason, started_by=user)
    hold.departments.set(departments)
    in_scope = deliveries_in_hold_scope(hold)
    locked = list(
        in_scope.filter(status__in=(DeliveryStatus.SCHEDULED, DeliveryStatus.RETRY_WAIT, DeliveryStatus.CLAIMED))
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    put_back = Delivery.objects.filter(pk__in=locked, status=DeliveryStatus.CLAIMED).update(
        status=DeliveryStatus.SCHEDULED, lease_expires_at=None, updated_at=timezone.now()
    )
    audit_record(
        action=AuditAction.CRISIS_ON,
        actor=user,
        target=hold,
        changes={
            "city_wide": hold.city_wide,
            "departments": sorted(d.pk for d in departments),
            "held_deliveries": len(locked),
            "claims_put_back": put_back,
        },
        message=reason,
    )
    return hold


@dataclass
class HoldEndReport:
    released: list[int] = field(default_factory=list)
    rescheduled: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    reapproved: list[int] = field(default_factory=list)  # rescheduled and approved again at once

    def as_changes(self) -> dict[str, list[int]]:
        return {
            "released": self.released,
            "rescheduled": self.rescheduled,
            "kept": self.kept,
            "reapproved": self.reapproved,
        }


@transaction.atomic
def crisis_hold_end(
    *,
    hold: CrisisHold,
    user: User,
    choice: str,
    per_post: dict[int, str] | None = None,
    reschedule_to: dt.datetime | None = None,
    blackout_override_reason: str = "",
) -> HoldEndReport:
    """Switches the hold off and decides, for each post it held, what happens now: `choice` for all,
    unless `per_post` {post id: choice} says otherwise. Choices (governance.models.ReleaseChoice):

    - release: the deliveries go out as scheduled; those whose time passed during the hold go out now;
    - reschedule: the post moves to `reschedule_to` (post_move_after_hold: back for approval, or approved
      again when `user` approves for its department, as after a move on the calendar); a time inside a
      blackout needs `blackout_override_reason`;
    - keep: a PostHold keeps the post held until someone releases it.

    Nothing is dropped: every held post gets one of the three. Raises ApplicationError when the person may
    not, the hold has ended already, a reschedule has no future time, or a post to reschedule is partly
    published already (release or keep it instead); BlackoutRefused, naming every post it stops, when the
    new time is inside a blackout and no reason (or no right to override) covers it. Nothing changes then."""
    from scheduler.blackouts import BlackoutRefused

    if not rules.can_end_crisis_hold(user):
        raise ApplicationError(_("Only a communications manager or an IT admin can switch off a crisis hold."))
    hold = CrisisHold.objects.select_for_update().get(pk=hold.pk)
    if hold.ended_at is not None:
        raise ApplicationError(_("This crisis hold has already been switched off."))
    per_post = per_post or {}
    choices = set(ReleaseChoice.values)
    if choice not in choices or any(c not in choices for c in per_post.values()):
        raise ApplicationError(_("Choose what happens to the held posts."))
    posts = list(posts_held_by_crisis(hold))
    decisions = {post.pk: per_post.get(post.pk, choice) for post in posts}
    now = timezone.now()
    to_reschedule = [post for post in posts if decisions[post.pk] == ReleaseChoice.RESCHEDULE]
    if to_reschedule:
        if reschedule_to is None or reschedule_to <= now:
            raise ApplicationError(_("Give a new time in the future for the posts to reschedule."))
        partly = [post for post in to_reschedule if _has_finished_deliveries(post)]
        if partly:
            raise ApplicationError(
                _("Part of these posts is already published, so they cannot move: %(posts)s. Release or keep them.")
                % {"posts": ", ".join(f"#{p.pk}" for p in partly)}
            )
    report = HoldEndReport()
    refused: list[tuple[Post, BlackoutRefused]] = []
    for post in posts:
        decision = decisions[post.pk]
        if decision == ReleaseChoice.KEEP:
            _post_hold_keep(post=post, crisis=hold, user=user)
            report.kept.append(post.pk)
        elif decision == ReleaseChoice.RESCHEDULE:
            assert reschedule_to is not None  # nosec B101  # checked above (type narrowing)
            try:
                moved = post_move_after_hold(
                    post=post, user=user, due_at=reschedule_to, blackout_override_reason=blackout_override_reason
                )
            except BlackoutRefused as refusal:
                refused.append((post, refusal))
                continue
            if moved:
                report.reapproved.append(post.pk)
            report.rescheduled.append(post.pk)
        else:
            report.released.append(post.pk)
    if refused:
        raise _blackout_refusals(refused, several=len(to_reschedule) > 1)
    hold.ended_at = now
    hold.ended_by = user
    hold.release_choice = choice if len(set(decisions.values()) | {choice}) == 1 else "mixed"
    hold.save(update_fields=["ended_at", "ended_by", "release_choice"])
    audit_record(
        action=AuditAction.CRISIS_OFF, actor=user, target=hold, changes=report.as_changes(), message=hold.reason
    )
    return report


def _blackout_refusals(refused: list[tuple[Post, Any]], *, several: bool) -> ApplicationError:
    """One BlackoutRefused for the posts whose new time is inside a blackout, each named when several move."""
    from django.utils.text import Truncator

    from scheduler.blackouts import BlackoutRefused

    problems = [
        _("“%(post)s”: %(reason)s") % {"post": Truncator(post.text).chars(50), "reason": refusal.message}
        if several
        else refusal.message
        for post, refusal in refused
    ]
    return BlackoutRefused(
        " ".join(problems),
        extra={
            "needs_override": all(refusal.extra.get("needs_override") for _post, refusal in refused),
            "blackouts": sorted({pk for _post, refusal in refused for pk in refusal.extra.get("blackouts", [])}),
            "problems": problems,
        },
    )


def _has_finished_deliveries(post: Post) -> bool:
    from scheduler.services import FINISHED_DELIVERY_STATUSES

    return post.deliveries.filter(status__in=FINISHED_DELIVERY_STATUSES).exists()


def _post_hold_keep(*, post: Post, crisis: CrisisHold | None, user: User) -> PostHold:
    existing = PostHold.objects.filter(post=post, released_at__isnull=True).first()
    if existing is not None:
        return existing
    reason = (
        _("Kept on hold when the crisis hold (%(reason)s) ended.") % {"reason": crisis.reason}
        if crisis is not None
        else _("Held by %(user)s.") % {"user": user}
    )
    held = PostHold.objects.create(post=post, crisis=crisis, reason=reason, created_by=user)
    audit_record(action=AUDIT_HOLD_KEPT, actor=user, department_id=post.department_id, target=post, message=reason)
    return held


@transaction.atomic
def post_move_after_hold(*, post: Post, user: User, due_at: dt.datetime, blackout_override_reason: str = "") -> bool:
    """Moves a held, approved post to `due_at`: its pending deliveries are withdrawn and it goes back for
    approval. When `user` approves for the post's department and did not write it, the approval is renewed
    by the calendar's rule (approval_renew_after_move: the earlier steps' votes carried over, `user`'s vote
    counting at their own step; the post is approved again, with new deliveries, when that completes the
    policy). Anyone else resets every vote and the first step's approvers are told. Returns whether the
    post is approved again.

    Raises BlackoutRefused when `due_at` is inside a blackout and `user` may not override it or gives no
    `blackout_override_reason` (scheduler/blackouts.py); ApplicationError if a delivery is already on its way."""
    from audit.services import field_changes
    from departments.selectors import user_can_approve_for
    from governance.approvals import approved_round_votes
    from governance.notifications import notify_post_submitted
    from scheduler.blackouts import blackout_clearance, blackout_override_record
    from scheduler.services import _withdraw_pending_deliveries, approval_content_for, post_version_record

    post = Post.objects.select_for_update().select_related("department").get(pk=post.pk)
    if post.status != PostStatus.APPROVED:
        return False
    reason = blackout_override_reason.strip()
    overriding = blackout_clearance(post=post, user=user, due_at=due_at, override_reason=reason)
    renew = post.author_id != user.pk and user_can_approve_for(user=user, department_id=post.department_id)
    approved_votes = approved_round_votes(post) if renew else []
    previous_due_at = post.due_at
    before = approval_content_for(post)
    _withdraw_pending_deliveries(
        post=post, reason=_("Moved to a new time after a crisis hold."), refuse_if_finished=True
    )
    post.status = PostStatus.SUBMITTED
    post.current_approval = None
    post.submitted_at = timezone.now()
    post.due_at = due_at
    post.save(update_fields=["status", "current_approval", "submitted_at", "due_at", "updated_at"])
    PostReview.objects.create(
        post=post, actor=user, action=ReviewAction.RETURNED, comment=_("Moved to a new time after a crisis hold.")
    )
    after = approval_content_for(post)
    audit_record(
        action=AuditAction.POST_EDITED,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes=field_changes(before, after),
        message=_("Moved to a new time after a crisis hold."),
    )
    audit_record(
        action=AUDIT_HOLD_RESCHEDULED,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes={"due_at": due_at.isoformat()},
    )
    post_version_record(post=post, user=user, content=after)
    # Recorded before any approval below, which needs this person's own reason for a time in a blackout.
    blackout_override_record(post=post, user=user, blackouts=overriding, reason=reason, previous_due_at=previous_due_at)
    if renew:
        approval = approval_renew_after_move(
            post=post,
            user=user,
            approved_votes=approved_votes,
            moved_from=previous_due_at,
            comment=_("New time set after a crisis hold."),
        )
        return approval is not None
    notify_post_submitted(post=post)
    return False


@transaction.atomic
def post_hold_release(
    *,
    hold: PostHold,
    user: User,
    choice: str = ReleaseChoice.RELEASE,
    due_at: dt.datetime | None = None,
    blackout_override_reason: str = "",
) -> PostHold:
    """Ends a per-post hold: release (send as scheduled, now if its time passed) or reschedule to
    `due_at` (post_move_after_hold). Raises ApplicationError when the person may not or the hold is already
    released; BlackoutRefused when `due_at` is inside a blackout and no reason covers it."""
    if not rules.can_release_post_hold(user):
        raise ApplicationError(_("Only a communications manager or an IT admin can release a held post."))
    hold = PostHold.objects.select_for_update().select_related("post").get(pk=hold.pk)
    if hold.released_at is not None:
        raise ApplicationError(_("This post has already been released."))
    if choice == ReleaseChoice.RESCHEDULE:
        if due_at is None or due_at <= timezone.now():
            raise ApplicationError(_("Give a new time in the future."))
        if _has_finished_deliveries(hold.post):
            raise ApplicationError(_("Part of this post is already published, so it cannot move. Release it instead."))
    elif choice != ReleaseChoice.RELEASE:
        raise ApplicationError(_("Choose to release the post or give it a new time."))
    hold.released_at = timezone.now()
    hold.released_by = user
    hold.save(update_fields=["released_at", "released_by"])
    if choice == ReleaseChoice.RESCHEDULE:
        assert due_at is not None  # nosec B101  # checked above (type narrowing)
        post_move_after_hold(
            post=hold.post, user=user, due_at=due_at, blackout_override_reason=blackout_override_reason
        )
    audit_record(
        action=AUDIT_HOLD_RELEASED,
        actor=user,
        department_id=hold.post.department_id,
        target=hold.post,
        changes={"choice": choice, "due_at": due_at.isoformat() if due_at else None},
    )
    return hold
