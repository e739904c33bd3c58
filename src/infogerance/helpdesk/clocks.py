"""The SLA clocks of a ticket (GTI, GTR, resolution), computed from its immutable event log.

Plain Python, no Django: give :func:`compute_clock` a :class:`ClockSpec` (one service level's
clock rule, its per-priority targets and its compiled calendar), the ticket's events and the
instant to judge at; it replays the log and returns a :class:`ClockResult` that explains itself
interval by interval (:func:`explain` turns it into JSON-ready rows). The same events always
give the same result, so a clock is recomputed rather than stored, and a deadline is derived
from the counted time only: a pause moves it by exactly the business time it paused, nothing
else.

The rules
---------
**Order.** Events are applied in ``(at, seq)`` order, ``at`` compared as an instant (never by
wall clock). Simultaneous events are therefore ordered by ``seq`` alone: the order of the list
passed in never matters (ties on ``(at, seq)`` as well, bad data, are broken by kind, status
and priority so that the result stays deterministic). Events after ``now`` are ignored: the
result is the clock *as it stood at* ``now``. An empty ``status``/``priority`` (``""``, what
the database stores) means "none".

**Milestones.** ``intervention_started`` < ``restored`` < ``resolved`` < ``closed``. The ticket
has a *milestone level*, the rank of the highest milestone reached; reaching a milestone
implies the earlier ones (resolved without a ``restored`` event is restored at resolution).
The level only goes up on status changes (``restored`` → ``intervention_started`` or
``waiting_client`` does not undo the restoration: the help desk keeps working on the final
fix). It goes down only on a **reopening**:

* a ``reopened`` event: the level becomes that of the status it carries (``0`` for a
  non-milestone or no status; a reopened event without status leaves the ticket in status
  ``"reopened"``). The help desk reopens into ``intervention_started``, so a stopped GTI stays
  stopped while GTR and resolution clocks resume;
* a status event that moves a ``resolved`` or ``closed`` ticket to a status ranked below
  ``resolved`` (a non-milestone, ``intervention_started`` or ``restored``): the level becomes
  that status's rank.

**Start.** ``start == "created"``: the ``created`` event. ``start == "assigned"``: the first
``assigned`` event, a status event to ``assigned``, or the first milestone (someone working on
a ticket has taken it). A milestone start: the level reaching it. The start is taken once;
status and priority changes before it are applied (a ticket created ``waiting_client`` starts
paused) but no time counts before it.

**Stop and resume.** The clock is stopped while the level is at least its ``stop`` milestone;
it resumes when a reopening brings the level below it, keeping its elapsed time, and
``stopped_at`` is then the next stop (``None`` while running). A stop reached before the start
(odd data) starts and stops the clock at the same instant: met, zero elapsed.

**Pauses.** While the status is one of ``pause_statuses`` nothing counts.

**Intervals.** ``intervals`` cover ``[started_at, stopped_at or now)`` without gap or overlap.
Time outside the calendar's windows is always ``outside_service_hours`` (whatever the ticket
was doing), so every other excluded interval is business time that the cause really cost:
``paused:<status>``, ``stopped:<status>`` (between a stop and a reopening), and
``before_restart``. Counted intervals have the reason ``counted``. Neighbours with the same
reason are merged. Hence: counted time == ``elapsed`` and business time within the list ==
``calendar.business_duration(started_at, end)``.

**Priority.** Only priorities that have a target in ``targets`` take part; a change to a
priority without target is ignored (the last applicable target is kept, and under
``restart`` it does not restart the clock; P1 → P9 → P1 is no change at all). Priority changes
count while the clock is started and not stopped (pauses included); a change made while the
clock is stopped takes effect when it resumes, at the reopening; a change after the final stop
does not reclassify the measurement. Rules:

* ``keep_elapsed``: the target of the last applicable priority applies to all elapsed time;
* ``restart``: counting starts again from zero at each change of applicable priority (earlier
  counted time becomes ``before_restart``; ``restarted_at`` is the last such change);
* ``strictest``: the smallest target of every applicable priority the clock had.

A clock whose priorities never had a target is ``not_applicable`` (elapsed and intervals are
still given, for the explanation page). If it later gets a targeted priority, the rule applies
as to any change (``keep_elapsed``/``strictest`` judge all elapsed time against it,
``restart`` counts from the change).

**State.** ``not_started`` (or ``not_applicable`` if the current priority is known and has no
target); ``not_applicable``; ``breached`` when elapsed > target (an SLA missed by one
microsecond is missed; exactly on target is met), whether the clock is running, paused or
stopped; else ``met`` when stopped, ``paused`` when the status is a pause status, ``running``.
``deadline`` is given only while counting can go on (running, or breached and not paused):
``add_business_time(now, remaining)`` if ``remaining > 0``, else the instant the target was
reached. ``breached_at`` is that instant, found over the counted intervals, when breached.

All datetimes of the result are in the calendar's time zone.

Many tickets at once
--------------------
A month's measurement judges millions of clocks. :class:`TicketLogs` holds the logs of many
tickets as numpy columns, and :func:`clock_figures` judges one clock of all of them at once,
with array operations instead of a replay per ticket: the same verdict as
:func:`compute_clock` (a property test holds them to it), without the explanation.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from infogerance.calendars import Calendar

__all__ = [
    "CLOCK_STATES",
    "EVENT_KINDS",
    "KIND_NAMES",
    "MILESTONES",
    "PRIORITY_RULES",
    "ClockFigures",
    "ClockInterval",
    "ClockResult",
    "ClockSpec",
    "TicketEvent",
    "TicketLog",
    "TicketLogs",
    "clock_figures",
    "compute_clock",
    "explain",
    "per_ticket",
    "target_duration",
    "typical_open_day",
    "vocabulary",
]

#: Ticket statuses that are milestones, in order: reaching one implies the earlier ones.
MILESTONES: Final = ("intervention_started", "restored", "resolved", "closed")
_RANK: Final = {name: rank for rank, name in enumerate(MILESTONES, start=1)}
_RESOLVED: Final = _RANK["resolved"]
EVENT_KINDS: Final = frozenset({"created", "status", "priority", "reopened", "comment", "assigned"})
START_EVENTS: Final = ("created", "assigned", *MILESTONES)
PRIORITY_RULES: Final = ("keep_elapsed", "restart", "strictest")
CLOCK_STATES: Final = ("not_applicable", "not_started", "running", "paused", "met", "breached")

COUNTED: Final = "counted"
OUTSIDE: Final = "outside_service_hours"
BEFORE_RESTART: Final = "before_restart"

_ZERO = timedelta(0)


def _utc(value: object, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One entry of a ticket's event log (see the module docstring for what each kind does).

    ``status``/``priority`` set the ticket's status/priority whatever the kind (a ``created``
    event carries both, a ``status`` event the status, a ``priority`` event the priority);
    ``""`` is read as ``None``.
    """

    at: datetime
    seq: int
    kind: str
    status: str | None = None
    priority: str | None = None

    def __post_init__(self) -> None:
        _utc(self.at, "event time")
        if self.kind not in EVENT_KINDS:
            known = ", ".join(sorted(EVENT_KINDS))
            raise ValueError(f"unknown event kind {self.kind!r} (known: {known})")
        if self.status == "":
            object.__setattr__(self, "status", None)
        if self.priority == "":
            object.__setattr__(self, "priority", None)
        if self.kind == "status" and self.status is None:
            raise ValueError("a status event needs a status")
        if self.kind == "priority" and self.priority is None:
            raise ValueError("a priority event needs a priority")


