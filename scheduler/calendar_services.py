"""Writes of the shared calendar: rescheduling a post, blackout periods, saved filters and feed tokens.

Rescheduling follows the rules of editing because it *is* an edit (scheduler.services.post_update):
only members of the post's department may move it, and an approved post goes back for approval, its
pending deliveries withdrawn. One exception, from issue 5: when an approver of the department who is not
the author moves an approved post, the approval is renewed in the same transaction through the department's
approval policy (post_update, then governance.services.approval_renew_after_move, which has the rule):
the earlier steps' decisions stand, the mover's vote counts for their own step, and the post stays approved
(a new snapshot with the new time and new deliveries) only when that vote completes the policy again.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from departments.models import Department
from departments.selectors import user_can_approve_for, user_can_edit_for
from scheduler.approvals import approved_round_votes
from scheduler.blackouts import (
    BlackoutRefused as BlackoutRefused,  # raised by post_reschedule; the calendar's views catch it from here
)
from scheduler.blackouts import approved_posts_inside, blackout_clearance, blackout_override_record
from scheduler.calendar import CalendarFilters, feed_token_hash, preference_is_valid, user_can_manage_blackouts
from scheduler.models import EDITABLE_STATUSES, BlackoutPeriod, CalendarFeedToken, CalendarPreference, Post, PostStatus
from scheduler.services import approval_renew_after_move, post_hold_for_blackout, post_update

# Audit actions of the calendar. They are not (yet) among audit.models.AuditAction's choices, which would
# need a migration of the audit app; the trail stores them as they are.
AUDIT_BLACKOUT_OVERRIDE = AuditAction.POST_BLACKOUT_OVERRIDE
AUDIT_BLACKOUT_CREATED = AuditAction.BLACKOUT_CREATED
AUDIT_BLACKOUT_DELETED = AuditAction.BLACKOUT_DELETED

FEED_SECRET_BYTES = 32


@transaction.atomic
def post_reschedule(*, post: Post, user: User, due_at: dt.datetime, override_reason: str = "") -> Post:
    """Moves a post to `due_at` (aware) and returns it, re-read.

    Raises ApplicationError when the person may not edit the post's department, the post can no longer
    change, the time has passed or a delivery is already on its way; BlackoutRefused inside a blackout
    unless an approver of the department gives `override_reason` (recorded in the audit trail)."""
    post = Post.objects.select_for_update().select_related("department").get(pk=post.pk)
    if not user_can_edit_for(user=user, department_id=post.department_id):
        raise ApplicationError(
            _("Only members of %(department)s can move this post.") % {"department": post.department}
        )
    if post.status not in EDITABLE_STATUSES:
        raise ApplicationError(
            _("A post that is %(status)s can no longer be moved.") % {"status": post.get_status_display().lower()}
        )
    if due_at <= timezone.now():
        raise ApplicationError(_("That time has already passed. Choose a time in the future."))
    if due_at == post.due_at:
        return post

    may_approve = user_can_approve_for(user=user, department_id=post.department_id)
    reason = override_reason.strip()
    # Drafts too: what the calendar moves, it schedules (the rule: scheduler/blackouts.py).
    overriding = blackout_clearance(post=post, user=user, due_at=due_at, override_reason=reason)

    keep_approval = post.status == PostStatus.APPROVED and may_approve and post.author_id != user.pk
    approved_votes = approved_round_votes(post) if keep_approval else []
    previous_due_at = post.due_at
    # Everything else stays as it is: the edit changes only the time.
    post = post_update(
        post=post,
        user=user,
        text=post.text,
        link=post.link,
        channels=list(post.channels.all()),
        due_at=due_at,
        blackout_override_reason=reason,
    )
    if keep_approval:
        approval_renew_after_move(post=post, user=user, approved_votes=approved_votes, moved_from=previous_due_at)
    # post_update recorded it for a post in the queue (before the approval above needed it); a draft's here.
    blackout_override_record(post=post, user=user, blackouts=overriding, reason=reason, previous_due_at=previous_due_at)
    return Post.objects.select_related("department").get(pk=post.pk)


@transaction.atomic
def blackout_create(
    *,
    user: User,
    department: Department | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
) -> BlackoutPeriod:
    """Adds a blackout period and returns it. Raises ApplicationError when the person may not, or the
    times are wrong.

    Approved posts whose time falls inside it go back to the approval queue at once (their deliveries
    withdrawn; approving them again needs an override reason: scheduler/blackouts.py). Their ids are in the
    audit event and in the returned blackout's `held_post_ids`, for the page to say so."""
    if not user_can_manage_blackouts(user=user, department_id=department.pk if department else None):
        if department is None:
            raise ApplicationError(_("Only the communications team can add a blackout for the whole city."))
        raise ApplicationError(
            _("Only admins of %(department)s can add its blackouts.") % {"department": department.name}
        )
    if ends_at <= starts_at:
        raise ApplicationError(_("The blackout must end after it starts."))
    reason = normalize_text(reason)
    if not reason.strip():
        raise ApplicationError(_("Say why nothing should go out, such as “Election quiet period”."))
    blackout = BlackoutPeriod.objects.create(
        department=department, starts_at=starts_at, ends_at=ends_at, reason=reason.strip(), created_by=user
    )
    held_post_ids = [
        post.pk
        for post in approved_posts_inside(blackout)
        if post_hold_for_blackout(post=post, blackouts=[blackout], actor=user)
    ]
    audit_record(
        action=AUDIT_BLACKOUT_CREATED,
        actor=user,
        department_id=department.pk if department else None,
        target=blackout,
        changes={
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "reason": blackout.reason,
            "held_posts": held_post_ids,
        },
    )
    blackout.held_post_ids = held_post_ids
    return blackout


