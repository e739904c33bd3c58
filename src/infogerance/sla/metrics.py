"""Service levels measured from operational records (everything but the ticket clocks).

Plain Python, no Django. Each function measures one service level (a
:class:`~infogerance.contracts.format.ServiceLevel`) over one period ``[start, end)`` from the
records of :mod:`infogerance.sla.records` and returns a
:class:`~infogerance.sla.results.LevelResult`; :func:`measure_level` routes on the level's
metric. GTI, GTR, resolution and first-contact resolution are ticket measures, made elsewhere.

Common rules
------------
* Instants are aware datetimes in any zone, compared and subtracted as instants (in UTC, so
  real elapsed time is right across DST changes). Business time always comes from the one
  calendar engine (:class:`~infogerance.calendars.Calendar`).
* A record belongs to the level when its ``service`` is one of ``level.services``. Records
  of other services and records outside the period are ignored, not listed. Records left out
  for a reason (an excluded cause, a maintenance without notice, a request not late yet, bad
  data…) are listed in ``excluded`` with a stable reason code.
* A record given twice (two equal records) counts once. Two *different* records with the
  same service and id are contradictory facts: :class:`ValueError`, never a silent choice.
* Percentages are exact integer ratios rounded half-even to ``0.0001``; durations are seconds
  as a ``Decimal`` with microsecond precision (``Decimal(us) / 1_000_000``).
* ``met`` is judged on the **exact** figures, never on the rounded value: a level missed by
  one microsecond is missed, even when its rounded percentage shows the target.
* Item levels: ``sample`` items, ``within`` of them met, ``overrun`` the sum of the items'
  overruns. A level with nothing to measure has ``value`` and ``met`` ``None``.

A function given a level of another metric raises :class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from infogerance.calendars import Calendar
from infogerance.helpdesk.clocks import target_duration
from infogerance.sla.records import (
    BackupRun,
    Evolution,
    Maintenance,
    Outage,
    PatchRecord,
    RestoreTest,
    Satisfaction,
)
from infogerance.sla.results import Exclusion, Item, ItemColumns, LevelResult

if TYPE_CHECKING:
    from infogerance.contracts.format import ServiceLevel

__all__ = [
    "SATISFIED_SCORE",
    "OtherData",
    "availability",
    "backup_success",
    "measure_level",
    "on_time_delivery",
    "patch_latency",
    "quote_delay",
    "rate_result",
    "restore_test",
    "rpo",
    "rto_test",
    "satisfaction",
]

#: A satisfaction answer at or above this score is "satisfied" (scores run from 1 to 5).
SATISFIED_SCORE = 4
_SCORES = range(1, 6)

_US = timedelta(microseconds=1)
_MILLION = Decimal(1_000_000)
_HOUR_US = 3_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Metrics measured from tickets, by the help desk clocks, not here.
_TICKET_METRICS = frozenset({"gti", "gtr", "resolution", "first_contact_resolution"})

Span = tuple[int, int]  # [start, end) in epoch microseconds
# Items are tuples: their fields by index, for sums over millions of them.
_MET = itemgetter(Item._fields.index("met"))
_OVERRUN = itemgetter(Item._fields.index("overrun"))


# --------------------------------------------------------------------------------------------
# Arithmetic


def _instant(value: object, what: str) -> int:
    """Epoch microseconds of an aware datetime."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {value!r}")
    return (value.astimezone(UTC) - _EPOCH) // _US


def _iso(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).isoformat()


def _seconds(us: int) -> Decimal:
    return Decimal(us) / _MILLION


def _round_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half to even (``denominator > 0``)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def _percent(part: int, whole: int) -> Decimal:
    """``part / whole`` in percent, exact then rounded half-even to 0.0001."""
    return Decimal(_round_div(part * 1_000_000, whole)).scaleb(-4)


