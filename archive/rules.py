"""Who may use the archive. The records officer (a city-wide role, typically the city clerk) reads the
archive of every department, manages retention, legal holds and disposition and answers records requests;
nobody else sees the archive pages. Retracting a post is a decision about the post: its department's
approvers and the communications managers (archive.rules.can_retract_post)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from departments.rules import signed_in
from departments.selectors import user_can_approve_for, user_is_records_officer
from scheduler.models import Post, PostStatus

AnyUser = User | AnonymousUser


def can_use_archive(user: AnyUser) -> bool:
    return signed_in(user) and user_is_records_officer(user=user)


def can_retract_post(user: AnyUser, post: Post) -> bool:
    """Deleting a published post from its channels (and asking for a correction): the approvers of its
    department and the communications managers, for a post that was published."""
    return (
        signed_in(user)
        and post.status == PostStatus.PUBLISHED
        and user_can_approve_for(user=user, department_id=post.department_id)
    )
