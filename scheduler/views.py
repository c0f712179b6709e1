"""Pages of the core loop. Each view: a selector (404 when out of scope), a form, one service call,
a message, a redirect. Business rules live in scheduler/services.py."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from civicpost.session_keys import SAVED_DRAFT_SESSION_KEY
from departments.models import Role
from departments.selectors import (
    department_ids_for_user,
    memberships_for_user,
    user_can_approve_for,
    user_can_edit_for,
    viewer_zone_for_request,
)
from scheduler import rules
from scheduler.blackouts import BlackoutRefused, blackouts_message, post_blackouts
from scheduler.forms import CancelForm, ReviewForm
from scheduler.models import CITY_VISIBLE_STATUSES, Delivery, Post, PostStatus, SandboxPost
from scheduler.selectors import (
    channels_for_user,
    mark_held_deliveries,
    post_get_for_editing,
    post_get_for_review,
    post_get_for_user,
    posts_visible_to,
)
from scheduler.services import post_approve, post_cancel, post_request_changes, post_submit

RECENT_LIMIT = 25


@dataclass(frozen=True)
class PostActions:
    """What the viewer may do with a post, so the page shows only buttons that will work."""

    edit: bool
    submit: bool
    cancel: bool
    review: bool
    is_member: bool
    is_author: bool
    is_approver: bool


def _actions_for(*, user: User, post: Post) -> PostActions:
    member = user_can_edit_for(user=user, department_id=post.department_id)
    approver = user_can_approve_for(user=user, department_id=post.department_id)
    is_author = post.author_id == user.pk
    return PostActions(
        edit=rules.can_edit_post(user, post),
        submit=rules.can_submit_post(user, post),
        cancel=rules.can_cancel_post(user, post),
        # The approval policy's current step decides (scheduler.rules / scheduler.approvals).
        review=rules.can_approve_post(user, post),
        is_member=member,
        is_author=is_author,
        is_approver=approver,
    )


def _with_deliveries(queryset: QuerySet[Post]) -> QuerySet[Post]:
    return queryset.select_related("department", "author").prefetch_related(
        Prefetch(
            "deliveries", queryset=Delivery.objects.select_related("channel").order_by("channel__display_name", "id")
        ),
        "channels",
    )


def _delivery_context(post: Post) -> dict:
    """Returns the deliveries of the post's latest approval (older, withdrawn ones are history)."""
    deliveries = list(post.deliveries.all())
    latest = post.current_approval_id or max((d.approval_id for d in deliveries), default=None)
    deliveries = [d for d in deliveries if d.approval_id == latest]
    mark_held_deliveries(deliveries)
    return {
        "post": post,
        "deliveries": deliveries,
        "deliveries_pending": any(d.is_pending for d in deliveries),
        "deliveries_held": any(d.is_held for d in deliveries),
    }


# --- Dashboard ------------------------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    visible = _with_deliveries(posts_visible_to(user=request.user))
    own_ids = department_ids_for_user(user=request.user)
    own = visible.filter(department_id__in=own_ids)
    queries = [
        ("drafts", _("Drafts"), own.filter(status=PostStatus.DRAFT).order_by("due_at", "id")),
        ("changes", _("Changes requested"), own.filter(status=PostStatus.CHANGES_REQUESTED).order_by("due_at", "id")),
        ("waiting", _("Waiting for approval"), own.filter(status=PostStatus.SUBMITTED).order_by("due_at", "id")),
        ("scheduled", _("Approved and scheduled"), own.filter(status=PostStatus.APPROVED).order_by("due_at", "id")),
        (
            "finished",
            _("Published or failed (most recent)"),
            own.filter(status=PostStatus.PUBLISHED).order_by("-due_at", "-id")[:RECENT_LIMIT],
        ),
    ]
    others = (
        visible.filter(status__in=CITY_VISIBLE_STATUSES)
        .exclude(department_id__in=own_ids)
        .order_by("-due_at", "-id")[:RECENT_LIMIT]
    )
    groups = [(key, title, list(posts)) for key, title, posts in queries]
    other_posts = list(others)
    mark_held_deliveries(
        d for posts in [*(g[2] for g in groups), other_posts] for p in posts for d in p.deliveries.all()
    )
    return render(
        request,
        "scheduler/dashboard.html",
        {"groups": groups, "other_posts": other_posts},
    )


# --- Detail and actions ---------------------------------------------------------------------------


def _render_detail(
    request: AuthenticatedHttpRequest,
    post: Post,
    *,
    review_form: ReviewForm | None = None,
    cancel_form: CancelForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        **_delivery_context(post),
        "actions": _actions_for(user=request.user, post=post),
        "review_form": review_form or ReviewForm(),
        "cancel_form": cancel_form or CancelForm(),
        "media_items": list(post.media_items.select_related("asset").order_by("position", "id")),
        "version_count": post.versions.count(),
        "blackouts_message": _post_blackouts_message(post, zone=viewer_zone_for_request(request)),
        "blackout_overrides": list(post.blackout_overrides.select_related("blackout", "given_by")),
        # The composer's draft key of a save that just succeeded: the page tells the browser to drop its copy.
        "saved_draft_key": request.session.pop(SAVED_DRAFT_SESSION_KEY, ""),
    }
    return render(request, "scheduler/post_detail.html", context, status=status)


