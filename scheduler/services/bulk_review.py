"""Deciding on several posts at once from the approval queue. Each post still goes through the one-post
services (post_approve, post_request_changes): its own lock, its own permission and policy check, its own
vote at its current step and its own audit record, each in its own transaction. A post the person may not
approve is refused with the reason in words, and the others still go through."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from civicpost.exceptions import ApplicationError
from scheduler.blackouts import BlackoutRefused
from scheduler.models import Post
from scheduler.services.review import post_approve, post_request_changes

APPROVED = "approved"  # the last step: approved and scheduled
STEP_RECORDED = "step"  # an earlier step: recorded, the post waits for the next step
CHANGES_REQUESTED = "changes"
REFUSED = "refused"


@dataclass(frozen=True)
class Decision:
    """What happened to one post of a decision on several."""

    post_id: int
    post_text: str
    outcome: str  # APPROVED, STEP_RECORDED, CHANGES_REQUESTED or REFUSED
    message: str = ""  # the reason, for a refusal

    @property
    def done(self) -> bool:
        return self.outcome != REFUSED


def posts_approve_each(*, posts: Iterable[Post], user: User, comment: str = "") -> list[Decision]:
    """Approves each of `posts` as `user`, one by one through post_approve (which checks the person's
    department, the author, the policy's current step and the post's problems, and records the vote and
    audit entry of that step). Returns one Decision per post, in order; never raises for one post's refusal.
    A post inside a blackout is refused here: the reason for publishing there is given on the post page."""
    decisions = []
    for post in posts:
        text = post.text
        try:
            approval = post_approve(post=post, user=user, comment=comment)
        except BlackoutRefused as error:
            message = error.message + " " + _("Open the post to give the reason for publishing then.")
            decisions.append(Decision(post.pk, text, REFUSED, message))
        except ApplicationError as error:
            decisions.append(Decision(post.pk, text, REFUSED, " ".join(error.problems)))
        else:
            decisions.append(Decision(post.pk, text, STEP_RECORDED if approval is None else APPROVED))
    return decisions


def posts_request_changes_each(*, posts: Iterable[Post], user: User, comment: str) -> list[Decision]:
    """Sends each of `posts` back to its author through post_request_changes (its own checks). Returns one
    Decision per post; never raises for one post's refusal."""
    decisions = []
    for post in posts:
        try:
            post_request_changes(post=post, user=user, comment=comment)
        except ApplicationError as error:
            decisions.append(Decision(post.pk, post.text, REFUSED, " ".join(error.problems)))
        else:
            decisions.append(Decision(post.pk, post.text, CHANGES_REQUESTED))
    return decisions
