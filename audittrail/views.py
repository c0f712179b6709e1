"""The audit trail's pages: the filtered, paginated list and its CSV export. Who reads which events is the
selectors' to decide (audit/selectors.py); the export is itself recorded in the trail."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from audit.models import AuditEvent
from audit.references import AuditNames
from audit.services import audit_record
from audittrail.forms import AuditFilterForm
from audittrail.presentation import AUDIT_EXPORTED, CSV_HEADER, AuditRow, audit_row, csv_cells
from audittrail.selectors import (
    PAGE_SIZE,
    audit_departments_for_filter,
    audit_events_for_user,
    audit_names_for_events,
    audit_scope_for_reader,
)
from scheduler.calendar import viewer_zone


def _filter_form(request: HttpRequest) -> tuple[AuditFilterForm, set[int] | None]:
    scope = audit_scope_for_reader(user=request.user)
    form = AuditFilterForm(
        request.GET,
        departments=audit_departments_for_filter(user=request.user, scope=scope),
        all_departments=scope is None,
    )
    return form, scope


def _query_without_page(request: HttpRequest) -> str:
    query: QueryDict = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@require_GET
@never_cache
def audit_trail(request: HttpRequest) -> HttpResponse:
    form, _scope = _filter_form(request)
    zone = viewer_zone(user=request.user)
    page = None
    rows: list[AuditRow] = []
    if form.is_valid():
        events = audit_events_for_user(user=request.user, filters=form.filters())
        page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
        on_page = list(page)
        names = audit_names_for_events(user=request.user, events=on_page)
        rows = [audit_row(event, zone, names) for event in on_page]
    return render(
        request,
        "audit/audit_trail.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "page_links": (
                list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)) if page else []
            ),
            "ellipsis": Paginator.ELLIPSIS,
            "zone": zone,
            "query": _query_without_page(request),
            "filtered": any(value for key, value in request.GET.items() if key != "page"),
        },
        status=200 if page is not None else 400,
    )


class _Echo:
    """A file-like object whose write() hands the line back, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


CSV_CHUNK = 500  # events read, and named (one query per model), at a time


def _csv_lines(
    events: Iterable[AuditEvent], zone: Any, names_for: Callable[[list[AuditEvent]], AuditNames]
) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A byte order mark, so that spreadsheet programs read the file as UTF-8.
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    events = iter(events)
    while chunk := list(islice(events, CSV_CHUNK)):
        names = names_for(chunk)
        for event in chunk:
            yield writer.writerow(csv_cells(event, zone, names))


@login_required
@require_GET
@never_cache
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form, scope = _filter_form(request)
    zone = viewer_zone(user=request.user)
    if not form.is_valid():
        return render(
            request,
            "audit/audit_trail.html",
            {"form": form, "page": None, "rows": [], "zone": zone, "query": _query_without_page(request)},
            status=400,
        )
    filters = form.filters()
    events = audit_events_for_user(user=request.user, filters=filters)
    audit_record(
        action=AUDIT_EXPORTED,
        actor=request.user,
        department_id=filters.department_id or (next(iter(scope)) if scope and len(scope) == 1 else None),
        changes={"filters": filters.in_use(), "format": "csv"},
        message=_("Exported the audit trail as CSV"),
    )
    response = StreamingHttpResponse(
        _csv_lines(
            events.iterator(chunk_size=CSV_CHUNK),
            zone,
            lambda chunk: audit_names_for_events(user=request.user, events=chunk),
        ),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"civicpost-audit-{timezone.now().astimezone(zone):%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