@dataclass(frozen=True, slots=True)
class ClockSpec:
    """One service level's clock: when it starts and stops, what pauses it, its targets.

    ``targets`` maps a priority to its business-time target (see :func:`target_duration`
    to convert a contract's ``Target``); a priority missing from it has no target.
    """

    level_id: str
    metric: str
    start: str
    stop: str
    pause_statuses: frozenset[str]
    on_priority_change: str
    targets: Mapping[str, timedelta]
    calendar: Calendar

    def __post_init__(self) -> None:
        # Enum members (the contract format's StrEnums) are stored as their plain values.
        object.__setattr__(self, "start", str(self.start))
        object.__setattr__(self, "stop", str(self.stop))
        object.__setattr__(self, "on_priority_change", str(self.on_priority_change))
        if self.start not in START_EVENTS:
            raise ValueError(f"unknown clock start {self.start!r} (known: {START_EVENTS})")
        if self.stop not in _RANK:
            raise ValueError(f"a clock stops on a milestone {MILESTONES}, not {self.stop!r}")
        if self.start in _RANK and _RANK[self.start] >= _RANK[self.stop]:
            raise ValueError(f"clock start {self.start!r} is not before its stop {self.stop!r}")
        if self.on_priority_change not in PRIORITY_RULES:
            raise ValueError(
                f"unknown priority rule {self.on_priority_change!r} (known: {PRIORITY_RULES})"
            )
        if not isinstance(self.calendar, Calendar):
            raise ValueError(f"not a compiled Calendar: {self.calendar!r} (compile_calendar)")
        statuses = (
            (self.pause_statuses,) if isinstance(self.pause_statuses, str) else self.pause_statuses
        )
        object.__setattr__(self, "pause_statuses", frozenset(str(s) for s in statuses))
        targets = {str(p): t for p, t in dict(self.targets).items()}
        for priority, target in targets.items():
            if not isinstance(target, timedelta) or target < _ZERO:
                raise ValueError(f"target of {priority} must be a timedelta >= 0: {target!r}")
        object.__setattr__(self, "targets", MappingProxyType(targets))


# --------------------------------------------------------------------------------------------
# Outputs


