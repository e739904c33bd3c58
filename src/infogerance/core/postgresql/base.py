"""Django's PostgreSQL backend, checking a persistent connection only after it sat idle.

With ``CONN_HEALTH_CHECKS``, Django sends ``SELECT 1`` before the first query of every
request: a round trip, and work for the server and the database, that a connection used a
moment ago does not need. On a busy server it was a fifth of an agent heartbeat's cost
(docs/benchmarks.md). Here the check is skipped when the connection opened a cursor less
than :data:`CHECK_AFTER_IDLE` seconds ago, and made as Django makes it otherwise: a database
restarted while the connection sat idle is still found out before a request uses it. A
connection that saw an error is checked at the end of the request, as Django does.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.backends.postgresql import base

#: A connection that opened a cursor this recently is taken as sound without a round trip.
CHECK_AFTER_IDLE = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    used_at = float("-inf")

    def _cursor(self, name: Any = None) -> Any:
        cursor = super()._cursor(name)  # type: ignore[misc]  # not in django-stubs
        self.used_at = time.monotonic()
        return cursor

    def close_if_unusable_or_obsolete(self) -> None:
        super().close_if_unusable_or_obsolete()
        if (
            self.connection is not None
            and not self.health_check_done  # type: ignore[has-type]
            and time.monotonic() - self.used_at < CHECK_AFTER_IDLE
        ):
            self.health_check_done = True
