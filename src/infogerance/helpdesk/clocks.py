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

from infogerance.calendars import Calendar

__all__ = [
    "CLOCK_STATES",
    "EVENT_KINDS",
    "MILESTONES",
    "PRIORITY_RULES",
    "ClockFigures",
    "ClockInterval",
    "ClockResult",
    "ClockSpec",
    "TicketEvent",
    "TicketLog",
    "clock_figures",
    "compute_clock",
    "explain",
    "target_duration",
    "typical_open_day",
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


class ClockFigures(NamedTuple):
    """A clock's figures, for measurements: what :func:`compute_clock` says, without the
    datetimes, the deadline or the explanation (instants and durations in microseconds)."""

    state: str
    elapsed: int
    target: int | None
    priority: str | None
    #: Epoch microseconds of the stop (``None`` while not stopped) and of the instant the
    #: target was reached (``None`` unless breached).
    stopped: int | None
    breached: int | None


def clock_figures(spec: ClockSpec, log: TicketLog, now_us: int) -> ClockFigures:
    """:func:`compute_clock`'s verdict at ``now_us`` (epoch microseconds), cheaply: the same
    judgement, none of the presentation."""
    judgement = _judge(spec, log, now_us)
    target = judgement.target
    breached = None
    if judgement.state == "breached":
        breached = _micros(_reached_at(spec, log, judgement))
    stopped = judgement.stopped
    return ClockFigures(
        judgement.state,
        judgement.elapsed,
        None if target is None else target // _US,
        judgement.priority,
        None if stopped is None else log.times[stopped],
        breached,
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
