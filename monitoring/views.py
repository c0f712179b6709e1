from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from civicpost.health import health_report, overdue_grace_seconds
from monitoring.selectors import deliveries_needing_attention, user_can_see_publishing_status


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Progress, not liveness, for a load balancer or monitoring: 200 healthy, 503 when publishing stalled.

    No login and no post content."""
    report = health_report()
    return JsonResponse(report.as_dict(), status=503 if report.stalled else 200)


@never_cache
@login_required
@require_GET
def status(request: HttpRequest) -> HttpResponse:
    if not user_can_see_publishing_status(user=request.user):
        raise PermissionDenied
    report = health_report()
    return render(
        request,
        "health/status.html",
        {
            "report": report,
            "grace_minutes": int(overdue_grace_seconds() // 60),
            "attention": deliveries_needing_attention(),
        },
    )
