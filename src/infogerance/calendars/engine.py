"""The business-time engine behind every SLA clock (GTI, GTR, availability…).

A contract promises a number of *business* hours, counted inside a service window (HO, HNO,
24x7, or something bespoke) in the contract's time zone, without public holidays, with
per-contract exceptions. Every clock of the platform asks the same two questions: how much
business time lies between two instants, and when a given amount of business time will have
elapsed. Both must be exact (an SLA breach by one second is a breach) and cheap (reports
recompute thousands of clocks), so the engine compiles a :class:`CalendarSpec` once into sorted
tables of instants and answers each question with two binary searches.

Time model
----------
* Windows are **local wall-clock** times in the calendar's zone; everything else is **real
  elapsed time** between UTC instants. A window 01:00–04:00 lasts 2 h on the night clocks go
  forward (2026-03-29 in Europe/Paris) and 4 h on the night they go back (2026-10-25); a 24x7
  Sunday lasts 23 h or 25 h on those dates.
* A wall-clock window boundary is turned into an instant by one deterministic rule:

  - an **ambiguous** time (it happens twice when clocks go back) is its **first** occurrence
    (``fold=0``);
  - a **non-existent** time (skipped when clocks go forward) is the **instant the clocks
    jump**, i.e. the end of the gap: on 2026-03-29 in Paris, 02:00, 02:30 and 03:00 all mean
    01:00 UTC. Unlike Python's default reading of ``fold=0`` in a gap (which would put 02:30 at
    03:30 CEST, *after* 03:00), this keeps the wall-clock → instant mapping monotonic, so
    windows that do not overlap on the wall clock never overlap in time either.

* Instants given by callers are used as they are (their epoch seconds), whatever their zone;
  beware that Python compares and subtracts two datetimes *sharing one tzinfo* by wall clock,
  which is wrong across a DST change — the engine never does, it only compares instants.
* Intervals are half-open ``[start, end)``: at 18:00 an 08:00–18:00 window is closed.

Tables
------
The time line is cut into fixed blocks of ``2**26`` seconds (about 777 days) of UTC epoch
time, built lazily, at most :data:`MAX_CACHED_BLOCKS` of them kept per calendar (twice that when
years beyond 2038 are asked for too). A block holds

* ``bounds``: ``[block_start, s0, e0, s1, e1, …]``, the block's business intervals clipped to
  the block, touching ones merged, as float epoch seconds (whole seconds, so exact);
* ``cum``: business seconds of the block before each bound, ``[0, c, c, c + (e0 - s0), …]``;
* its total of business seconds.

Odd indices are interval starts, even ones interval ends (index 0 is a sentinel "end" at the
block start). ``F(t)``, the business seconds of the block before ``t``, is one
``bisect_right`` on ``bounds`` and one addition; a duration inside a block is
``F(end) - F(start)``; adding business time inverts ``F`` with one ``bisect_left`` on ``cum``.
Ranges over several blocks add up the totals of the blocks in between (kept for every block
ever built, one integer each), so a range of decades builds each year once and keeps little.

Two paths, one answer:

* :meth:`Calendar.business_duration` first tries **floats**: within 2**31 s of the epoch
  (1901-12-13 to 2038-01-19) a float epoch second is finer than a quarter of a microsecond,
  interval bounds are whole seconds, and the arithmetic stays below 2**26 s, so the result
  rounded to the microsecond is exact;
* everything else (other years, ranges over two blocks, and the other three methods) runs in
  **integer microseconds** (bounds are whole seconds, so ``bound <= t`` iff
  ``bound <= t // 10**6``): exact in every year from 1 to 9999, about three times slower.

Limits: holidays exist only for the years the ``holidays`` package covers (France: 1803–2100;
none outside); windows starting within a day of 0001-01-01 or 9999-12-31 are ignored.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import numpy as np
import numpy.typing as npt

__all__ = [
    "H24X7",
    "HNO",
    "HO",
    "HOLIDAY_SETS",
    "MAX_CACHED_BLOCKS",
    "BusinessTable",
    "Calendar",
    "CalendarError",
    "CalendarSpec",
    "DateOverride",
    "Window",
    "always_open",
    "compile_calendar",
    "holidays_in",
    "office_hours",
    "outside_office_hours",
]

_DAY = 86_400
_WEEK = 7 * _DAY
_BLOCK = 1 << 26  # seconds per table block, ~777 days
_US = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)
_ZERO = timedelta(0)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MAX_ORDINAL = date.max.toordinal()
#: Tables kept per compiled calendar (FIFO beyond that); 32 blocks cover about 68 years.
MAX_CACHED_BLOCKS = 32
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

TimeRange = tuple[time, time]


class CalendarError(ValueError):
    """A calendar that cannot be built, or a question it cannot answer (bad input)."""


# --------------------------------------------------------------------------------------------
# Holidays


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _france(year: int) -> frozenset[date]:
    """The public holidays of metropolitan France, as the ``holidays`` package knows them.

    That package follows the law year by year (no Pentecost Monday in 2005–2007, fewer
    holidays before 1982) and covers 1803–2100 only: outside, the set is empty.
    """
    return frozenset(holidays.France(years=year))


#: Subdivision codes under which ``holidays`` adds Good Friday and 26 December (Alsace, then
#: Moselle); older releases named it differently, hence the fallback below.
_ALSACE_MOSELLE_SUBDIVS = ("6AE", "57")


def _alsace_moselle(year: int) -> frozenset[date]:
    """France plus Good Friday and 26 December (local law of Alsace-Moselle).

    Taken from ``holidays.France(subdiv="6AE")`` when the installed release has it; otherwise
    computed here as the national set plus Easter − 2 days and 26 December.
    """
    available = getattr(holidays.France, "subdivisions", ())
    for code in _ALSACE_MOSELLE_SUBDIVS:
        if code in available:
            return frozenset(holidays.France(years=year, subdiv=code))
    return _alsace_moselle_fallback(year)


def _alsace_moselle_fallback(year: int) -> frozenset[date]:
    national = _france(year)
    if not national:  # outside the years the package covers: stay consistent with "FR"
        return national
    return national | {_easter(year) - timedelta(days=2), date(year, 12, 26)}


#: Holiday sets a calendar may name, each a function from a year to its holiday dates.
HOLIDAY_SETS: Mapping[str, Callable[[int], frozenset[date]]] = {
    "FR": _france,
    "FR-ALSACE-MOSELLE": _alsace_moselle,
}


@functools.lru_cache(maxsize=1024)
def holidays_in(holiday_set: str, year: int) -> frozenset[date]:
    """The dates of one named holiday set in one year (cached: the package is slow)."""
    try:
        source = HOLIDAY_SETS[holiday_set]
    except KeyError:
        raise CalendarError(_unknown_set(holiday_set)) from None
    return source(year)


def _unknown_set(name: object) -> str:
    return f"unknown holiday set {name!r} (known: {', '.join(sorted(HOLIDAY_SETS))})"


# --------------------------------------------------------------------------------------------
# Specification


def _check_time(value: object, what: str) -> None:
    if not isinstance(value, time):
        raise CalendarError(f"{what} must be a datetime.time, not {value!r}")
    if value.tzinfo is not None:
        raise CalendarError(f"{what} must be a wall-clock time without tzinfo: {value!r}")
    if value.microsecond:
        raise CalendarError(f"{what} must be a whole second: {value!r}")


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _span(start: time, end: time) -> tuple[int, int]:
    """Wall-clock offset from the day's midnight and wall-clock length of a window."""
    s, e = _seconds(start), _seconds(end)
    return s, (e - s if e > s else e - s + _DAY)