def _reaches(part: int, whole: int, threshold: Decimal) -> bool:
    """Whether ``part / whole`` in percent is at least ``threshold``, exactly."""
    p, q = threshold.as_integer_ratio()
    return part * 100 * q >= p * whole


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _intersect(xs: Sequence[Span], ys: Sequence[Span]) -> list[Span]:
    """Intersection of two sorted lists of disjoint spans."""
    out: list[Span] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        s, e = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if s < e:
            out.append((s, e))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(xs: Sequence[Span], ys: Sequence[Span]) -> list[Span]:
    """``xs`` minus ``ys`` (both sorted lists of disjoint spans)."""
    out: list[Span] = []
    j = 0
    for s, e in xs:
        cursor = s
        while j < len(ys) and ys[j][1] <= cursor:
            j += 1
        k = j
        while k < len(ys) and ys[k][0] < e:
            if ys[k][0] > cursor:
                out.append((cursor, ys[k][0]))
            cursor = max(cursor, ys[k][1])
            k += 1
        if cursor < e:
            out.append((cursor, e))
    return out


def _length(spans: Iterable[Span]) -> int:
    return sum(e - s for s, e in spans)


# --------------------------------------------------------------------------------------------
# Levels and records


class _Identified(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def service(self) -> str: ...


R = TypeVar("R", bound=_Identified)


def _check_metric(level: ServiceLevel, *expected: str) -> None:
    metric = str(level.metric)
    if metric not in expected:
        raise ValueError(
            f"service level {level.id!r} measures {metric!r}, not {' or '.join(expected)}"
        )


def _period(start: datetime, end: datetime) -> Span:
    a, b = _instant(start, "start"), _instant(end, "end")
    if b < a:
        raise ValueError(f"period end {end.isoformat()} is before its start {start.isoformat()}")
    return a, b


def _of_level(records: Iterable[R], level: ServiceLevel, kind: str) -> list[R]:
    """The level's records, each once (equal copies collapse; different ones clash)."""
    services = set(level.services)
    seen: dict[tuple[str, str], R] = {}
    for record in records:
        if record.service not in services:
            continue
        key = (record.service, record.id)
        prior = seen.get(key)
        if prior is None:
            seen[key] = record
        elif prior != record:
            raise ValueError(
                f"two different {kind} records share id {record.id!r} "
                f"for service {record.service!r}"
            )
    return list(seen.values())


def _target_us(level: ServiceLevel, calendar: Calendar) -> int:
    return target_duration(level.target.value, str(level.target.unit), calendar) // _US


def _result(
    level: ServiceLevel,
    *,
    value: Decimal | None,
    met: bool | None,
    sample: int,
    within: int,
    items: Iterable[Item] = (),
    excluded: Iterable[Exclusion] = (),
    overrun: Decimal | None = None,
    target_us: int | None = None,
    details: dict[str, Any] | None = None,
) -> LevelResult:
    if isinstance(items, ItemColumns):
        total = items.overrun()
    else:
        items = tuple(items)
        total = sum(map(_OVERRUN, items), Decimal(0))
    return LevelResult(
        level_id=level.id,
        name=level.name or level.id,
        metric=str(level.metric),
        services=tuple(level.services),
        priority=level.priority,
        target=level.target.value,
        unit=str(level.target.unit),
        target_seconds=None if target_us is None else _seconds(target_us),
        compliance=level.compliance,
        value=value,
        met=met,
        sample=sample,
        within=within,
        items=items,
        excluded=tuple(excluded),
        overrun=total if overrun is None else overrun,
        details=details or {},
    )


def rate_result(
    level: ServiceLevel, items: Sequence[Item], threshold: Decimal, **extra: Any
) -> LevelResult:
    """A level judged by the share of its items that met: ``value`` in percent."""
    sample = len(items)
    within = items.within() if isinstance(items, ItemColumns) else sum(map(_MET, items))
    if not sample:
        return _result(level, value=None, met=None, sample=0, within=0, **extra)
    return _result(
        level,
        value=_percent(within, sample),
        met=_reaches(within, sample, threshold),
        sample=sample,
        within=within,
        items=items,
        **extra,
    )


def _durations(level: ServiceLevel, items: list[Item], **extra: Any) -> LevelResult:
    """A duration level: with ``compliance``, the % of items within target against it;
    without, the worst item's seconds, met iff every item is within target."""
    if level.compliance is not None:
        return rate_result(level, items, level.compliance, **extra)
    sample, within = len(items), sum(i.met for i in items)
    if not sample:
        return _result(level, value=None, met=None, sample=0, within=0, **extra)
    worst = max(i.value for i in items if i.value is not None)
    return _result(
        level, value=worst, met=within == sample, sample=sample, within=within, items=items, **extra
    )


_DAY_US = 86_400 * 1_000_000


def _days_late(late_us: int) -> int:
    """Started calendar days in ``late_us`` microseconds of real time (0 when not late)."""
    return -(-late_us // _DAY_US) if late_us > 0 else 0


def _timed_item(
    ref: str, elapsed: int, target: int, note: str = "", *, late_us: int | None = None
) -> Item:
    """An item measured against a duration target; ``late_us``, for the metrics whose delays
    are penalised by the day: real time from the instant the target was reached to the item's
    end (``days_late`` stays 0 without it)."""
    overrun = max(0, elapsed - target)
    days = 0 if late_us is None else _days_late(late_us)
    return Item(ref, _seconds(elapsed), elapsed <= target, _seconds(overrun), note, days)


# --------------------------------------------------------------------------------------------
# Availability


def _maintenance_refusal(maintenance: Maintenance, notice_hours: int | None) -> str:
    """Why a maintenance is not approved maintenance (``""`` when it is)."""
    if not maintenance.approved:
        return "maintenance:not_approved"
    if notice_hours is None:
        return ""
    if maintenance.notified_at is None:
        return "maintenance:not_notified"
    notice = _instant(maintenance.start, "maintenance start") - _instant(
        maintenance.notified_at, "maintenance notified_at"
    )
    return "maintenance:late_notice" if notice < notice_hours * _HOUR_US else ""


def availability(
    level: ServiceLevel,
    calendar: Calendar,
    start: datetime,
    end: datetime,
    outages: Iterable[Outage],
    maintenances: Iterable[Maintenance],
) -> LevelResult:
    """Availability ``A = (T − M − D) / (T − M)`` in percent over ``[start, end)``.

    * ``T``: business time of the period on ``calendar`` (the level's service window).
    * ``M``: approved maintenance inside the windows and the period. A maintenance counts
      only if ``approved`` and, when the level asks for ``maintenance_notice_hours``, it was
      notified at least that long before its start. Otherwise it is listed in ``excluded``
      (``maintenance:not_approved``, ``maintenance:not_notified``,
      ``maintenance:late_notice``) and its time is ordinary time: neither M nor downtime
      (only an outage makes downtime).
    * ``D``: the union of the counted outages inside the windows and the period, outside M
      (an outage during maintenance counts only for its part outside it). Outages whose cause
      the level excludes are listed as ``cause:<cause>``; outages with no business time left
      as ``outside_service_hours`` or ``during_maintenance``. The level is one whole: a
      maintenance of any of its services is maintenance for all of them.

    Records whose end is not after their start are listed as ``invalid:interval``.

    ``value`` is computed from integer microseconds and rounded half-even to 0.0001 %; ``met``
    is exact: ``D <= allowed_downtime = (1 − target/100) × (T − M)``. The period is the unit:
    ``sample = 1``, ``within = 1`` when met, so ``breaches`` is 0 or 1. ``T − M = 0`` is no
    data (``value`` and ``met`` ``None``, ``sample = 0``).

    One item per counted outage (met ``False``), its value the downtime seconds it adds to
    ``D``: time shared by overlapping outages is counted once, for the earliest outage (by
    start, then id), so the items add up to ``D``; the note names the overlaps. ``overrun`` is
    ``max(0, D − allowed_downtime)`` rounded up to the microsecond; ``details`` holds ``T``,
    ``M``, ``D`` and ``allowed_downtime`` in seconds.
    """
    _check_metric(level, "availability")
    a, b = _period(start, end)
    total = calendar.business_duration(start, end) // _US
    windows = [
        (_instant(s, "window start"), _instant(e, "window end"))
        for s, e in calendar.intervals(start, end)
    ]
    excluded: list[Exclusion] = []

    approved: list[Span] = []
    notice_hours = level.exclusions.maintenance_notice_hours
    for m in sorted(
        _of_level(maintenances, level, "maintenance"),
        key=lambda m: (_instant(m.start, "maintenance start"), m.id),
    ):
        ms, me = _instant(m.start, "maintenance start"), _instant(m.end, "maintenance end")
        if me <= ms:
            if a <= ms < b:
                excluded.append(Exclusion(m.id, "invalid:interval"))
            continue
        if not (ms < b and me > a):
            continue
        reason = _maintenance_refusal(m, notice_hours)
        if reason:
            excluded.append(Exclusion(m.id, reason))
        else:
            approved.append((max(ms, a), min(me, b)))
    maintenance = _intersect(windows, _union(approved))
    maintained = _length(maintenance)

    causes = {str(c) for c in level.exclusions.causes}
    counted: list[Span] = []
    owned: list[tuple[str, list[Span]]] = []
    items: list[Item] = []
    for o in sorted(
        _of_level(outages, level, "outage"),
        key=lambda o: (_instant(o.start, "outage start"), o.id),
    ):
        os_, oe = _instant(o.start, "outage start"), _instant(o.end, "outage end")
        if oe <= os_:
            if a <= os_ < b:
                excluded.append(Exclusion(o.id, "invalid:interval"))
            continue
        if not (os_ < b and oe > a):
            continue
        if o.cause in causes:
            excluded.append(Exclusion(o.id, f"cause:{o.cause}"))
            continue
        business = _intersect(windows, [(max(os_, a), min(oe, b))])
        if not business:
            excluded.append(Exclusion(o.id, "outside_service_hours"))
            continue
        own = _subtract(business, maintenance)
        if not own:
            excluded.append(Exclusion(o.id, "during_maintenance"))
            continue
        notes = []
        if _length(own) < _length(business):
            notes.append("partly during maintenance")
        overlaps = [ref for ref, spans in owned if _intersect(spans, own)]
        if overlaps:
            notes.append(f"overlaps {', '.join(overlaps)}: shared time counted once")
        added = _length(_subtract(own, counted))
        items.append(Item(o.id, _seconds(added), False, note="; ".join(notes)))
        owned.append((o.id, own))
        counted = _union([*counted, *own])
    down = _length(counted)

    base = total - maintained
    p, q = level.target.value.as_integer_ratio()
    # allowed = (1 − target/100) × (T − M) = (100q − p)(T − M) / 100q, in microseconds
    allowed_num, allowed_den = (100 * q - p) * base, 100 * q
    details: dict[str, Any] = {
        "T": _seconds(total),
        "M": _seconds(maintained),
        "D": _seconds(down),
        "allowed_downtime": _seconds(_round_div(max(allowed_num, 0), allowed_den)),
    }
    if base <= 0:
        return _result(
            level, value=None, met=None, sample=0, within=0, excluded=excluded, details=details
        )
    excess = down * allowed_den - allowed_num
    met = excess <= 0
    return _result(
        level,
        value=_percent(base - down, base),
        met=met,
        sample=1,
        within=int(met),
        items=items,
        excluded=excluded,
        overrun=_seconds(-(-excess // allowed_den)) if excess > 0 else Decimal(0),
        details=details,
    )


# --------------------------------------------------------------------------------------------
# Backups and continuity


def backup_success(
    level: ServiceLevel, start: datetime, end: datetime, runs: Iterable[BackupRun]
) -> LevelResult:
    """Backup success rate: successful / scheduled runs with ``scheduled_at`` in the period,
    in percent (``failed`` and ``missed`` runs are failures); met iff ``value >= target``.

    One item per run (met when ``success``; the note is the status). A run with an unknown
    status is listed as ``invalid:status``. No run: no data.
    """
    _check_metric(level, "backup_success")
    a, b = _period(start, end)
    items: list[Item] = []
    excluded: list[Exclusion] = []
    for run in sorted(
        _of_level(runs, level, "backup run"),
        key=lambda r: (_instant(r.scheduled_at, "scheduled_at"), r.id),
    ):
        if not a <= _instant(run.scheduled_at, "scheduled_at") < b:
            continue
        if run.status not in ("success", "failed", "missed"):
            excluded.append(Exclusion(run.id, "invalid:status"))
            continue
        items.append(Item(run.id, None, run.status == "success", note=run.status))
    return rate_result(level, items, level.target.value, excluded=excluded)


def rpo(
    level: ServiceLevel,
    calendar: Calendar,
    start: datetime,
    end: datetime,
    runs: Iterable[BackupRun],
) -> LevelResult:
    """Achieved RPO per scope: the largest gap between consecutive restorable points.

    A scope (a service's ``scope``) is measured when it has a run scheduled in the period.
    Its points are the ``point`` (default ``scheduled_at``) of its successful runs scheduled
    before ``end`` with a point before ``end``. The gaps run from the last point before the
    period (or ``start`` itself when there is none: nothing older is known to be
    restorable), through every point in the period, to ``end`` (the age of the newest data
    if an incident struck at the period's end). So a scope without any success has the gap
    ``end − start``. Gaps are real elapsed time (data age), whatever the unit; the target is
    ``target_duration(value, unit, calendar)`` (plain time for minutes, hours and days; for
    business days, N typical open days of the calendar).

    One item per scope, ref ``service/scope``: its worst gap in seconds (the note gives its
    bounds, in UTC), met iff ``gap <= target``, overrun ``gap − target``. ``value``: the
    worst gap in seconds, met iff every scope met; with ``compliance``, the % of scopes met,
    met iff at least ``compliance``.
    """
    _check_metric(level, "rpo")
    a, b = _period(start, end)
    target = _target_us(level, calendar)
    measured: set[tuple[str, str]] = set()
    points: dict[tuple[str, str], set[int]] = {}
    for run in _of_level(runs, level, "backup run"):
        key = (run.service, run.scope)
        scheduled = _instant(run.scheduled_at, "scheduled_at")
        if scheduled >= b:
            continue
        if scheduled >= a:
            measured.add(key)
        if run.status == "success":
            point = scheduled if run.point is None else _instant(run.point, "point")
            if point < b:
                points.setdefault(key, set()).add(point)
    items: list[Item] = []
    for key in sorted(measured):
        ordered = sorted(points.get(key, ()))
        before = [p for p in ordered if p < a]
        chain = [before[-1] if before else a, *(p for p in ordered if p >= a), b]
        gap, since, until = max(
            ((y - x, x, y) for x, y in pairwise(chain)),
            key=lambda g: g[0],
        )
        note = f"{_iso(since)} → {_iso(until)}"
        items.append(_timed_item(f"{key[0]}/{key[1]}", gap, target, note))
    return _durations(level, items, target_us=target)


def restore_test(
    level: ServiceLevel, start: datetime, end: datetime, tests: Iterable[RestoreTest]
) -> LevelResult:
    """Restore-test pass rate: passed / restore tests ``at`` in the period, in percent; met
    iff ``value >= target``. One item per test (met when passed). No test: no data."""
    _check_metric(level, "restore_test")
    a, b = _period(start, end)
    items = [
        Item(t.id, None, t.passed)
        for t in sorted(
            _of_level(tests, level, "restore test"), key=lambda t: (_instant(t.at, "at"), t.id)
        )
        if a <= _instant(t.at, "at") < b
    ]
    return rate_result(level, items, level.target.value)


def rto_test(
    level: ServiceLevel,
    calendar: Calendar,
    start: datetime,
    end: datetime,
    tests: Iterable[RestoreTest],
) -> LevelResult:
    """Measured RTO of the restore tests ``at`` in the period: ``restored_at − declared_at``
    in real time, against ``target_duration(value, unit, calendar)``.

    One item per test (seconds, met iff within target, overrun beyond it). Tests missing
    either instant are listed as ``missing:rto``, those restored before being declared as
    ``invalid:rto``. ``value``: with ``compliance``, the % of tests within target, met iff at
    least ``compliance``; without, the worst RTO in seconds, met iff every test is within.
    """
    _check_metric(level, "rto_test")
    a, b = _period(start, end)
    target = _target_us(level, calendar)
    items: list[Item] = []
    excluded: list[Exclusion] = []
    for t in sorted(
        _of_level(tests, level, "restore test"), key=lambda t: (_instant(t.at, "at"), t.id)
    ):
        if not a <= _instant(t.at, "at") < b:
            continue
        if t.declared_at is None or t.restored_at is None:
            excluded.append(Exclusion(t.id, "missing:rto"))
            continue
        measured = _instant(t.restored_at, "restored_at") - _instant(t.declared_at, "declared_at")
        if measured < 0:
            excluded.append(Exclusion(t.id, "invalid:rto"))
            continue
        items.append(_timed_item(t.id, measured, target))
    return _durations(level, items, excluded=excluded, target_us=target)


# --------------------------------------------------------------------------------------------
# Satisfaction


def satisfaction(
    level: ServiceLevel, start: datetime, end: datetime, answers: Iterable[Satisfaction]
) -> LevelResult:
    """Satisfaction of the answers ``at`` in the period (scores 1 to 5).

    * unit ``score``: ``value`` is the mean score rounded half-even to 0.01, met iff the
      exact mean is at least the target; an answer is met when its score reaches the target.
    * unit ``percent``: ``value`` is the % of satisfied answers (score >= 4), met iff at
      least the target; an answer is met when satisfied.

    One item per answer (ref: the ticket; value: the score). Scores outside 1–5 are listed as
    ``invalid:score``. Equal answers count once. No answer: no data.
    """
    _check_metric(level, "satisfaction")
    a, b = _period(start, end)
    services = set(level.services)
    target = level.target.value
    by_score = str(level.target.unit) == "score"
    items: list[Item] = []
    excluded: list[Exclusion] = []
    scores: list[int] = []
    for answer in sorted(
        dict.fromkeys(x for x in answers if x.service in services),
        key=lambda x: (_instant(x.at, "at"), x.ticket, x.score),
    ):
        if not a <= _instant(answer.at, "at") < b:
            continue
        if isinstance(answer.score, bool) or answer.score not in _SCORES:
            excluded.append(Exclusion(answer.ticket, "invalid:score"))
            continue
        met = answer.score >= target if by_score else answer.score >= SATISFIED_SCORE
        items.append(Item(answer.ticket, Decimal(answer.score), met))
        scores.append(answer.score)
    if not by_score:
        return rate_result(level, items, target, excluded=excluded)
    if not items:
        return _result(level, value=None, met=None, sample=0, within=0, excluded=excluded)
    n, total = len(scores), sum(scores)
    p, q = target.as_integer_ratio()
    return _result(
        level,
        value=Decimal(_round_div(total * 100, n)).scaleb(-2),
        met=total * q >= p * n,
        sample=n,
        within=sum(i.met for i in items),
        items=items,
        excluded=excluded,
        details={"satisfied": sum(s >= SATISFIED_SCORE for s in scores)},
    )


# --------------------------------------------------------------------------------------------
# Delays: TMA quotes and deliveries, patches


def _delay_level(
    level: ServiceLevel,
    calendar: Calendar,
    start: datetime,
    end: datetime,
    records: list[R],
    began: Callable[[R], datetime],
    finished: Callable[[R], datetime | None],
    what: str,
) -> LevelResult:
    """Business time from ``began`` to ``finished`` against the target, for the records
    finished in the period (each record is measured once, when it finishes, with its whole
    delay); those still open at ``end`` are listed as ``open:late`` when already late, else
    ``pending``. ``value``: % within target; met iff at least ``compliance`` (100 without
    one)."""
    a, b = _period(start, end)
    target = _target_us(level, calendar)
    rows: list[tuple[int, str, Item | Exclusion]] = []
    for record in records:
        opened, closed = began(record), finished(record)
        first = _instant(opened, f"{what} start")
        last = None if closed is None else _instant(closed, f"{what} end")
        if closed is not None and last is not None and a <= last < b:
            if last < first:
                rows.append((last, record.id, Exclusion(record.id, f"invalid:{what}_before_start")))
                continue
            elapsed = calendar.business_duration(opened, closed) // _US
            late = 0
            if elapsed > target:  # days late: from the instant the target was reached
                reached = calendar.add_business_time(opened, target * _US)
                late = last - _instant(reached, "deadline")
            rows.append((last, record.id, _timed_item(record.id, elapsed, target, late_us=late)))
        elif first < b and (last is None or last >= b):
            elapsed = calendar.business_duration(opened, end) // _US
            reason = "open:late" if elapsed > target else "pending"
            rows.append((b, record.id, Exclusion(record.id, reason)))
    rows.sort(key=lambda r: (r[0], r[1]))
    items = [r[2] for r in rows if isinstance(r[2], Item)]
    excluded = [r[2] for r in rows if isinstance(r[2], Exclusion)]
    threshold = level.compliance if level.compliance is not None else Decimal(100)
    return rate_result(level, items, threshold, excluded=excluded, target_us=target)


def quote_delay(
    level: ServiceLevel,
    calendar: Calendar,
    start: datetime,
    end: datetime,
    evolutions: Iterable[Evolution],
) -> LevelResult:
    """Quote delay of evolution requests: business time on ``calendar`` from
    ``requested_at`` to ``quoted_at`` against ``target_duration(value, unit, calendar)``.

    Requests quoted in the period are measured, each once, with its whole delay. Requests
    still unquoted at ``end`` are listed as ``open:late`` when their business time so far
    already exceeds the target (they count in the period they are quoted), else ``pending``.
    A quote before its request is listed as ``invalid:quote_before_start``. ``value``: % of
    items within target, met iff at least ``compliance`` (100 without one).
    """
    _check_metric(level, "quote_delay")
    return _delay_level(
        level,
        calendar,
        start,
        end,
        _of_level(evolutions, level, "evolution"),
        lambda e: e.requested_at,
        lambda e: e.quoted_at,
        "quote",
    )


def patch_latency(
    level: ServiceLevel,
    calendar: Calendar,
    start: datetime,
    end: datetime,
    patches: Iterable[PatchRecord],
) -> LevelResult:
    """Patch latency: business time on ``calendar`` from ``released_at`` to ``applied_at``
    against ``target_duration(value, unit, calendar)`` (the calendar counts for every unit,
    as for ticket clocks).

    Patches applied in the period are measured, each once; unapplied ones are listed as
    ``open:late`` when already late at ``end`` (they count when applied), else ``pending``.
    Applied before release: ``invalid:patch_before_start``. ``value``: % within target, met
    iff at least ``compliance`` (100 without one).
    """
    _check_metric(level, "patch_latency")
    return _delay_level(
        level,
        calendar,
        start,
        end,
        _of_level(patches, level, "patch"),
        lambda p: p.released_at,
        lambda p: p.applied_at,
        "patch",
    )


def on_time_delivery(
    level: ServiceLevel, start: datetime, end: datetime, evolutions: Iterable[Evolution]
) -> LevelResult:
    """On-time delivery of evolutions, in percent; met iff ``value >= target``.

    Measured, each once with its whole delay: evolutions delivered in the period with a
    ``due_at`` (on time iff ``delivered_at <= due_at``; overrun ``delivered_at − due_at``,
    real time). Due in the period but undelivered at ``end``: listed as ``open:late`` (they
    count in the period they are delivered). Delivered in the period without ``due_at``:
    ``missing:due_at``. Item value: the overrun seconds.
    """
    _check_metric(level, "on_time_delivery")
    a, b = _period(start, end)
    rows: list[tuple[int, str, Item | Exclusion]] = []
    for e in _of_level(evolutions, level, "evolution"):
        due = None if e.due_at is None else _instant(e.due_at, "due_at")
        delivered = None if e.delivered_at is None else _instant(e.delivered_at, "delivered_at")
        if delivered is not None and a <= delivered < b:
            if due is None:
                rows.append((delivered, e.id, Exclusion(e.id, "missing:due_at")))
                continue
            late = max(0, delivered - due)
            item = Item(e.id, _seconds(late), not late, _seconds(late), "", _days_late(late))
            rows.append((delivered, e.id, item))
        elif due is not None and a <= due < b and (delivered is None or delivered >= b):
            rows.append((due, e.id, Exclusion(e.id, "open:late")))
    rows.sort(key=lambda r: (r[0], r[1]))
    items = [r[2] for r in rows if isinstance(r[2], Item)]
    excluded = [r[2] for r in rows if isinstance(r[2], Exclusion)]
    return rate_result(level, items, level.target.value, excluded=excluded)


# --------------------------------------------------------------------------------------------
# Dispatcher


@dataclass(frozen=True, slots=True)
class OtherData:
    """The records of every non-ticket measure, for :func:`measure_level`."""

    outages: tuple[Outage, ...] = ()
    maintenances: tuple[Maintenance, ...] = ()
    backup_runs: tuple[BackupRun, ...] = ()
    restore_tests: tuple[RestoreTest, ...] = ()
    satisfaction: tuple[Satisfaction, ...] = ()
    evolutions: tuple[Evolution, ...] = ()
    patches: tuple[PatchRecord, ...] = ()


def measure_level(
    level: ServiceLevel, calendar: Calendar, start: datetime, end: datetime, data: OtherData
) -> LevelResult:
    """Measure ``level`` over ``[start, end)`` with the function of its metric.

    Ticket metrics (GTI, GTR, resolution, first-contact resolution) are measured from
    tickets elsewhere: :class:`ValueError`.
    """
    metric = str(level.metric)
    if metric == "availability":
        return availability(level, calendar, start, end, data.outages, data.maintenances)
    if metric == "backup_success":
        return backup_success(level, start, end, data.backup_runs)
    if metric == "rpo":
        return rpo(level, calendar, start, end, data.backup_runs)
    if metric == "restore_test":
        return restore_test(level, start, end, data.restore_tests)
    if metric == "rto_test":
        return rto_test(level, calendar, start, end, data.restore_tests)
    if metric == "satisfaction":
        return satisfaction(level, start, end, data.satisfaction)
    if metric == "quote_delay":
        return quote_delay(level, calendar, start, end, data.evolutions)
    if metric == "on_time_delivery":
        return on_time_delivery(level, start, end, data.evolutions)
    if metric == "patch_latency":
        return patch_latency(level, calendar, start, end, data.patches)
    if metric in _TICKET_METRICS:
        raise ValueError(
            f"service level {level.id!r} measures {metric!r}, a ticket metric: "
            "it is measured from the help desk clocks, not here"
        )
    raise ValueError(f"service level {level.id!r} has an unknown metric {metric!r}")