@dataclass(frozen=True, slots=True)
class ClockInterval:
    """A piece of ``[start, end)``; ``reason`` says why it counted or not."""

    start: datetime
    end: datetime
    counted: bool
    reason: str

    @property
    def duration(self) -> timedelta:
        """Real time of the interval (computed in UTC: exact across DST changes)."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class ClockResult:
    """A clock as it stood at ``as_of`` (see the module docstring for every field's rule)."""

    level_id: str
    metric: str
    state: str
    elapsed: timedelta
    target: timedelta | None
    remaining: timedelta | None
    deadline: datetime | None
    started_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None
    intervals: list[ClockInterval] = field(default_factory=list)
    #: The priority whose target applies (under ``strictest``, the one with the smallest).
    priority: str | None = None
    #: Under ``restart``, the last change of applicable priority after the start.
    restarted_at: datetime | None = None
    as_of: datetime | None = None


# --------------------------------------------------------------------------------------------
# Targets


_REFERENCE_WEEK = (date(2026, 1, 5), date(2026, 1, 12))  # Monday to Monday, no French holiday
_UNIT_MICROSECONDS: Final = {"minutes": 60_000_000, "hours": 3_600_000_000, "days": 86_400_000_000}


@functools.lru_cache(maxsize=64)
def typical_open_day(calendar: Calendar) -> timedelta:
    """The calendar's open time on a typical open day: its business time over the reference
    week 2026-01-05..2026-01-12 divided by the days of that week with any open time
    (HO: 50 h / 5 = 10 h; 24x7: 168 h / 7 = 24 h). Days are local days of the calendar."""
    total, open_days = _ZERO, 0
    day = _REFERENCE_WEEK[0]
    while day < _REFERENCE_WEEK[1]:
        following = day + timedelta(days=1)
        opened = calendar.business_duration(
            datetime.combine(day, time(0), tzinfo=calendar.tz),
            datetime.combine(following, time(0), tzinfo=calendar.tz),
        )
        total += opened
        open_days += opened > _ZERO
        day = following
    if not open_days:
        raise ValueError(f"{calendar!r} has no open time in its reference week")
    return total / open_days


def target_duration(value: Decimal | int, unit: str, calendar: Calendar) -> timedelta:
    """The business time of a contract target ``Target(value, unit)`` on ``calendar``.

    ``minutes``/``hours``: that much business time; ``days``: N × 24 h of business time (a
    24x7 reading: simply N days); ``business_days``: N × :func:`typical_open_day`. Rounded to
    the microsecond (half to even).
    """
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not a target value: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"a target is a finite amount >= 0, not {value!r}")
    unit = str(unit)
    if unit == "business_days":
        per_unit = typical_open_day(calendar) // timedelta(microseconds=1)
    elif unit in _UNIT_MICROSECONDS:
        per_unit = _UNIT_MICROSECONDS[unit]
    else:
        known = ", ".join([*_UNIT_MICROSECONDS, "business_days"])
        raise ValueError(f"not a duration unit: {unit!r} (known: {known})")
    microseconds = (amount * per_unit).to_integral_value(rounding=ROUND_HALF_EVEN)
    try:
        return timedelta(microseconds=int(microseconds))
    except OverflowError:
        raise ValueError(f"target too large: {value} {unit}") from None


# --------------------------------------------------------------------------------------------
# The clock

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
_WAITING, _RUNNING, _STOPPED = 0, 1, 2
_PHASES: Final = ("waiting", "running", "stopped")


def _micros(at: datetime) -> int:
    """Epoch microseconds of an aware datetime (exact; aware subtraction goes through UTC)."""
    return (at - _EPOCH) // _US


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class TicketLog:
    """A ticket's events in ``(at, seq)`` order and the ticket's state after each one.

    The state (status, milestone level, priority) does not depend on the clock, so it is
    replayed once per ticket and shared by all its clocks (:func:`compute_clock` accepts a
    log or plain events). Build it with :meth:`of` from :class:`TicketEvent` objects, or with
    :meth:`from_rows` from trusted rows (the database's), which skips per-event validation.
    """

    times: tuple[int, ...]  # epoch microseconds
    kinds: tuple[str, ...]
    assigns: tuple[bool, ...]  # the event assigns the ticket (assigned kind or status)
    statuses: tuple[str | None, ...]  # after the event
    levels: tuple[int, ...]  # after the event
    priorities: tuple[str | None, ...]  # after the event

    @classmethod
    def of(cls, events: Iterable[TicketEvent]) -> TicketLog:
        return cls.from_rows((e.at, e.seq, e.kind, e.status, e.priority) for e in events)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[datetime, int, str, str | None, str | None]]
    ) -> TicketLog:
        """Rows ``(at, seq, kind, status, priority)`` in any order; ``""`` means none."""
        keyed = sorted(
            (_micros(at), seq, kind, status or "", priority or "")
            for at, seq, kind, status, priority in rows
        )
        status: str | None = None
        priority: str | None = None
        level = 0
        statuses, levels, priorities = [], [], []
        for _us, _seq, kind, new_status, new_priority in keyed:
            if kind == "reopened":
                status = new_status or "reopened"
                level = _RANK.get(status, 0)
            elif new_status:
                rank = _RANK.get(new_status, 0)
                if level >= _RESOLVED and rank < _RESOLVED:
                    level = rank  # implicit reopening of a resolved or closed ticket
                elif rank > level:
                    level = rank
                status = new_status
            if new_priority:
                priority = new_priority
            statuses.append(status)
            levels.append(level)
            priorities.append(priority)
        return cls(
            times=tuple(row[0] for row in keyed),
            kinds=tuple(row[2] for row in keyed),
            assigns=tuple(row[2] == "assigned" or row[3] == "assigned" for row in keyed),
            statuses=tuple(statuses),
            levels=tuple(levels),
            priorities=tuple(priorities),
        )


@dataclass(slots=True)
class _Run:
    """One clock replayed over a log up to ``now`` (instants in epoch microseconds)."""

    first: int | None = None  # index of the starting event
    last: int = 0  # number of events up to now
    phase: int = _WAITING
    stopped: int | None = None  # index of the event that stopped it (while stopped)
    clock_priority: str | None = None  # last applicable priority while the clock ran
    seen: list[str] = field(default_factory=list)  # applicable priorities, first time seen
    restart: int | None = None  # instant of the last change of applicable priority
    phases: list[int] = field(default_factory=list)  # phase after each event from the start


