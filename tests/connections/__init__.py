"""Helpers shared by the connection tests."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def raw_column(table: str, column: str, pk: int) -> str:
    """Returns what the database really holds (no field decryption)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - test-only, fixed names
        return cursor.fetchone()[0]
