"""/api/v1/analytics/: read-only figures, through the same selectors and permission rules as the analytics
pages (a department's figures: its members, communications managers and viewers; the city's: those two
city-wide roles; a post's figures: whoever may read the post). Token scope: read."""

from __future__ import annotations

import zoneinfo
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.figures import report_build
from analytics.forms import PeriodForm, period_from_form
from analytics.selectors import city_figures_check, department_get_for_figures, post_figures_for_user
from api.analytics_serializers import PeriodQuerySerializer, PostFiguresSerializer, ReportSerializer
from api.views import ERRORS, ApiViewMixin
from civicpost.zones import default_zone


def _report(request: Request, *, department_ids: list[int] | None, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
    query = PeriodQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    form = PeriodForm({key: f"{value:%Y-%m-%d}" for key, value in query.validated_data.items()})
    first, last, start, end = period_from_form(form, zone=zone)
    report = report_build(
        department_ids=department_ids, start=start, end=end, zone=zone, by_department=department_ids is None
    )
    return {"start": first, "end": last, "time_zone": zone.key, "report": report}


class _AnalyticsView(ApiViewMixin, GenericAPIView):
    pagination_class = None
    filter_backends: list[Any] = []


class DepartmentFiguresView(_AnalyticsView):
    """A department's figures over a period (default: the last 30 days), days in its zone."""

    serializer_class = ReportSerializer

    @extend_schema(
        summary="A department's figures for a period",
        parameters=[PeriodQuerySerializer],
        responses={200: ReportSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        department = department_get_for_figures(user=request.user, department_id=pk)
        data = _report(request, department_ids=[department.pk], zone=department.zone)
        return Response(ReportSerializer(data).data)


class CityFiguresView(_AnalyticsView):
    """The whole city's figures over a period, with a row per department (communications managers, viewers)."""

    serializer_class = ReportSerializer

    @extend_schema(
        summary="The city's figures for a period",
        parameters=[PeriodQuerySerializer],
        responses={200: ReportSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        city_figures_check(user=request.user)
        return Response(ReportSerializer(_report(request, department_ids=None, zone=default_zone())).data)


class PostFiguresView(_AnalyticsView):
    """One post's figures: each published delivery's snapshots over time (null: not reported), removals,
    short-link clicks, paid-read budgets."""

    serializer_class = PostFiguresSerializer

    @extend_schema(summary="One post's figures over time", responses={200: PostFiguresSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return Response(PostFiguresSerializer(post_figures_for_user(user=request.user, post_id=pk)).data)
