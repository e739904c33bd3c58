"""PostgreSQL connections are checked before a request only after they sat idle
(infogerance.core.postgresql): a connection used a moment ago goes without the round trip,
one left idle is checked, and one the server dropped meanwhile is replaced unseen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import close_old_connections, connection

from infogerance.config import database_config
from infogerance.core.postgresql.base import CHECK_AFTER_IDLE


def test_postgresql_urls_take_the_idle_checking_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_TEST_DB", "postgresql://u:p@db.example:5432/infogerance")
    pg = database_config(tmp_path, "X_TEST_DB")
    assert pg.django["ENGINE"] == "infogerance.core.postgresql"
    assert pg.vendor == "postgresql"
    assert pg.django["CONN_HEALTH_CHECKS"] is True
    assert pg.django["CONN_MAX_AGE"] == 60
    monkeypatch.setenv("X_TEST_DB", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    sqlite = database_config(tmp_path, "X_TEST_DB")
    assert sqlite.django["ENGINE"] == "django.db.backends.sqlite3"
    assert sqlite.django["CONN_MAX_AGE"] == 0  # a new connection per request: nothing to check


@pytest.mark.django_db(transaction=True)
def test_a_connection_is_checked_only_after_it_sat_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        assert connection.settings_dict["CONN_MAX_AGE"] == 0
        return
    assert connection.settings_dict["ENGINE"] == "infogerance.core.postgresql"
    checks: list[bool] = []
    is_usable = connection.is_usable

    def counted() -> bool:
        checks.append(is_usable())
        return checks[-1]

    monkeypatch.setattr(connection, "is_usable", counted)

    def request() -> int:
        """What a request does: Django's start-of-request step, then a query."""
        close_old_connections()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid: int = cursor.fetchone()[0]
        close_old_connections()  # the end of the request
        return pid

    first = request()
    assert request() == first
    assert checks == []  # used a moment ago: no round trip
    connection.used_at -= CHECK_AFTER_IDLE + 1  # as if it had sat idle since
    assert request() == first
    assert checks == [True]

    # Dropped by the server while idle (a restart, a proxy's timeout): replaced before the
    # request's first query, which does not see it.
    params: dict[str, Any] = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [first])
    connection.used_at -= CHECK_AFTER_IDLE + 1
    second = request()
    assert checks == [True, False]
    assert second != first