def _clock(value: time) -> str:
    return f"{value:%H:%M:%S}" if value.second else f"{value:%H:%M}"


def _describe(start: time, end: time, where: str) -> str:
    crossing = " (next day)" if end <= start else ""
    return f"{where} {_clock(start)}–{_clock(end)}{crossing}"


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly opening: ``weekday`` (0 = Monday … 6 = Sunday) from ``start`` to ``end``.

    ``end <= start`` runs past midnight into the next day (Fri 20:00–02:00 ends Saturday
    02:00; Sun 22:00–06:00 ends Monday); ``start == end`` lasts a whole wall-clock day, so
    ``00:00–00:00`` is a full day. Times are local wall-clock times in whole seconds.
    """

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if (
            isinstance(self.weekday, bool)
            or not isinstance(self.weekday, int)
            or not 0 <= self.weekday <= 6
        ):
            raise CalendarError(f"weekday out of range: {self.weekday!r} (0 = Monday … 6 = Sunday)")
        _check_time(self.start, "window start")
        _check_time(self.end, "window end")

    def __str__(self) -> str:
        return _describe(self.start, self.end, _WEEKDAY_NAMES[self.weekday])


@dataclass(frozen=True, slots=True)
class DateOverride:
    """On local date ``day``, ``windows`` replace the weekly ones (``()`` closes the day).

    It is the final word on that date: it applies even on a public holiday (a contract that
    opens on 1 May for a migration says so with an override). Windows follow the same
    midnight-crossing rule as :class:`Window`.
    """

    day: date
    windows: tuple[TimeRange, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise CalendarError(f"override day must be a datetime.date: {self.day!r}")
        try:
            windows = tuple((start, end) for start, end in self.windows)
        except (TypeError, ValueError):
            raise CalendarError(
                f"override {self.day}: windows must be (start, end) pairs: {self.windows!r}"
            ) from None
        object.__setattr__(self, "windows", windows)
        for start, end in windows:
            _check_time(start, f"override {self.day} start")
            _check_time(end, f"override {self.day} end")
        _check_no_overlap(
            [(*_span(s, e), _describe(s, e, str(self.day))) for s, e in windows], period=None
        )


def _check_no_overlap(segments: list[tuple[int, int, str]], period: int | None) -> None:
    """Raise on two segments ``(offset, length, label)`` sharing time (touching is fine).

    With ``period`` the line is a circle (the week): a Sunday-night window wraps onto Monday.
    """
    ordered = sorted(segments)
    for (s1, d1, l1), (s2, _d2, l2) in itertools.pairwise(ordered):
        if s1 + d1 > s2:
            raise CalendarError(f"overlapping windows: {l1} and {l2}")
    if period is not None and len(ordered) > 1:
        first_start, _, first_label = ordered[0]
        for s, d, label in ordered:
            if s + d - period > first_start:
                raise CalendarError(f"overlapping windows: {label} and {first_label}")


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """Everything that defines a service window; hashable, so compiled calendars are cached.

    ``holiday_sets`` name entries of :data:`HOLIDAY_SETS`; a window whose *start* falls on one
    of their dates is closed unless ``open_on_holidays`` (a Friday-night window still runs into
    a Saturday holiday). ``overrides`` replace the windows of single dates, holidays included.
    ``complement`` turns the calendar inside out after all of that: HNO is HO with
    ``complement=True``, which makes "HO + HNO = 24x7" true by construction, overrides and
    holidays included.

    Construction fails with :class:`CalendarError` on an unknown time zone or holiday set, a
    weekday out of range, two overrides of one date, or windows overlapping in wall-clock time
    (a midnight-crossing window against the next day's, an override against its neighbours).
    """

    timezone: str
    windows: tuple[Window, ...]
    holiday_sets: tuple[str, ...] = ()
    overrides: tuple[DateOverride, ...] = ()
    open_on_holidays: bool = False
    complement: bool = False

    def __post_init__(self) -> None:
        zone = self.timezone
        if isinstance(zone, ZoneInfo):
            object.__setattr__(self, "timezone", zone.key)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise CalendarError(f"unknown time zone {zone!r}") from None
        sets = (self.holiday_sets,) if isinstance(self.holiday_sets, str) else self.holiday_sets
        object.__setattr__(self, "holiday_sets", tuple(sets))
        for name in self.holiday_sets:
            if name not in HOLIDAY_SETS:
                raise CalendarError(_unknown_set(name))
        object.__setattr__(self, "windows", tuple(self.windows))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        for window in self.windows:
            if not isinstance(window, Window):
                raise CalendarError(f"not a Window: {window!r}")
        for override in self.overrides:
            if not isinstance(override, DateOverride):
                raise CalendarError(f"not a DateOverride: {override!r}")
        _check_no_overlap(
            [
                (w.weekday * _DAY + _span(w.start, w.end)[0], _span(w.start, w.end)[1], str(w))
                for w in self.windows
            ],
            period=_WEEK,
        )
        rules = _DayRules(self)
        for override in self.overrides:
            rules.check_neighbours(override.day)


class _DayRules:
    """Which wall-clock windows start on a given local date."""

    __slots__ = ("_holiday_cache", "_open_on_holidays", "_overrides", "_sets", "_weekly")

    def __init__(self, spec: CalendarSpec) -> None:
        weekly: list[list[TimeRange]] = [[] for _ in range(7)]
        for window in spec.windows:
            weekly[window.weekday].append((window.start, window.end))
        self._weekly = tuple(tuple(sorted(day)) for day in weekly)
        self._overrides: dict[date, tuple[TimeRange, ...]] = {}
        for override in spec.overrides:
            if override.day in self._overrides:
                raise CalendarError(f"two overrides for {override.day}")
            self._overrides[override.day] = override.windows
        self._sets = spec.holiday_sets
        self._open_on_holidays = spec.open_on_holidays
        self._holiday_cache: dict[int, frozenset[date]] = {}

    def is_holiday(self, day: date) -> bool:
        dates = self._holiday_cache.get(day.year)
        if dates is None:
            dates = frozenset(d for name in self._sets for d in holidays_in(name, day.year))
            self._holiday_cache[day.year] = dates
        return day in dates

    def windows_on(self, day: date) -> tuple[TimeRange, ...]:
        override = self._overrides.get(day)
        if override is not None:
            return override
        if self._sets and not self._open_on_holidays and self.is_holiday(day):
            return ()
        return self._weekly[day.weekday()]

    def check_neighbours(self, day: date) -> None:
        """An override must not overlap the windows of the days around it."""
        segments: list[tuple[int, int, str]] = []
        for shift in (-1, 0, 1):
            try:
                other = day + timedelta(days=shift)
            except OverflowError:
                continue
            label = "override" if other in self._overrides else "window"
            for start, end in self.windows_on(other):
                offset, length = _span(start, end)
                segments.append(
                    (shift * _DAY + offset, length, _describe(start, end, f"{label} {other}"))
                )
        _check_no_overlap(segments, period=None)


# --------------------------------------------------------------------------------------------
# Compiled calendar

_Block = tuple[list[float], list[float], int]
_MILLION = 1_000_000
#: Blocks lying within 2**31 seconds of the epoch (1901-12-13 – 2038-01-19), where a float
#: epoch second is finer than a quarter of a microsecond: the only ones the float path uses.
_FLOAT_SAFE = range(-(2**31) // _BLOCK, 2**31 // _BLOCK)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_BLOCK = (int(datetime.max.replace(tzinfo=UTC).timestamp()) + _DAY) // _BLOCK


def _naive_error(name: str, value: object) -> CalendarError:
    if not isinstance(value, datetime):
        return CalendarError(f"{name} must be an aware datetime, got {value!r}")
    return CalendarError(f"{name} must be an aware datetime, got naive {value!r}")


#: UTC offsets already seen, in seconds (a handful per zone).
_OFFSETS: dict[timedelta, float] = {}


def _offset_seconds(offset: timedelta) -> float:
    if not isinstance(offset, timedelta):
        raise CalendarError(f"utcoffset() returned {offset!r}, not a timedelta")
    seconds = offset.total_seconds()
    if len(_OFFSETS) < 4096:
        _OFFSETS[offset] = seconds
    return seconds


def _epoch_us(value: datetime, name: str) -> int:
    """Exact epoch microseconds of an aware datetime; naive ones are refused."""
    tz = getattr(value, "tzinfo", None)
    offset = tz.utcoffset(value) if tz is not None else None
    if offset is None:
        raise _naive_error(name, value)
    if not isinstance(offset, timedelta):
        raise CalendarError(f"utcoffset() returned {offset!r}, not a timedelta")
    seconds = (
        (value.toordinal() - _EPOCH_ORDINAL) * _DAY
        + value.hour * 3600
        + value.minute * 60
        + value.second
    )
    return seconds * _MILLION + value.microsecond - offset // _US


_Prepared = tuple[time, time, int, time, time, int, bool]


def _prepare(windows: tuple[TimeRange, ...]) -> tuple[_Prepared, ...]:
    """Per window: start, start with fold=1, its seconds after midnight, the same for the end
    (counted from the start day's midnight), and whether the end is on the next day."""
    records = []
    for start, end in windows:
        crosses = end <= start
        end_s = _seconds(end) + (_DAY if crosses else 0)
        records.append(
            (
                start,
                start.replace(fold=1),
                _seconds(start),
                end,
                end.replace(fold=1),
                end_s,
                crosses,
            )
        )
    return tuple(records)


class Calendar:
    """A compiled :class:`CalendarSpec`; build it once (see :func:`compile_calendar`).

    :meth:`business_duration` has a float fast path for instants between 1901 and 2038
    (see the module docstring); everything else, and every other method, works in exact
    integer microseconds. Safe to share between threads: the only mutable state is the table
    cache, and a race can at worst build the same block twice.
    """

    __slots__ = ("_blocks", "_far", "_prepared", "_rules", "_totals", "spec", "tz")

    def __init__(self, spec: CalendarSpec) -> None:
        if not isinstance(spec, CalendarSpec):
            raise CalendarError(f"not a CalendarSpec: {spec!r}")
        self.spec = spec
        self.tz = ZoneInfo(spec.timezone)
        self._rules = _DayRules(spec)
        # Tables of the float-safe years, looked up by the hot path with float keys...
        self._blocks: dict[float, _Block] = {}
        # ...and of the others, for the exact path only.
        self._far: dict[float, _Block] = {}
        self._totals: dict[int, int] = {}
        self._prepared: dict[tuple[TimeRange, ...], tuple[_Prepared, ...]] = {}

    def __repr__(self) -> str:
        return f"Calendar({self.spec!r})"

    # -- the four questions ------------------------------------------------------------------

    def business_duration(self, start: datetime, end: datetime) -> timedelta:
        """Business time inside ``[start, end)``: real elapsed time spent in windows."""
        # The epoch seconds of start and end, computed inline: this is the hot path of every
        # SLA report. timestamp() is exact for UTC (what the database gives) but costs 0.6 µs
        # for a ZoneInfo, whose offset costs 30 ns when asked directly.
        tz = start.tzinfo
        if tz is UTC:
            a = start.timestamp()
        elif tz is not None and (offset := tz.utcoffset(start)) is not None:
            o = _OFFSETS.get(offset)
            if o is None:
                o = _offset_seconds(offset)
            a = (
                (start.toordinal() - _EPOCH_ORDINAL) * _DAY
                + start.hour * 3600
                + start.minute * 60
                + start.second
                - o
            ) + start.microsecond / _MILLION
        else:
            raise _naive_error("start", start)
        tz = end.tzinfo
        if tz is UTC:
            b = end.timestamp()
        elif tz is not None and (offset := tz.utcoffset(end)) is not None:
            o = _OFFSETS.get(offset)
            if o is None:
                o = _offset_seconds(offset)
            b = (
                (end.toordinal() - _EPOCH_ORDINAL) * _DAY
                + end.hour * 3600
                + end.minute * 60
                + end.second
                - o
            ) + end.microsecond / _MILLION
        else:
            raise _naive_error("end", end)
        if b < a:
            raise CalendarError(f"end {end.isoformat()} is before start {start.isoformat()}")
        k = a // _BLOCK
        if k == b // _BLOCK:
            block = self._blocks.get(k)  # only float-safe blocks are in there
            if block is not None:
                bounds, cum, _ = block
                i = bisect_right(bounds, a) - 1
                j = bisect_right(bounds, b, i) - 1
                fa = cum[i] + (a - bounds[i]) if i & 1 else cum[i]
                fb = cum[j] + (b - bounds[j]) if j & 1 else cum[j]
                # Rounded to the microsecond like timedelta(seconds=...), in half the time.
                return _US * round((fb - fa) * _MILLION)
        return self._duration_exact(_epoch_us(start, "start"), _epoch_us(end, "end"))

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant ``t >= start`` with ``business_duration(start, t) == duration``.

        From inside a closed period the clock starts at the next opening, and a result that
        lands exactly on a window's end is that end (not the next opening). The result is in
        the calendar's zone; ``duration == 0`` gives ``start`` itself, in that zone.
        """
        a = _epoch_us(start, "start")
        if duration < _ZERO:
            raise CalendarError(f"negative duration {duration}")
        if not duration:
            return start.astimezone(self.tz)
        k, before = self._business_before(a)
        remaining = duration // _US
        available = self._total(k) * _MILLION - before
        while remaining > available:
            remaining -= available
            k += 1
            if k > _LAST_BLOCK:
                raise CalendarError("not enough business time before the year 9999")
            before, available = 0, self._total(k) * _MILLION
        bounds, cum, _ = self._load(k)
        target = before + remaining  # business µs of block k before the result, > 0
        # cum holds whole seconds: cum[j] >= target / 10**6 exactly when cum[j] >= the ceiling.
        j = bisect_left(cum, -(-target // _MILLION))
        # cum[j - 1] < target <= cum[j]: j is the end of the interval the result falls in.
        return self._to_datetime(
            int(bounds[j - 1]) * _MILLION + target - int(cum[j - 1]) * _MILLION
        )

    def business_micros(self, start: int, end: int) -> int:
        """:meth:`business_duration` on epoch microseconds, in exact integers: the batch
        path of the clocks, which keep instants as integers between events."""
        if end < start:
            raise CalendarError(f"end {end} is before start {start} (epoch microseconds)")
        sa, sb = start // _MILLION, end // _MILLION  # bounds are whole seconds
        k = sa // _BLOCK
        if k == sb // _BLOCK:  # the usual case, inlined: one block, two look-ups
            block = self._blocks.get(k) or self._far.get(k) or self._load(k)
            bounds, cum, _ = block
            i = bisect_right(bounds, sa) - 1
            j = bisect_right(bounds, sb, i) - 1
            fa = (
                (int(cum[i]) * _MILLION + start - int(bounds[i]) * _MILLION)
                if i & 1
                else (int(cum[i]) * _MILLION)
            )
            fb = (
                (int(cum[j]) * _MILLION + end - int(bounds[j]) * _MILLION)
                if j & 1
                else (int(cum[j]) * _MILLION)
            )
            return fb - fa
        ka, before_a = self._business_before(start)
        kb, before_b = self._business_before(end)
        return sum(self._total(k) for k in range(ka, kb)) * _MILLION + before_b - before_a

    def intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The maximal business intervals inside ``[start, end)``, clipped, in order.

        Touching windows come out as one interval (24x7 over a week is a single interval).
        """
        a, b = _epoch_us(start, "start"), _epoch_us(end, "end")
        if b < a:
            raise CalendarError(f"end {end.isoformat()} is before start {start.isoformat()}")
        pieces: list[list[int]] = []
        for k in range(a // _MILLION // _BLOCK, b // _MILLION // _BLOCK + 1):
            bounds = self._load(k)[0]
            first = max(bisect_right(bounds, a // _MILLION) - 1, 0)
            if not first & 1:  # a is outside any interval: begin with the next one
                first += 1
            for n in range(first, len(bounds) - 1, 2):
                s = max(int(bounds[n]) * _MILLION, a)
                e = min(int(bounds[n + 1]) * _MILLION, b)
                if s >= b:
                    break
                if e <= s:
                    continue
                if pieces and pieces[-1][1] == s:
                    pieces[-1][1] = e
                else:
                    pieces.append([s, e])
        return [(self._to_datetime(s), self._to_datetime(e)) for s, e in pieces]

    def table(self, first: int, last: int) -> BusinessTable:
        """The business intervals around ``[first, last]`` (epoch microseconds) as arrays, for
        questions about millions of instants at once (see :class:`BusinessTable`)."""
        if last < first:
            raise CalendarError(f"last {last} is before first {first} (epoch microseconds)")
        ka, kb = first // _MILLION // _BLOCK, last // _MILLION // _BLOCK
        starts: list[float] = []
        ends: list[float] = []
        for k in range(ka, kb + 1):
            bounds = self._load(k)[0]
            starts += bounds[1::2]
            ends += bounds[2::2]
        return BusinessTable(
            ka * _BLOCK,
            (kb + 1) * _BLOCK,
            np.array(starts, dtype=np.int64),
            np.array(ends, dtype=np.int64),
        )

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls inside a window (an end instant is closed, a start is open)."""
        second = _epoch_us(at, "at") // _MILLION  # bounds are whole seconds
        bounds = self._load(second // _BLOCK)[0]
        return bool((bisect_right(bounds, second) - 1) & 1)

    # -- helpers -----------------------------------------------------------------------------

    def _business_before(self, t: int) -> tuple[int, int]:
        """The block of instant ``t`` (epoch µs) and the business µs of that block before it."""
        second = t // _MILLION  # bounds are whole seconds: bound <= t iff bound <= floor(t)
        k = second // _BLOCK
        bounds, cum, _ = self._load(k)
        i = bisect_right(bounds, second) - 1
        if i & 1:  # inside an interval that started at bounds[i]
            return k, int(cum[i]) * _MILLION + t - int(bounds[i]) * _MILLION
        return k, int(cum[i]) * _MILLION

    def _duration_exact(self, a: int, b: int) -> timedelta:
        if b < a:
            raise CalendarError("end is before start")
        ka, before_a = self._business_before(a)
        kb, before_b = self._business_before(b)
        whole = sum(self._total(k) for k in range(ka, kb))
        return _US * (whole * _MILLION + before_b - before_a)

    def _to_datetime(self, t: int) -> datetime:
        try:
            return (_EPOCH + timedelta(microseconds=t)).astimezone(self.tz)
        except OverflowError:
            raise CalendarError("instant outside the years 1–9999") from None

    def _total(self, k: int) -> int:
        total = self._totals.get(k)
        return self._load(k)[2] if total is None else total

    def _load(self, k: int) -> _Block:
        cache = self._blocks if k in _FLOAT_SAFE else self._far
        block = cache.get(k)
        if block is None:
            block = self._build(k)
            if len(cache) >= MAX_CACHED_BLOCKS:
                with contextlib.suppress(StopIteration, RuntimeError):  # another thread's doing
                    cache.pop(next(iter(cache)), None)
            cache[k] = block
            self._totals[k] = block[2]
        return block

    def _build(self, k: int) -> _Block:
        lo, hi = k * _BLOCK, (k + 1) * _BLOCK
        spans = self._windows_between(lo, hi)
        if self.spec.complement:
            gaps: list[tuple[int, int]] = []
            cursor = lo
            for s, e in spans:
                if s > cursor:
                    gaps.append((cursor, s))
                cursor = e
            if cursor < hi:
                gaps.append((cursor, hi))
            spans = gaps
        bounds = [float(lo)]
        cum = [0.0]
        total = 0
        for s, e in spans:
            bounds.append(float(s))
            cum.append(float(total))
            total += e - s
            bounds.append(float(e))
            cum.append(float(total))
        return bounds, cum, total

    def _windows_between(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """Union of the windows within ``[lo, hi)`` (epoch seconds), sorted and merged."""
        # A window starting on local date D ends before D + 2 days (wall clock), and no zone is
        # a day away from UTC: three days of margin either side is plenty.
        first = max(1, _EPOCH_ORDINAL + lo // _DAY - 3)
        last = min(_MAX_ORDINAL, _EPOCH_ORDINAL + hi // _DAY + 3)
        one_day = timedelta(days=1)
        windows_on = self._rules.windows_on
        prepared = self._prepared
        resolve = self._resolve
        raw: list[tuple[int, int]] = []
        for ordinal in range(first, last + 1):
            day = date.fromordinal(ordinal)
            windows = windows_on(day)
            if not windows:
                continue
            records = prepared.get(windows)
            if records is None:
                records = prepared[windows] = _prepare(windows)
            base = (ordinal - _EPOCH_ORDINAL) * _DAY
            for start, start_1, start_s, end, end_1, end_s, crosses in records:
                try:
                    s = resolve(day, start, start_1, base + start_s)
                    e = resolve(day + one_day if crosses else day, end, end_1, base + end_s)
                except (OverflowError, ValueError, OSError):
                    continue  # within a day of year 1 or 9999: treated as closed
                s, e = max(s, lo), min(e, hi)
                if e > s:
                    raw.append((s, e))
        raw.sort()
        merged: list[tuple[int, int]] = []
        for s, e in raw:
            if merged and s <= merged[-1][1]:
                if e > merged[-1][1]:
                    merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        return merged

    def _resolve(self, day: date, at: time, at_fold_1: time, naive: int) -> int:
        """:meth:`_instant` of ``day`` at ``at`` (whose naive epoch seconds are ``naive``).

        The fast way when the time is unambiguous (fold 0 and fold 1 agree), which is all but
        a couple of boundaries a year; ``at_fold_1`` is ``at`` with ``fold=1``, made once.
        """
        utcoffset = self.tz.utcoffset
        wall = datetime.combine(day, at)
        offset = utcoffset(wall)
        if offset is not None and offset == utcoffset(datetime.combine(day, at_fold_1)):
            return naive - offset // _SECOND
        return self._instant(wall)

    def _instant(self, wall: datetime) -> int:
        """Epoch seconds of a local wall-clock time, by the rule in the module docstring."""
        tz = self.tz
        # ZoneInfo reads the fields of a naive datetime (fold included): ~30 ns per offset,
        # where replace(tzinfo=...).timestamp() costs a microsecond.
        earlier, later = tz.utcoffset(wall), tz.utcoffset(wall.replace(fold=1))
        if earlier is None or later is None:  # pragma: no cover - not a ZoneInfo behaviour
            raise CalendarError(f"time zone {self.spec.timezone!r} gives no UTC offset")
        naive = (
            (wall.toordinal() - _EPOCH_ORDINAL) * _DAY
            + wall.hour * 3600
            + wall.minute * 60
            + wall.second
        )
        first = naive - earlier // _SECOND
        second = naive - later // _SECOND
        if first <= second:  # exists (equal), or ambiguous: the first occurrence
            return first
        # In a gap, fold=0 reads it with the offset before the jump (a later instant) and
        # fold=1 with the one after (an earlier instant): the jump lies in (second, first].
        lo, hi = second, first
        after = datetime.fromtimestamp(hi, tz).utcoffset()
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, tz).utcoffset() == after:
                hi = mid
            else:
                lo = mid
        return hi


_I64 = npt.NDArray[np.int64]


class BusinessTable:
    """A calendar's business intervals over a span of its blocks, as numpy arrays.

    ``F(t)``, the business microseconds between the span's start and ``t``, answers
    :meth:`Calendar.business_micros` for any two instants of the span as ``F(b) - F(a)``:
    the same integers (bounds are whole seconds, so ``bound <= t`` iff ``bound <= t // 10**6``),
    for millions of instants in one call. Intervals split at a block edge stay split: it
    changes nothing to ``F``.
    """

    __slots__ = ("cum", "ends", "first", "last", "starts")

    def __init__(self, first: int, last: int, starts: _I64, ends: _I64) -> None:
        #: The span, ``[first, last)`` in epoch seconds.
        self.first, self.last = first, last
        #: Interval bounds in epoch seconds, and the business seconds before each start.
        self.starts, self.ends = starts, ends
        lengths = ends - starts
        self.cum: _I64 = np.cumsum(lengths) - lengths

    def _check(self, times: _I64) -> None:
        if times.size and (
            int(times.min()) < self.first * _MILLION or int(times.max()) >= self.last * _MILLION
        ):
            raise CalendarError("instant outside the span of the business table")

    def before(self, times: _I64) -> _I64:
        """``F(t)`` of each instant (epoch microseconds, within the span)."""
        times = np.asarray(times, dtype=np.int64)
        self._check(times)
        if not self.starts.size:  # never open in the span
            return np.zeros_like(times)
        seconds = times // _MILLION
        i = np.searchsorted(self.starts, seconds, side="right") - 1
        j = np.maximum(i, 0)
        inside = (i >= 0) & (seconds < self.ends[j])
        full = (self.cum[j] + (self.ends[j] - self.starts[j])) * _MILLION
        partial = self.cum[j] * _MILLION + times - self.starts[j] * _MILLION
        result: _I64 = np.where(inside, partial, np.where(i >= 0, full, 0))
        return result

    def reach(self, values: _I64) -> _I64:
        """The earliest instant ``t`` with ``F(t) == value``, for values ``> 0`` that the span
        holds (:meth:`Calendar.add_business_time` from ``a`` by ``d`` is ``reach(F(a) + d)``
        for ``d > 0``): an instant that lands on an interval's end is that end."""
        values = np.asarray(values, dtype=np.int64)
        if values.size and (
            int(values.min()) <= 0
            or int(values.max())
            > (int(self.cum[-1]) + int(self.ends[-1] - self.starts[-1])) * _MILLION
        ):
            raise CalendarError("business time outside the span of the business table")
        closing = (self.cum + (self.ends - self.starts)) * _MILLION
        j = np.searchsorted(closing, values, side="left")
        result: _I64 = self.starts[j] * _MILLION + values - self.cum[j] * _MILLION
        return result


@functools.lru_cache(maxsize=256)
def compile_calendar(spec: CalendarSpec) -> Calendar:
    """The shared compiled :class:`Calendar` of a spec (its tables are built once)."""
    return Calendar(spec)


# --------------------------------------------------------------------------------------------
# Presets

_MIDNIGHT = time(0)


def office_hours(
    *,
    timezone: str = "Europe/Paris",
    holiday_sets: Iterable[str] = ("FR",),
    start: time = time(8),
    end: time = time(18),
    weekdays: Iterable[int] = range(5),
    overrides: Iterable[DateOverride] = (),
) -> CalendarSpec:
    """HO (heures ouvrées): Monday–Friday 08:00–18:00, closed on public holidays."""
    return CalendarSpec(
        timezone=timezone,
        windows=tuple(Window(day, start, end) for day in weekdays),
        holiday_sets=tuple(holiday_sets),
        overrides=tuple(overrides),
    )


def outside_office_hours(
    *,
    timezone: str = "Europe/Paris",
    holiday_sets: Iterable[str] = ("FR",),
    start: time = time(8),
    end: time = time(18),
    weekdays: Iterable[int] = range(5),
    overrides: Iterable[DateOverride] = (),
) -> CalendarSpec:
    """HNO (heures non ouvrées): exactly what the matching HO leaves out.

    Weekday nights 18:00–08:00, the whole weekend and the whole of every public holiday;
    the arguments are those of the HO it complements (pass the same overrides).
    """
    spec = office_hours(
        timezone=timezone,
        holiday_sets=holiday_sets,
        start=start,
        end=end,
        weekdays=weekdays,
        overrides=overrides,
    )
    return replace(spec, complement=True)


def always_open(*, timezone: str = "Europe/Paris") -> CalendarSpec:
    """24x7: every day 00:00–24:00, holidays included."""
    return CalendarSpec(
        timezone=timezone,
        windows=tuple(Window(day, _MIDNIGHT, _MIDNIGHT) for day in range(7)),
        open_on_holidays=True,
    )


#: Monday–Friday 08:00–18:00 Europe/Paris, closed on French public holidays.
HO = office_hours()
#: The exact complement of :data:`HO`.
HNO = outside_office_hours()
#: Every hour of every day, Europe/Paris.
H24X7 = always_open()
