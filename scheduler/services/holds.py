"""Holds on posts and the posts they hold: blackouts (an approved post inside one goes back for approval),
crisis holds (switching one on and off, and what happens to each post it held), per-post holds and their
release, moving a held post to a new time, and the post side of an emergency publish. Permission checks
are the callers' (governance.services, with governance.rules); these write the state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, field_changes
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from civicpost.timelabels import format_in_zone
from departments.models import Department
from departments.selectors import user_can_approve_for
from scheduler import events
from scheduler.approvals import approved_round_votes
from scheduler.blackouts import (
    BlackoutRefused,
    blackout_clearance,
    blackout_override_record,
    blackout_scope,
    blackouts_message,
    emergency_post_ids,
)
from scheduler.models import (
    FINISHED_DELIVERY_STATUSES,
    WITHDRAWABLE_DELIVERY_STATUSES,
    BlackoutPeriod,
    Channel,
    CrisisHold,
    Delivery,
    DeliveryStatus,
    Post,
    PostApproval,
    PostHold,
    PostReview,
    PostStatus,
    ReleaseChoice,
    ReviewAction,
)
from scheduler.notifications import notify_post_submitted
from scheduler.selectors import deliveries_in_hold_scope, posts_held_by_crisis
from scheduler.services.posts import _withdraw_pending_deliveries, post_refresh_status, post_version_record
from scheduler.services.review import approval_renew_after_move, post_approval_create
from scheduler.snapshots import approval_content_for

# --- Blackouts ------------------------------------------------------------------------------------


@transaction.atomic
def post_hold_for_blackout(*, post: Post, blackouts: list[BlackoutPeriod], actor: User | None = None) -> bool:
    """Stops an approved post from going out inside `blackouts`: its pending deliveries are withdrawn and
    it goes back to the approval queue (where approving it needs an override reason), with a PostReview
    and an audit event that say why; its step's approvers are told. If part of it is published already,
    its remaining deliveries are marked "needs attention" instead (approving it again would send the
    published part twice). Returns whether it held the post; False when it is no longer approved, is an
    emergency post, or a delivery is being sent right now (the dispatcher tries again next round).

    `actor`: who caused the hold (the person adding a blackout); None for the dispatcher, which records
    the blackout's author, or else the post's approver, as the PostReview's actor."""
    post = Post.objects.select_for_update(of=("self",)).select_related("department").get(pk=post.pk)
    if post.status != PostStatus.APPROVED or not blackouts or emergency_post_ids([post.pk]):
        return False
    statuses = set(post.deliveries.select_for_update().values_list("status", flat=True))
    if statuses & {DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN}:
        return False
    message = _(
        "Not sent: %(when)s is inside a blackout: %(blackouts)s. It needs approval again: an approver may "
        "approve it with a reason for publishing in the blackout, or move it to another time."
    ) % {
        "when": format_in_zone(post.due_at, post.department),
        "blackouts": blackouts_message(blackouts=blackouts, post=post),
    }
    now = timezone.now()
    pending = post.deliveries.filter(status__in=WITHDRAWABLE_DELIVERY_STATUSES)
    changes = {
        "blackouts": [{"id": b.pk, "reason": b.reason, "scope": blackout_scope(b)} for b in blackouts],
        "deliveries": sorted(pending.values_list("pk", flat=True)),
    }
    if statuses & set(FINISHED_DELIVERY_STATUSES):
        partly = _("Part of this post is published already, so it cannot be approved again.")
        pending.update(
            status=DeliveryStatus.NEEDS_ATTENTION,
            failure_message=f"{message} {partly}",
            lease_expires_at=None,
            updated_at=now,
        )
        post_refresh_status(post_id=post.pk)
        audit_record(
            action=AuditAction.BLACKOUT_HELD,
            actor=actor,
            department_id=post.department_id,
            target=post,
            changes={**changes, "needs_attention": True},
            message=message,
        )
        return True
    pending.update(status=DeliveryStatus.CANCELLED, failure_message=message, lease_expires_at=None, updated_at=now)
    reviewer = actor or _blackout_author(blackouts)
    if reviewer is None:
        assert post.current_approval is not None  # nosec B101  # an approved post has its approval (type narrowing)
        reviewer = post.current_approval.approved_by
    post.status = PostStatus.SUBMITTED
    post.current_approval = None
    post.submitted_at = now
    post.save(update_fields=["status", "current_approval", "submitted_at", "updated_at"])
    # A new review event starts a new round of approval: the old votes no longer count.
    PostReview.objects.create(post=post, actor=reviewer, action=ReviewAction.BLACKOUT_HELD, comment=message)
    audit_record(
        action=AuditAction.BLACKOUT_HELD,
        actor=actor,
        department_id=post.department_id,
        target=post,
        changes=changes,
        message=message,
    )
    notify_post_submitted(post=post)
    return True


def _blackout_author(blackouts: list[BlackoutPeriod]) -> User | None:
    return next((b.created_by for b in blackouts if b.created_by_id is not None), None)


def posts_hold_for_blackouts(blocked: dict[int, list[BlackoutPeriod]]) -> list[int]:
    """Holds each post of `blocked` ({post id: blackouts}, from posts_blocked_by_blackouts), each in its
    own transaction (post row first, then its deliveries, as every service locks them). Returns the ids
    of those held."""
    held = []
    for post in Post.objects.filter(pk__in=list(blocked)).order_by("pk"):
        if post_hold_for_blackout(post=post, blackouts=blocked[post.pk]):
            held.append(post.pk)
    return held


