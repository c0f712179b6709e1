"""The main navigation, grouped by task (Plan · Review · Channels · Records · Admin), with only the pages the
person may use: each link's rule is the same one its page enforces on the server. Part of the composition
root (like urls.py): it names every app's pages, so it may import any app; no app imports it.

A link whose page is not installed yet (the inbox, the archive) is a slot: it appears once one of its URL
names resolves, so merging that app is enough to show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from archive.rules import can_use_archive
from audittrail.selectors import user_may_open_audit_trail
from departments import rules as department_rules
from departments.selectors import memberships_for_user, user_sees_every_department
from firstrun.rules import can_open_checklist
from firstrun.selectors import checklist_complete
from governance import rules as governance_rules


@dataclass
class NavLink:
    label: str
    url: str
    # Namespaced view names of the pages this link stands for (its own, and the pages under it).
    views: frozenset[str]
    count: int | None = None  # shown as a badge ("3 waiting")
    current: bool = False


@dataclass
class NavGroup:
    key: str
    label: str
    links: list[NavLink] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)

    @property
    def count(self) -> int:
        """What waits in the group's pages (the approval queue), shown on the closed menu too."""
        return sum(link.count or 0 for link in self.links)


def _link(label: str, view: str, *also: str, anchor: str = "", count: int | None = None) -> NavLink | None:
    """A link to `view`, or None when no such page is installed."""
    try:
        url = reverse(view)
    except NoReverseMatch:
        return None
    return NavLink(label=label, url=url + anchor, views=frozenset((view, *also)), count=count)


def _slot(label: str, *views: str) -> NavLink | None:
    """The first of `views` that resolves: a page another branch adds (its app's URL names as planned)."""
    for view in views:
        link = _link(label, view)
        if link is not None:
            return link
    return None


def _figures_link(user: Any) -> NavLink | None:
    """The city's figures for those who see every department, else the first own department's."""
    views = frozenset(("analytics:city_figures", "analytics:department_figures", "analytics:channel_health"))
    if user_sees_every_department(user=user):
        return NavLink(label=_("Figures"), url=reverse("analytics:city_figures"), views=views)
    memberships = memberships_for_user(user=user)
    if not memberships:
        return None
    url = reverse("analytics:department_figures", args=[memberships[0].department_id])
    return NavLink(label=_("Figures"), url=url, views=views)


def main_navigation(
    request: HttpRequest, *, can_post: bool, can_approve: bool, approval_count: int | None
) -> list[NavGroup]:
    """Returns the groups of links `request.user` may use, each with at least one link, the current page's
    link marked. `can_post`/`can_approve`/`approval_count` come from the page context
    (scheduler.context_processors.navigation), so the header costs no second look-up."""
    user: Any = request.user
    is_member = can_post or can_approve
    plan = [
        _link(_("Calendar"), "scheduler:calendar_month", "scheduler:calendar_week", "scheduler:calendar_agenda",
              "scheduler:blackout_list", "scheduler:calendar_feed_settings"),
    ]  # fmt: skip
    if can_post:
        plan += [
            _link(_("New post"), "scheduler:post_create", "scheduler:post_edit"),
            _link(_("Drafts"), "scheduler:dashboard", anchor="#group-drafts"),
            _link(_("Templates"), "composer:template_list", "composer:template_edit", "composer:template_use",
                  "composer:template_delete"),
            _link(_("Import CSV"), "composer:import_upload", "composer:import_preview"),
            _link(_("Media library"), "medialibrary:library", "medialibrary:asset_edit", "medialibrary:asset_delete"),
            _link(_("Queue"), "postqueue:queue", "postqueue:slots"),
        ]  # fmt: skip
    if governance_rules.can_post_emergency(user):
        plan.append(_link(_("Emergency post"), "governance:emergency_create"))
    review = []
    if can_approve:
        review.append(_link(_("Approvals queue"), "scheduler:approval_queue", count=approval_count))
    if is_member:
        review.append(
            _link(_("Inbox"), "inbox:city", "inbox:department", "inbox:settings", "inbox:item", "inbox:policy")
        )
    if governance_rules.can_view_emergency_alerts(user):
        review.append(_link(_("Emergency posts"), "governance:emergency_list", "governance:emergency_detail"))
    channels = [
        _link(
            _("Channels"), "scheduler:channel_list", "connections:channel", "connections:start", "connections:platform"
        ),
        _link(_("Sandbox timeline"), "scheduler:sandbox_timeline"),
    ]
    if department_rules.can_view_publishing_status(user):
        channels.append(_link(_("Publishing status"), "monitoring:status"))
    records = []
    if user_may_open_audit_trail(user=user):
        records.append(_link(_("Audit trail"), "audit:trail"))
    records.append(_figures_link(user))
    if can_use_archive(user):
        records.append(
            _link(_("Archive"), "archive:index", "archive:entry_detail", "archive:export_list", "archive:export_detail",
                  "archive:retention", "archive:legal_holds", "archive:dispositions", "archive:disposition_detail",
                  "archive:post_retract")
        )  # fmt: skip
    admin = []
    # The first-run checklist, while the installation is not set up yet.
    if can_open_checklist(user) and not checklist_complete():
        admin.append(_link(_("Getting started"), "firstrun:checklist"))
    if department_rules.can_open_department_pages(user):
        admin.append(_link(_("People and policies"), "departments:list", "departments:members",
                           "departments:policy", "departments:settings", "departments:city_roles"))  # fmt: skip
    if governance_rules.can_start_crisis_hold(user):
        admin.append(_link(_("Crisis hold"), "governance:crisis", "governance:crisis_end"))
    groups = [
        NavGroup("plan", _("Plan"), [link for link in plan if link]),
        NavGroup("review", _("Review"), [link for link in review if link]),
        NavGroup("channels", _("Channels"), [link for link in channels if link]),
        NavGroup("records", _("Records"), [link for link in records if link]),
        NavGroup("admin", _("Admin"), [link for link in admin if link]),
    ]
    match = getattr(request, "resolver_match", None)
    view = match.view_name if match is not None else ""
    for group in groups:
        for link in group.links:
            # "Drafts" is a part of the dashboard, not a page of its own: never the current one.
            link.current = view in link.views and "#" not in link.url
    return [group for group in groups if group.links]
