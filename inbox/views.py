"""The inbox pages: the list (city-wide and per department), an item with its thread and actions, a department's
inbox settings and saved replies, the city's social media policy clauses, and the post page's conversation
fragment. Thin: a selector, a form, one service call, a message, a redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest
from departments.models import Department
from departments.selectors import language_choices
from inbox.forms import (
    STATUS_FILTERS,
    AssignForm,
    ClauseForm,
    InboxFilterForm,
    InboxSettingsForm,
    ModerateForm,
    NoteForm,
    ReplyForm,
    SavedReplyForm,
    StatusForm,
    UndoForm,
)
from inbox.models import ChannelInboxState, ModerationAction, PolicyClause, SavedReply
from inbox.rules import can_manage_inbox_settings, can_manage_policy, can_open_inbox, inbox_department_ids
from inbox.selectors import (
    InboxFilters,
    active_clauses,
    department_get_for_inbox_settings,
    inbox_page,
    inbox_settings_for,
    item_get_for_user,
    item_thread,
    post_conversation_for_user,
    saved_replies_for,
)
from inbox.services import (
    channel_inbox_enable,
    inbox_settings_save,
    item_assign,
    item_moderate,
    item_note_add,
    item_reply,
    item_set_status,
    moderation_choices,
    moderation_undo,
    policy_clause_create,
    policy_clause_retire,
    saved_reply_create,
    saved_reply_delete,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.models import Channel


def _errors(request: AuthenticatedHttpRequest, error: ApplicationError) -> None:
    for message in error.problems:
        messages.error(request, message)


def _department_languages(department: Department) -> list[tuple[str, str]]:
    names = dict(language_choices(department=department))
    return [(code, names.get(code, code)) for code in (department.languages or [department.main_language])]


def _list(request: AuthenticatedHttpRequest, department: Department | None) -> HttpResponse:
    if not can_open_inbox(request.user):
        raise PermissionDenied("Only department members and communications managers work the inbox.")
    form = InboxFilterForm(request.GET or None)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    filters = InboxFilters(
        status=data.get("status") or "",
        department_id=department.pk if department else None,
        assigned_to_me=bool(data.get("mine")),
        urgent=bool(data.get("urgent")),
        overdue=bool(data.get("overdue")),
        search=(data.get("q") or "").strip(),
    )
    page = inbox_page(user=request.user, filters=filters, page=data.get("page") or 1)
    ids = inbox_department_ids(request.user)
    departments = Department.objects.order_by("name")
    if ids is not None:
        departments = departments.filter(pk__in=ids)
    query = {key: value for key, value in request.GET.items() if key != "page"}
    status_links = []
    for value, label in [("", _("Open")), *[(str(s), str(lbl)) for s, lbl in STATUS_FILTERS[1:-1]]]:
        count = page.counts.get("new", 0) + page.counts.get("assigned", 0) if value == "" else page.counts.get(value, 0)
        status_links.append(
            {"value": value, "label": label, "count": count, "query": urlencode({**query, "status": value})}
        )
    context = {
        "department": department,
        "departments": list(departments),
        "form": form,
        "page": page,
        "status_links": status_links,
        "current_status": filters.status,
        "next_query": urlencode({**query, "page": page.page + 1}),
        "previous_query": urlencode({**query, "page": page.page - 1}),
        "can_manage_settings": department is not None and can_manage_inbox_settings(request.user, department.pk),
        "saved_replies": saved_replies_for(department.pk) if department else [],
        "saved_reply_form": SavedReplyForm(languages=_department_languages(department)) if department else None,
        "can_manage_policy": can_manage_policy(request.user),
    }
    return render(request, "inbox/inbox_list.html", context)


@login_required
@require_GET
def inbox_city(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every inbox the person works: their departments' (communications managers: the whole city's)."""
    return _list(request, None)


