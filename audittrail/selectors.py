"""Reads of the audit trail, scoped to the person asking (departments.rules.can_view_audit): the IT admin
reads every event, city-wide ones included; a department admin reads the events of the departments they
administer; everyone else reads nothing (403). A department outside the reader's scope is a 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from django.apps import apps
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import Http404
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.references import CHANNEL, MEDIA, NAME_OF, POST, AuditNames, Ref, event_references, model_label
from departments import rules
from departments.models import Department
from departments.selectors import department_ids_for_user, memberships_for_user
from scheduler.calendar import local_midnight, viewer_zone
from scheduler.models import Post
from scheduler.selectors import post_department_ids_seen_in_every_state, posts_visible_to

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    department_id: int | None = None
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    text: str = ""

    def in_use(self) -> dict[str, str]:
        """The filters that narrow something, as text (what the export event records)."""
        return {name: str(value) for name, value in asdict(self).items() if value not in (None, "")}


def audit_department_scope(*, user: User | AnonymousUser) -> set[int] | None:
    """None when the user reads every event; otherwise the departments whose events they read (maybe none)."""
    if rules.can_view_audit(user):
        return None
    return {
        department_id
        for department_id in department_ids_for_user(user=user)
        if rules.can_view_audit(user, department_id)
    }


def user_may_open_audit_trail(*, user: User | AnonymousUser) -> bool:
    scope = audit_department_scope(user=user)
    return scope is None or bool(scope)


def audit_scope_for_reader(*, user: User | AnonymousUser) -> set[int] | None:
    """audit_department_scope for someone who opens the audit trail; raises PermissionDenied if it is empty."""
    scope = audit_department_scope(user=user)
    if scope is not None and not scope:
        raise PermissionDenied(_("Only department admins and the IT admin can read the audit trail."))
    return scope


def audit_departments_for_filter(*, user: User | AnonymousUser, scope: set[int] | None) -> list[Department]:
    """The departments the filter offers: every one to the IT admin, the administered ones otherwise."""
    if scope is None:
        return list(Department.objects.order_by("name"))
    return sorted(
        (m.department for m in memberships_for_user(user=user) if m.department_id in scope), key=lambda d: d.name
    )


def audit_events_for_user(*, user: User | AnonymousUser, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Returns the events the user may read that match `filters`, newest first, with their departments.
    Raises PermissionDenied (no audit trail for this user) or Http404 (a department outside their scope)."""
    scope = audit_scope_for_reader(user=user)
    events = AuditEvent.objects.select_related("department")
    if scope is not None:
        events = events.filter(department_id__in=sorted(scope))
    if filters.department_id is not None:
        if scope is not None and filters.department_id not in scope:
            raise Http404("No such department.")
        events = events.filter(department_id=filters.department_id)
    if filters.actor:
        events = events.filter(actor_label__icontains=filters.actor)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.target_type:
        events = events.filter(target_type=filters.target_type)
    if filters.target_id:
        events = events.filter(target_id=filters.target_id)
    zone = viewer_zone(user=user)
    if filters.date_from:
        events = events.filter(occurred_at__gte=local_midnight(filters.date_from, zone))
    if filters.date_to:
        events = events.filter(occurred_at__lt=local_midnight(filters.date_to + dt.timedelta(days=1), zone))
    if filters.text:
        # The words of a post the reader may not see are not searched either: a match would tell them.
        in_content = Q(message__icontains=filters.text) | Q(changes_text__icontains=filters.text)
        events = events.annotate(changes_text=Cast("changes", output_field=TextField())).filter(
            Q(actor_label__icontains=filters.text) | (in_content & _post_content_readable(user=user))
        )
    return events.order_by("-occurred_at", "-id")


def _post_content_readable(*, user: User | AnonymousUser) -> Q:
    """Events whose content the user may read: any event not about a post, and those about a post they may
    see (posts_visible_to) or, for a post that is gone, of a department whose drafts they see."""
    every_state = post_department_ids_seen_in_every_state(user=user)
    if every_state is None:
        return Q()
    same_post = {"pk_text": OuterRef("target_id")}
    visible = posts_visible_to(user=user).annotate(pk_text=Cast("pk", TextField())).filter(**same_post)
    exists = Post.objects.annotate(pk_text=Cast("pk", TextField())).filter(**same_post)
    return ~Q(target_type=POST) | Exists(visible) | (Q(department_id__in=sorted(every_state)) & ~Exists(exists))


def audit_names_for_events(*, user: User | AnonymousUser, events: Iterable[AuditEvent]) -> AuditNames:
    """Returns the names of every object `events` refer to (their targets and the ids in their changes), in
    one query per model whatever the number of events, and which of them `user` may open: a post they may
    see (scheduler.selectors.posts_visible_to, as the post page), a channel of one of their departments
    (as connections.selectors.channel_get_for_member). A post they may not see is not named (its name is
    its text), and the events about it show that its content changed, not what (audittrail.presentation)."""
    wanted: dict[str, set[int]] = {}
    media_paths: set[str] = set()
    for ref in event_references(events):
        if ref.pk is None:
            media_paths.add(ref.path)
        else:
            wanted.setdefault(ref.model, set()).add(ref.pk)
    if media_paths:
        wanted.setdefault(MEDIA, set())
    member_of = department_ids_for_user(user=user)
    names: dict[Ref, str] = {}
    media_by_path: dict[str, int] = {}
    openable: set[Ref] = set()
    hidden_posts: set[Ref] = set()
    for label, ids in sorted(wanted.items()):
        rows = apps.get_model(model_label(label))._default_manager.filter(
            Q(pk__in=sorted(ids)) | Q(file_name__in=sorted(media_paths)) if label == MEDIA else Q(pk__in=sorted(ids))
        )
        if label == POST:
            rows = rows.annotate(may_open=Exists(posts_visible_to(user=user).filter(pk=OuterRef("pk"))))
        for row in rows:
            ref = Ref(label, pk=row.pk)
            if label == POST and not row.may_open:
                hidden_posts.add(ref)  # a post's name is its text
                continue
            names[ref] = NAME_OF[label](row)
            if label == MEDIA:
                media_by_path[row.file_name] = row.pk
            if (label == POST and row.may_open) or (label == CHANNEL and row.department_id in member_of):
                openable.add(ref)
    # Only the events of a post that is gone need the department rule (one query more, then, on any page);
    # without one, post_departments stays None and is never read.
    found = names.keys() | hidden_posts
    posts_gone = any(Ref(POST, pk=pk) not in found for pk in wanted.get(POST, ()))
    every_state = post_department_ids_seen_in_every_state(user=user) if posts_gone else None
    return AuditNames(
        names=names,
        media_by_path=media_by_path,
        openable=frozenset(openable),
        hidden_posts=frozenset(hidden_posts),
        post_departments=None if every_state is None else frozenset(every_state),
    )
