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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import orjson

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
from infogerance.sla.eventsfile import TicketTable
from infogerance.sla.records import TicketInfo
from infogerance.sla.results import Exclusion, Item, ItemColumns, LevelResult, seconds_text

__all__ = [
    "ItemsText",
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
_ZERO = Decimal(0)
_BREACHED = clocks.CLOCK_STATES.index("breached")
_MET = clocks.CLOCK_STATES.index("met")


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
    return Decimal(us) / _MILLION if us else _ZERO


@dataclass
class Measurement:
    """The results of a contract over a period, in the order of its service levels."""

    period: str
    as_of: datetime
    results: list[LevelResult]
    #: Level ids with nothing to measure (``met is None``).
    no_data: list[str] = field(default_factory=list)


_I64 = npt.NDArray[np.int64]


@dataclass
class _Acc:
    """A level's items and exclusions, in chunks: the instant of each, for the order
    (instant, ref); items as columns, exclusions as objects (with their tickets, indices into
    the logs)."""

    items: list[tuple[_I64, ItemColumns]] = field(default_factory=list)
    excluded: list[tuple[_I64, _I64, list[Exclusion]]] = field(default_factory=list)

    def ordered_items(self, rank: _I64) -> ItemColumns | list[Item]:
        if not self.items:
            return []
        chunks = [chunk for _at, chunk in self.items]
        tickets = np.concatenate([chunk.tickets for chunk in chunks])
        order = np.lexsort((rank[tickets], np.concatenate([at for at, _chunk in self.items])))

        def column(name: str) -> Any:
            parts = [getattr(chunk, name) for chunk in chunks]
            if any(part is None for part in parts):
                if all(part is None for part in parts):
                    return None
                raise ValueError(f"items of one level with and without {name}")
            if name == "notes":
                joined = [note for part in parts for note in part]
                return [joined[i] for i in order.tolist()]
            return np.concatenate(parts)[order]

        return ItemColumns(
            chunks[0].refs,
            tickets[order],
            column("met"),
            value_us=column("value_us"),
            overrun_us=column("overrun_us"),
            notes=column("notes"),
            days_late=column("days_late"),
        )

    def ordered_excluded(self, rank: _I64) -> list[Exclusion]:
        if not self.excluded:
            return []
        at = np.concatenate([chunk[0] for chunk in self.excluded])
        tickets = np.concatenate([chunk[1] for chunk in self.excluded])
        objects = [obj for chunk in self.excluded for obj in chunk[2]]
        return [objects[i] for i in np.lexsort((rank[tickets], at)).tolist()]


def measure(
    document: ContractDocument,
    period: str,
    *,
    tickets: Mapping[str, TicketInfo],
    logs: clocks.TicketLogs,
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
    logs: clocks.TicketLogs,
    calendars: dict[str, Calendar],
) -> dict[str, LevelResult]:
    """The ticket levels, over the columns of ``logs``: each service's tickets at once, per
    clock group (:func:`~infogerance.helpdesk.clocks.clock_figures`); Python objects only for
    the items and exclusions that the results list."""
    if not levels:
        return {}
    accumulators = {level.id: _Acc() for level in levels}
    fcr_levels = [level for level in levels if level.metric == Metric.FIRST_CONTACT_RESOLUTION]
    refs = logs.refs
    by_service, causes = _services_and_causes(tickets, refs)
    # Items are listed by (instant, ref): the rank of each ref in string order.
    rank = np.empty(len(refs), dtype=np.int64)
    rank[sorted(range(len(refs)), key=refs.__getitem__)] = np.arange(len(refs))
    for service, members in by_service.items():
        selected = np.array(members, dtype=np.int64)
        service_logs = logs.select(selected)
        for group in clock_groups(document, service, calendars):
            due = [level for level in group.levels if level.id in accumulators]
            if not due:
                continue  # none of its levels is measured this month
            start, end = (_micros(b) for b in bounds[due[0].id])
            as_of = min(end, _micros(now))
            _measure_clock(
                group, service_logs, selected, (start, end, as_of), refs, causes, accumulators
            )
        for level in fcr_levels:
            if service in level.services:
                accumulators[level.id].items.append(
                    _first_contact(bounds[level.id], now, service_logs, selected, refs)
                )

    results: dict[str, LevelResult] = {}
    for level in levels:
        acc = accumulators[level.id]
        items = acc.ordered_items(rank)
        excluded = acc.ordered_excluded(rank)
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


def _services_and_causes(
    tickets: Mapping[str, TicketInfo], refs: tuple[str, ...]
) -> tuple[dict[str, Any], list[str | None]]:
    """The indices into ``refs`` of each service's tickets (services in order of first
    ticket), and each ticket's cause (``None``: not in ``tickets``). From the columns of an
    events file's tickets when they are those of ``refs``, without an object per ticket."""
    columns = tickets.columns() if isinstance(tickets, TicketTable) else None
    if columns is not None and columns[0] == refs:
        _refs, services, _kinds, causes = columns
        first: dict[str, int] = {}  # service -> its code: the index of its first ticket
        codes = np.fromiter(map(first.setdefault, services, count()), np.int64, len(services))
        members = {service: np.flatnonzero(codes == code) for service, code in first.items()}
        return members, list(causes)
    by_service: dict[str, list[int]] = {}
    causes_of: list[str | None] = [None] * len(refs)
    for i, ref in enumerate(refs):
        info = tickets.get(ref)
        if info is not None:
            by_service.setdefault(info.service, []).append(i)
            causes_of[i] = info.cause
    return by_service, causes_of


def _measure_clock(
    group: ClockGroup,
    logs: clocks.TicketLogs,
    tickets: _I64,
    period: tuple[int, int, int],
    refs: tuple[str, ...],
    causes: list[str | None],
    accumulators: dict[str, _Acc],
) -> None:
    """One clock of one service's tickets (``tickets``: their indices in the whole logs;
    ``period``: start, end and as-of instant)."""
    start, end, as_of = period
    figures = clocks.clock_figures(group.spec, logs, as_of)
    levels = [group.by_priority.get(name or "") for name in logs.priority_names]
    level_of = np.array(
        [
            n if level is not None and level.id in accumulators else -1
            for n, level in enumerate(levels)
        ],
        dtype=np.int64,
    )[figures.priority]
    level_of[~figures.targeted] = -1
    # Left out whatever the clock says as of the period's end: tickets opened after the
    # period, and tickets whose last event is before it and left them at the clock's stop
    # (which reads all of their events, also those after an earlier as-of instant).
    opened, closed = logs.offsets[:-1], logs.offsets[1:] - 1
    if logs.times.size:
        top = logs.times.size - 1
        first = logs.times[np.minimum(opened, top)]
        last = logs.times[np.clip(closed, 0, top)]
        stop = clocks.MILESTONES.index(group.spec.stop) + 1
        settled = logs.levels[np.clip(closed, 0, top)] >= stop
        level_of[(closed < opened) | (first >= end) | ((last < start) & settled)] = -1
    breached = figures.state == _BREACHED
    stopped = figures.stopped
    for code, level in enumerate(levels):
        if level is None or level.id not in accumulators:
            continue
        acc = accumulators[level.id]
        mine = level_of == code
        late = np.flatnonzero(mine & ~figures.is_stopped & breached)
        if late.size:
            acc.excluded.append(
                (
                    np.full(late.size, end, dtype=np.int64),
                    tickets[late],
                    [Exclusion(refs[t], "open:late") for t in tickets[late].tolist()],
                )
            )
        measured = np.flatnonzero(mine & figures.is_stopped & (stopped >= start) & (stopped < end))
        excluded_causes = {str(c) for c in level.exclusions.causes}
        if excluded_causes and measured.size:
            out = np.array(
                [causes[t] in excluded_causes for t in tickets[measured].tolist()], dtype=bool
            )
            gone = measured[out]
            acc.excluded.append(
                (
                    stopped[gone],
                    tickets[gone],
                    [Exclusion(refs[t], f"cause:{causes[t]}") for t in tickets[gone].tolist()],
                )
            )
            measured = measured[~out]
        if not measured.size:
            continue
        elapsed = figures.elapsed[measured]
        overrun = np.maximum(0, elapsed - figures.target[measured])
        late_us = stopped[measured] - figures.breached[measured]
        days = np.where(figures.is_breached[measured] & (late_us > 0), -(-late_us // _DAY_US), 0)
        acc.items.append(
            (
                stopped[measured],
                ItemColumns(
                    refs,
                    tickets[measured],
                    figures.state[measured] == _MET,
                    value_us=elapsed,
                    overrun_us=overrun,
                    days_late=days,
                ),
            )
        )


def _first_contact(
    bounds: tuple[datetime, datetime],
    now: datetime,
    logs: clocks.TicketLogs,
    tickets: _I64,
    refs: tuple[str, ...],
) -> tuple[_I64, ItemColumns]:
    """First-contact resolution of one service's tickets, over the columns of their logs:
    the instants and items of those resolved in the period."""
    start, end = _micros(bounds[0]), min(_micros(bounds[1]), _micros(now))
    offsets, n = logs.offsets, len(logs)
    counts = offsets[1:] - offsets[:-1]
    m = int(offsets[-1])
    rows = np.arange(m, dtype=np.int64)
    ticket = np.repeat(np.arange(n, dtype=np.int64), counts)
    upto = logs.times < end
    count = clocks.per_ticket(np.add, upto.astype(np.int64), offsets, 0)
    last = offsets[:-1] + count - 1
    resolved_level = logs.levels >= _RESOLVED_RANK
    candidates = (count > 0) & resolved_level[np.maximum(last, 0)]
    # The event that resolved it for the last time, as of the end of the period.
    below = clocks.per_ticket(np.maximum, np.where(upto & ~resolved_level, rows, -1), offsets, -1)
    resolved = np.maximum(below + 1, offsets[:-1])
    at = logs.times[np.minimum(resolved, max(m - 1, 0))] if m else np.zeros(n, np.int64)
    chosen = candidates & (at >= start) & (at < end)
    assignments = clocks.per_ticket(np.add, (logs.assigns & upto).astype(np.int64), offsets, 0)
    waiting = np.array([name in _WAITING for name in logs.status_names], dtype=bool)
    waited = clocks.per_ticket(np.maximum, waiting[logs.statuses] & upto, offsets, False)
    fell = np.zeros(m, dtype=bool)
    fell[1:] = resolved_level[:-1] & ~resolved_level[1:] & (ticket[1:] == ticket[:-1])
    reopen = (logs.kinds == clocks.KIND_NAMES.index("reopened")) | fell
    reopened = clocks.per_ticket(np.maximum, reopen & upto, offsets, False)
    picked = np.flatnonzero(chosen)
    reassigned = assignments[picked] > 1
    notes = [
        ", ".join(
            note for note, flag in (("reassigned", r), ("waited", w), ("reopened", o)) if flag
        )
        for r, w, o in zip(
            reassigned.tolist(), waited[picked].tolist(), reopened[picked].tolist(), strict=True
        )
    ]
    met = ~reassigned & ~waited[picked] & ~reopened[picked]
    return at[picked], ItemColumns(refs, tickets[picked], met, notes=notes)


# --------------------------------------------------------------------------------------------
# JSON


def _number(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = str(value)  # the same as format(value, "f") without an exponent, and 3x faster
    return format(value, "f") if "E" in text else text


def result_to_json(result: LevelResult, *, items_text: ItemsText | None = None) -> dict[str, Any]:
    """A stable JSON-ready rendering (numbers as decimal strings, to keep them exact).

    With ``items_text``, items held as columns come as one ``orjson.Fragment`` of ready text
    (see :class:`ItemsText`)."""
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
        "items": _items_json(result.items, items_text),
        "excluded": [{"ref": e.ref, "reason": e.reason} for e in result.excluded],
    }


def _items_json(items: Sequence[Item], items_text: ItemsText | None) -> Any:
    if isinstance(items, ItemColumns):
        if items_text is not None:
            return orjson.Fragment(items_text.text(items))
        return _column_items(items)
    number = _number  # and the shared zero of most items' overrun, without a call
    return [
        {
            "ref": ref,
            "value": number(value),
            "met": met,
            "overrun_seconds": "0" if overrun is _ZERO else number(overrun),
            "days_late": days_late,
            "note": note,
        }
        for ref, value, met, overrun, note, days_late in items
    ]


class _Fractions(dict[int, str]):
    """The text after the units of a number of microseconds in seconds, by its last six
    digits: ``500000`` → ``.5``, ``0`` → nothing."""

    def __missing__(self, fraction: int) -> str:
        text = f".{fraction:06d}".rstrip("0") if fraction else ""
        self[fraction] = text
        return text


def _seconds_texts(us: _I64 | None, n: int) -> list[Any]:
    """:func:`~infogerance.sla.results.seconds_text` of each value (``None`` for none)."""
    if us is None:
        return [None] * n
    return list(map("%s%s".__mod__, zip(*_seconds_parts(us), strict=True)))


def _column_items(items: ItemColumns) -> list[dict[str, Any]]:
    n, refs = len(items), items.refs
    overruns = _seconds_texts(items.overrun_us, n) if items.overrun_us is not None else ["0"] * n
    return [
        {
            "ref": refs[t],
            "value": value,
            "met": met,
            "overrun_seconds": overrun,
            "days_late": days,
            "note": note,
        }
        for t, value, met, overrun, days, note in zip(
            items.tickets.tolist(),
            _seconds_texts(items.value_us, n),
            items.met.tolist(),
            overruns,
            [0] * n if items.days_late is None else items.days_late.tolist(),
            [""] * n if items.notes is None else items.notes,
            strict=True,
        )
    ]


def _json_strings(texts: Sequence[str]) -> list[str]:
    """Each text as a JSON string, as orjson writes it."""
    if not texts:
        return []
    # Between two strings of orjson's list, '","' is always a separator: a quote inside a
    # string is escaped.
    parts = orjson.dumps(list(texts)).decode()[2:-2].split('","')
    if len(parts) != len(texts):  # cannot happen; never trust it silently
        return [orjson.dumps(text).decode() for text in texts]
    return [f'"{part}"' for part in parts]


class ItemsText:
    """Items held as columns written as JSON text, byte for byte as ``orjson.dumps(...,
    option=orjson.OPT_INDENT_2)`` writes their list at ``depth`` levels of nesting: several
    times faster than a dict per item for the millions of a month's tickets. One instance per
    document: it keeps the refs it has written as JSON strings."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self._refs: tuple[Sequence[str], list[str]] | None = None

    def _encoded_refs(self, refs: Sequence[str]) -> list[str]:
        if self._refs is None or self._refs[0] is not refs:
            self._refs = (refs, _json_strings(refs))
        return self._refs[1]

    def text(self, items: ItemColumns) -> bytes:
        n = len(items)
        if not n:
            return b"[]"
        outer, inner = "  " * self.depth, "  " * (self.depth + 1)
        refs = self._encoded_refs(items.refs)
        # One %-template per kind of column: constants where a column is absent.
        template = [f'{outer}{{\n{inner}"ref": %s,\n{inner}"value": ']
        args: list[Iterable[Any]] = [map(refs.__getitem__, items.tickets.tolist())]
        if items.value_us is None:
            template.append("null")
        else:
            template.append('"%s%s"')
            args += _seconds_parts(items.value_us)
        template.append(f',\n{inner}"met": %s,\n{inner}"overrun_seconds": ')
        args.append(map(("false", "true").__getitem__, items.met.tolist()))
        if items.overrun_us is None:
            template.append('"0"')
        else:
            template.append('"%s%s"')
            args += _seconds_parts(items.overrun_us)
        template.append(f',\n{inner}"days_late": ')
        if items.days_late is None:
            template.append("0")
        else:
            template.append("%d")
            args.append(items.days_late.tolist())
        template.append(f',\n{inner}"note": ')
        if items.notes is None:
            template.append('""')
        else:
            distinct = sorted(set(items.notes))
            encoded = dict(zip(distinct, _json_strings(distinct), strict=True))
            template.append("%s")
            args.append(map(encoded.__getitem__, items.notes))
        template.append(f"\n{outer}}}")
        body = ",\n".join(map("".join(template).__mod__, zip(*args, strict=True)))
        return f"[\n{body}\n{'  ' * (self.depth - 1)}]".encode()


def _seconds_parts(us: _I64) -> list[Iterable[Any]]:
    """The whole seconds and the rest (``.5``, or nothing) of the texts of
    :func:`~infogerance.sla.results.seconds_text`."""
    if us.size and int(us.min()) < 0:
        return [map(seconds_text, us.tolist()), [""] * us.size]
    whole, fraction = np.divmod(us, 1_000_000)
    return [whole.tolist(), map(_Fractions().__getitem__, fraction.tolist())]