# --- Crisis holds and per-post holds ----------------------------------------------------------------


@transaction.atomic
def crisis_hold_start(*, user: User, reason: str, departments: Iterable[Department] | None = None) -> CrisisHold:
    """Switches a crisis hold on, city-wide (no departments) or for `departments`, and returns it.

    Every scheduled non-emergency delivery in scope is held from this commit on: the in-scope rows are
    locked while the hold is written, so a dispatcher cannot claim one in between (it skips locked rows),
    and a delivery claimed but not yet sending is put back to `scheduled` (no HTTP has been sent for it;
    the worker finds it no longer claimed and does nothing). A delivery already `sending` finishes.
    Raises ApplicationError when the person may not, or gives no reason."""
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
    events.crisis_hold_changed.send(sender=CrisisHold, hold=hold, on=True)
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
    unless `per_post` {post id: choice} says otherwise. Choices (scheduler.models.ReleaseChoice):

    - release: the deliveries go out as scheduled; those whose time passed during the hold go out now;
    - reschedule: the post moves to `reschedule_to` (post_move_after_hold: back for approval, or approved
      again when `user` approves for its department, as after a move on the calendar); a time inside a
      blackout needs `blackout_override_reason`;
    - keep: a PostHold keeps the post held until someone releases it.

    Nothing is dropped: every held post gets one of the three. Raises ApplicationError when the person may
    not, the hold has ended already, a reschedule has no future time, or a post to reschedule is partly
    published already (release or keep it instead); BlackoutRefused, naming every post it stops, when the
    new time is inside a blackout and no reason (or no right to override) covers it. Nothing changes then."""
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
    events.crisis_hold_changed.send(sender=CrisisHold, hold=hold, on=False)
    return report


def _blackout_refusals(refused: list[tuple[Post, Any]], *, several: bool) -> ApplicationError:
    """One BlackoutRefused for the posts whose new time is inside a blackout, each named when several move."""
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
    audit_record(
        action=AuditAction.HOLD_KEPT, actor=user, department_id=post.department_id, target=post, message=reason
    )
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
        action=AuditAction.HOLD_RESCHEDULED,
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
        action=AuditAction.HOLD_RELEASED,
        actor=user,
        department_id=hold.post.department_id,
        target=hold.post,
        changes={"choice": choice, "due_at": due_at.isoformat() if due_at else None},
    )
    return hold


# --- Emergency posts (the post side; governance.emergency checks, marks and audits the alert) ----------


def post_emergency_create(
    *,
    user: User,
    department: Department,
    channels: list[Channel],
    link: str,
    now: dt.datetime,
    fields: dict[str, Any],
) -> Post:
    """Creates an emergency post of `department` on `channels`, due now and already submitted: an authorised
    official's post bypasses the approval queue (post_emergency_approve approves it in the same transaction).
    `fields` are the post's text and language fields. Returns it."""
    post = Post.objects.create(
        department=department,
        author=user,
        link=link,
        due_at=now,
        status=PostStatus.SUBMITTED,
        submitted_at=now,
        **fields,
    )
    post.channels.set(channels)
    return post


def post_emergency_approve(*, post: Post, user: User, comment: str, now: dt.datetime) -> PostApproval:
    """Approves an emergency post at once (its author is the authorised official: no policy applies) and
    schedules its deliveries for now. Returns the approval."""
    content = approval_content_for(post)
    audit_record(
        action=AuditAction.POST_CREATED,
        actor=user,
        department_id=post.department_id,
        target=post,
        changes=field_changes({}, content),
    )
    PostReview.objects.create(post=post, actor=user, action=ReviewAction.SUBMITTED, comment=comment)
    return post_approval_create(post=post, user=user, content=content, comment=comment, now=now)


def post_follow_up_create(
    *,
    user: User,
    department: Department,
    channels: list[Channel],
    link: str,
    due_at: dt.datetime,
    fields: dict[str, Any],
) -> Post:
    """Creates the draft of an emergency's "all clear" follow-up (a normal post, approved as usual)."""
    post = Post.objects.create(department=department, author=user, link=link, due_at=due_at, **fields)
    post.channels.set(channels)
    audit_record(
        action=AuditAction.POST_CREATED,
        actor=user,
        department_id=department.pk,
        target=post,
        changes=field_changes({}, approval_content_for(post)),
        message=_("“All clear” follow-up of an emergency post."),
    )
    return post


def post_follow_up_submit(*, post: Post, user: User, now: dt.datetime) -> None:
    """Sends the follow-up for approval (its problems were checked by the caller) and tells the approvers."""
    post.status = PostStatus.SUBMITTED
    post.submitted_at = now
    post.save(update_fields=["status", "submitted_at", "updated_at"])
    PostReview.objects.create(post=post, actor=user, action=ReviewAction.SUBMITTED, comment=_("“All clear” follow-up."))
    audit_record(action=AuditAction.POST_SUBMITTED, actor=user, department_id=post.department_id, target=post)
    events.post_submitted.send(sender=Post, post=post)
    notify_post_submitted(post=post)
