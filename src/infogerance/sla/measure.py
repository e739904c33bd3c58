"""A contract's service levels measured over a month, from raw events (plain Python).

:func:`measure` is the one measurement of the platform: the monthly figures, their frozen
revisions and ``infogerance sla evaluate`` (a contract file and a JSON Lines file of events,
no database) all call it, so the same events always give the same figures.

Periods
-------
``YYYY-MM`` is a calendar month in the time zone of each level's calendar: ``[first day
00:00, first day of the next month 00:00)`` local time (a level on a Paris calendar and one on
a Montreal calendar do not start their month at the same instant). A quarterly level is
measured in the last month of each quarter over the whole quarter, a yearly one in December
over the year; in the other months its result has no data and ``details`` says when it is
measured (``measured_in``). The figures are judged as of ``min(end, now)``: events after it
are ignored.

Ticket levels (GTI, GTR, resolution)
------------------------------------
Each ticket's clocks come from :mod:`infogerance.helpdesk.clocks` with the clock groups of
:mod:`infogerance.helpdesk.clockspecs` (the help desk's live clocks use the same ones). A
clock belongs to the level whose target applies to it (its priority under the contract's
priority-change rule); a clock whose priority has no target belongs to none.

* A ticket is **measured once per stop**, in the period where its clock stopped (GTI: the
  intervention started; GTR: restored; resolution: resolved), with its whole elapsed time:
  met iff within target. A ticket reopened and stopped again later is measured again then.
* A clock still running at the end of the period and already over its target is listed as
  ``open:late`` (it counts in the period it stops); one within target is not listed.
* A ticket whose closure cause is one of the level's excluded causes is listed as
  ``cause:<cause>``, not measured.
* ``days_late``: calendar days, started days counted, from the instant the target was reached
  to the stop.

The level's value is the % of measured tickets within target; met iff at least the
compliance threshold (every ticket without one), computed exactly.

First-contact resolution
------------------------
Tickets of the level's services resolved in the period (their resolution, as of the end of
the period, is an event of the period). Resolved at first contact: never assigned more than
once, never in a waiting status, never reopened. Value: % of them; met iff at least the
target (a percentage).

Everything else is :func:`infogerance.sla.metrics.measure_level`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from infogerance.calendars import Calendar
from infogerance.contracts.calendars import calendar_for
from infogerance.contracts.format import (
    TICKET_METRICS,
    ContractDocument,
    Metric,
    Period,
    ServiceLevel,
)
from infogerance.helpdesk import clocks
from infogerance.helpdesk.clockspecs import ClockGroup, clock_groups
from infogerance.sla import metrics
from infogerance.sla.records import TicketInfo
from infogerance.sla.results import Exclusion, Item, LevelResult

__all__ = [
    "Measurement",
    "PeriodError",
    "measure",
    "month_bounds",
    "parse_month",
    "result_to_json",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MILLION = Decimal(1_000_000)
_DAY_US = 86_400_000_000
_WAITING = frozenset({"waiting_client", "access_refused", "third_party"})
_RESOLVED_RANK = clocks.MILESTONES.index("resolved") + 1
_NO_EVENTS = clocks.TicketLog.from_rows(())


class PeriodError(ValueError):
    """A period that is not ``YYYY-MM``."""


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-03"`` → ``(2026, 3)``; anything else: :class:`PeriodError`."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise PeriodError(f"period {text!r} is not a month written YYYY-MM (e.g. 2026-03)")
    return int(match.group(1)), int(match.group(2))


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight of the month's first day and of the next month's, in ``tz``."""
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=tz), datetime(*following, 1, tzinfo=tz)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _US


def _seconds(us: int) -> Decimal:
    return Decimal(us) / _MILLION


@dataclass
class Measurement:
    """The results of a contract over a period, in the order of its service levels."""

    period: str
    as_of: datetime
    results: list[LevelResult]
    #: Level ids with nothing to measure (``met is None``).
    no_data: list[str] = field(default_factory=list)


@dataclass
class _Acc:
    items: list[tuple[int, str, Item]] = field(default_factory=list)
    excluded: list[tuple[int, str, Exclusion]] = field(default_factory=list)


