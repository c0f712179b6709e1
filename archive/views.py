"""Archive pages: the records officer's archive, records-request exports (with htmx progress), retention,
legal holds and disposition; the retract action on a published post; the public transparency page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from archive import selectors, services
from archive.exports import ExportFilters, export_open, export_request, media_path
from archive.forms import ArchiveSearchForm, ExportRequestForm, LegalHoldForm, RetentionScheduleForm, RetractForm
from archive.models import DispositionStatus, EntryKind, ExportStatus
from archive.retractions import post_retract
from archive.storage import blob_open
from civicpost.exceptions import ApplicationError
from civicpost.http import AuthenticatedHttpRequest

PAGE_SIZE = 50


@login_required
@require_GET
def archive_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The archive, newest first, with filters; the chain head and the capture sources' state."""
    selectors.require_archive_access(request.user)
    form = ArchiveSearchForm(request.GET or None)
    filters = form.filters() if form.is_bound and form.is_valid() else ExportFilters()
    kind = form.cleaned_data.get("kind", "") if form.is_bound and form.is_valid() else ""
    entries = selectors.entries_for_user(user=request.user, filters=filters, kind=kind)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "archive/archive_index.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "status": selectors.archive_status(user=request.user),
        },
    )


@login_required
@require_GET
def entry_detail(request: AuthenticatedHttpRequest, sequence: int) -> HttpResponse:
    entry = selectors.entry_get_for_user(user=request.user, sequence=sequence)
    body = selectors.entry_body(entry)
    media = [
        {**item, "path": media_path(item.get("sha256", ""), item.get("mime_type", ""))}
        for item in body.get("media", [])
    ]
    return render(
        request,
        "archive/entry_detail.html",
        {
            "entry": entry,
            "body": body,
            "media": media,
            "disposed": bool(entry.content_hash) and not body,
            "related": selectors.entries_of_delivery(entry=entry),
        },
    )


