"""A queryset compiled by the ORM once per database connection, then run with one value changed (issue 18: on the
worker's hot path, compiling a statement cost more CPU than PostgreSQL spent running it).

`CompiledQuery(build)` takes a function that builds the queryset for one value (an id); it is compiled with a
placeholder that must appear exactly once among the statement's parameters, and `objects(value)` runs it with
the value in that place, building the model instances as the ORM's ModelIterable does (select_related
included). Nothing is cached but the statement's text: every call reads the database in the caller's
transaction, like the queryset would."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

# Stands for the value while the statement is compiled; never a primary key.
_PLACEHOLDER = -918_273_645


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]
    value_at: int  # where the value goes in `params`
    compiler: Any
    model: type[Model]
    init_list: list[str]
    fields_end: int
    related_populators: list[Any]


class CompiledQuery:
    def __init__(self, build: Callable[[int], QuerySet[Any]]) -> None:
        self._build = build
        self._statements: weakref.WeakKeyDictionary[Any, _Statement] = weakref.WeakKeyDictionary()
        self._alias: str | None = None

    def objects(self, value: int) -> list[Any]:
        """The queryset's model instances for `value` (what `list(build(value))` returns)."""
        if self._alias is None:
            self._alias = self._build(_PLACEHOLDER).db
        connection = connections[self._alias]
        statement = self._statement(connection)
        params = list(statement.params)
        params[statement.value_at] = value
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        found = []
        for row in statement.compiler.results_iter([rows]):
            instance = statement.model.from_db(connection.alias, statement.init_list, row[: statement.fields_end])
            for populator in statement.related_populators:
                populator.populate(row, instance)
            found.append(instance)
        return found

    def _statement(self, connection: Any) -> _Statement:
        statement = self._statements.get(connection)
        if statement is None:
            queryset = self._build(_PLACEHOLDER)
            compiler = queryset.query.get_compiler(connection=connection)
            sql_text, params = compiler.as_sql()
            if list(params).count(_PLACEHOLDER) != 1:
                raise RuntimeError(f"the compiled query must take its value as exactly one parameter: {params!r}")
            select, klass_info = compiler.select, compiler.klass_info
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            if start != 0:
                raise RuntimeError("the compiled query does not start with its model's columns")
            statement = _Statement(
                sql=sql_text,
                params=tuple(params),
                value_at=list(params).index(_PLACEHOLDER),
                compiler=compiler,
                model=queryset.model,
                init_list=[column[0].target.attname for column in select[start:end]],
                fields_end=end,
                # django-stubs describe Django 6's signature (a fourth argument, fetch_mode); this is 5.2's.
                related_populators=get_related_populators(klass_info, select, connection.alias),  # type: ignore[call-arg]
            )
            self._statements[connection] = statement
        return statement