def _replay(spec: ClockSpec, log: TicketLog, now: int) -> _Run:
    run = _Run(last=bisect_right(log.times, now))
    stop = _RANK[spec.stop]
    start = spec.start
    start_rank = _RANK.get(start, 0)
    targets = spec.targets
    levels, priorities, phases = log.levels, log.priorities, run.phases
    phase = _WAITING
    for i in range(run.last):
        level = levels[i]
        started_now = False
        if phase == _WAITING:
            if start == "created":
                started_now = log.kinds[i] == "created"
            elif start == "assigned":
                started_now = log.assigns[i] or level >= 1
            else:
                started_now = level >= start_rank
            if started_now:
                phase, run.first = _RUNNING, i
        if phase == _RUNNING and level >= stop:
            phase, run.stopped = _STOPPED, i
        elif phase == _STOPPED and level < stop:
            phase, run.stopped = _RUNNING, None
        if phase == _RUNNING or started_now:
            priority = priorities[i]
            if priority is not None and priority in targets:
                if priority != run.clock_priority:
                    run.clock_priority, run.restart = priority, log.times[i]
                if priority not in run.seen:
                    run.seen.append(priority)
        if run.first is not None:
            phases.append(phase)
    run.phase = phase
    return run


def _segments(
    spec: ClockSpec, log: TicketLog, run: _Run, end: int
) -> list[tuple[int, int, bool, str]]:
    """``[started, end)`` cut at each event: ``(a, b, counted, reason)`` ignoring the
    calendar (the reason is the ticket's; :func:`_explained` adds the calendar's)."""
    assert run.first is not None
    restart = run.restart if spec.on_priority_change == "restart" else None
    times, statuses, pauses = log.times, log.statuses, spec.pause_statuses
    last = run.last
    result: list[tuple[int, int, bool, str]] = []
    for offset, phase in enumerate(run.phases):
        i = run.first + offset
        a = times[i]
        b = times[i + 1] if i + 1 < last else end
        if b > end:
            b = end
        if b <= a:
            continue
        status = statuses[i]
        if phase == _STOPPED:
            result.append((a, b, False, f"stopped:{status}"))
        elif status in pauses:
            result.append((a, b, False, f"paused:{status}"))
        elif restart is not None and a < restart:
            result.append((a, b, False, BEFORE_RESTART))
        else:
            result.append((a, b, True, COUNTED))
    return result


