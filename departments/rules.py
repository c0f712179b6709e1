"""Every action permission of CivicPost, in one module. Views, services, templates and tasks ask here.

Roles (departments.models):
- per department (Membership.role): editor (writes, submits), approver (also approves), department admin
  (also members, channels and the approval policy of that department);
- city-wide (CityRole.role): communications manager (sees and approves every department's posts, crisis
  holds, reviews emergency posts; so is an approver or admin of the communications team), viewer (reads
  every department's posts except drafts, does nothing), IT admin (people and roles, sign-in and security,
  the audit trail, crisis holds; no post access beyond their own memberships);
- per person: CityRole.can_post_emergency (an authorised official publishes emergency posts at once).

Who may *see* a row is decided by the scoping selectors (scheduler.selectors.posts_visible_to and
friends, which answer 404 for the rest); who may *do* something to a row they see is decided here (the
views answer 403 or show no button). Each predicate takes the user first and never raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import gettext as _

from departments.selectors import (
    department_ids_for_user,
    user_can_approve_for,
    user_can_edit_for,
    user_can_post_emergency,
    user_is_communications_manager,
    user_is_department_admin,
    user_is_it_admin,
    user_is_viewer,
)

if TYPE_CHECKING:
    from governance.approvals import StepProgress
    from medialibrary.models import MediaAsset
    from scheduler.models import Channel, Post

AnyUser = User | AnonymousUser


def _signed_in(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active)


# --- Posts ----------------------------------------------------------------------------------------


def post_is_emergency(post: Post) -> bool:
    """Whether the post is an emergency post (uses the `is_emergency` annotation when present)."""
    flag = getattr(post, "is_emergency", None)
    if flag is not None:
        return bool(flag)
    from governance.models import EmergencyPost

    return EmergencyPost.objects.filter(post_id=post.pk).exists()


def can_view_post(user: AnyUser, post: Post) -> bool:
    """Mirrors scheduler.selectors.posts_visible_to for one post."""
    from scheduler.models import PostStatus
    from scheduler.selectors import CITY_VISIBLE_STATUSES

    if not _signed_in(user):
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
    from scheduler.services import EDITABLE_STATUSES

    return (
        _signed_in(user)
        and user_can_edit_for(user=user, department_id=post.department_id)
        and post.status in EDITABLE_STATUSES
        and not post_is_emergency(post)
    )


def can_submit_post(user: AnyUser, post: Post) -> bool:
    from scheduler.models import PostStatus

    return (
        _signed_in(user)
        and user_can_edit_for(user=user, department_id=post.department_id)
        and post.status in (PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED)
    )


def approval_progress_for(post: Post) -> list[StepProgress]:
    from governance.approvals import step_states

    return step_states(post)


def approval_refusal(user: AnyUser, post: Post, progress: list[StepProgress] | None = None) -> str:
    """Returns, in words, why `user` may not approve `post` now; "" when they may. Never the author, at
    any step; only someone named by the current step of the department's policy, once per version."""
    from governance.approvals import approval_refusal as refusal

    if not _signed_in(user) or not user_can_approve_for(user=user, department_id=post.department_id):
        return _("You cannot approve posts of %(department)s.") % {"department": post.department}
    return refusal(user=user, post=post, progress=progress if progress is not None else approval_progress_for(post))


def can_approve_post(user: AnyUser, post: Post, progress: list[StepProgress] | None = None) -> bool:
    return approval_refusal(user, post, progress) == ""


def can_request_changes(user: AnyUser, post: Post, progress: list[StepProgress] | None = None) -> bool:
    """Anyone who may approve a step of the post that is not done yet may send it back to its author."""
    from governance.approvals import user_may_review
    from scheduler.models import PostStatus

    if not _signed_in(user) or post.status != PostStatus.SUBMITTED or post.author_id == user.pk:
        return False
    if not user_can_approve_for(user=user, department_id=post.department_id):
        return False
    return user_may_review(user=user, progress=progress if progress is not None else approval_progress_for(post))


def can_cancel_post(user: AnyUser, post: Post) -> bool:
    from scheduler.services import CANCELLABLE_STATUSES

    if not _signed_in(user) or post.status not in CANCELLABLE_STATUSES:
        return False
    return user_can_edit_for(user=user, department_id=post.department_id) or user_can_approve_for(
        user=user, department_id=post.department_id
    )


