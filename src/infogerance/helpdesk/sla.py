"""The SLA clocks of a ticket: its events, the contract terms in force when it was opened,
and the one calendar engine."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from infogerance.contracts.calendars import calendar_for
from infogerance.contracts.format import TICKET_METRICS, ServiceLevel
from infogerance.contracts.models import ContractVersion
from infogerance.helpdesk import clocks
from infogerance.helpdesk.models import Ticket, TicketEvent

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
    return clocks_for([ticket], now)[ticket.pk]


def clocks_for(
    tickets: Sequence[Ticket], now: dt.datetime | None = None
) -> dict[int, list[TicketClock]]:
    """The clocks of several tickets: one query for all their events, one for the contract
    versions, and each contract's clock specifications built once."""
    now = now or timezone.now()
    ids = [t.pk for t in tickets]
    events: dict[int, list[clocks.TicketEvent]] = defaultdict(list)
    rows = (
        TicketEvent.objects.filter(ticket_id__in=ids, kind__in=CLOCK_KINDS)
        .order_by("ticket_id", "seq")
        .values_list("ticket_id", "at", "seq", "kind", "status", "priority")
    )
    for ticket_id, at, seq, kind, status, priority in rows:
        events[ticket_id].append(
            clocks.TicketEvent(
                at=at, seq=seq, kind=kind, status=status or None, priority=priority or None
            )
        )
    versions: dict[int, list[ContractVersion]] = defaultdict(list)
    for row in ContractVersion.objects.filter(
        contract_id__in={t.contract_id for t in tickets}
    ).order_by("contract_id", "effective_from", "number"):
        versions[row.contract_id].append(row)
    specs: dict[tuple[int, str], list[tuple[str, clocks.ClockSpec]]] = {}
    result: dict[int, list[TicketClock]] = {}
    for ticket in tickets:
        version = _in_force(versions[ticket.contract_id], timezone.localdate(ticket.created_at))
        if version is None:
            result[ticket.pk] = []
            continue
        key = (version.pk, ticket.service_code)
        if key not in specs:
            specs[key] = _specs(version, ticket.service_code)
        result[ticket.pk] = [
            TicketClock(name, clocks.compute_clock(spec, events[ticket.pk], now))
            for name, spec in specs[key]
        ]
    return result


def _in_force(versions: list[ContractVersion], day: dt.date) -> ContractVersion | None:
    """The latest version effective on ``day`` (versions sorted by date), else the first."""
    chosen: ContractVersion | None = None
    for version in versions:
        if version.effective_from <= day:
            chosen = version
    return chosen or (versions[-1] if versions else None)


def _specs(version: ContractVersion, service_code: str) -> list[tuple[str, clocks.ClockSpec]]:
    document = version.parsed()
    groups: dict[tuple[Any, ...], list[ServiceLevel]] = {}
    for level in document.service_levels:
        if level.metric in TICKET_METRICS and service_code in level.services:
            groups.setdefault(_group_key(level), []).append(level)
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
            pause_statuses=frozenset(p.value for p in rule.pause_statuses),
            on_priority_change=rule.on_priority_change.value,
            targets=targets,
            calendar=calendar,
        )
        result.append((" / ".join(level.name or level.id for level in levels), spec))
    return result


def _priorities(document: Any) -> list[str]:
    matrix = document.priority_matrix
    return sorted(matrix.priorities) if matrix else ["P1", "P2", "P3", "P4"]