def measure(
    document: ContractDocument,
    period: str,
    *,
    tickets: Mapping[str, TicketInfo],
    logs: Mapping[str, clocks.TicketLog],
    other: metrics.OtherData,
    now: datetime | None = None,
) -> Measurement:
    """Every service level of ``document`` over the month ``period`` (``YYYY-MM``)."""
    year, month = parse_month(period)
    calendars: dict[str, Calendar] = {}

    def calendar(name: str) -> Calendar:
        if name not in calendars:
            calendars[name] = calendar_for(document, name)
        return calendars[name]

    now_utc = (now or datetime.now(UTC)).astimezone(UTC)
    due = [level for level in document.service_levels if _due(level, month)]
    bounds = {level.id: _bounds(level, year, month, calendar(level.calendar).tz) for level in due}
    ticket_levels = [
        level
        for level in due
        if level.metric in TICKET_METRICS or level.metric == Metric.FIRST_CONTACT_RESOLUTION
    ]
    by_ticket = _measure_tickets(document, ticket_levels, bounds, now_utc, tickets, logs, calendars)
    results = []
    for level in document.service_levels:
        if level.id not in bounds:
            results.append(_not_due(level, year, month))
            continue
        start, end = bounds[level.id]
        if level.id in by_ticket:
            results.append(by_ticket[level.id])
        else:
            results.append(
                metrics.measure_level(level, calendar(level.calendar), start, end, other)
            )
    as_of = min(max(end for _start, end in bounds.values()), now_utc) if bounds else now_utc
    return Measurement(
        period=f"{year:04d}-{month:02d}",
        as_of=as_of,
        results=results,
        no_data=[r.level_id for r in results if r.met is None],
    )


_MONTHS = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}


def _due(level: ServiceLevel, month: int) -> bool:
    """A quarterly level is measured in the last month of each quarter, a yearly one in
    December; a monthly one every month."""
    return month % _MONTHS[level.period] == 0