@login_required
@require_GET
def media_file(request: AuthenticatedHttpRequest, sha256: str) -> FileResponse:
    blob = selectors.blob_get_for_user(user=request.user, sha256=sha256)
    response = FileResponse(blob_open(blob), content_type=blob.mime_type or "application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{media_path(blob.sha256, blob.mime_type)[6:]}"'
    return response


# --- Records requests -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def export_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    exports = selectors.exports_for_user(user=request.user)
    form = ExportRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                export = export_request(
                    user=request.user, filters=form.filters(), reference=form.cleaned_data.get("reference", "")
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("The export has started. This page shows its progress."))
                return redirect("archive:export_detail", export_key=export.key)
        return render(request, "archive/export_list.html", {"form": form, "exports": exports[:50]}, status=400)
    return render(request, "archive/export_list.html", {"form": form, "exports": exports[:50]})


@login_required
@require_GET
def export_detail(request: AuthenticatedHttpRequest, export_key: UUID) -> HttpResponse:
    """The export's progress; htmx polls this URL for the progress fragment until the bundle is ready."""
    export = selectors.export_get_for_user(user=request.user, key=export_key)
    context: dict[str, Any] = {
        "export": export,
        "running": export.status in (ExportStatus.QUEUED, ExportStatus.RUNNING),
    }
    if request.htmx:
        return render(request, "archive/_export_progress.html", context)
    return render(request, "archive/export_detail.html", context)


@login_required
@require_GET
def export_download(request: AuthenticatedHttpRequest, export_key: UUID) -> FileResponse:
    export = selectors.export_get_for_user(user=request.user, key=export_key)
    if export.status != ExportStatus.DONE:
        raise Http404("The bundle is not ready.")
    name = f"records-{export.request_reference or export.key}.zip".replace('"', "")
    return FileResponse(export_open(export), as_attachment=True, filename=name, content_type="application/zip")


# --- Retention, legal holds, disposition -----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def retention(request: AuthenticatedHttpRequest) -> HttpResponse:
    schedules = selectors.schedules_for_user(user=request.user)
    form = RetentionScheduleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.retention_schedule_save(
                    user=request.user,
                    name=data["name"],
                    citation=data["citation"],
                    period_years=data["period_years"],
                    period_months=data["period_months"],
                    trigger=data["trigger"],
                    department_ids=[d.pk for d in data["departments"]],
                    channel_ids=[c.pk for c in data["channels"]],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Retention schedule saved."))
                return redirect("archive:retention")
        return render(request, "archive/retention.html", {"form": form, "schedules": schedules}, status=400)
    return render(request, "archive/retention.html", {"form": form, "schedules": schedules})


@login_required
@require_http_methods(["GET", "POST"])
def legal_holds(request: AuthenticatedHttpRequest) -> HttpResponse:
    holds = selectors.holds_for_user(user=request.user)
    form = LegalHoldForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.legal_hold_create(
                    user=request.user,
                    case_reference=data["case_reference"],
                    description=data["description"],
                    department_id=data["department"].pk if data["department"] else None,
                    channel_id=data["channel"].pk if data["channel"] else None,
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    search_terms=data["search_terms"],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Legal hold placed: matching records will not be disposed of."))
                return redirect("archive:legal_holds")
        return render(request, "archive/legal_holds.html", {"form": form, "holds": holds}, status=400)
    return render(request, "archive/legal_holds.html", {"form": form, "holds": holds})


@login_required
@require_POST
def legal_hold_release(request: AuthenticatedHttpRequest, legal_hold_id: int) -> HttpResponse:
    hold = selectors.hold_get_for_user(user=request.user, hold_id=legal_hold_id)
    try:
        services.legal_hold_release(user=request.user, hold=hold)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Legal hold released."))
    return redirect("archive:legal_holds")


@login_required
@require_GET
def dispositions(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows = selectors.dispositions_for_user(user=request.user)
    return render(request, "archive/dispositions.html", {"dispositions": rows[:100]})


@login_required
@require_GET
def disposition_detail(request: AuthenticatedHttpRequest, disposition_id: int) -> HttpResponse:
    disposition = selectors.disposition_get_for_user(user=request.user, disposition_id=disposition_id)
    items = disposition.items.select_related("schedule").order_by("entry_id")
    page = Paginator(items, 200).get_page(request.GET.get("page"))
    return render(
        request,
        "archive/disposition_detail.html",
        {"disposition": disposition, "page": page, "proposed": disposition.status == DispositionStatus.PROPOSED},
    )


@login_required
@require_POST
def disposition_approve(request: AuthenticatedHttpRequest, disposition_id: int) -> HttpResponse:
    disposition = selectors.disposition_get_for_user(user=request.user, disposition_id=disposition_id)
    try:
        certificate = services.disposition_approve(user=request.user, disposition=disposition)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Disposed of. The certificate is entry #%(sequence)s.") % {"sequence": certificate.sequence}
        )
    return redirect("archive:disposition_detail", disposition_id=disposition.pk)


@login_required
@require_POST
def disposition_cancel(request: AuthenticatedHttpRequest, disposition_id: int) -> HttpResponse:
    disposition = selectors.disposition_get_for_user(user=request.user, disposition_id=disposition_id)
    try:
        services.disposition_cancel(user=request.user, disposition=disposition)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Disposition cancelled; nothing was removed."))
    return redirect("archive:dispositions")


# --- Retract or correct a post everywhere -----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def post_retract_view(request: AuthenticatedHttpRequest, post_id: int) -> HttpResponse:
    post = selectors.post_get_for_retraction(user=request.user, post_id=post_id)
    form = RetractForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                retraction = post_retract(
                    user=request.user,
                    post=post,
                    reason=form.cleaned_data["reason"],
                    correction_text=form.cleaned_data["correction_text"],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                deleted = sum(1 for o in retraction.outcomes if o["deleted"])
                kept = [o for o in retraction.outcomes if not o["deleted"]]
                messages.success(request, _("Deleted from %(count)s channel(s).") % {"count": deleted})
                for outcome in kept:
                    messages.warning(request, f"{outcome['channel']}: {outcome['message']}")
                return redirect(reverse("scheduler:post_detail", args=[post.pk]))
        return render(request, "archive/post_retract.html", {"post": post, "form": form}, status=400)
    return render(request, "archive/post_retract.html", {"post": post, "form": form})


# --- The public transparency page ---------------------------------------------------------------------------


@require_GET
def transparency(request: HttpRequest) -> HttpResponse:
    department_id = _int_or_none(request.GET.get("department"))
    records = selectors.public_records(department_id=department_id, limit=100)
    return render(
        request,
        "archive/transparency.html",
        {
            "records": records,
            "departments": selectors.public_departments(),
            "department_id": department_id,
            "removed_kinds": {
                EntryKind.REMOVED_ON_PLATFORM: _("Deleted or hidden on the platform"),
                EntryKind.RETRACTED: _("Retracted by the city"),
            },
        },
    )


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None