def _post_blackouts_message(post: Post, *, zone: zoneinfo.ZoneInfo) -> str:
    """The blackouts a post still to go out is scheduled in, in words ("" when none)."""
    if post.status in (PostStatus.PUBLISHED, PostStatus.CANCELLED):
        return ""
    blackouts = post_blackouts(post)
    return blackouts_message(blackouts=blackouts, post=post, zone=zone) if blackouts else ""


@login_required
@require_GET
def post_detail(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    return _render_detail(request, post_get_for_user(user=request.user, post_id=post_id))


@login_required
@require_GET
def post_deliveries(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    """The delivery table alone; the post page polls it with htmx while anything is pending."""
    post = post_get_for_user(user=request.user, post_id=post_id)
    return render(request, "scheduler/_delivery_table.html", _delivery_context(post))


@login_required
@require_POST
def post_submit_view(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_editing(user=request.user, post_id=post_id)
    try:
        post_submit(post=post, user=request.user)
    except BlackoutRefused as error:
        problems = error.problems
        if error.extra.get("needs_override"):
            # This page has no reason field; the edit form has.
            problems[0] += " " + _("Give the reason in the edit form (Edit post), then submit it there.")
        for message in problems:
            messages.error(request, message)
    except ApplicationError as error:
        for message in error.problems:
            messages.error(request, message)
    else:
        messages.success(request, _("Your post was sent for approval."))
    return redirect("scheduler:post_detail", post_id=post.pk)


@login_required
@require_POST
def post_approve_view(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_review(user=request.user, post_id=post_id)
    form = ReviewForm(request.POST)
    if post.status == PostStatus.SUBMITTED and not rules.can_approve_post(request.user, post):
        # Not this person's step (or their own post): the page says why, with 403.
        form.add_error(None, rules.approval_refusal(request.user, post))
        return _render_detail(request, post, review_form=form, status=403)
    if form.is_valid():
        try:
            approval = post_approve(
                post=post,
                user=request.user,
                comment=form.cleaned_data["comment"],
                blackout_override_reason=form.cleaned_data["blackout_override_reason"],
            )
        except BlackoutRefused as error:
            form.add_error("blackout_override_reason", error.message)
        except ApplicationError as error:
            for message in error.problems:
                form.add_error(None, message)
        else:
            if approval is None:
                messages.success(request, _("Your approval was recorded. The post now waits for the next step."))
            else:
                messages.success(request, _("The post is approved and scheduled."))
            return redirect("scheduler:post_detail", post_id=post.pk)
    return _render_detail(request, post, review_form=form, status=400)


@login_required
@require_POST
def post_request_changes_view(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_review(user=request.user, post_id=post_id)
    form = ReviewForm(request.POST, require_comment=True)
    if post.status == PostStatus.SUBMITTED and not rules.can_request_changes(request.user, post):
        form.add_error(None, _("Only the approvers of a step still to come can send this post back."))
        return _render_detail(request, post, review_form=form, status=403)
    if form.is_valid():
        try:
            post_request_changes(post=post, user=request.user, comment=form.cleaned_data["comment"])
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The post was sent back to the author with your comment."))
            return redirect("scheduler:post_detail", post_id=post.pk)
    return _render_detail(request, post, review_form=form, status=400)


@login_required
@require_POST
def post_cancel_view(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    # Members of the department and its approvers may cancel; anyone else gets a 404.
    try:
        post = post_get_for_editing(user=request.user, post_id=post_id)
    except Http404:
        post = post_get_for_review(user=request.user, post_id=post_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            post_cancel(post=post, user=request.user, comment=form.cleaned_data["comment"])
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The post was cancelled. Nothing more will be published."))
            return redirect("scheduler:post_detail", post_id=post.pk)
    return _render_detail(request, post, cancel_form=form, status=400)


# --- Lists ----------------------------------------------------------------------------------------


@login_required
@require_GET
def channel_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    channels = channels_for_user(user=request.user).order_by("department__name", "display_name")
    admin_department_ids = {m.department_id for m in memberships_for_user(user=request.user) if m.role == Role.ADMIN}
    # Findings of the apps above (broken city feeds: intake), wired by settings.CIVICPOST_CHANNEL_PAGE_FINDINGS.
    findings = [f for path in settings.CIVICPOST_CHANNEL_PAGE_FINDINGS for f in import_string(path)(user=request.user)]
    return render(
        request,
        "scheduler/channel_list.html",
        {"channels": list(channels), "admin_department_ids": admin_department_ids, "findings": findings},
    )


@login_required
@require_GET
def sandbox_timeline(request: AuthenticatedHttpRequest) -> HttpResponse:
    posts = SandboxPost.objects.select_related("channel__department").order_by("-created_at", "-id")[:200]
    return render(request, "scheduler/sandbox_timeline.html", {"sandbox_posts": posts})
