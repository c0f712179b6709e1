"""Cursor pagination: stable pages while rows are added, and opaque `next`/`previous` links."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering: str | tuple[str, ...] = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class DueCursorPagination(IdCursorPagination):
    """Posts in publishing order, the latest first."""

    ordering = ("-due_at", "-id")
