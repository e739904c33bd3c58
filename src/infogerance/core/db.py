"""Reads for the hot and batch paths: bulk rows (clock recomputation, measurements), and
whole model rows read by raw statements (the checks every request pays for).

Django reads ``timestamptz`` values from PostgreSQL with a loader of its own, written in
Python (about 5 µs a value), so that values come in the connection's time zone. The platform
runs its connections in UTC, where psycopg's compiled loader gives the very same values about
four times faster. :func:`value_rows` runs a ``values_list`` query through that loader and
returns the same tuples; other databases go through Django unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet

__all__ = ["from_row", "select_list", "value_rows", "width"]

M = TypeVar("M", bound=Model)


def value_rows(queryset: QuerySet[Any, Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of a ``values_list()`` queryset whose fields need no Python conversion
    (numbers, text, dates with time zone), fetched at once."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or connection.timezone_name != "UTC":
        yield from queryset.all()  # a query of its own, as on PostgreSQL
        return
    from psycopg.types.datetime import TimestamptzLoader

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # The loader goes on psycopg's own cursor (its adapters are its own copy); the query
        # goes through Django's wrapper, so it is logged and counted like any other.
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        yield from cursor.fetchall()


# A model row read by a raw statement: on the paths every request takes (a token's or an
# agent's credential), the ORM's query compiler costs more CPU than the query itself.


@functools.cache
def _columns(model: type[Model]) -> list[Any]:
    return [field.get_col(model._meta.db_table) for field in model._meta.concrete_fields]


def select_list(model: type[Model], alias: str, using: str = DEFAULT_DB_ALIAS) -> str:
    """Every concrete column of ``model``, qualified by ``alias``, in field order (the order
    :func:`from_row` reads them in). Built from the model's quoted names only."""
    quote = connections[using].ops.quote_name
    return ", ".join(f"{alias}.{quote(str(col.target.column))}" for col in _columns(model))


def width(model: type[Model]) -> int:
    """How many values of a row :func:`select_list` selects for ``model``."""
    return len(_columns(model))


def from_row(model: type[M], row: Sequence[Any], using: str = DEFAULT_DB_ALIAS) -> M:
    """The instance of ``model`` whose :func:`select_list` values are ``row``, converted as
    the ORM converts them (time zones, JSON, booleans on SQLite…)."""
    db = connections[using]
    values = []
    for column, value in zip(_columns(model), row, strict=True):
        for convert in db.ops.get_db_converters(column) + column.get_db_converters(db):
            value = convert(value, column, db)
        values.append(value)
    return model.from_db(db.alias, [col.target.attname for col in _columns(model)], values)
