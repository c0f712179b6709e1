"""The queue page (reorder by keyboard: one button up, one down, the result announced), "add to queue" and
"repeat" on a post, and the department admin's posting slots."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from civicpost.timelabels import in_zone
from departments.selectors import user_is_department_admin, viewer_zone_for_request
from postqueue.forms import EvergreenForm, MoveForm, SlotForm
from postqueue.selectors import (
    department_get_for_slots,
    evergreen_for_department,
    evergreen_for_post,
    queue_departments_for_user,
    queue_entries,
    queue_entry_get_for_editing,
    slot_channels,
    slot_get_for_admin,
    slots_for_department,
)
from postqueue.services import (
    evergreen_mark,
    evergreen_stop,
    posting_slot_create,
    posting_slot_delete,
    queue_add,
    queue_move,
)
from scheduler.selectors import post_get_for_editing


@login_required
@require_GET
def queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    sections = [
        {
            "department": department,
            "entries": list(queue_entries(department_id=department.pk)),
            "evergreen": list(evergreen_for_department(department_id=department.pk)),
            "is_admin": user_is_department_admin(user=request.user, department_id=department.pk),
        }
        for department in queue_departments_for_user(user=request.user)
    ]
    return render(request, "postqueue/queue.html", {"sections": sections})


@login_required
@require_POST
def queue_move_view(request: AuthenticatedHttpRequest, entry_id: int) -> HttpResponse:
    entry = queue_entry_get_for_editing(user=request.user, entry_id=entry_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose up or down."))
        return redirect("postqueue:queue")
    try:
        position = queue_move(
            entry=entry, user=request.user, offset=-1 if form.cleaned_data["direction"] == "up" else 1
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        entry.post.refresh_from_db()
        messages.success(
            request,
            _("Moved to position %(position)s: it now goes out %(when)s.")
            % {"position": position, "when": in_zone(entry.post.due_at, viewer_zone_for_request(request))},
        )
    # Back to the moved row, so keyboard focus can continue from it (queue.js focuses the target).
    return redirect(reverse("postqueue:queue") + f"#entry-{entry.pk}")


@login_required
@require_POST
def queue_add_view(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_editing(user=request.user, post_id=post_id)
    try:
        entry = queue_add(post=post, user=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        entry.post.refresh_from_db()
        messages.success(
            request,
            _("Added to the queue: it goes out %(when)s.")
            % {"when": in_zone(entry.post.due_at, viewer_zone_for_request(request))},
        )
    return redirect("scheduler:post_detail", post_id=post.pk)


@login_required
@require_POST
def evergreen_view(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    post = post_get_for_editing(user=request.user, post_id=post_id)
    try:
        if request.POST.get("stop"):
            evergreen = evergreen_for_post(post=post)
            if evergreen is not None:
                evergreen_stop(evergreen=evergreen, user=request.user)
            messages.success(request, _("This post no longer repeats."))
        else:
            form = EvergreenForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Choose between 1 and 365 days."))
                return redirect("scheduler:post_detail", post_id=post.pk)
            evergreen_mark(post=post, user=request.user, min_interval_days=form.cleaned_data["min_interval_days"])
            messages.success(request, _("This post now repeats in free slots; each repetition needs approval."))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("scheduler:post_detail", post_id=post.pk)


@login_required
@require_http_methods(["GET", "POST"])
def slot_list(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = department_get_for_slots(user=request.user, department_id=department_id)
    channels = slot_channels(department=department)
    form = SlotForm(request.POST or None, channels=channels)
    if request.method == "POST" and form.is_valid():
        try:
            posting_slot_create(user=request.user, department=department, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Posting slot added."))
            return redirect("postqueue:slots", department_id=department.pk)
    context = {"department": department, "slots": slots_for_department(department=department), "form": form}
    return render(request, "postqueue/slot_list.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def slot_delete(request: AuthenticatedHttpRequest, slot_id: int) -> HttpResponse:
    slot = slot_get_for_admin(user=request.user, slot_id=slot_id)
    department_id = slot.department_id
    try:
        posting_slot_delete(user=request.user, slot=slot)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Posting slot removed."))
    return redirect("postqueue:slots", department_id=department_id)
