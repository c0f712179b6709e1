"""Writes of the shared calendar: rescheduling a post, blackout periods, saved filters and feed tokens.

Rescheduling follows the rules of editing because it *is* an edit (scheduler.services.post_update):
only members of the post's department may move it, and an approved post goes back for approval, its
pending deliveries withdrawn. One exception, from issue 5: when an approver of the department who is not
the author moves an approved post, the approval is renewed in the same transaction (post_update, then
post_approve: a new PostApproval snapshot with the new time and new deliveries), so it stays approved.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from departments.models import Department
from departments.selectors import user_can_approve_for, user_can_edit_for
from scheduler.calendar import (
    CalendarFilters,
    blackout_scope,
    blackouts_at,
    feed_token_hash,
    user_can_manage_blackouts,
)
from scheduler.models import BlackoutPeriod, CalendarFeedToken, CalendarPreference, Post, PostStatus
from scheduler.services import EDITABLE_STATUSES, post_approve, post_update

# Audit actions of the calendar. They are not (yet) among audit.models.AuditAction's choices, which would
# need a migration of the audit app; the trail stores them as they are.
AUDIT_BLACKOUT_OVERRIDE = AuditAction.POST_BLACKOUT_OVERRIDE
AUDIT_BLACKOUT_CREATED = AuditAction.BLACKOUT_CREATED
AUDIT_BLACKOUT_DELETED = AuditAction.BLACKOUT_DELETED

FEED_SECRET_BYTES = 32


class BlackoutRefused(ApplicationError):
    """The new time falls inside a blackout. `extra["needs_override"]` says whether this person could
    schedule it anyway by giving a reason (they approve for the department)."""


@transaction.atomic
def post_reschedule(*, post: Post, user: AbstractBaseUser, due_at: dt.datetime, override_reason: str = "") -> Post:
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
    blackouts = blackouts_at(department_id=post.department_id, when=due_at)
    reason = override_reason.strip()
    if blackouts:
        names = "; ".join(f"{b.reason} ({blackout_scope(b)})" for b in blackouts)
        if not may_approve:
            raise BlackoutRefused(
                _("That time is inside a blackout: %(names)s. Only an approver can schedule a post into it.")
                % {"names": names},
                extra={"needs_override": False, "blackouts": [b.pk for b in blackouts]},
            )
        if not reason:
            raise BlackoutRefused(
                _("That time is inside a blackout: %(names)s. To schedule it anyway, give the reason.")
                % {"names": names},
                extra={"needs_override": True, "blackouts": [b.pk for b in blackouts]},
            )

    keep_approval = post.status == PostStatus.APPROVED and may_approve and post.author_id != user.pk
    previous_due_at = post.due_at
    # Everything else stays as it is: the edit changes only the time.
    post = post_update(
        post=post, user=user, text=post.text, link=post.link, channels=list(post.channels.all()), due_at=due_at
    )
    if keep_approval:
        post_approve(post=post, user=user, comment=_("Moved on the calendar by an approver; approval kept."))
    if blackouts:
        audit_record(
            action=AUDIT_BLACKOUT_OVERRIDE,
            actor=user,
            department_id=post.department_id,
            target=post,
            changes={
                "due_at": {"before": previous_due_at.isoformat(), "after": due_at.isoformat()},
                "blackouts": [{"id": b.pk, "reason": b.reason, "scope": blackout_scope(b)} for b in blackouts],
            },
            message=reason,
        )
    return Post.objects.select_related("department").get(pk=post.pk)


@transaction.atomic
def blackout_create(
    *,
    user: AbstractBaseUser,
    department: Department | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
) -> BlackoutPeriod:
    """Adds a blackout period. Raises ApplicationError when the person may not, or the times are wrong."""
    if not user_can_manage_blackouts(user=user, department_id=department.pk if department else None):
        if department is None:
            raise ApplicationError(_("Only the communications team can add a blackout for the whole city."))
        raise ApplicationError(
            _("Only admins of %(department)s can add its blackouts.") % {"department": department.name}
        )
    if ends_at <= starts_at:
        raise ApplicationError(_("The blackout must end after it starts."))
    if not reason.strip():
        raise ApplicationError(_("Say why nothing should go out, such as “Election quiet period”."))
    blackout = BlackoutPeriod.objects.create(
        department=department, starts_at=starts_at, ends_at=ends_at, reason=reason.strip(), created_by=user
    )
    audit_record(
        action=AUDIT_BLACKOUT_CREATED,
        actor=user,
        department_id=department.pk if department else None,
        target=blackout,
        changes={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "reason": blackout.reason},
    )
    return blackout


@transaction.atomic
def blackout_delete(*, user: AbstractBaseUser, blackout: BlackoutPeriod) -> None:
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


def calendar_preference_save(*, user: AbstractBaseUser, filters: CalendarFilters) -> None:
    """Remembers the person's calendar filters (only writes when they changed)."""
    data = filters.as_dict()
    preference, created = CalendarPreference.objects.get_or_create(user=user, defaults={"filters": data})
    if not created and preference.filters != data:
        preference.filters = data
        preference.save(update_fields=["filters", "updated_at"])


@transaction.atomic
def calendar_feed_token_create(*, user: AbstractBaseUser) -> str:
    """Revokes the person's feed addresses and returns the secret of a new one (stored only as a hash)."""
    calendar_feed_token_revoke(user=user)
    secret = secrets.token_urlsafe(FEED_SECRET_BYTES)
    CalendarFeedToken.objects.create(user=user, token_hash=feed_token_hash(secret))
    return secret


def calendar_feed_token_revoke(*, user: AbstractBaseUser) -> int:
    """Stops every feed address of the person; returns how many were live."""
    return CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
