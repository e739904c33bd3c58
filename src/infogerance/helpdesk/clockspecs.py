"""From a contract's service levels to the clocks of a ticket (plain Python, no Django).

The per-priority service levels of one commitment (GTI P2, P3, P4 in office hours) share one
clock with a target per priority: one :class:`ClockGroup` per metric, calendar and clock rule.
A level without priority gives its target to every priority that has no level of its own in
the group. The help desk (live clocks) and the SLA measurement (monthly figures, offline
evaluation) build their clocks here, so both judge a ticket the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infogerance.calendars import Calendar
from infogerance.contracts.calendars import calendar_for
from infogerance.contracts.format import TICKET_METRICS, ContractDocument, ServiceLevel
from infogerance.helpdesk import clocks

__all__ = ["ClockGroup", "clock_groups", "priorities"]


@dataclass(frozen=True)
class ClockGroup:
    name: str  # the service levels behind this clock, for people
    spec: clocks.ClockSpec
    levels: tuple[ServiceLevel, ...]
    #: The level whose target applies to each priority of ``spec.targets``.
    by_priority: Mapping[str, ServiceLevel]


def priorities(document: ContractDocument) -> list[str]:
    """The contract's priorities (its matrix's, else P1..P4)."""
    matrix = document.priority_matrix
    return sorted(matrix.priorities) if matrix else ["P1", "P2", "P3", "P4"]


def _group_key(level: ServiceLevel) -> tuple[Any, ...]:
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


def clock_groups(
    document: ContractDocument,
    service_code: str,
    calendars: dict[str, Calendar] | None = None,
) -> list[ClockGroup]:
    """The clocks of a ticket of ``service_code`` under ``document``, in the order of the
    document's service levels. ``calendars`` caches compiled calendars by name."""
    cache = {} if calendars is None else calendars
    groups: dict[tuple[Any, ...], list[ServiceLevel]] = {}
    for level in document.service_levels:
        if level.metric in TICKET_METRICS and service_code in level.services:
            groups.setdefault(_group_key(level), []).append(level)
    result = []
    for (_metric, calendar_name, *_rule), levels in groups.items():
        rule = levels[0].clock
        assert rule is not None
        if calendar_name not in cache:
            cache[calendar_name] = calendar_for(document, calendar_name)
        calendar = cache[calendar_name]
        targets: dict[str, dt.timedelta] = {}
        owners: dict[str, ServiceLevel] = {}
        for level in levels:
            duration = clocks.target_duration(level.target.value, level.target.unit.value, calendar)
            if level.priority is None:
                # One target for every priority that has no level of its own.
                for priority in priorities(document):
                    if priority not in targets:
                        targets[priority], owners[priority] = duration, level
            else:
                targets[level.priority], owners[level.priority] = duration, level
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
        name = " / ".join(level.name or level.id for level in levels)
        result.append(ClockGroup(name, spec, tuple(levels), owners))
    return result
