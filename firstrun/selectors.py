"""The checklist, read from the installation's real state (nothing is ticked by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from departments.models import ApprovalStep, Department, Membership
from departments.rules import can_manage_approval_policy, can_manage_members
from departments.selectors import memberships_for_user
from scheduler.models import Channel, ChannelStatus, Post, PostStatus


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    title: str
    explanation: str
    done: bool
    url: str = ""
    action: str = ""
    optional: bool = False
    detail: str = ""
    second_url: str = ""
    second_action: str = ""


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _names(departments: list[Department]) -> str:
    return ", ".join(d.name for d in departments)


def checklist(*, user: Any) -> list[ChecklistItem]:
    """The six items, in the order a city does them. Six queries."""
    departments = list(Department.objects.filter(is_communications_team=False).order_by("name"))
    ids = [d.pk for d in departments]
    with_members = set(Membership.objects.filter(department_id__in=ids).values_list("department_id", flat=True))
    with_channels = set(
        Channel.objects.filter(department_id__in=ids, status=ChannelStatus.CONNECTED).values_list(
            "department_id", flat=True
        )
    )
    with_policy = set(ApprovalStep.objects.filter(department_id__in=ids).values_list("department_id", flat=True))
    published = Post.objects.filter(status=PostStatus.PUBLISHED).exists()
    no_members = [d for d in departments if d.pk not in with_members]
    no_channels = [d for d in departments if d.pk not in with_channels]
    no_policy = [d for d in departments if d.pk not in with_policy]
    is_superuser = bool(getattr(user, "is_superuser", False))
    # Each link only for those its page lets in (the IT admin adds members, the communications managers set
    # policies); the others read what is left to do and who does it.
    members_url = members_csv_url = policy_url = ""
    if user is not None and no_members and can_manage_members(user, no_members[0].pk):
        members_url = _url("departments:members", no_members[0].pk)
        members_csv_url = _url("departments:member_import", no_members[0].pk)
    if user is not None and no_policy and can_manage_approval_policy(user, no_policy[0].pk):
        policy_url = _url("departments:policy", no_policy[0].pk)
    may_post = user is not None and bool(memberships_for_user(user=user))
    return [
        ChecklistItem(
            key="departments",
            title=_("Create the departments"),
            explanation=_(
                "One department for each team that posts (Parks, Public Works, the Library…), with its time zone."
            ),
            done=bool(departments),
            url=_url("admin:departments_department_add") if is_superuser else "",
            action=_("Add a department") if is_superuser else "",
            detail="" if is_superuser else _("A site administrator (superuser) adds departments in the admin pages."),
        ),
        ChecklistItem(
            key="members",
            title=_("Invite the members"),
            explanation=_(
                "Add each person to their department by e-mail address, or many at once from a CSV file, as editor, "
                "approver or department admin."
            ),
            done=bool(departments) and not no_members,
            url=members_url,
            action=_("Add members"),
            second_url=members_csv_url,
            second_action=_("Add members from a CSV file"),
            detail=_("Without members: %(names)s.") % {"names": _names(no_members)}
            if departments and no_members
            else "",
        ),
        ChecklistItem(
            key="sso",
            title=_("Turn on single sign-on"),
            explanation=_(
                "Optional: let staff sign in with the city's Microsoft Entra ID, Google Workspace, OpenID Connect "
                "or SAML accounts. The IT admin sets it in the server's environment (see the README)."
            ),
            done=bool(getattr(settings, "SOCIALACCOUNT_PROVIDERS", {})),
            optional=True,
        ),
        ChecklistItem(
            key="channels",
            title=_("Connect the channels"),
            explanation=_(
                "Each department's admin connects its social media accounts; a Sandbox channel lets you try "
                "everything first."
            ),
            done=bool(departments) and not no_channels,
            url=_url("scheduler:channel_list"),
            action=_("See the channels"),
            detail=_("Without a connected channel: %(names)s.") % {"names": _names(no_channels)}
            if departments and no_channels
            else "",
        ),
        ChecklistItem(
            key="policies",
            title=_("Set the approval policies"),
            explanation=_("Decide who approves each department's posts before they go out, in one or more steps."),
            done=bool(departments) and not no_policy,
            url=policy_url,
            action=_("Set a policy"),
            detail=_("Still on the default policy: %(names)s.") % {"names": _names(no_policy)}
            if departments and no_policy
            else "",
        ),
        ChecklistItem(
            key="first_post",
            title=_("Publish a first post"),
            explanation=_("Write a post, have it approved, and watch it go out (try a Sandbox channel first)."),
            done=published,
            url=_url("scheduler:post_create") if may_post else "",
            action=_("Write a post"),
        ),
    ]


def checklist_complete() -> bool:
    """Whether every required item is done, in one query while any department still lacks a member, a
    connected channel or an approval step (two once only the first published post is missing). The main
    navigation asks on every page of the people who may open the checklist, so it is not the checklist's six
    queries; nor a shared cache, which would answer for a state another process has since changed."""
    members = Membership.objects.filter(department_id=OuterRef("pk"))
    channels = Channel.objects.filter(department_id=OuterRef("pk"), status=ChannelStatus.CONNECTED)
    steps = ApprovalStep.objects.filter(department_id=OuterRef("pk"))
    counts = Department.objects.filter(is_communications_team=False).aggregate(
        total=Count("pk"),
        lacking=Count("pk", filter=~Q(Exists(members)) | ~Q(Exists(channels)) | ~Q(Exists(steps))),
    )
    if not counts["total"] or counts["lacking"]:
        return False
    return Post.objects.filter(status=PostStatus.PUBLISHED).exists()