@transaction.atomic
def blackout_delete(*, user: User, blackout: BlackoutPeriod) -> None:
    if not user_can_manage_blackouts(user=user, department_id=blackout.department_id):
        raise ApplicationError(_("You cannot remove this blackout."))
    audit_record(
        action=AUDIT_BLACKOUT_DELETED,
        actor=user,
        department_id=blackout.department_id,
        target=blackout,
        changes={
            "starts_at": blackout.starts_at.isoformat(),
            "ends_at": blackout.ends_at.isoformat(),
            "reason": blackout.reason,
        },
    )
    blackout.delete()


def calendar_preference_load(*, user: User) -> CalendarFilters | None:
    """Returns the person's saved filters, or None when they never chose any. Saved filters that no longer
    validate (`preference_is_valid`) are deleted and None is returned, so that a bad value saved once cannot
    send every later visit to a failing page."""
    preference = CalendarPreference.objects.filter(user=user).first()
    if preference is None:
        return None
    if not preference_is_valid(preference.filters):
        preference.delete()
        return None
    return CalendarFilters.from_dict(preference.filters)


def calendar_preference_save(*, user: User, filters: CalendarFilters) -> None:
    """Remembers the person's calendar filters (only writes when they changed)."""
    data = filters.as_dict()
    preference, created = CalendarPreference.objects.get_or_create(user=user, defaults={"filters": data})
    if not created and preference.filters != data:
        preference.filters = data
        preference.save(update_fields=["filters", "updated_at"])


@transaction.atomic
def calendar_feed_token_create(*, user: User) -> str:
    """Revokes the person's feed addresses and returns the secret of a new one (stored only as a hash)."""
    calendar_feed_token_revoke(user=user)
    secret = secrets.token_urlsafe(FEED_SECRET_BYTES)
    CalendarFeedToken.objects.create(user=user, token_hash=feed_token_hash(secret))
    return secret


def calendar_feed_token_revoke(*, user: User) -> int:
    """Stops every feed address of the person; returns how many were live."""
    return CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
