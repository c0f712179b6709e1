"""The approval queue: every waiting post with what an approver needs to decide, approved or sent back from
the list, one or several at once. A decision is one click and a confirmation: the page's dialog (htmx, which
then swaps the queue in place), or without JavaScript a confirmation page. Each post is decided by the
one-post services (scheduler.services.bulk_review): its own permission and policy check, its own vote per
step. Two-step verification (accounts.middleware) applies to these pages as to every other."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from civicpost.http import AuthenticatedHttpRequest
from departments.selectors import viewer_zone_for_request
from scheduler.approval_queue import approval_queue_items
from scheduler.forms import QueueDecisionForm
from scheduler.selectors import posts_for_review
from scheduler.services import Decision, posts_approve_each, posts_request_changes_each
from scheduler.services.bulk_review import APPROVED, CHANGES_REQUESTED, REFUSED, STEP_RECORDED


def _is_htmx(request: AuthenticatedHttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _queue_context(request: AuthenticatedHttpRequest) -> dict:
    zone = viewer_zone_for_request(request)
    items = approval_queue_items(user=request.user, zone=zone, now=timezone.now())
    return {"items": items, "posts": [item.post for item in items], "viewer_zone": zone}


@login_required
@require_GET
def approval_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = _queue_context(request)
    template = "scheduler/_approval_region.html" if _is_htmx(request) else "scheduler/approval_queue.html"
    return render(request, template, context)


def summarize(decisions: list[Decision]) -> tuple[str, list[str]]:
    """Returns the sentence for what went through and one sentence per refused post."""
    counts = {kind: sum(1 for d in decisions if d.outcome == kind) for kind in (APPROVED, STEP_RECORDED)}
    changes = sum(1 for d in decisions if d.outcome == CHANGES_REQUESTED)
    parts = []
    if counts[APPROVED]:
        parts.append(
            ngettext(
                "%(count)s post approved and scheduled.", "%(count)s posts approved and scheduled.", counts[APPROVED]
            )
            % {"count": counts[APPROVED]}
        )
    if counts[STEP_RECORDED]:
        parts.append(
            ngettext(
                "Your approval of %(count)s post was recorded; it waits for the next step.",
                "Your approval of %(count)s posts was recorded; they wait for the next step.",
                counts[STEP_RECORDED],
            )
            % {"count": counts[STEP_RECORDED]}
        )
    if changes:
        parts.append(
            ngettext("%(count)s post sent back to its author.", "%(count)s posts sent back to their authors.", changes)
            % {"count": changes}
        )
    refused = [
        _("Not done: “%(post)s”: %(reason)s") % {"post": _short(d.post_text), "reason": d.message}
        for d in decisions
        if d.outcome == REFUSED
    ]
    return " ".join(parts), refused


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@login_required
@require_POST
def approval_decide(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Approves (or sends back) the chosen posts after a confirmation; see the module's docstring."""
    form = QueueDecisionForm(request.POST)
    reachable = posts_for_review(user=request.user, post_ids=form.ids)
    if not form.is_valid() or not form.confirmed:
        if _is_htmx(request):
            problems = [str(m) for errors in form.errors.values() for m in errors]
            return render(
                request, "scheduler/_approval_region.html", {**_queue_context(request), "result_refused": problems}
            )
        if not form.ids:
            messages.error(request, _("Choose at least one post first."))
            return redirect("scheduler:approval_queue")
        # No JavaScript (or a comment missing): the confirmation page, with the posts named.
        context = {
            "form": form,
            "decision": form.decision,
            "posts": [reachable[i] for i in form.ids if i in reachable],
            "unreachable": sum(1 for i in form.ids if i not in reachable),
            "viewer_zone": viewer_zone_for_request(request),
        }
        return render(request, "scheduler/approval_confirm.html", context, status=400 if form.errors else 200)
    posts = [reachable[i] for i in form.ids if i in reachable]
    comment = form.cleaned_data["comment"]
    if form.decision == QueueDecisionForm.CHANGES:
        decisions = posts_request_changes_each(posts=posts, user=request.user, comment=comment)
    else:
        decisions = posts_approve_each(posts=posts, user=request.user, comment=comment)
    unknown = _("This post does not exist or is not in a department you approve for.")
    decisions += [Decision(i, _("Post %(id)s") % {"id": i}, REFUSED, unknown) for i in form.ids if i not in reachable]
    done, refused = summarize(decisions)
    if _is_htmx(request):
        context = {**_queue_context(request), "result_done": done, "result_refused": refused}
        return render(request, "scheduler/_approval_region.html", context)
    if done:
        messages.success(request, done)
    for message in refused:
        messages.error(request, message)
    return redirect("scheduler:approval_queue")
