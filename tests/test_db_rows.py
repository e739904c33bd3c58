"""core.db.value_rows: the same rows as Django's values_list, on every database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from infogerance.audit.models import AuditEvent
from infogerance.core.db import value_rows


@pytest.mark.django_db
def test_value_rows_are_values_list_rows(world: Any) -> None:
    queryset = AuditEvent.objects.order_by("seq").values_list("seq", "created_at", "action")
    expected = list(queryset)
    assert len(expected) > 10  # the world's creation is audited
    with CaptureQueriesContext(connection) as queries:
        rows = list(value_rows(queryset))
    assert [tuple(row) for row in rows] == expected
    assert all(row[1].utcoffset().total_seconds() == 0 for row in rows)  # aware, in UTC
    assert len(queries) == 1  # counted like any other query
