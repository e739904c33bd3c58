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


@pytest.mark.django_db
def test_raw_rows_make_the_instances_the_orm_makes(world: Any, api_token: Any) -> None:
    """core.db.from_row and select_list: what the token and agent lookups read by raw SQL
    equals what the ORM reads (dates aware, JSON decoded, booleans as booleans)."""
    from infogerance.accounts.models import ApiToken
    from infogerance.accounts.services import authenticate_token
    from infogerance.core.db import from_row, select_list, width
    from infogerance.tenancy.models import User

    secret = api_token(world.user("a_manager"))
    authenticate_token(secret)  # its first use is written down (last_used_at)
    token, reason = authenticate_token(secret)  # read as it now stands
    assert reason == "ok" and token is not None and token.last_used_at is not None
    orm = ApiToken.objects.select_related("user").get(pk=token.pk)
    fields = [f.attname for f in ApiToken._meta.concrete_fields]
    assert [getattr(token, f) for f in fields] == [getattr(orm, f) for f in fields]
    user_fields = [f.attname for f in User._meta.concrete_fields]
    assert [getattr(token.user, f) for f in user_fields] == [
        getattr(orm.user, f) for f in user_fields
    ]
    assert token.expires_at.utcoffset() is not None and token.user.is_active is True
    assert not token._state.adding and token._state.db == "default"

    # An audit event, with JSON and an address, read back the same way.
    event = AuditEvent.objects.exclude(after=None).order_by("-seq").first()
    assert event is not None
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select_list(AuditEvent, 'e')} FROM {table} e WHERE e.id = %s", [event.pk]
        )
        row = cursor.fetchone()
    assert len(row) == width(AuditEvent)
    raw = from_row(AuditEvent, row)
    assert raw.canonical() == event.canonical() and raw.compute_hash() == event.hash