@login_required
@require_GET
def inbox_department(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = Department.objects.filter(pk=department_id).first()
    ids = inbox_department_ids(request.user)
    if department is None or (ids is not None and department_id not in ids):
        raise Http404("No such inbox.")
    return _list(request, department)


def _item_context(request: AuthenticatedHttpRequest, item: Any, **forms_: Any) -> dict[str, Any]:
    adapter = adapter_for_channel(item.channel)
    actions = moderation_choices(adapter)
    department = item.department
    context: dict[str, Any] = {
        "item": item,
        **item_thread(item),
        "supports_replies": adapter.supports_replies,
        "platform_label": adapter.label,
        "undo_actions": adapter.undo_actions,
        "reply_form": ReplyForm(
            languages=_department_languages(department), initial={"language": department.main_language}
        ),
        "note_form": NoteForm(),
        "assign_form": AssignForm(department=department, initial={"assignee": item.assigned_to_id}),
        "status_form": StatusForm(),
        "moderate_form": ModerateForm(actions=actions) if actions else None,
        "undo_form": UndoForm(),
        "clauses": active_clauses(),
        "saved_replies": saved_replies_for(department.pk),
    }
    context.update(forms_)
    return context


@login_required
@require_GET
def item_detail(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = item_get_for_user(user=request.user, item_id=item_id)
    return render(request, "inbox/item_detail.html", _item_context(request, item))


@login_required
@require_POST
def item_reply_view(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = item_get_for_user(user=request.user, item_id=item_id)
    form = ReplyForm(request.POST, languages=_department_languages(item.department))
    if form.is_valid():
        try:
            reply = item_reply(
                item=item, user=request.user, text=form.cleaned_data["text"], language=form.cleaned_data["language"]
            )
        except ApplicationError as error:
            for message in error.problems:
                form.add_error("text", message)
        else:
            if reply.post.status == "approved":
                messages.success(request, _("Your reply is on its way; its status shows below."))
            else:
                messages.success(request, _("Your reply waits for approval before it goes out."))
            return redirect("inbox:item", item_id=item.pk)
    return render(request, "inbox/item_detail.html", _item_context(request, item, reply_form=form), status=400)


def _item_form_done(
    request: AuthenticatedHttpRequest,
    item: Any,
    form: Any,
    run: Callable[[dict[str, Any]], object],
    done: str,
    *,
    form_name: str = "",
) -> HttpResponse:
    """The item page's small forms: a valid form runs its service (its refusal shown as messages) and goes back to
    the item; an invalid one shows the item again with the form's errors (under `form_name`), status 400."""
    if form.is_valid():
        try:
            run(form.cleaned_data)
        except ApplicationError as error:
            _errors(request, error)
        else:
            messages.success(request, done)
        return redirect("inbox:item", item_id=item.pk)
    extra = {form_name: form} if form_name else {}
    return render(request, "inbox/item_detail.html", _item_context(request, item, **extra), status=400)


@login_required
@require_POST
def item_note_view(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = item_get_for_user(user=request.user, item_id=item_id)
    form = NoteForm(request.POST)
    return _item_form_done(
        request,
        item,
        form,
        lambda data: item_note_add(item=item, user=request.user, text=data["text"]),
        _("Your note was added."),
        form_name="note_form",
    )


@login_required
@require_POST
def item_assign_view(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = item_get_for_user(user=request.user, item_id=item_id)
    form = AssignForm(request.POST, department=item.department)
    return _item_form_done(
        request,
        item,
        form,
        lambda data: item_assign(item=item, user=request.user, assignee=data["assignee"]),
        _("Assignment saved."),
        form_name="assign_form",
    )


@login_required
@require_POST
def item_status_view(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = item_get_for_user(user=request.user, item_id=item_id)
    form = StatusForm(request.POST)
    return _item_form_done(
        request,
        item,
        form,
        lambda data: item_set_status(item=item, user=request.user, status=data["status"]),
        _("Status saved."),
    )


@login_required
@require_POST
def item_moderate_view(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = item_get_for_user(user=request.user, item_id=item_id)
    actions = moderation_choices(adapter_for_channel(item.channel))
    form = ModerateForm(request.POST, actions=actions)
    clause_id = request.POST.get("clause")
    try:
        # The service refuses a missing clause or note itself: the form is not the only guard.
        if not form.is_valid():
            raise ApplicationError(" ".join(str(e) for errors in form.errors.values() for e in errors))
        record = item_moderate(
            item=item,
            user=request.user,
            action=form.cleaned_data["action"],
            clause_id=int(clause_id) if clause_id and clause_id.isdigit() else None,
            note=form.cleaned_data["note"],
        )
    except ApplicationError as error:
        if form.is_valid():
            form.add_error(None, error.message)
        return render(request, "inbox/item_detail.html", _item_context(request, item, moderate_form=form), status=400)
    if record.outcome == "done":
        messages.success(request, _("Done, and kept on the record with the policy clause."))
    else:
        messages.error(request, _("The platform refused: %(message)s") % {"message": record.failure_message})
    return redirect("inbox:item", item_id=item.pk)


@login_required
@require_POST
def moderation_undo_view(request: AuthenticatedHttpRequest, action_id: int) -> HttpResponse:
    action = get_object_or_404(ModerationAction.objects.select_related("item"), pk=action_id)
    item = item_get_for_user(user=request.user, item_id=action.item_id)
    form = UndoForm(request.POST)
    if not form.is_valid():
        return render(request, "inbox/item_detail.html", _item_context(request, item, undo_form=form), status=400)
    try:
        record = moderation_undo(
            action=action, user=request.user, clause_id=form.cleaned_data["clause"].pk, note=form.cleaned_data["note"]
        )
    except ApplicationError as error:
        _errors(request, error)
    else:
        if record.outcome == "done":
            messages.success(request, _("Undone, and kept on the record."))
        else:
            messages.error(request, _("The platform refused: %(message)s") % {"message": record.failure_message})
    return redirect("inbox:item", item_id=item.pk)


@login_required
@require_http_methods(["GET", "POST"])
def inbox_settings_view(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = department_get_for_inbox_settings(user=request.user, department_id=department_id)
    current = inbox_settings_for(department)
    initial = {
        "replies_need_approval": current.replies_need_approval,
        "response_target_hours": current.response_target_hours,
        "paid_reads_enabled": current.paid_reads_enabled,
        "urgency_keywords": "\n".join(current.urgency_keywords),
        "watchers": list(current.watchers.all()) if current.pk else [],
    }
    form = InboxSettingsForm(request.POST or None, department=department, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                inbox_settings_save(
                    department=department,
                    user=request.user,
                    replies_need_approval=form.cleaned_data["replies_need_approval"],
                    response_target_hours=form.cleaned_data["response_target_hours"],
                    paid_reads_enabled=form.cleaned_data["paid_reads_enabled"],
                    urgency_keywords=form.keywords(),
                    watcher_ids=[user.pk for user in form.cleaned_data["watchers"]],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Inbox settings saved."))
                return redirect("inbox:settings", department_id=department.pk)
        status = 400
    channels = list(
        Channel.objects.filter(department=department).select_related("inbox_state").order_by("display_name")
    )
    for channel in channels:
        try:
            adapter_class = type(adapter_for_channel(channel))
        except LookupError:
            channel.reads_inbox = False  # type: ignore[attr-defined]
            continue
        channel.reads_inbox = adapter_class.supports_inbox  # type: ignore[attr-defined]
        channel.paid_reads = adapter_class.conversation_reads_are_paid  # type: ignore[attr-defined]
    context = {
        "department": department,
        "form": form,
        "channels": channels,
    }
    return render(request, "inbox/settings.html", context, status=status)


@login_required
@require_POST
def channel_inbox_toggle(request: AuthenticatedHttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id)
    department = department_get_for_inbox_settings(user=request.user, department_id=channel.department_id)
    state = ChannelInboxState.objects.filter(channel=channel).first()
    enabled = not (state.enabled if state else True)
    try:
        channel_inbox_enable(channel=channel, user=request.user, enabled=enabled)
    except ApplicationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("Reading this channel is on.") if enabled else _("Reading this channel is off."))
    return redirect("inbox:settings", department_id=department.pk)


@login_required
@require_POST
def saved_reply_add(request: AuthenticatedHttpRequest, department_id: int) -> HttpResponse:
    department = Department.objects.filter(pk=department_id).first()
    ids = inbox_department_ids(request.user)
    if department is None or (ids is not None and department_id not in ids):
        raise Http404("No such department.")
    form = SavedReplyForm(request.POST, languages=_department_languages(department))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("inbox:department", department_id=department.pk)
    try:
        saved_reply_create(department=department, user=request.user, **form.cleaned_data)
    except ApplicationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("Saved reply added."))
    return redirect("inbox:department", department_id=department.pk)


@login_required
@require_POST
def saved_reply_delete_view(request: AuthenticatedHttpRequest, saved_reply_id: int) -> HttpResponse:
    saved = SavedReply.objects.filter(pk=saved_reply_id).first()
    ids = inbox_department_ids(request.user)
    if saved is None or (ids is not None and saved.department_id not in ids):
        raise Http404("No such saved reply.")
    try:
        saved_reply_delete(saved_reply=saved, user=request.user)
    except ApplicationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("Saved reply deleted."))
    return redirect("inbox:department", department_id=saved.department_id)


@login_required
@require_http_methods(["GET", "POST"])
def policy_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The city's social media policy clauses: every inbox worker reads them; communications managers write them."""
    if not (can_manage_policy(request.user) or can_open_inbox(request.user)):
        raise PermissionDenied("Only inbox workers read the policy here.")
    form = ClauseForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not can_manage_policy(request.user):
            raise PermissionDenied("Only communications managers change the social media policy.")
        if form.is_valid():
            try:
                policy_clause_create(user=request.user, **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Clause added."))
                return redirect("inbox:policy")
        status = 400
    context = {
        "form": form,
        "clauses": list(PolicyClause.objects.order_by("-active", "number", "id")),
        "can_manage_policy": can_manage_policy(request.user),
    }
    return render(request, "inbox/policy.html", context, status=status)


@login_required
@require_POST
def policy_clause_retire_view(request: AuthenticatedHttpRequest, clause_id: int) -> HttpResponse:
    if not can_manage_policy(request.user):
        raise PermissionDenied("Only communications managers change the social media policy.")
    clause = get_object_or_404(PolicyClause, pk=clause_id)
    policy_clause_retire(user=request.user, clause=clause)
    messages.success(request, _("Clause retired: earlier actions still cite it."))
    return redirect("inbox:policy")


@login_required
@require_GET
def post_conversation(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    """What residents said under a post, and the replies and moderation done (loaded into the post page)."""
    context = post_conversation_for_user(user=request.user, post_id=post_id)
    context["can_work"] = can_open_inbox(request.user)
    return render(request, "inbox/_post_conversation.html", context)
