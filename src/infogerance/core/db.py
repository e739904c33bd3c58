"""Bulk reads for the batch paths (clock recomputation, measurements).

Django reads ``timestamptz`` values from PostgreSQL with a loader of its own, written in
Python (about 5 µs a value), so that values come in the connection's time zone. The platform
runs its connections in UTC, where psycopg's compiled loader gives the very same values about
four times faster. :func:`value_rows` runs a ``values_list`` query through that loader and
returns the same tuples; other databases go through Django unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connections
from django.db.models import QuerySet

__all__ = ["value_rows"]


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
