"""Reads for the composer's pages, scoped to the person's departments (404 outside them)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404

from composer.models import CsvImport, PostTemplate, RecurringSeries
from departments.selectors import department_ids_for_user, department_ids_user_approves


def templates_for_user(*, user: User | AnonymousUser) -> QuerySet[PostTemplate]:
    return PostTemplate.objects.filter(department_id__in=department_ids_for_user(user=user)).select_related(
        "department"
    )


def template_get_for_user(*, user: User | AnonymousUser, template_id: int) -> PostTemplate:
    template = templates_for_user(user=user).filter(pk=template_id).first()
    if template is None:
        raise Http404("No such template.")
    return template


def series_get_for_user(*, user: User | AnonymousUser, series_id: int) -> RecurringSeries:
    """Returns a series of the person's departments, or one they approve for; otherwise raises Http404."""
    members = department_ids_for_user(user=user)
    approves = department_ids_user_approves(user=user)
    queryset = RecurringSeries.objects.select_related("department", "created_by")
    if approves is not None:
        queryset = queryset.filter(department_id__in=members | approves)
    series = queryset.filter(pk=series_id).first()
    if series is None or not user.is_authenticated:
        raise Http404("No such series.")
    return series


def series_for_user(*, user: User | AnonymousUser) -> QuerySet[RecurringSeries]:
    return RecurringSeries.objects.filter(department_id__in=department_ids_for_user(user=user)).select_related(
        "department"
    )


def import_get_for_user(*, user: User | AnonymousUser, import_id: int) -> CsvImport:
    upload = CsvImport.objects.filter(pk=import_id, uploaded_by_id=getattr(user, "pk", None)).first()
    if upload is None:
        raise Http404("No such import.")
    return upload
