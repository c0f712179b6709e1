from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from civicpost.http import AuthenticatedHttpRequest
from firstrun.rules import can_open_checklist
from firstrun.selectors import checklist


@login_required
@require_GET
def checklist_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not can_open_checklist(request.user):
        raise PermissionDenied
    items = checklist(user=request.user)
    required = [item for item in items if not item.optional]
    context = {
        "items": items,
        "done_count": sum(item.done for item in required),
        "required_count": len(required),
    }
    return render(request, "firstrun/checklist.html", context)
