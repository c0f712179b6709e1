"""What a person may do to a post (edit, submit, approve, send back, cancel, schedule into a blackout).
Predicates take the user first and never raise; who may *see* a post is scheduler.selectors.posts_visible_to.
Roles are departments' (departments.selectors); department, membership and city-role checks are
departments.rules, and tests/test_permission_matrix.py tests every rules module as one matrix."""

from __future__ import annotations

from django.utils.translation import gettext as _

from departments.rules import AnyUser, signed_in
from departments.selectors import (
    user_can_approve_for,
    user_can_edit_for,
    user_is_communications_manager,
    user_is_viewer,
)
from scheduler.approvals import StepProgress, step_states, user_may_review
from scheduler.approvals import approval_refusal as policy_refusal
from scheduler.models import CANCELLABLE_STATUSES, CITY_VISIBLE_STATUSES, EDITABLE_STATUSES, Post, PostStatus


def post_is_emergency(post: Post) -> bool:
    """Whether the post is an emergency post (uses the `is_emergency` annotation when present)."""
    flag = getattr(post, "is_emergency", None)
    if flag is not None:
        return bool(flag)
    return Post.objects.filter(pk=post.pk, emergency__isnull=False).exists()


def can_view_post(user: AnyUser, post: Post) -> bool:
    """Mirrors scheduler.selectors.posts_visible_to for one post."""
    if not signed_in(user):
        return False
    if user_is_communications_manager(user=user):
        return True
    if user_is_viewer(user=user) and post.status != PostStatus.DRAFT:
        return True
    if user_can_edit_for(user=user, department_id=post.department_id):
        return True
    if user_can_approve_for(user=user, department_id=post.department_id):
        return True
    return post.status in CITY_VISIBLE_STATUSES


def can_edit_post(user: AnyUser, post: Post) -> bool:
    """Members of the post's department edit it while it can still change; emergency posts are final."""
    return (
        signed_in(user)
        and user_can_edit_for(user=user, department_id=post.department_id)
        and post.status in EDITABLE_STATUSES
        and not post_is_emergency(post)
    )


def can_submit_post(user: AnyUser, post: Post) -> bool:
    return (
        signed_in(user)
        and user_can_edit_for(user=user, department_id=post.department_id)
        and post.status in (PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED)
    )


def approval_progress_for(post: Post) -> list[StepProgress]:
    return step_states(post)


def approval_refusal(user: AnyUser, post: Post, progress: list[StepProgress] | None = None) -> str:
    """Returns, in words, why `user` may not approve `post` now; "" when they may. Never the author, at
    any step; only someone named by the current step of the department's policy, once per version."""
    if not signed_in(user) or not user_can_approve_for(user=user, department_id=post.department_id):
        return _("You cannot approve posts of %(department)s.") % {"department": post.department}
    progress = progress if progress is not None else approval_progress_for(post)
    return policy_refusal(user=user, post=post, progress=progress)


def can_approve_post(user: AnyUser, post: Post, progress: list[StepProgress] | None = None) -> bool:
    return approval_refusal(user, post, progress) == ""


def can_request_changes(user: AnyUser, post: Post, progress: list[StepProgress] | None = None) -> bool:
    """Anyone who may approve a step of the post that is not done yet may send it back to its author."""
    if not signed_in(user) or post.status != PostStatus.SUBMITTED or post.author_id == user.pk:
        return False
    if not user_can_approve_for(user=user, department_id=post.department_id):
        return False
    return user_may_review(user=user, progress=progress if progress is not None else approval_progress_for(post))


def can_cancel_post(user: AnyUser, post: Post) -> bool:
    if not signed_in(user) or post.status not in CANCELLABLE_STATUSES:
        return False
    return user_can_edit_for(user=user, department_id=post.department_id) or user_can_approve_for(
        user=user, department_id=post.department_id
    )


def can_override_blackout(user: AnyUser, department_id: int) -> bool:
    """Scheduling a post of the department into a blackout period, with a reason (scheduler/blackouts.py):
    its approvers and the communications managers, who approve for every department. Approving the post
    still follows the approval policy (an author never approves their own post)."""
    return signed_in(user) and user_can_approve_for(user=user, department_id=department_id)
