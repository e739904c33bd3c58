"""Assertions that an audit event was (or was not) written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Max


def _last_seq() -> int:
    from infogerance.audit.models import AuditEvent

    return int(AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0)


class Expectation:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @property
    def event(self) -> Any:
        return self.events[0]


@contextmanager
def audit_expected(action: str, **match: Any) -> Iterator[Expectation]:
    """The block writes at least one event ``action`` whose fields equal ``match``."""
    from infogerance.audit.models import AuditEvent

    start = _last_seq()
    expectation = Expectation()
    yield expectation
    new = AuditEvent.objects.filter(seq__gt=start).order_by("seq")
    found = [
        e for e in new.filter(action=action) if all(getattr(e, k) == v for k, v in match.items())
    ]
    if not found:
        seen = [f"{e.action} {e.target_type}:{e.target_id}" for e in new]
        raise AssertionError(f"no audit event {action} {match or ''}; written: {seen or 'none'}")
    expectation.events = found


@contextmanager
def no_audit(action_prefix: str = "") -> Iterator[None]:
    """The block writes no event (whose action starts with ``action_prefix``)."""
    from infogerance.audit.models import AuditEvent

    start = _last_seq()
    yield
    new = AuditEvent.objects.filter(seq__gt=start, action__startswith=action_prefix)
    if new.exists():
        raise AssertionError(f"unexpected audit events: {[e.action for e in new]}")
