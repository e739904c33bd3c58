"""The SLA clocks of a ticket: its events, the contract terms in force when it was opened,
and the one calendar engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from infogerance.contracts.calendars import calendar_for
from infogerance.contracts.format import TICKET_METRICS, ServiceLevel
from infogerance.helpdesk import clocks
from infogerance.helpdesk.models import Ticket

# The events that can move a clock (attachments and the like cannot).
CLOCK_KINDS = ("created", "status", "priority", "reopened", "comment", "assigned")


@dataclass(frozen=True)
class TicketClock:
    name: str  # the service levels behind this clock, for people
    result: clocks.ClockResult


def _group_key(level: ServiceLevel) -> tuple[Any, ...]:
    # One clock per metric, calendar and clock rule: the per-priority service levels of the
    # same commitment (GTI P2, P3, P4 in HO) share one clock with a target per priority.
    rule = level.clock
    assert rule is not None  # the format requires a clock rule for ticket metrics
    return (
        level.metric.value,
        level.calendar,
        rule.start,
        rule.stop,
        tuple(rule.pause_statuses),
        rule.on_priority_change,
    )


def ticket_clocks(ticket: Ticket, now: dt.datetime | None = None) -> list[TicketClock]:
    now = now or timezone.now()
    version = ticket.contract.version_at(ticket.created_at) or ticket.contract.latest
    if version is None:
        return []
    document = version.parsed()
    groups: dict[tuple[Any, ...], list[ServiceLevel]] = {}
    for level in document.service_levels:
        if level.metric in TICKET_METRICS and ticket.service_code in level.services:
            groups.setdefault(_group_key(level), []).append(level)
    events = [
        clocks.TicketEvent(
            at=e.at, seq=e.seq, kind=e.kind, status=e.status or None, priority=e.priority or None
        )
        for e in ticket.events.filter(kind__in=CLOCK_KINDS).order_by("seq")
    ]
    result = []
    for (_metric, calendar_name, *_rule), levels in groups.items():
        rule = levels[0].clock
        assert rule is not None
        calendar = calendar_for(document, calendar_name)
        targets: dict[str, dt.timedelta] = {}
        for level in levels:
            duration = clocks.target_duration(level.target.value, level.target.unit.value, calendar)
            if level.priority is None:
                # One target for every priority that has no level of its own.
                for priority in _priorities(document):
                    targets.setdefault(priority, duration)
            else:
                targets[level.priority] = duration
        spec = clocks.ClockSpec(
            level_id=",".join(level.id for level in levels),
            metric=levels[0].metric.value,
            start=rule.start.value,
            stop=rule.stop.value,
            pause_statuses=frozenset(rule.pause_statuses),
            on_priority_change=rule.on_priority_change.value,
            targets=targets,
            calendar=calendar,
        )
        name = " / ".join(level.name or level.id for level in levels)
        result.append(TicketClock(name, clocks.compute_clock(spec, events, now)))
    return result


def _priorities(document: Any) -> list[str]:
    matrix = document.priority_matrix
    return sorted(matrix.priorities) if matrix else ["P1", "P2", "P3", "P4"]