def _counted_runs(segments: list[tuple[int, int, bool, str]]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for a, b, counted, _reason in segments:
        if counted:
            if runs and runs[-1][1] == a:
                runs[-1] = (runs[-1][0], b)
            else:
                runs.append((a, b))
    return runs


def _explained(spec: ClockSpec, segments: list[tuple[int, int, bool, str]]) -> list[ClockInterval]:
    """The segments split by the calendar's windows, neighbours with one reason merged."""
    calendar, tz = spec.calendar, spec.calendar.tz
    pieces: list[tuple[int, int, bool, str]] = []

    def add(a: int, b: int, counted: bool, reason: str) -> None:
        if b <= a:
            return
        if pieces and pieces[-1][1] == a and pieces[-1][2:] == (counted, reason):
            pieces[-1] = (pieces[-1][0], b, counted, reason)
        else:
            pieces.append((a, b, counted, reason))

    for a, b, counted, reason in segments:
        cursor = a
        for s, e in calendar.intervals(_instant(a), _instant(b)):
            s_us, e_us = _micros(s), _micros(e)
            add(cursor, s_us, False, OUTSIDE)
            add(s_us, e_us, counted, reason)
            cursor = e_us
        add(cursor, b, False, OUTSIDE)
    return [
        ClockInterval(_instant(a).astimezone(tz), _instant(b).astimezone(tz), counted, reason)
        for a, b, counted, reason in pieces
    ]


def _reached(
    runs: list[tuple[int, int]], target: int, calendar: Calendar, fallback: int
) -> datetime:
    """The earliest instant at which the counted time (runs, epoch µs) reached ``target`` µs."""
    cumulated = 0
    for a, b in runs:
        counted = calendar.business_micros(a, b)
        if cumulated + counted >= target:
            return calendar.add_business_time(_instant(a), (target - cumulated) * _US)
        cumulated += counted
    return _instant(fallback).astimezone(calendar.tz)  # target 0 and nothing counted yet


@dataclass(slots=True)
class _Judgement:
    """What both outputs of a clock are made of (instants in epoch microseconds)."""

    run: _Run
    status: str | None  # the ticket's status at ``now``
    current_priority: str | None
    segments: list[tuple[int, int, bool, str]] = field(default_factory=list)
    runs: list[tuple[int, int]] = field(default_factory=list)
    elapsed: int = 0
    stopped: int | None = None  # index of the stopping event while stopped
    restarted: int | None = None
    priority: str | None = None  # the priority whose target applies
    target: timedelta | None = None
    state: str = "not_started"
    paused: bool = False


def _judge(spec: ClockSpec, log: TicketLog, now_us: int) -> _Judgement:
    run = _replay(spec, log, now_us)
    last = run.last - 1
    judgement = _Judgement(
        run,
        log.statuses[last] if run.last else None,
        log.priorities[last] if run.last else None,
    )
    if run.first is None:
        priority = judgement.current_priority
        judgement.priority = priority
        judgement.target = spec.targets.get(priority) if priority is not None else None
        if priority is not None and judgement.target is None:
            judgement.state = "not_applicable"
        return judgement
    started = log.times[run.first]
    stopped = run.stopped if run.phase == _STOPPED else None
    judgement.stopped = stopped
    end = log.times[stopped] if stopped is not None else now_us
    judgement.segments = _segments(spec, log, run, end)
    judgement.runs = _counted_runs(judgement.segments)
    business = spec.calendar.business_micros
    judgement.elapsed = sum(business(a, b) for a, b in judgement.runs)
    if spec.on_priority_change == "restart" and run.restart is not None:
        judgement.restarted = run.restart if run.restart > started else None
    if not run.seen:
        judgement.priority = judgement.current_priority
        judgement.state = "not_applicable"
        return judgement
    if spec.on_priority_change == "strictest":
        priority = min(run.seen, key=lambda p: spec.targets[p])  # first of the smallest
    else:
        assert run.clock_priority is not None  # seen is not empty
        priority = run.clock_priority
    judgement.priority = priority
    target = judgement.target = spec.targets[priority]
    judgement.paused = judgement.status in spec.pause_statuses
    elapsed = judgement.elapsed * _US
    if elapsed > target:
        judgement.state = "breached"
    elif run.phase == _STOPPED:
        judgement.state = "met"
    else:
        judgement.state = "paused" if judgement.paused else "running"
    return judgement


def _reached_at(spec: ClockSpec, log: TicketLog, judgement: _Judgement) -> datetime:
    """The instant the counted time reached the target (the judgement's elapsed ≥ target)."""
    assert judgement.target is not None and judgement.run.first is not None
    started = log.times[judgement.run.first]
    return _reached(
        judgement.runs,
        judgement.target // _US,
        spec.calendar,
        judgement.restarted or started,
    )


def compute_clock(
    spec: ClockSpec,
    events: Iterable[TicketEvent] | TicketLog,
    now: datetime,
    *,
    explain: bool = True,
) -> ClockResult:
    """Replay ``events`` (or a :class:`TicketLog`) and judge ``spec``'s clock at ``now``.

    ``explain=False`` leaves ``intervals`` empty: every other field is the same, computed
    from the counted time alone (what batch recomputations and reports need).
    """
    now_us = _micros(_utc(now, "now"))
    log = events if isinstance(events, TicketLog) else TicketLog.of(events)
    calendar = spec.calendar
    tz = calendar.tz
    judgement = _judge(spec, log, now_us)
    run = judgement.run
    as_of = now.astimezone(tz)
    if run.first is None:
        return ClockResult(
            level_id=spec.level_id,
            metric=spec.metric,
            as_of=as_of,
            state=judgement.state,
            elapsed=_ZERO,
            target=judgement.target,
            remaining=judgement.target,
            deadline=None,
            started_at=None,
            stopped_at=None,
            breached_at=None,
            priority=judgement.priority,
        )
    elapsed = judgement.elapsed * _US
    stopped = judgement.stopped
    restarted = judgement.restarted
    base: dict[str, Any] = {
        "level_id": spec.level_id,
        "metric": spec.metric,
        "as_of": as_of,
        "elapsed": elapsed,
        "started_at": _instant(log.times[run.first]).astimezone(tz),
        "stopped_at": None if stopped is None else _instant(log.times[stopped]).astimezone(tz),
        "intervals": _explained(spec, judgement.segments) if explain else [],
        "restarted_at": None if restarted is None else _instant(restarted).astimezone(tz),
        "state": judgement.state,
        "priority": judgement.priority,
    }
    target = judgement.target
    if target is None:
        return ClockResult(target=None, remaining=None, deadline=None, breached_at=None, **base)
    remaining = target - elapsed
    reached = _reached_at(spec, log, judgement) if elapsed >= target else None
    deadline: datetime | None = None
    if run.phase == _RUNNING and not judgement.paused:
        deadline = calendar.add_business_time(now, remaining) if remaining > _ZERO else reached
    return ClockResult(
        target=target,
        remaining=remaining,
        deadline=deadline,
        breached_at=reached if judgement.state == "breached" else None,
        **base,
    )


# --------------------------------------------------------------------------------------------
# Many tickets at once: the measurements' path

_I64 = npt.NDArray[np.int64]
_BOOL = npt.NDArray[np.bool_]
#: Event kinds by code; codes follow the names' order, so that sorting by code sorts by name.
KIND_NAMES: Final = tuple(sorted(EVENT_KINDS))
_KIND: Final = {name: code for code, name in enumerate(KIND_NAMES)}
_NEVER: Final = np.iinfo(np.int64).max


def vocabulary(names: Iterable[str | None]) -> tuple[str | None, ...]:
    """``None`` (code 0), then the names in order: codes sort as the names do."""
    return (None, *sorted({name for name in names if name}))


@dataclass(frozen=True, eq=False)
class TicketLogs:
    """The logs of many tickets as columns: :class:`TicketLog`'s fields for every event of
    every ticket, in numpy arrays (a few bytes per event instead of a few hundred).

    Ticket ``i`` is ``refs[i]``; its events are rows ``offsets[i]:offsets[i + 1]``, in
    ``(at, seq)`` order. Statuses and priorities are codes into ``status_names`` and
    ``priority_names`` (code 0: none), kinds into :data:`KIND_NAMES`. Build it with
    :meth:`from_columns` (the events file's reader) or :meth:`from_rows`; :meth:`log` gives
    one ticket's :class:`TicketLog`, the same as :meth:`TicketLog.from_rows` would.
    """

    refs: tuple[str, ...]
    offsets: _I64
    times: _I64  # epoch microseconds
    kinds: npt.NDArray[np.int8]
    assigns: _BOOL
    statuses: npt.NDArray[np.int16]  # after the event
    levels: npt.NDArray[np.int8]  # after the event
    priorities: npt.NDArray[np.int32]  # after the event
    status_names: tuple[str | None, ...]
    priority_names: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.refs)

    def __eq__(self, other: object) -> bool:
        """The same tickets with the same logs (whatever the codes stand for)."""
        if not isinstance(other, TicketLogs):
            return NotImplemented
        return (
            self.refs == other.refs
            and all(
                np.array_equal(getattr(self, name), getattr(other, name))
                for name in ("offsets", "times", "kinds", "assigns", "levels")
            )
            and self._named("statuses") == other._named("statuses")
            and self._named("priorities") == other._named("priorities")
        )

    __hash__ = None  # type: ignore[assignment]

    def _named(self, column: str) -> list[str | None]:
        names = self.status_names if column == "statuses" else self.priority_names
        return [names[code] for code in getattr(self, column).tolist()]

    @classmethod
    def from_rows(
        cls, rows: Mapping[str, Iterable[tuple[datetime, int, str, str | None, str | None]]]
    ) -> TicketLogs:
        """From rows ``(at, seq, kind, status, priority)`` per ticket (``""`` means none), in
        any order, like :meth:`TicketLog.from_rows`."""
        refs = tuple(rows)
        flat = [(n, *row) for n, ref in enumerate(refs) for row in rows[ref]]
        statuses = vocabulary(row[4] for row in flat)
        priorities = vocabulary(row[5] for row in flat)
        status_code = {name: code for code, name in enumerate(statuses)}
        priority_code = {name: code for code, name in enumerate(priorities)}
        unknown = {row[3] for row in flat} - EVENT_KINDS
        if unknown:
            raise ValueError(f"unknown event kinds {sorted(unknown)}")
        return cls.from_columns(
            refs,
            ticket=np.array([row[0] for row in flat], dtype=np.int64),
            at=np.array([_micros(row[1]) for row in flat], dtype=np.int64),
            seq=np.array([row[2] for row in flat], dtype=np.int64),
            kind=np.array([_KIND[row[3]] for row in flat], dtype=np.int8),
            status=np.array([status_code[row[4] or None] for row in flat], dtype=np.int16),
            priority=np.array([priority_code[row[5] or None] for row in flat], dtype=np.int32),
            status_names=statuses,
            priority_names=priorities,
        )

    @classmethod
    def from_columns(
        cls,
        refs: tuple[str, ...],
        *,
        ticket: _I64,
        at: _I64,
        seq: _I64,
        kind: npt.NDArray[np.int8],
        status: npt.NDArray[np.int16],
        priority: npt.NDArray[np.int32],
        status_names: tuple[str | None, ...],
        priority_names: tuple[str | None, ...],
    ) -> TicketLogs:
        """From one row per event, in any order: the ticket (an index into ``refs``), epoch
        microseconds, seq, and the codes of the event's kind, status and priority (code 0:
        none; the names of codes >= 1 in order, as :func:`_vocabulary` gives them).

        The state after each event is :meth:`TicketLog.from_rows`'s replay, computed for all
        events at once: the status and the priority are the last ones given (a reopening
        without status leaves ``"reopened"``); the milestone level is the running maximum
        of the ranks given since the ticket's last *reset*, a reopening or a status ranked
        below ``resolved`` given while the level was at least ``resolved``. And the level
        is at least ``resolved`` exactly when the last status given is ranked so (a higher
        status keeps it there, a lower one resets it), which finds the resets first.
        """
        # Most often each ticket's events come in (at, seq) order already: a stable sort by
        # ticket is then the whole sort (ties on (at, seq) need the full one).
        order = np.argsort(ticket, kind="stable")
        same = ticket[order[1:]] == ticket[order[:-1]]
        later, earlier = at[order[1:]], at[order[:-1]]
        ordered = (later > earlier) | ((later == earlier) & (seq[order[1:]] > seq[order[:-1]]))
        if not np.all(ordered | ~same):
            order = np.lexsort((priority, status, kind, seq, at, ticket))
        del same, later, earlier, ordered
        ticket, times, kind = ticket[order], at[order], kind[order]
        raw_status, raw_priority = status[order], priority[order]
        n, m = len(refs), len(order)
        counts = np.bincount(ticket, minlength=n)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        if m and (int(ticket[0]) < 0 or int(ticket[-1]) >= n):
            raise ValueError("a ticket index outside refs")
        rows = np.arange(m, dtype=np.int64)
        head = offsets[ticket]  # each event's ticket's first row
        first = rows == head
        # Statuses: the caller's names plus "reopened".
        names = vocabulary([*status_names, "reopened"])
        remap = np.array([names.index(name) for name in status_names], dtype=np.int16)
        given = remap[raw_status]
        reopened = kind == _KIND["reopened"]
        given = np.where(reopened & (given == 0), names.index("reopened"), given)
        carries = given != 0
        last = np.maximum.accumulate(np.where(carries, rows, -1))
        known = last >= head
        after = np.where(known, given[np.maximum(last, 0)], 0).astype(np.int16)
        rank_of = np.array([_RANK.get(name or "", 0) for name in names], dtype=np.int8)
        high = rank_of[after] >= _RESOLVED
        high_before = np.zeros(m, dtype=bool)
        high_before[1:] = high[:-1]
        high_before &= ~first
        rank = np.where(carries, rank_of[given], 0).astype(np.int64)
        reset = first | reopened | (carries & (rank < _RESOLVED) & high_before)
        segment = np.cumsum(reset, dtype=np.int64) * 8  # ranks are below 8
        levels = (np.maximum.accumulate(segment + rank) - segment).astype(np.int8)
        named = raw_priority != 0
        last = np.maximum.accumulate(np.where(named, rows, -1))
        priorities = np.where(last >= head, raw_priority[np.maximum(last, 0)], 0)
        assigned = status_names.index("assigned") if "assigned" in status_names else -1
        return cls(
            refs=refs,
            offsets=offsets,
            times=times,
            kinds=kind,
            assigns=(kind == _KIND["assigned"]) | (raw_status == assigned),
            statuses=after,
            levels=levels,
            priorities=priorities.astype(np.int32),
            status_names=names,
            priority_names=priority_names,
        )

    def log(self, i: int) -> TicketLog:
        """Ticket ``i``'s :class:`TicketLog`."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        statuses, priorities = self.status_names, self.priority_names
        return TicketLog(
            times=tuple(int(t) for t in self.times[a:b]),
            kinds=tuple(KIND_NAMES[k] for k in self.kinds[a:b]),
            assigns=tuple(bool(x) for x in self.assigns[a:b]),
            statuses=tuple(statuses[s] for s in self.statuses[a:b]),
            levels=tuple(int(x) for x in self.levels[a:b]),
            priorities=tuple(priorities[p] for p in self.priorities[a:b]),
        )

    def select(self, tickets: _I64) -> TicketLogs:
        """The logs of some tickets (indices, in the order given)."""
        counts = self.offsets[tickets + 1] - self.offsets[tickets]
        offsets = np.zeros(len(tickets) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        rows = np.arange(int(offsets[-1]), dtype=np.int64) + np.repeat(
            self.offsets[tickets] - offsets[:-1], counts
        )
        return TicketLogs(
            refs=tuple([self.refs[i] for i in tickets.tolist()]),
            offsets=offsets,
            times=self.times[rows],
            kinds=self.kinds[rows],
            assigns=self.assigns[rows],
            statuses=self.statuses[rows],
            levels=self.levels[rows],
            priorities=self.priorities[rows],
            status_names=self.status_names,
            priority_names=self.priority_names,
        )


class ClockFigures(NamedTuple):
    """One clock of each ticket of a :class:`TicketLogs`, as :func:`compute_clock` judges it
    (without the datetimes, the deadline or the explanation), one array element per ticket.

    ``state`` indexes :data:`CLOCK_STATES`; ``priority`` is a code of the logs'
    ``priority_names`` (0: none); ``target``, ``elapsed``, ``stopped`` and ``breached`` are
    microseconds (epoch microseconds for the instants), meaningful where ``targeted``,
    ``is_stopped`` and ``is_breached`` say so.
    """

    state: npt.NDArray[np.int8]
    elapsed: _I64
    priority: npt.NDArray[np.int32]
    targeted: _BOOL
    target: _I64
    is_stopped: _BOOL
    stopped: _I64
    is_breached: _BOOL
    breached: _I64


_STATE: Final = {name: code for code, name in enumerate(CLOCK_STATES)}


def per_ticket(
    reduce: np.ufunc, values: npt.NDArray[Any], offsets: _I64, empty: int
) -> npt.NDArray[Any]:
    """``reduce`` over each ticket's rows (``empty`` for a ticket without rows)."""
    n = len(offsets) - 1
    result = np.full(n, empty, dtype=values.dtype)
    filled = offsets[1:] > offsets[:-1]
    if values.size:
        result[filled] = reduce.reduceat(values, offsets[:-1][filled])
    return result