def can_override_blackout(user: AnyUser, department_id: int) -> bool:
    """Scheduling a post of the department into a blackout period, with a reason (scheduler/blackouts.py):
    its approvers and the communications managers, who approve for every department. Approving the post
    still follows the approval policy (an author never approves their own post)."""
    return _signed_in(user) and user_can_approve_for(user=user, department_id=department_id)


# --- Channels and departments ---------------------------------------------------------------------


def can_connect_channel(user: AnyUser, department_id: int) -> bool:
    """Department admins connect, reconnect and disconnect their department's channels."""
    return _signed_in(user) and user_is_department_admin(user=user, department_id=department_id)


def can_manage_channel(user: AnyUser, channel: Channel) -> bool:
    return can_connect_channel(user, channel.department_id)


def can_manage_members(user: AnyUser, department_id: int) -> bool:
    """A department's admins manage its members and roles; the IT admin manages everyone's."""
    if not _signed_in(user):
        return False
    return user_is_department_admin(user=user, department_id=department_id) or user_is_it_admin(user=user)


def can_manage_city_roles(user: AnyUser) -> bool:
    """City-wide roles and the emergency permission: the IT admin (and Django superusers)."""
    return _signed_in(user) and (user_is_it_admin(user=user) or bool(getattr(user, "is_superuser", False)))


def can_manage_approval_policy(user: AnyUser, department_id: int) -> bool:
    """The department's admins and the communications managers set a department's approval policy."""
    if not _signed_in(user):
        return False
    return user_is_department_admin(user=user, department_id=department_id) or user_is_communications_manager(user=user)


def can_manage_department_settings(user: AnyUser, department_id: int) -> bool:
    """A department's content settings (languages, where language versions go, plain-language target, time
    zone, series approval): its admins and the communications managers, like the approval policy."""
    return can_manage_approval_policy(user, department_id)


def can_open_department_pages(user: AnyUser) -> bool:
    """Whether the "People and policies" pages have something for the user: a department they administer,
    every department (IT admin: members; communications manager: policies) or the city-wide roles."""
    if not _signed_in(user):
        return False
    return (
        user_is_it_admin(user=user)
        or user_is_communications_manager(user=user)
        or can_manage_city_roles(user)
        or any(user_is_department_admin(user=user, department_id=d) for d in department_ids_for_user(user=user))
    )


def can_view_audit(user: AnyUser, department_id: int | None = None) -> bool:
    """The audit trail: a department admin for their department, the IT admin for everything.
    `department_id` None asks for the whole city's trail."""
    if not _signed_in(user):
        return False
    if user_is_it_admin(user=user):
        return True
    return department_id is not None and user_is_department_admin(user=user, department_id=department_id)


def can_view_publishing_status(user: AnyUser) -> bool:
    """The publishing status page (/health/status/: is the publisher running, what is late, which deliveries
    need a person; no post text): the IT admin, the communications managers and staff accounts."""
    if not _signed_in(user):
        return False
    return (
        bool(getattr(user, "is_staff", False))
        or user_is_it_admin(user=user)
        or user_is_communications_manager(user=user)
    )


# --- Media library ------------------------------------------------------------------------------


def can_delete_media(user: AnyUser, asset: MediaAsset) -> bool:
    """The members of the asset's department (editors, approvers, admins) delete its library files; so does
    a communications manager, for a department they are a member of. A city-wide role alone (communications
    manager, viewer, IT admin) deletes no department's files. The service still refuses while a post uses
    the file (medialibrary.services.media_asset_delete)."""
    return _signed_in(user) and user_can_edit_for(user=user, department_id=asset.department_id)


# --- Crisis holds and emergency posts ---------------------------------------------------------------


def can_start_crisis_hold(user: AnyUser) -> bool:
    """The communications manager or an IT admin switches a crisis hold on (and off)."""
    return _signed_in(user) and (user_is_communications_manager(user=user) or user_is_it_admin(user=user))


def can_end_crisis_hold(user: AnyUser) -> bool:
    return can_start_crisis_hold(user)


def can_release_post_hold(user: AnyUser) -> bool:
    return can_start_crisis_hold(user)


def can_post_emergency(user: AnyUser) -> bool:
    return _signed_in(user) and user_can_post_emergency(user=user)


def can_review_emergency(user: AnyUser) -> bool:
    """The communications manager reviews every emergency post afterwards."""
    return _signed_in(user) and user_is_communications_manager(user=user)


def can_view_emergency_alerts(user: AnyUser) -> bool:
    return can_review_emergency(user) or can_post_emergency(user) or (_signed_in(user) and user_is_it_admin(user=user))
