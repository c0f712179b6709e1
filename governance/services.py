"""Governance's orchestration of crisis holds and per-post holds: who may (governance.rules), then the
scheduler's services that write the holds and the posts they hold (scheduler.services.holds).

Crisis hold, in the terms of shared/reliability.md: a hold changes no delivery's state. Its deliveries
stay `scheduled` (or `retry_wait`) and the dispatcher's claim query passes over them
(scheduler.publishing.deliveries_claim_due, through scheduler.selectors.held_deliveries_filter). So a
held delivery is never sent, never marked sent and never cancelled; when the hold ends it is released
(the dispatcher sends it at its time, at once if its time passed), moved to a new time, or kept on hold
post by post (a PostHold) until someone releases it.

Approval policies are departments.services (approval_step_*); approval votes scheduler.services.review.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from civicpost.exceptions import ApplicationError
from departments.models import Department
from governance import rules
from scheduler.models import CrisisHold, PostHold, ReleaseChoice
from scheduler.services import holds
from scheduler.services.holds import HoldEndReport

__all__ = ["HoldEndReport", "crisis_hold_end", "crisis_hold_start", "post_hold_release"]


def crisis_hold_start(*, user: User, reason: str, departments: Iterable[Department] | None = None) -> CrisisHold:
    """Switches a crisis hold on (scheduler.services.holds.crisis_hold_start) for a communications manager
    or an IT admin. Raises ApplicationError when the person may not, or gives no reason."""
    if not rules.can_start_crisis_hold(user):
        raise ApplicationError(_("Only a communications manager or an IT admin can switch on a crisis hold."))
    return holds.crisis_hold_start(user=user, reason=reason, departments=departments)


def crisis_hold_end(
    *,
    hold: CrisisHold,
    user: User,
    choice: str,
    per_post: dict[int, str] | None = None,
    reschedule_to: dt.datetime | None = None,
    blackout_override_reason: str = "",
) -> HoldEndReport:
    """Switches the hold off and decides what happens to each post it held (scheduler.services.holds.
    crisis_hold_end, which says what each choice does and what it raises). Raises ApplicationError when the
    person may not."""
    if not rules.can_end_crisis_hold(user):
        raise ApplicationError(_("Only a communications manager or an IT admin can switch off a crisis hold."))
    return holds.crisis_hold_end(
        hold=hold,
        user=user,
        choice=choice,
        per_post=per_post,
        reschedule_to=reschedule_to,
        blackout_override_reason=blackout_override_reason,
    )


def post_hold_release(
    *,
    hold: PostHold,
    user: User,
    choice: str = ReleaseChoice.RELEASE,
    due_at: dt.datetime | None = None,
    blackout_override_reason: str = "",
) -> PostHold:
    """Ends a per-post hold (scheduler.services.holds.post_hold_release). Raises ApplicationError when the
    person may not."""
    if not rules.can_release_post_hold(user):
        raise ApplicationError(_("Only a communications manager or an IT admin can release a held post."))
    return holds.post_hold_release(
        hold=hold, user=user, choice=choice, due_at=due_at, blackout_override_reason=blackout_override_reason
    )