def _bounds(level: ServiceLevel, year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    first = month - _MONTHS[level.period] + 1
    return month_bounds(year, first, tz)[0], month_bounds(year, month, tz)[1]


def _not_due(level: ServiceLevel, year: int, month: int) -> LevelResult:
    span = _MONTHS[level.period]
    measured_in = f"{year:04d}-{month + (-month) % span:02d}"
    return metrics.rate_result(
        level, [], Decimal(100), details={"period": str(level.period), "measured_in": measured_in}
    )


def _measure_tickets(
    document: ContractDocument,
    levels: list[ServiceLevel],
    bounds: Mapping[str, tuple[datetime, datetime]],
    now: datetime,
    tickets: Mapping[str, TicketInfo],
    logs: Mapping[str, clocks.TicketLog],
    calendars: dict[str, Calendar],
) -> dict[str, LevelResult]:
    if not levels:
        return {}
    accumulators = {level.id: _Acc() for level in levels}
    fcr_levels = [level for level in levels if level.metric == Metric.FIRST_CONTACT_RESOLUTION]
    excluded_causes = {level.id: {str(c) for c in level.exclusions.causes} for level in levels}
    groups_of: dict[str, list[tuple[ClockGroup, int, int, int, int]]] = {}

    def groups_for(service: str) -> list[tuple[ClockGroup, int, int, int, int]]:
        found = groups_of.get(service)
        if found is None:
            found = []
            for group in clock_groups(document, service, calendars):
                due = [level for level in group.levels if level.id in accumulators]
                if not due:
                    continue  # none of its levels is measured this month
                start, end = bounds[due[0].id]
                as_of = _micros(min(end.astimezone(UTC), now))
                stop = clocks.MILESTONES.index(group.spec.stop) + 1
                found.append((group, _micros(start), _micros(end), as_of, stop))
            groups_of[service] = found
        return found

    for ref, info in tickets.items():
        log = logs.get(ref, _NO_EVENTS)
        if not log.times:
            continue
        first, last = log.times[0], log.times[-1]
        priorities = set(log.priorities)
        for group, start, end, as_of, stop in groups_for(info.service):
            if first >= end or (last < start and log.levels[-1] >= stop):
                continue  # opened after the period, or stopped for good before it
            if priorities.isdisjoint(group.spec.targets):
                continue  # never a priority this clock has a target for: not applicable
            figures = clocks.clock_figures(group.spec, log, as_of)
            level = group.by_priority.get(figures.priority) if figures.priority else None
            if level is None or figures.target is None or level.id not in accumulators:
                continue
            acc = accumulators[level.id]
            stopped = figures.stopped
            if stopped is None:
                if figures.state == "breached":
                    acc.excluded.append((end, ref, Exclusion(ref, "open:late")))
                continue
            if not start <= stopped < end:
                continue
            if info.cause and info.cause in excluded_causes[level.id]:
                acc.excluded.append((stopped, ref, Exclusion(ref, f"cause:{info.cause}")))
                continue
            days = 0
            if figures.breached is not None:
                late = stopped - figures.breached
                days = -(-late // _DAY_US) if late > 0 else 0
            item = Item(
                ref,
                _seconds(figures.elapsed),
                figures.state == "met",
                _seconds(max(0, figures.elapsed - figures.target)),
                "",
                days,
            )
            acc.items.append((stopped, ref, item))
        for level in fcr_levels:
            if info.service in level.services:
                _first_contact(level, bounds[level.id], now, ref, log, accumulators[level.id])

    results: dict[str, LevelResult] = {}
    for level in levels:
        acc = accumulators[level.id]
        acc.items.sort(key=lambda row: (row[0], row[1]))
        acc.excluded.sort(key=lambda row: (row[0], row[1]))
        items = [row[2] for row in acc.items]
        excluded = [row[2] for row in acc.excluded]
        if level.metric == Metric.FIRST_CONTACT_RESOLUTION:
            results[level.id] = metrics.rate_result(
                level, items, level.target.value, excluded=excluded
            )
            continue
        calendar = calendars.get(level.calendar) or calendar_for(document, level.calendar)
        target = clocks.target_duration(level.target.value, str(level.target.unit), calendar)
        threshold = level.compliance if level.compliance is not None else Decimal(100)
        results[level.id] = metrics.rate_result(
            level, items, threshold, excluded=excluded, target_us=target // _US
        )
    return results


def _first_contact(
    level: ServiceLevel,
    bounds: tuple[datetime, datetime],
    now: datetime,
    ref: str,
    log: clocks.TicketLog,
    acc: _Acc,
) -> None:
    start, end = _micros(bounds[0]), min(_micros(bounds[1]), _micros(now))
    upto = 0
    while upto < len(log.times) and log.times[upto] < end:
        upto += 1
    if not upto or log.levels[upto - 1] < _RESOLVED_RANK:
        return
    # The event that resolved it for the last time, as of the end of the period.
    resolved = upto - 1
    while resolved > 0 and log.levels[resolved - 1] >= _RESOLVED_RANK:
        resolved -= 1
    at = log.times[resolved]
    if not start <= at < end:
        return
    kinds = log.kinds[:upto]
    assignments = sum(log.assigns[:upto])
    waited = any(status in _WAITING for status in log.statuses[:upto])
    reopened = "reopened" in kinds or any(
        a >= _RESOLVED_RANK > b
        for a, b in zip(log.levels[: upto - 1], log.levels[1:upto], strict=True)
    )
    met = assignments <= 1 and not waited and not reopened
    notes = [
        note
        for note, flag in (
            ("reassigned", assignments > 1),
            ("waited", waited),
            ("reopened", reopened),
        )
        if flag
    ]
    acc.items.append((at, ref, Item(ref, None, met, Decimal(0), ", ".join(notes))))


# --------------------------------------------------------------------------------------------
# JSON


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def result_to_json(result: LevelResult) -> dict[str, Any]:
    """A stable JSON-ready rendering (numbers as decimal strings, to keep them exact)."""
    return {
        "level": result.level_id,
        "name": result.name,
        "metric": result.metric,
        "services": list(result.services),
        "priority": result.priority,
        "target": {"value": _number(result.target), "unit": result.unit},
        "target_seconds": _number(result.target_seconds),
        "compliance": _number(result.compliance),
        "value": _number(result.value),
        "met": result.met,
        "sample": result.sample,
        "within": result.within,
        "breaches": result.breaches,
        "overrun_seconds": _number(result.overrun),
        "details": {
            k: _number(v) if isinstance(v, Decimal) else v for k, v in result.details.items()
        },
        "items": [
            {
                "ref": item.ref,
                "value": _number(item.value),
                "met": item.met,
                "overrun_seconds": _number(item.overrun),
                "days_late": item.days_late,
                "note": item.note,
            }
            for item in result.items
        ],
        "excluded": [{"ref": e.ref, "reason": e.reason} for e in result.excluded],
    }