def clock_figures(spec: ClockSpec, logs: TicketLogs, now_us: int) -> ClockFigures:
    """:func:`compute_clock`'s verdict on ``spec``'s clock of every ticket of ``logs`` at
    ``now_us`` (epoch microseconds), computed over the columns.

    The replay of :func:`_replay` without a loop: once started, the phase after an event
    depends on its milestone level only (stopped iff at least the stop), so the start is the
    first event that meets the start rule, and the stop the first event of the last stopped
    run. Counted time is ``F(b) - F(a)`` over the counted segments, ``F`` the calendar's
    business time since a fixed instant (:meth:`Calendar.table`), which adds up exactly as
    :meth:`Calendar.business_micros` does.
    """
    offsets, n = logs.offsets, len(logs)
    counts = offsets[1:] - offsets[:-1]
    m = int(offsets[-1])
    if not m:  # no events at all: nothing started, no priority
        zeros = np.zeros(n, dtype=np.int64)
        no = np.zeros(n, dtype=bool)
        state = np.full(n, _STATE["not_started"], dtype=np.int8)
        return ClockFigures(state, zeros, zeros.astype(np.int32), no, zeros, no, zeros, no, zeros)
    rows = np.arange(m, dtype=np.int64)
    ticket = np.repeat(np.arange(n, dtype=np.int64), counts)
    times, levels = logs.times, logs.levels
    upto = times <= now_us
    stop = _RANK[spec.stop]
    if spec.start == "created":
        starts = logs.kinds == _KIND["created"]
    elif spec.start == "assigned":
        starts = logs.assigns | (levels >= 1)
    else:
        starts = levels >= _RANK[spec.start]
    starts &= upto
    first = per_ticket(np.minimum, np.where(starts, rows, _NEVER), offsets, _NEVER)
    started = first < _NEVER
    last = offsets[:-1] + per_ticket(np.add, upto.astype(np.int64), offsets, 0) - 1
    any_event = last >= offsets[:-1]
    # After the start: running below the stop milestone, stopped at or above it.
    on = rows >= first[ticket]
    running = upto & on & (levels < stop)
    last_running = per_ticket(np.maximum, np.where(running, rows, -1), offsets, -1)
    safe_last = np.maximum(last, 0)
    stopped_now = started & (levels[safe_last] >= stop) & any_event
    stop_row = np.maximum(last_running + 1, np.where(started, first, 0))
    # Priorities with a target, taken while the clock runs (and at the start).
    names = [name or "" for name in logs.priority_names]
    has_target = np.array([name in spec.targets for name in names], dtype=bool)
    target_of = np.array(
        [spec.targets[name] // _US if name in spec.targets else _NEVER for name in names],
        dtype=np.int64,
    )
    eligible = (running | (rows == first[ticket])) & has_target[logs.priorities] & upto
    last_eligible = per_ticket(np.maximum, np.where(eligible, rows, -1), offsets, -1)
    seen = last_eligible >= 0
    if spec.on_priority_change == "strictest":
        targets = np.where(eligible, target_of[logs.priorities], _NEVER)
        smallest = per_ticket(np.minimum, targets, offsets, _NEVER)
        strictest = eligible & (targets == smallest[ticket])
        chosen = per_ticket(np.minimum, np.where(strictest, rows, _NEVER), offsets, _NEVER)
        clock_priority = logs.priorities[np.where(seen, chosen, 0)]
    else:
        clock_priority = logs.priorities[np.maximum(last_eligible, 0)]
    restart = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    if spec.on_priority_change == "restart":
        picked = np.flatnonzero(eligible)
        if picked.size:
            owner = ticket[picked]
            priority = logs.priorities[picked]
            change = np.ones(picked.size, dtype=bool)
            change[1:] = (owner[1:] != owner[:-1]) | (priority[1:] != priority[:-1])
            changed_rows = picked[change]
            # The last change of each ticket: rows are in order, so the last write wins.
            restart[ticket[changed_rows]] = times[changed_rows]
    # Counted segments [t_i, t_i+1) (to now after the last event), business time via F.
    pauses = np.array([name in spec.pause_statuses for name in logs.status_names], dtype=bool)
    counted = running & ~pauses[logs.statuses] & (times >= restart[ticket])
    following = np.empty(m, dtype=np.int64)
    following[:-1] = times[1:]
    following[rows == last[ticket]] = now_us
    segment_rows = np.flatnonzero(counted)
    elapsed = np.zeros(n, dtype=np.int64)
    breached_at = np.zeros(n, dtype=np.int64)
    target = target_of[clock_priority]
    current = np.where(any_event, logs.priorities[safe_last], 0)
    if segment_rows.size:
        a, b = times[segment_rows], following[segment_rows]
        table = spec.calendar.table(int(a.min()), int(b.max()))
        fa = table.before(a)
        worth = table.before(b) - fa
        owner = ticket[segment_rows]  # in order: each ticket's segments are contiguous
        cumulated = np.cumsum(worth)
        totals = np.concatenate(([0], cumulated))[
            np.searchsorted(owner, np.arange(n + 1), side="left")
        ]
        elapsed = totals[1:] - totals[:-1]
        # The breach instant: in the first segment whose cumulated time reaches the target.
        before = (cumulated - worth) - totals[:-1][owner]
        goal = target[owner]
        reaching = (before + worth >= goal) & seen[owner] & (elapsed[owner] > goal)
        crossing = np.flatnonzero(reaching)
        if crossing.size:
            owners = owner[crossing]
            keep = np.ones(crossing.size, dtype=bool)
            keep[1:] = owners[1:] != owners[:-1]
            crossing, owners = crossing[keep], owners[keep]
            remaining = goal[crossing] - before[crossing]
            at = a[crossing]
            positive = remaining > 0
            if positive.any():
                at = at.copy()
                at[positive] = table.reach(fa[crossing][positive] + remaining[positive])
            breached_at[owners] = at
    targeted = np.where(started, seen, has_target[current])
    target = np.where(started, target, target_of[current])
    priority = np.where(started & seen, clock_priority, current).astype(np.int32)
    is_breached = started & seen & (elapsed > target)
    paused = pauses[logs.statuses[safe_last]]
    state = np.where(
        ~started,
        np.where((current != 0) & ~targeted, _STATE["not_applicable"], _STATE["not_started"]),
        np.where(
            ~seen,
            _STATE["not_applicable"],
            np.where(
                is_breached,
                _STATE["breached"],
                np.where(
                    stopped_now,
                    _STATE["met"],
                    np.where(paused, _STATE["paused"], _STATE["running"]),
                ),
            ),
        ),
    ).astype(np.int8)
    stop_at = times[np.minimum(stop_row, m - 1)]
    return ClockFigures(
        state=state,
        elapsed=np.where(started, elapsed, 0),
        priority=priority,
        targeted=targeted,
        target=np.where(targeted, target, 0),
        is_stopped=stopped_now,
        stopped=np.where(stopped_now, stop_at, 0),
        is_breached=is_breached,
        breached=np.where(is_breached, breached_at, 0),
    )


def explain(result: ClockResult) -> list[dict[str, Any]]:
    """JSON-ready rows of the clock explanation page, one per interval, in order:
    ``start``/``end`` (ISO 8601 with offset), ``counted``, ``reason``, ``duration_seconds`` and
    ``elapsed_seconds`` (the counted time up to the end of the row)."""
    rows: list[dict[str, Any]] = []
    elapsed = _ZERO
    for interval in result.intervals:
        duration = interval.duration
        if interval.counted:
            elapsed += duration
        rows.append(
            {
                "start": interval.start.isoformat(),
                "end": interval.end.isoformat(),
                "counted": interval.counted,
                "reason": interval.reason,
                "duration_seconds": duration.total_seconds(),
                "elapsed_seconds": elapsed.total_seconds(),
            }
        )
    return rows
