"""The events file of ``infogerance sla evaluate``: raw facts as JSON Lines, read into records.

An audit recomputes a month's service levels from a contract file and an *events file*: one
JSON object per line, each with a ``type`` (``ticket_event``, ``outage``, ``maintenance``,
``backup_run``, ``restore_test``, ``satisfaction``, ``evolution``, ``patch``). The format is
described field by field in ``docs/formats/events.md`` (a JSON Schema of one line is
``docs/formats/events.schema.json``); this module is its reader. Plain Python, no Django.

:func:`read_events` returns an :class:`EventsData`: the tickets (a :class:`TicketTable`, a
mapping to :class:`TicketInfo` kept as columns), the events of every ticket as columns
(:class:`~infogerance.helpdesk.clocks.TicketLogs`, what the clocks replay), the other records
as an :class:`~infogerance.sla.metrics.OtherData` (in file order), and the problems found.

What the reader checks
----------------------
* Each line, on its own: valid JSON, an object, a known ``type``, no unknown field, every
  required field present, each value of its type (``true`` is a boolean, ``"true"`` is not;
  ``1`` is a whole number, ``1.0`` and ``"1"`` are not), each instant an RFC 3339 date-time
  with an offset (``2026-03-02T09:00:00+01:00`` or ``2026-03-02T08:00:00Z``).
  ``null`` for an optional field means the same as leaving it out.
* Across lines: a ticket has exactly one ``created`` event and each ``seq`` once; a ticket
  without a ``created`` event is unknown; two records of one type with the same ``id`` must be
  equal (an exact repeat is kept once, with a warning). Warnings, which never change the
  data: a ticket whose ``seq`` order disagrees with its ``at`` order (the clocks apply events
  in ``(at, seq)`` order) and outages of one service that overlap (counted once).

Errors, by ``on_error``:

* ``"stop"``: :class:`EventsFileError` at the first error (errors that need the whole file, a
  ticket without ``created`` event, are raised once it is read); nothing is returned.
* ``"skip"``: the bad line is left out and reported (action ``"skipped"``). A ticket with any
  skipped line is then left out entirely, with one more problem naming the lines: evaluating
  it from the remaining events would silently change its clocks. A bad line is tied to a
  ticket when it is a JSON object with a non-empty string ``ticket`` (any ``type`` but
  ``satisfaction``, whose answers do not feed the clocks); a line that is not even that cannot
  be tied to any ticket and is only reported.

Speed
-----
Ticket events are most of a file (millions of lines). An accepted event is three 64-bit
integers in ``array`` columns (seq, epoch microseconds, and a code packing kind, status, UTC
offset, priority and ticket), not a tuple of objects: a few dozen bytes instead of a few
hundred, and :meth:`~infogerance.helpdesk.clocks.TicketLogs.from_columns` replays them all at
once. An event that comes after its ticket's last one (in ``seq`` and in ``at``) is stored in
place; one earlier in ``at`` only adds a warning; a ``created`` event that is not the ticket's
first line, or a ``seq`` not above the ticket's last, makes the ticket *irregular*: its events
are then kept aside and replayed in line order, on row lists, before the first error is raised
or at the end of the file, so that every error, warning and line number is what reading the
lines one by one in that order gives.

The file is read by blocks of 2 MiB, and the lines of a block as one batch
(:meth:`_Reader.fast_batch`): one ``orjson.loads`` per few thousand lines (an array of them,
each line checked to be one element of it), the fields of the ticket events taken as columns
and checked at once (kinds, statuses, priorities and causes looked up in maps that validate
them, types checked per column, the instants of the shapes exports write parsed by numpy,
:func:`_fast_instants`, the others by the strict check), then which events come after their
ticket's last one, found for the whole batch and stored at once; the others go one by one
through the same code as line by line. The first invalid line of a batch sends the whole
batch to the line-by-line reader, which reports it: the batch only ever takes what the line
by line reader accepts, with the same values, errors and warnings. The line-by-line reader
(:meth:`_Reader.lines`) has its own hand-inlined fast path for ticket events (``orjson.loads``,
a subset test of the keys, a few ``type(x) is`` tests, a cheap shape test of the instant and
``datetime.fromisoformat``), and a slow path that validates a line field by field and names
its first fault. The tickets are columns too (service, kind and cause, by ticket number), not
a million :class:`TicketInfo` objects. The cyclic garbage collector is paused while reading
(see :func:`read_events`).
"""

from __future__ import annotations

import codecs
import io
import operator
import os
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import repeat
from operator import itemgetter
from typing import IO, Any, Final, Literal

import numpy as np
import numpy.typing as npt
import orjson

from infogerance.helpdesk.clocks import EVENT_KINDS, KIND_NAMES, TicketLogs, vocabulary
from infogerance.sla.collector import collector_paused
from infogerance.sla.metrics import OtherData
from infogerance.sla.records import (
    BACKUP_STATUSES,
    CAUSES,
    BackupRun,
    Evolution,
    Maintenance,
    Outage,
    PatchRecord,
    RestoreTest,
    Satisfaction,
    TicketInfo,
)

__all__ = [
    "RECORD_TYPES",
    "TICKET_CAUSES",
    "TICKET_KINDS",
    "TICKET_STATUSES",
    "EventsData",
    "EventsFileError",
    "Problem",
    "TicketTable",
    "read_events",
]

#: The help desk's ticket statuses (``helpdesk.workflow.Status``, kept here without Django).
TICKET_STATUSES: Final = (
    "new",
    "assigned",
    "intervention_started",
    "waiting_client",
    "access_refused",
    "third_party",
    "restored",
    "resolved",
    "closed",
)
#: Ticket kinds (``helpdesk.workflow.Kind``); a ticket is an ``incident`` unless it says so.
TICKET_KINDS: Final = ("incident", "request", "problem")
#: Closure causes of a ticket (``helpdesk.workflow.Cause``).
TICKET_CAUSES: Final = ("provider", "client", "third_party", "force_majeure")
#: The ``type`` of every line, in the order of the format's documentation.
RECORD_TYPES: Final = (
    "ticket_event",
    "outage",
    "maintenance",
    "backup_run",
    "restore_test",
    "satisfaction",
    "evolution",
    "patch",
)

Row = tuple[datetime, int, str, str | None, str | None]
Action = Literal["stopped", "skipped", "warning"]

_EVENT_KINDS_SORTED: Final = tuple(sorted(EVENT_KINDS))
_DIGITS: Final = "0123456789"

#: Fields of each type, in documented order (``type`` included).
_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "ticket_event": (
        "type",
        "ticket",
        "seq",
        "at",
        "kind",
        "status",
        "priority",
        "service",
        "ticket_kind",
        "cause",
    ),
    "outage": ("type", "id", "service", "start", "end", "cause"),
    "maintenance": ("type", "id", "service", "start", "end", "approved", "notified_at"),
    "backup_run": ("type", "id", "service", "scope", "scheduled_at", "status", "point"),
    "restore_test": ("type", "id", "service", "at", "passed", "declared_at", "restored_at"),
    "satisfaction": ("type", "ticket", "service", "at", "score"),
    "evolution": ("type", "id", "service", "requested_at", "quoted_at", "due_at", "delivered_at"),
    "patch": ("type", "id", "service", "released_at", "applied_at"),
}
_CREATED_ONLY: Final = ("service", "ticket_kind")
#: The keys a ticket event of each kind may have (only ``created`` carries service and kind).
_EVENT_KEYS: Final[dict[str, frozenset[str]]] = {
    kind: frozenset(
        name for name in _FIELDS["ticket_event"] if kind == "created" or name not in _CREATED_ONLY
    )
    for kind in EVENT_KINDS
}

# An accepted ticket event is three 64-bit integers in the reader's columns: its seq, its
# epoch microseconds, and a code that packs, from the lowest bits, its kind (3 bits), status
# (4), UTC offset as written (12: minutes + 2048), priority (16: the number of the priority
# in order of appearance) and ticket (28: the number of the ticket in order of appearance).
_STATUS_SHIFT: Final = 3
_OFFSET_SHIFT: Final = 7
_PRIORITY_SHIFT: Final = 19
_PRIORITY_MASK: Final = 0xFFFF
_PRIORITY_LIMIT: Final = 1 << 16
_TICKET_SHIFT: Final = 35
_TICKET_LIMIT: Final = 1 << 28
_UTC_CODE: Final = 2048

# The fast path's maps: a value absent or null is the key None. A lookup both validates and
# returns the module's own string, or the code of a status or an offset, ready to pack.
_STATUS_NAMES: Final = vocabulary(TICKET_STATUSES)
_STATUS_CODE: Final = {name: code for code, name in enumerate(_STATUS_NAMES)}
_KIND_CODE: Final = {name: code for code, name in enumerate(KIND_NAMES)}
_STATUS_OF: Final[dict[str | None, int]] = {
    None: 0,
    **{s: _STATUS_CODE[s] << _STATUS_SHIFT for s in TICKET_STATUSES},
}
_STATUS_REQUIRED: Final = {s: _STATUS_CODE[s] << _STATUS_SHIFT for s in TICKET_STATUSES}
_TICKET_KIND_OF: Final[dict[str | None, str]] = {None: "incident", **{k: k for k in TICKET_KINDS}}
_CAUSE_OF: Final[dict[str | None, str | None]] = {None: None, **{c: c for c in TICKET_CAUSES}}
#: kind -> (no unknown key test, the kind, status map, priority optional, created event, code)
_FAST_SPECS: Final = {
    kind: (
        _EVENT_KEYS[kind].issuperset,
        kind,
        _STATUS_REQUIRED if kind == "status" else _STATUS_OF,
        kind != "priority",
        kind == "created",
        _KIND_CODE[kind],
    )
    for kind in EVENT_KINDS
}
#: UTC offsets as written ("+01:00"), coded.
_OFFSET_OF: Final = {
    f"{sign}{hours:02d}:{minutes:02d}": (
        _UTC_CODE + (1 if sign == "+" else -1) * (hours * 60 + minutes)
    )
    << _OFFSET_SHIFT
    for sign in "+-"
    for hours in range(24)
    for minutes in range(60)
}
#: Seqs from here on do not fit the 64-bit columns: such events take the rows' way.
_SEQ_LIMIT: Final = 2**63
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE: Final = timedelta(minutes=1)
_US: Final = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _US


_FAST_ERRORS: Final = (ValueError, TypeError, KeyError, IndexError)
_SEQ = itemgetter(1)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the file: where, which field, what, and what the reader did.

    ``action`` is ``"stopped"`` (the error stopped the reading), ``"skipped"`` (the line, or
    a whole ticket, was left out) or ``"warning"`` (reported, data unchanged).
    """

    line: int
    field: str | None
    message: str
    action: Action


class EventsFileError(ValueError):
    """An error in an events file read with ``on_error="stop"``; ``problem`` tells which.

    ``str(error)`` is ``FILE:LINE: field: message`` (``FILE:LINE: message`` without field).
    """

    def __init__(self, problem: Problem, filename: str) -> None:
        self.problem = problem
        self.filename = filename
        where = f"{filename}:{problem.line}"
        if problem.field is None:
            super().__init__(f"{where}: {problem.message}")
        else:
            super().__init__(f"{where}: {problem.field}: {problem.message}")


class TicketTable(MutableMapping[str, TicketInfo]):
    """The tickets of an events file: each ticket's :class:`TicketInfo` by its id, kept as
    columns (``refs[i]``'s service, kind and cause are ``services[i]``, ``kinds[i]`` and
    ``causes[i]``, a cause ``""`` when not attributed) and built when asked for: a million
    tickets need no million objects. :meth:`columns` gives the columns, in the order of the
    mapping, to whoever can use them (the measure). Setting or deleting a ticket turns the
    table into a plain dictionary inside; :meth:`columns` then gives ``None``."""

    __slots__ = ("_causes", "_dict", "_kinds", "_position", "_refs", "_services")

    def __init__(
        self,
        refs: Iterable[str] = (),
        services: Iterable[str] = (),
        kinds: Iterable[str] = (),
        causes: Iterable[str] = (),
    ) -> None:
        self._refs = tuple(refs)
        self._services, self._kinds, self._causes = list(services), list(kinds), list(causes)
        if not len(self._refs) == len(self._services) == len(self._kinds) == len(self._causes):
            raise ValueError("columns of different lengths")
        self._position: dict[str, int] | None = None
        self._dict: dict[str, TicketInfo] | None = None

    def columns(self) -> tuple[tuple[str, ...], list[str], list[str], list[str]] | None:
        """``(refs, services, kinds, causes)`` (not to be changed), or ``None`` once the
        table was changed."""
        if self._dict is not None:
            return None
        return self._refs, self._services, self._kinds, self._causes

    def _positions(self) -> dict[str, int]:
        if self._position is None:
            self._position = {ref: n for n, ref in enumerate(self._refs)}
        return self._position

    def _plain(self) -> dict[str, TicketInfo]:
        if self._dict is None:
            columns = (self._refs, self._services, self._kinds, self._causes)
            self._dict = dict(zip(self._refs, map(TicketInfo, *columns), strict=True))
            self._refs, self._services, self._kinds, self._causes = (), [], [], []
            self._position = None
        return self._dict

    def __getitem__(self, ref: str) -> TicketInfo:
        if self._dict is not None:
            return self._dict[ref]
        n = self._positions()[ref]
        return TicketInfo(ref, self._services[n], self._kinds[n], self._causes[n])

    def __contains__(self, ref: object) -> bool:
        if self._dict is not None:
            return ref in self._dict
        return ref in self._positions()

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs if self._dict is None else self._dict)

    def __len__(self) -> int:
        return len(self._refs if self._dict is None else self._dict)

    def __setitem__(self, ref: str, info: TicketInfo) -> None:
        self._plain()[ref] = info

    def __delitem__(self, ref: str) -> None:
        del self._plain()[ref]

    def __repr__(self) -> str:
        return f"TicketTable({dict(self.items())!r})"


@dataclass
class EventsData:
    """What an events file holds, ready for the measures.

    ``tickets`` are a :class:`TicketTable` when read from a file. ``logs`` holds the events
    of every ticket of ``tickets``, in the same order (columns, each ticket's events in
    ``(at, seq)`` order, see :class:`~infogerance.helpdesk.clocks.TicketLogs`).
    ``problems`` are in line order; ``lines`` counts every line read, blank ones included.
    """

    tickets: MutableMapping[str, TicketInfo] = field(default_factory=dict)
    logs: TicketLogs = field(default_factory=lambda: TicketLogs.from_rows({}))
    other: OtherData = field(default_factory=OtherData)
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0


def read_events(
    source: str | os.PathLike[str] | IO[bytes], *, on_error: str = "stop"
) -> EventsData:
    """Read an events file (a path, or a binary stream, read by blocks).

    ``on_error="stop"`` raises :class:`EventsFileError` at the first error; ``"skip"`` leaves
    bad lines, and every ticket that had one, out, and reports them in ``problems`` (see the
    module docstring). An empty file, or one with blank lines only, gives an empty
    :class:`EventsData`.
    """
    if on_error not in ("stop", "skip"):
        raise ValueError(f"on_error must be 'stop' or 'skip', not {on_error!r}")
    stop = on_error == "stop"
    # Millions of per-ticket objects: the cyclic garbage collector is paused while reading
    # (see infogerance.sla.collector), and resumed even on error.
    with collector_paused():
        if isinstance(source, str | os.PathLike):
            filename = os.fsdecode(source)
            with open(source, "rb", buffering=1 << 20) as stream:
                return _Reader(filename, stop).read(stream)
        name = getattr(source, "name", None)
        return _Reader(name if isinstance(name, str) else "<events>", stop).read(source)


# --------------------------------------------------------------------------------------------
# Field by field validation (the slow path, and every record but ticket events)


class _Bad(Exception):
    """A fault of one line: the field (``None`` for the line itself) and the message."""

    def __init__(self, name: str | None, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _show(value: object) -> str:
    """``value`` as written in JSON, shortened to 60 characters."""
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else f"{text[:57]}..."


def _absent(obj: dict[str, Any], name: str, what: str) -> _Bad:
    state = "null" if name in obj else "missing"
    return _Bad(name, f"required on every {what} line, but {state}")


def _text(obj: dict[str, Any], name: str, what: str, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise _absent(obj, name, what)
        return None
    if type(value) is not str or not value:
        raise _Bad(name, f"expected a non-empty string, got {_show(value)}")
    return value


def _required_text(obj: dict[str, Any], name: str, what: str) -> str:
    value = _text(obj, name, what)
    assert value is not None
    return value


def _choice(
    obj: dict[str, Any],
    name: str,
    options: Iterable[str],
    what: str,
    default: str | None = None,
    required: bool = True,
) -> str | None:
    value = obj.get(name)
    if value is None:
        if required and default is None:
            raise _absent(obj, name, what)
        return default
    options = tuple(options)
    if type(value) is not str or value not in options:
        raise _Bad(name, f"expected one of {', '.join(options)}, got {_show(value)}")
    return value


def _flag(obj: dict[str, Any], name: str, what: str, default: bool | None = None) -> bool:
    value = obj.get(name)
    if value is None:
        if default is None:
            raise _absent(obj, name, what)
        return default
    if type(value) is not bool:
        raise _Bad(name, f"expected true or false, got {_show(value)}")
    return value


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _rfc3339(text: str) -> bool:
    """Whether ``text`` has the shape ``YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)``.

    Only the shape: the ranges of the numbers are left to ``datetime.fromisoformat``.
    """
    size = len(text)
    if size < 20 or text[4:17:3] != "--T::":
        return False
    numbers = text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]
    if not _digits(numbers):
        return False
    i = 19
    if text[i] == ".":
        j = i + 1
        while j < size and text[j] in _DIGITS:
            j += 1
        if j == i + 1:
            return False
        i = j
    tail = text[i:]
    return tail == "Z" or (
        len(tail) == 6
        and tail[0] in "+-"
        and tail[3] == ":"
        and _digits(tail[1:3] + tail[4:6])
        and tail[4] in "012345"
    )


def _instant(obj: dict[str, Any], name: str, what: str, required: bool = True) -> datetime | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise _absent(obj, name, what)
        return None
    example = "like 2026-03-02T09:00:00+01:00 or 2026-03-02T08:00:00Z"
    if type(value) is not str:
        raise _Bad(name, f"expected an RFC 3339 instant ({example}), got {_show(value)}")
    try:
        at: datetime | None = datetime.fromisoformat(value)
    except ValueError:
        at = None
    if at is not None and at.tzinfo is None and _rfc3339(value + "Z"):
        raise _Bad(
            name,
            f"{_show(value)} has no UTC offset: add it ({value}+01:00, say) or write Z for UTC",
        )
    if at is None or at.tzinfo is None or not _rfc3339(value):
        raise _Bad(name, f"{_show(value)} is not a valid RFC 3339 instant ({example})")
    return at


def _accepted_instant(text: str) -> datetime | None:
    """The instant of ``text`` when :func:`_instant` accepts it, else ``None``."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None and _rfc3339(text) else None


# The shapes of instant that exports write, read for many lines at once: the characters of
# ``YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM)`` as a matrix, a row per position.
_DATE: Final = np.frombuffer(b"0000-00-00T00:00:00", dtype=np.uint8)
_DATE_LOW: Final = _DATE[:, None]  # the character, or the lowest digit
_DATE_SPAN: Final = (np.frombuffer(b"9999-99-99T99:99:99", dtype=np.uint8) - _DATE)[:, None]
_PLACE_VALUE: Final = 10 ** np.arange(5, -1, -1, dtype=np.int64)
_MONTH_DAYS: Final = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_I64 = npt.NDArray[np.int64]
_BOOL = npt.NDArray[np.bool_]


def _fast_instants(joined: bytes, lengths: _I64) -> tuple[_I64, _I64, _BOOL]:
    """Epoch microseconds and UTC offsets (minutes) of many instants at once (``joined``:
    their ASCII characters end to end, ``lengths``: their lengths), and which of them were
    read: those of the shape ``YYYY-MM-DDTHH:MM:SS[.f]`` (1 to 6 digits of fraction) then
    ``Z`` or ``+HH:MM``/``-HH:MM``, with a date and a time that exist and an offset below
    24 hours. Every instant read is one :func:`_accepted_instant` accepts, with the same
    value; the others (``False``) are left to it."""
    m = len(lengths)
    us = np.zeros(m, dtype=np.int64)
    offset = np.zeros(m, dtype=np.int64)
    read = np.zeros(m, dtype=bool)
    if not m:
        return us, offset, read
    shortest, longest = int(lengths.min()), int(lengths.max())
    groups: list[tuple[int, _I64 | None, npt.NDArray[np.uint8]]] = []
    if shortest == longest:  # one length, most often: the rows without a gather
        if 20 <= shortest <= 32:
            rows = np.frombuffer(joined, dtype=np.uint8).reshape(m, shortest)
            groups.append((shortest, None, rows.T))
    else:
        starts = np.cumsum(lengths) - lengths
        buf = np.frombuffer(joined + bytes(32), dtype=np.uint8)
        windows = np.lib.stride_tricks.sliding_window_view(buf, 32)
        sizes = np.bincount(np.minimum(lengths, 33), minlength=34)
        for size in (np.flatnonzero(sizes[20:33]) + 20).tolist():
            members = np.flatnonzero(lengths == size)
            groups.append((size, members, windows[starts[members], :size].T))
    for size, where, chars in groups:
        chars = np.ascontiguousarray(chars)  # a row per position: whole rows for the checks
        zulu = chars[size - 1] == ord("Z")
        for tail, which in ((1, zulu), (6, ~zulu)):
            count = int(np.count_nonzero(which))
            if not count:
                continue
            sub = chars if count == len(which) else chars[:, which]
            good, value, minutes = _instants_of_shape(sub, tail)
            mine: slice | _I64
            if where is None:
                mine = slice(None) if count == len(which) else np.flatnonzero(which)
            else:
                mine = where if count == len(which) else where[which]
            read[mine], us[mine], offset[mine] = good, value, minutes
    return us, offset, read


def _instants_of_shape(chars: npt.NDArray[np.uint8], tail: int) -> tuple[_BOOL, _I64, Any]:
    """:func:`_fast_instants` for instants of one length (a row per position), ending in
    ``Z`` (``tail`` 1) or in an offset (``tail`` 6): which have the shape, their
    microseconds and their offsets."""
    size, m = chars.shape
    places = size - 20 - tail  # digits of the fraction; -1: no fraction
    if places == 0 or places > 6:
        return np.zeros(m, dtype=bool), np.zeros(m, dtype=np.int64), 0
    head = chars[:19]
    # Bytes: below the lowest character allowed wraps around, above the span.
    good = np.logical_and.reduce(head - _DATE_LOW <= _DATE_SPAN, axis=0)
    digits = (head - ord("0")).astype(np.int64)
    micro: Any = 0
    if places > 0:
        fraction = chars[20 : 20 + places] - ord("0")
        good &= (chars[19] == ord(".")) & np.logical_and.reduce(fraction <= 9, axis=0)
        micro = _PLACE_VALUE[:places] @ fraction.astype(np.int64)
    minutes: Any = 0
    if tail == 6:
        end = chars[size - 6 :]
        sign = end[0]
        numbers = end - ord("0")
        good &= ((sign == ord("+")) | (sign == ord("-"))) & (end[3] == ord(":"))
        good &= np.logical_and.reduce(numbers[[1, 2, 4, 5]] <= 9, axis=0)
        numbers = numbers.astype(np.int64)
        hours = numbers[1] * 10 + numbers[2]
        minutes = numbers[4] * 10 + numbers[5]
        good &= (hours <= 23) & (minutes <= 59)
        minutes = np.where(sign == ord("-"), -1, 1) * (hours * 60 + minutes)
    year = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]
    month = digits[5] * 10 + digits[6]
    day = digits[8] * 10 + digits[9]
    hour = digits[11] * 10 + digits[12]
    minute = digits[14] * 10 + digits[15]
    second = digits[17] * 10 + digits[18]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    in_year = (month >= 1) & (month <= 12)
    month_days = _MONTH_DAYS[np.where(in_year, month, 0)] + ((month == 2) & leap)
    good &= (year >= 1) & in_year & (day >= 1) & (day <= month_days)
    good &= (hour <= 23) & (minute <= 59) & (second <= 59)
    # Days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil).
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146_097 + day_of_era - 719_468
    us = (((days * 24 + hour) * 60 + minute) * 60 + second) * 1_000_000 + micro
    return good, us - minutes * 60_000_000, minutes


def _required_instant(obj: dict[str, Any], name: str, what: str) -> datetime:
    value = _instant(obj, name, what)
    assert value is not None
    return value


def _check_fields(obj: dict[str, Any], what: str) -> None:
    known = _FIELDS[what]
    for name in obj:
        if name not in known:
            raise _Bad(
                name, f"unknown field {_show(name)} on a {what} line (known: {', '.join(known)})"
            )


def _span(obj: dict[str, Any], what: str) -> tuple[datetime, datetime]:
    start = _required_instant(obj, "start", what)
    end = _required_instant(obj, "end", what)
    if end <= start:
        raise _Bad("end", f"end {obj['end']} is not after start {obj['start']}")
    return start, end


_TicketValues = tuple[
    str, int, datetime, str, str | None, str | None, str | None, str | None, str | None
]


def _ticket_event(obj: dict[str, Any]) -> _TicketValues:
    """``(ticket, seq, at, kind, status, priority, service, ticket_kind, cause)``."""
    what = "ticket_event"
    _check_fields(obj, what)
    ticket = _required_text(obj, "ticket", what)
    seq = obj.get("seq")
    if seq is None:
        raise _absent(obj, "seq", what)
    if type(seq) is not int or seq < 1:
        raise _Bad("seq", f"expected a whole number of at least 1, got {_show(seq)}")
    at = _required_instant(obj, "at", what)
    kind = _choice(obj, "kind", _EVENT_KINDS_SORTED, what)
    assert kind is not None
    status = _choice(obj, "status", TICKET_STATUSES, what, required=False)
    priority = _text(obj, "priority", what, required=False)
    if kind == "status" and status is None:
        raise _Bad("status", f"a status event needs a status (one of {', '.join(TICKET_STATUSES)})")
    if kind == "priority" and priority is None:
        raise _Bad("priority", "a priority event needs a priority (like P1)")
    service = ticket_kind = None
    if kind == "created":
        service = obj.get("service")
        if service is None:
            raise _Bad("service", "a created event needs the ticket's service")
        service = _text(obj, "service", what)
        ticket_kind = _choice(obj, "ticket_kind", TICKET_KINDS, what, default="incident")
    else:
        for name in _CREATED_ONLY:
            if name in obj:
                raise _Bad(name, f"only the created event carries {name}, not a {kind} event")
    cause = _choice(obj, "cause", TICKET_CAUSES, what, required=False)
    return ticket, seq, at, kind, status, priority, service, ticket_kind, cause


def _outage(obj: dict[str, Any]) -> Outage:
    what = "outage"
    _check_fields(obj, what)
    id_ = _required_text(obj, "id", what)
    service = _required_text(obj, "service", what)
    start, end = _span(obj, what)
    cause = _choice(obj, "cause", CAUSES, what, default="provider")
    assert cause is not None
    return Outage(id=id_, service=service, start=start, end=end, cause=cause)


def _maintenance(obj: dict[str, Any]) -> Maintenance:
    what = "maintenance"
    _check_fields(obj, what)
    id_ = _required_text(obj, "id", what)
    service = _required_text(obj, "service", what)
    start, end = _span(obj, what)
    approved = _flag(obj, "approved", what, default=True)
    notified_at = _instant(obj, "notified_at", what, required=False)
    return Maintenance(
        id=id_, service=service, start=start, end=end, approved=approved, notified_at=notified_at
    )


def _backup_run(obj: dict[str, Any]) -> BackupRun:
    what = "backup_run"
    _check_fields(obj, what)
    id_ = _required_text(obj, "id", what)
    service = _required_text(obj, "service", what)
    scope = _required_text(obj, "scope", what)
    scheduled_at = _required_instant(obj, "scheduled_at", what)
    status = _choice(obj, "status", BACKUP_STATUSES, what)
    assert status is not None
    point = _instant(obj, "point", what, required=False)
    return BackupRun(
        id=id_, service=service, scope=scope, scheduled_at=scheduled_at, status=status, point=point
    )


def _restore_test(obj: dict[str, Any]) -> RestoreTest:
    what = "restore_test"
    _check_fields(obj, what)
    id_ = _required_text(obj, "id", what)
    service = _required_text(obj, "service", what)
    at = _required_instant(obj, "at", what)
    passed = _flag(obj, "passed", what)
    declared_at = _instant(obj, "declared_at", what, required=False)
    restored_at = _instant(obj, "restored_at", what, required=False)
    return RestoreTest(
        id=id_,
        service=service,
        at=at,
        passed=passed,
        declared_at=declared_at,
        restored_at=restored_at,
    )


def _satisfaction(obj: dict[str, Any]) -> Satisfaction:
    what = "satisfaction"
    _check_fields(obj, what)
    ticket = _required_text(obj, "ticket", what)
    service = _required_text(obj, "service", what)
    at = _required_instant(obj, "at", what)
    score = obj.get("score")
    if score is None:
        raise _absent(obj, "score", what)
    if type(score) is not int or not 1 <= score <= 5:
        raise _Bad("score", f"expected a whole number from 1 to 5, got {_show(score)}")
    return Satisfaction(ticket=ticket, service=service, at=at, score=score)


def _evolution(obj: dict[str, Any]) -> Evolution:
    what = "evolution"
    _check_fields(obj, what)
    return Evolution(
        id=_required_text(obj, "id", what),
        service=_required_text(obj, "service", what),
        requested_at=_required_instant(obj, "requested_at", what),
        quoted_at=_instant(obj, "quoted_at", what, required=False),
        due_at=_instant(obj, "due_at", what, required=False),
        delivered_at=_instant(obj, "delivered_at", what, required=False),
    )


def _patch(obj: dict[str, Any]) -> PatchRecord:
    what = "patch"
    _check_fields(obj, what)
    return PatchRecord(
        id=_required_text(obj, "id", what),
        service=_required_text(obj, "service", what),
        released_at=_required_instant(obj, "released_at", what),
        applied_at=_instant(obj, "applied_at", what, required=False),
    )


_BUILDERS: Final[dict[str, Callable[[dict[str, Any]], Any]]] = {
    "outage": _outage,
    "maintenance": _maintenance,
    "backup_run": _backup_run,
    "restore_test": _restore_test,
    "satisfaction": _satisfaction,
    "evolution": _evolution,
    "patch": _patch,
}


# --------------------------------------------------------------------------------------------
# The reader

#: Bytes read at a time; the lines they end are read as one batch (see _Reader.batch).
_BLOCK: Final = 1 << 21
#: A batch with more than this fraction of lines read one by one (or not taken at once)
#: sends the next ones line by line: 1, 2, 4… up to _BACKOFF of them.
_LINE_BY_LINE: Final = 8
_BACKOFF: Final = 16
#: The last seq of an irregular ticket: no event comes after it on the fast paths.
_IRREGULAR: Final = 2**63 - 1
#: An optional field left out (None: written null).
_ABSENT: Final = object()
_STATUS_NUMBER: Final[dict[object, int]] = {
    None: 0,
    _ABSENT: 0,
    **{s: _STATUS_CODE[s] for s in TICKET_STATUSES},
}
_CREATED: Final = _KIND_CODE["created"]
_STATUS_EVENT: Final = _KIND_CODE["status"]
_PRIORITY_EVENT: Final = _KIND_CODE["priority"]
_CAUSE_NUMBER: Final[dict[object, int]] = {
    None: 0,
    _ABSENT: 0,
    **{cause: n for n, cause in enumerate(TICKET_CAUSES, start=1)},
}
_TICKET_KIND_GIVEN: Final[dict[object, str]] = {None: "incident", _ABSENT: "incident"}
_TICKET_KIND_GIVEN.update((kind, kind) for kind in TICKET_KINDS)
#: Lines parsed by one orjson.loads (see _Reader.fast_batch).
_PIECE: Final = 2048
#: The fields of a ticket event but its type: required, and optional.
_REQUIRED: Final = ("ticket", "seq", "at", "kind")
_OPTIONAL: Final = ("status", "priority", "service", "ticket_kind", "cause")
_get = dict.get


class _Gather:
    """The ticket events of a batch, piece by piece (:meth:`add`, while their objects are
    still in the processor's caches): their codes in arrays, and of their strings only
    those that codes do not give back (tickets, and the services and ticket kinds of
    created events)."""

    def __init__(self, priority_codes: dict[str, int]) -> None:
        self.kind: list[_I64] = []
        self.status: list[_I64] = []
        self.priority: list[_I64] = []  # shifted, as in the columns' codes
        self.seq: list[_I64] = []
        self.cause: list[_I64] = []  # 0: none, else 1 + its index in TICKET_CAUSES
        self.first: list[_I64] = []  # the index of the first event of the event's ticket
        self.lengths: list[_I64] = []  # of the instants
        self.texts: list[bytes] = []  # the instants, end to end (see _fast_instants)
        self.local: dict[str, int] = {}  # ticket -> the index of its first event
        self.services: list[str] = []  # of the created events, in line order
        self.ticket_kinds: list[str] = []  # of the created events, in line order
        self.codes: dict[object, int] = {None: 0, _ABSENT: 0}
        self.codes.update(priority_codes)
        self.new: list[str] = []  # priorities new in the batch
        self.count = 0

    def add(self, events: list[dict[str, Any]]) -> bool:
        """Add ticket events, each one checked as :func:`_ticket_event` checks it (but its
        instant, checked by :meth:`_Reader.ticket_batch`); ``False`` for an invalid one."""
        k = len(events)
        required: list[list[Any]] = [list(map(_get, events, repeat(name))) for name in _REQUIRED]
        tickets, seqs, texts, kinds = required
        statuses = list(map(_get, events, repeat("status"), repeat(_ABSENT)))
        try:
            kind = _codes(_KIND_CODE, kinds)
            status = _codes(_STATUS_NUMBER, statuses)
        except (KeyError, TypeError):  # TypeError: a value that is a list or an object
            return False
        # The other optional fields, taken from the lines with more keys than the type, the
        # required fields and a status (those without a status or null: maybe one more).
        size = np.fromiter(map(len, events), np.int64, k)
        fields = len(_REQUIRED) + 1
        rich = np.flatnonzero((size > fields + 1) | ((size == fields + 1) & (status == 0)))
        some = events if len(rich) == k else list(map(events.__getitem__, rich.tolist()))
        others = [list(map(_get, some, repeat(name), repeat(_ABSENT))) for name in _OPTIONAL[1:]]
        priorities, services, ticket_kinds, causes = others
        # No unknown key: as many keys as the type, the required fields (missing ones fail
        # below) and the optional fields present.
        present = k - statuses.count(_ABSENT)
        present += sum(len(rich) - part.count(_ABSENT) for part in others)
        if int(size.sum()) != k * fields + present:
            return False
        made = np.flatnonzero(kind == _CREATED)
        where = np.searchsorted(rich, made)  # each created event among the rich lines
        if len(made) and (where[-1] >= len(rich) or np.any(rich[where] != made)):
            return False  # a created event without a service
        try:
            cause = None
            if causes.count(_ABSENT) != len(causes):
                cause = np.zeros(k, dtype=np.int64)
                cause[rich] = _codes(_CAUSE_NUMBER, causes)
            first = np.fromiter(
                map(self.local.setdefault, tickets, range(self.count, self.count + k)), np.int64, k
            )
            given = list(map(ticket_kinds.__getitem__, where.tolist()))
            kinds_made = list(map(_TICKET_KIND_GIVEN.__getitem__, given))
            joined = "".join(texts)  # TypeError unless all are strings
        except (KeyError, TypeError):
            return False
        priority = np.zeros(k, dtype=np.int64)
        try:
            if priorities.count(_ABSENT) != len(priorities):
                priority[rich] = _codes(self.codes, priorities)
        except (KeyError, TypeError):  # new priorities (or invalid ones)
            try:
                names = set(priorities) - self.codes.keys()
            except TypeError:
                return False
            if "" in names or set(map(type, names)) != {str}:
                return False
            for name in sorted(names):
                self.codes[name] = (len(self.codes) - 1) << _PRIORITY_SHIFT  # numbers from 1
                self.new.append(name)
            priority[rich] = _codes(self.codes, priorities)
        if set(map(type, seqs)) != {int}:
            return False
        try:
            seq = np.fromiter(seqs, np.int64, k)
        except OverflowError:
            return False  # a seq beyond the columns (or below -2**63)
        if seq.min() < 1:
            return False
        if np.any((kind == _STATUS_EVENT) & (status == 0)):
            return False  # a status event without status
        if np.any((kind == _PRIORITY_EVENT) & (priority == 0)):
            return False  # a priority event without priority
        services_made = list(map(services.__getitem__, where.tolist()))
        if len(made) and (set(map(type, services_made)) != {str} or "" in services_made):
            return False  # a created event without a service
        # Only created events carry a service or a ticket kind (not even null).
        if services.count(_ABSENT) != len(rich) - len(made):
            return False
        if ticket_kinds.count(_ABSENT) != len(rich) - len(made) + given.count(_ABSENT):
            return False
        self.kind.append(kind)
        self.status.append(status)
        self.priority.append(priority)
        self.seq.append(seq)
        self.cause.append(np.zeros(k, dtype=np.int64) if cause is None else cause)
        self.first.append(first)
        self.lengths.append(np.fromiter(map(len, texts), np.int64, k))
        # One byte per character: any other than ASCII becomes "?", which no shape accepts.
        self.texts.append(joined.encode("ascii", "replace"))
        self.services += services_made
        self.ticket_kinds += kinds_made
        self.count += k
        return True


def _codes(codes: Mapping[Any, int], values: list[Any]) -> _I64:
    """The code of each value (KeyError for a value without one, TypeError for a list or
    an object), looked up in one call."""
    if len(values) == 1:
        return np.array([codes[values[0]]], dtype=np.int64)
    return np.fromiter(itemgetter(*values)(codes), dtype=np.int64, count=len(values))


@dataclass(slots=True)
class _Batch:
    """The ticket events of a batch of lines, valid, as columns (index ``i``: the batch's
    ``i``-th ticket event), and which of them come after their ticket's last event."""

    names: list[str]  # the batch's tickets, in order of first event
    ticket: _I64  # index into ``names`` (and ``number``)
    number: _I64  # each of the batch's tickets' number (-1: none yet)
    lines: _I64  # line numbers
    kind: _I64
    status: _I64
    priority: _I64  # shifted, as in the codes
    priority_names: dict[int, str]  # shifted code -> name
    new_priorities: dict[str, int]  # the batch's priorities without a code yet, and theirs
    seq: _I64
    us: _I64
    offset: _I64  # minutes
    cause: _I64  # 0: none, else 1 + its index in TICKET_CAUSES
    made: _I64  # a created event's index in ``services`` and ``ticket_kinds``
    services: list[str]
    ticket_kinds: list[str]
    following: _I64  # the index of the ticket's next event in the batch (or its size)
    regular: _BOOL  # stored by commit() (one more item, False, for ``following``)

    def values(self, chosen: _I64) -> Iterator[tuple[Any, ...]]:
        """The arguments of :meth:`_Reader.add_event` for the events ``chosen``."""
        zones: dict[int, timezone] = {}
        for line, ticket, seq, us, offset, kind, status, priority, made, cause in zip(
            *(
                column[chosen].tolist()
                for column in (
                    self.lines,
                    self.ticket,
                    self.seq,
                    self.us,
                    self.offset,
                    self.kind,
                    self.status,
                    self.priority,
                    self.made,
                    self.cause,
                )
            ),
            strict=True,
        ):
            zone = zones.get(offset) or zones.setdefault(
                offset, timezone(timedelta(minutes=offset))
            )
            created = kind == _CREATED
            yield (
                line,
                self.names[ticket],
                seq,
                (_EPOCH + timedelta(microseconds=us)).astimezone(zone),
                KIND_NAMES[kind],
                _STATUS_NAMES[status],
                self.priority_names[priority] if priority else None,
                self.services[made] if created else None,
                self.ticket_kinds[made] if created else None,
                TICKET_CAUSES[cause - 1] if cause else None,
            )


class _Reader:
    """One reading of one file: the state the lines build up, then :meth:`finish`.

    Accepted ticket events go to columns (``array`` of 64-bit integers: seq, epoch
    microseconds, and a code packing kind, status, UTC offset, priority and ticket). Each
    ticket seen has a number (its index in ``refs``) and, per number, the seq, the
    microseconds and the row of its last event in the columns. An event of a known ticket
    that does not come after its last one in ``seq`` (or a second ``created`` event) makes
    the ticket *irregular* (its last seq becomes ``_IRREGULAR``): from then on its events
    wait in ``deferred`` and are replayed in line order by :meth:`resolve`, on row lists,
    with the checks of :meth:`insert_event`, before the first error is raised or the file is
    finished.
    """

    def __init__(self, filename: str, stop: bool) -> None:
        self.filename = filename
        self.stop = stop
        self.refs: list[str] = []
        self.numbers: dict[str, int] = {}  # ticket -> its index in refs
        self.last_seq = array("q")  # per ticket number (_IRREGULAR: irregular)
        self.last_us = array("q")
        self.last_row = array("q")  # the row of its last event in the columns
        self.created_lines = array("q")  # per ticket number: the line of its created event
        self.seqs = array("q")
        self.times = array("q")  # epoch microseconds
        self.codes = array("q")  # kind, status, UTC offset, priority, ticket (see _TICKET_SHIFT)
        self.priority_codes: dict[str, int] = {}
        self.deferred: list[tuple[Any, ...]] = []  # add_event arguments of irregular tickets
        self.irregular: set[str] = set()
        self.dropped: set[str] = set()
        self.rows: dict[str, list[Row]] = {}  # irregular tickets' events, once resolved
        # Per ticket number: the service (None: no created event yet) and kind of a ticket.
        self.services: list[str | None] = []
        self.ticket_kinds: list[str] = []
        self.names: dict[str, str] = {}  # one string per service name
        self.causes: dict[str, tuple[int, str]] = {}  # ticket -> seq, cause
        self.first_seen: dict[str, int] = {}  # tickets whose first line is not "created"
        self.bad: dict[str, list[int]] = {}  # ticket -> skipped lines
        self.records: dict[str, list[Any]] = {name: [] for name in _BUILDERS}
        self.record_lines: dict[str, list[int]] = {name: [] for name in _BUILDERS}
        self.ids: dict[str, dict[str, tuple[Any, int]]] = {name: {} for name in _BUILDERS}
        self.problems: list[Problem] = []
        self.wait = 0  # batches to read line by line (see batch)
        self.backoff = 0

    # -- reporting

    def fail(self, line: int, name: str | None, message: str, ticket: str | None) -> None:
        """An error: raise (stop) or record the skipped line and its ticket (skip). Before
        raising, the deferred events are replayed: one of them may hold an earlier error."""
        if self.stop:
            self.resolve()
            raise EventsFileError(Problem(line, name, message, "stopped"), self.filename)
        self.problems.append(Problem(line, name, message, "skipped"))
        if ticket is not None:
            self.bad.setdefault(ticket, []).append(line)

    def warn(self, line: int, name: str | None, message: str) -> None:
        self.problems.append(Problem(line, name, message, "warning"))

    # -- lines

    def read(self, stream: IO[bytes]) -> EventsData:
        """Read every line, by batches: the lines that each block of bytes ends."""
        lineno = 0
        pending: list[bytes] = []  # the start of a line longer than a block
        while block := stream.read(_BLOCK):
            end = block.rfind(b"\n") + 1
            if not end:
                pending.append(block)
                continue
            if pending:
                pending.append(block[:end])
                whole, pending = b"".join(pending), []
            else:
                whole = block if end == len(block) else block[:end]
            lineno = self.batch(whole, lineno)
            if end < len(block):
                pending.append(block[end:])
        if pending:
            lineno = self.lines([b"".join(pending)], lineno)
        return self.finish(lineno)

    def batch(self, data: bytes, lineno: int) -> int:
        """Read ``data``, whole lines after line ``lineno``: at once (:meth:`fast_batch`) or,
        when that does not take them, line by line. Returns the number of the last line.

        A batch that :meth:`fast_batch` does not take, or where most lines are read one by
        one anyway (a file in random order), makes the next ones go line by line at once,
        1, 2, 4… up to 16 of them, until one is taken again."""
        buf = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10)
        n = len(ends)
        if self.wait:
            self.wait -= 1
            self.lines(io.BytesIO(data), lineno)
            return lineno + n
        one_by_one = self.fast_batch(data, buf, ends, lineno)
        if one_by_one < 0:
            self.lines(io.BytesIO(data), lineno)
        if (one_by_one < 0 or one_by_one * _LINE_BY_LINE > n) and n >= 64:
            self.backoff = min(2 * self.backoff or 1, _BACKOFF)
            self.wait = self.backoff
        else:
            self.backoff = 0
        return lineno + n

    def fast_batch(self, data: bytes, buf: npt.NDArray[np.uint8], ends: _I64, lineno: int) -> int:
        """Read many lines at once, or nothing (-1: :meth:`lines` reads them); returns how
        many were read one by one (other records, ticket events not stored at once).

        The lines are parsed by ``orjson.loads`` of arrays, ``[line,\nline,\n…]``, of a few
        thousand lines each (their objects are then still in the processor's caches when
        their values are taken). Each line is one element of the array when every line
        starts with ``{`` and ends with ``}`` (a ``\r`` aside), the array has as many
        elements as there are lines and no element holds an object or an array: no token
        spans two lines (a string cannot hold a raw line feed), so the first ``{`` and the
        last ``}`` of each line are an element's, and no element can hold another, or two
        elements share a line, without a line too many. Then every line must be valid,
        checked on columns (ticket events, see :meth:`ticket_batch`) or by its builder: the
        first invalid line sends the whole batch to :meth:`lines`, which reports it. Valid
        ticket events are stored at once when they come after their ticket's last one, the
        others one by one, in line order (see :meth:`commit_batch`).
        """
        n = len(ends)
        if not n:
            return -1
        starts = np.empty(n, dtype=np.int64)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        last = ends - 1
        last -= (last >= starts) & (buf[np.maximum(last, 0)] == 13)  # \r\n
        if not np.all((last > starts) & (buf[starts] == 123) & (buf[np.maximum(last, 0)] == 125)):
            return -1
        gather = _Gather(self.priority_codes)
        others: list[tuple[int, str, Any]] = []
        where: list[int] = []  # the line (from 0) of each ticket event, if ``mixed``
        mixed = False
        # The lines of a piece, ``line,\nline``, then "[" and "]" in the place of the bytes
        # before and after them: the "\n" of the previous line and the "," of the last one.
        text = bytearray(b"\n")
        text += data.replace(b"\n", b",\n")
        view = memoryview(text)
        for a in range(0, n, _PIECE):
            b = min(a + _PIECE, n)
            first, end = int(starts[a]) + a, int(ends[b - 1]) + b
            text[first] = 91  # [
            text[end] = 93  # ]
            try:
                objs = orjson.loads(view[first : end + 1])
                if len(objs) != b - a:
                    return -1
                types: list[Any] = list(map(_get, objs, repeat("type")))
            except (orjson.JSONDecodeError, TypeError):  # TypeError: an element not an object
                return -1
            count = types.count("ticket_event")
            if count == b - a and not mixed:
                events = objs
            else:
                if (b - a - count) * _LINE_BY_LINE > b - a and b - a >= 64:
                    return -1  # mostly other records: line by line costs less
                if not mixed:
                    where, mixed = list(range(a)), True  # the earlier lines: ticket events
                events = []
                for i, kind in enumerate(types, start=a):
                    if kind == "ticket_event":
                        where.append(i)
                        events.append(objs[i - a])
                        continue
                    builder = _BUILDERS.get(kind) if type(kind) is str else None
                    if builder is None:
                        return -1
                    try:
                        others.append((i, kind, builder(objs[i - a])))
                    except _Bad:
                        return -1
            if events and not gather.add(events):
                return -1
            del objs, types, events
        batch = None
        if gather.count:
            positions = np.array(where, dtype=np.int64) if mixed else None
            batch = self.ticket_batch(gather, lineno, positions)
            if batch is None:
                return -1
            singles = len(batch.regular) - 1 - int(np.count_nonzero(batch.regular))
        else:
            singles = 0
        self.commit_batch(batch, others, lineno)
        return singles + len(others)

    def ticket_batch(self, gather: _Gather, lineno: int, positions: _I64 | None) -> _Batch | None:
        """The ticket events of ``gather`` (each one valid on its own, but maybe for its
        instant), and which of them come after their ticket's last event (``regular``);
        ``None`` when one of them is not valid (or the columns' limits are near).
        ``positions``: the line (from 0) of each, when not every line of the batch."""
        m, local = gather.count, gather.local
        priorities = len(gather.codes) - 2  # but None and _ABSENT
        if len(self.refs) + m >= _TICKET_LIMIT or priorities >= _PRIORITY_LIMIT:
            return None
        if "" in local or set(map(type, local)) != {str}:
            return None
        joined, lengths = b"".join(gather.texts), np.concatenate(gather.lengths)
        us, offset, read = _fast_instants(joined, lengths)
        if not read.all():
            ends = np.cumsum(lengths)
            for i in np.flatnonzero(~read).tolist():
                at = _accepted_instant(joined[ends[i] - lengths[i] : ends[i]].decode())
                if at is None:
                    return None
                us[i] = _micros(at)
                utc_offset = at.utcoffset()
                assert utc_offset is not None
                offset[i] = utc_offset // _MINUTE
        kind, seq = np.concatenate(gather.kind), np.concatenate(gather.seq)
        created = kind == _CREATED
        # Every event is valid: now, which ones come after their ticket's last event.
        count = len(local)
        slot = np.empty(m, dtype=np.int64)
        slot[np.fromiter(local.values(), np.int64, count)] = np.arange(count)
        ticket = slot[np.concatenate(gather.first)]
        number = np.fromiter(map(self.numbers.get, local, repeat(-1)), np.int64, count)
        order = np.argsort(ticket, kind="stable")
        grouped = ticket[order]
        head = np.ones(m, dtype=bool)
        head[1:] = grouped[1:] != grouped[:-1]
        seq_o, us_o, created_o = seq[order], us[order], created[order]
        before_seq = np.empty(m, dtype=np.int64)
        before_us = np.empty(m, dtype=np.int64)
        before_seq[1:], before_us[1:] = seq_o[:-1], us_o[:-1]
        known = number[grouped]
        old = head & (known >= 0)
        if np.any(old):
            before_seq[old] = np.frombuffer(self.last_seq, dtype=np.int64)[known[old]]
            before_us[old] = np.frombuffer(self.last_us, dtype=np.int64)[known[old]]
        fits = np.where(
            head & (known < 0),
            created_o,  # a ticket's first line
            ~created_o & (seq_o > before_seq) & (us_o >= before_us),
        )
        # Once one event of a ticket does not fit, none of its later ones is stored at once.
        index = np.arange(m)
        starts = np.flatnonzero(head)
        unfit = np.minimum.reduceat(np.where(fits, m, index), starts)
        regular = np.zeros(m + 1, dtype=bool)
        regular[order] = index < np.repeat(unfit, np.diff(np.append(starts, m)))
        following = np.full(m, m, dtype=np.int64)
        following[order[:-1]] = np.where(head[1:], m, order[1:])
        return _Batch(
            names=list(local),
            ticket=ticket,
            number=number,
            lines=(index if positions is None else positions) + (lineno + 1),
            kind=kind,
            status=np.concatenate(gather.status),
            priority=np.concatenate(gather.priority),
            priority_names={
                code: name for name, code in gather.codes.items() if isinstance(name, str)
            },
            new_priorities={name: gather.codes[name] for name in gather.new},
            seq=seq,
            us=us,
            offset=offset,
            cause=np.concatenate(gather.cause),
            made=np.cumsum(created) - 1,
            services=gather.services,
            ticket_kinds=gather.ticket_kinds,
            following=following,
            regular=regular,
        )

    def commit_batch(
        self, batch: _Batch | None, others: list[tuple[int, str, Any]], lineno: int
    ) -> None:
        """Store a valid batch: its regular ticket events at once, then its other ticket
        events and its other records one by one, in line order.

        The same as line by line: a regular event changes nothing but its ticket's columns
        and last event, raises nothing and warns of nothing, and all the regular events of a
        ticket come before its first other one. What an event stored one by one sees of its
        ticket, and what :meth:`resolve` sees of an irregular ticket when an error stops the
        reading, is then what it would see line by line; other tickets' rows, in the columns
        a little earlier, are not seen (nor is their order: :meth:`tickets` orders tickets
        by their created lines when it matters).
        """
        singles: list[tuple[int, int, Any, Any]] = [
            (lineno + 1 + i, 1, kind, record) for i, kind, record in others
        ]
        if batch is not None:
            self.priority_codes.update(batch.new_priorities)
            regular = np.flatnonzero(batch.regular[:-1])
            if len(regular):
                self.commit(batch, regular)
            single = np.flatnonzero(~batch.regular[:-1])
            singles += [(values[0], 0, values, None) for values in batch.values(single)]
            singles.sort(key=itemgetter(0))
        for line, which, what, record in singles:
            if which:
                self.add_record(what, record, line)
            else:
                self.add_event(*what)

    def commit(self, batch: _Batch, chosen: _I64) -> None:
        """Store the regular ticket events ``chosen`` of ``batch`` (indices, in line order;
        every regular one between the first and the last)."""
        kind = batch.kind[chosen]
        made = chosen[kind == _CREATED]
        if made.size:
            base = len(self.refs)
            tickets = batch.ticket[made]
            names = list(map(batch.names.__getitem__, tickets.tolist()))
            self.refs += names
            self.numbers.update(zip(names, range(base, base + made.size), strict=True))
            batch.number[tickets] = np.arange(base, base + made.size, dtype=np.int64)
            self.created_lines.frombytes(batch.lines[made].tobytes())
            rank = batch.made[made].tolist()
            services = list(map(batch.services.__getitem__, rank))
            self.services += map(self.names.setdefault, services, services)
            self.ticket_kinds += map(batch.ticket_kinds.__getitem__, rank)
            zeros = bytes(8 * made.size)
            self.last_seq.frombytes(zeros)
            self.last_us.frombytes(zeros)
            self.last_row.frombytes(zeros)
        number = batch.number[batch.ticket[chosen]]
        seq, us = batch.seq[chosen], batch.us[chosen]
        row = len(self.seqs) + np.arange(chosen.size, dtype=np.int64)
        self.seqs.frombytes(seq.tobytes())
        self.times.frombytes(us.tobytes())
        self.codes.frombytes(
            (
                number << _TICKET_SHIFT
                | batch.priority[chosen]
                | (batch.offset[chosen] + _UTC_CODE) << _OFFSET_SHIFT
                | batch.status[chosen] << _STATUS_SHIFT
                | kind
            ).tobytes()
        )
        # Each ticket's last event among them: its next one is not among them.
        following = batch.following[chosen]
        last = (following > chosen[-1]) | ~batch.regular[following]
        tickets = number[last]
        np.frombuffer(self.last_seq, dtype=np.int64)[tickets] = seq[last]
        np.frombuffer(self.last_us, dtype=np.int64)[tickets] = us[last]
        np.frombuffer(self.last_row, dtype=np.int64)[tickets] = row[last]
        causes = batch.cause[chosen]
        if causes.any():
            mine = np.flatnonzero(causes)
            names = list(map(batch.names.__getitem__, batch.ticket[chosen[mine]].tolist()))
            for ticket, seq_, cause in zip(
                names, seq[mine].tolist(), causes[mine].tolist(), strict=True
            ):  # in line order: the highest seq so far
                self.causes[ticket] = (seq_, TICKET_CAUSES[cause - 1])

    def lines(self, stream: Iterable[bytes], lineno: int) -> int:
        """Read lines one by one (after line ``lineno``): ticket events on the inlined fast
        path, the rest via :meth:`line`. Returns the number of the last line.

        The fast path accepts a ticket event whole or not at all (then :meth:`line` decides).
        It stores the event in the columns when it is a ``created`` event on the ticket's
        first line, or another event that comes after the ticket's last one in both ``seq``
        and ``at``; any other valid event goes to :meth:`add_event`. Kinds, statuses, ticket
        kinds and causes are looked up in maps that both validate them and return the
        module's own string (or code), so that millions of events share a few objects.
        """
        loads = orjson.loads
        fromiso = datetime.fromisoformat
        specs = _FAST_SPECS
        ticket_kinds = _TICKET_KIND_OF
        causes_of = _CAUSE_OF
        offsets_of = _OFFSET_OF
        utc = _UTC_CODE << _OFFSET_SHIFT
        digits = _DIGITS
        epoch = _EPOCH
        numbers = self.numbers
        number_of = numbers.get
        last_seq, last_us, last_row = self.last_seq, self.last_us, self.last_row
        services_of, kinds_of = self.services.append, self.ticket_kinds.append
        causes = self.causes
        priority_codes = self.priority_codes
        priority_code = self.priority_code
        refs = self.refs
        seqs = self.seqs
        created_lines = self.created_lines.append
        add_seq, add_time, add_code = seqs.append, self.times.append, self.codes.append
        add_event = self.add_event
        slow = self.line
        for raw in stream:
            lineno += 1
            ready = False
            try:
                obj = loads(raw)
                if obj["type"] == "ticket_event":
                    spec = specs[obj["kind"]]
                    if spec[0](obj):  # no unknown key
                        ticket = obj["ticket"]
                        seq = obj["seq"]
                        text = obj["at"]
                        at = fromiso(text)
                        status = spec[2][obj.get("status")]
                        priority = obj.get("priority")
                        cause = causes_of[obj.get("cause")]
                        # RFC 3339: "YYYY-MM-DDTHH:MM:SS", [".digits"], "Z" or "+HH:MM"
                        offset = utc if text[-1] == "Z" else offsets_of[text[-6:]]
                        if (
                            ticket > ""  # a non-empty string (TypeError for other types)
                            and type(seq) is int
                            and 0 < seq < _SEQ_LIMIT
                            and text[4:17:3] == "--T::"
                            and (text[19] in "Z+-" or (text[19] == "." and text[20] in digits))
                            and (
                                (priority is None and spec[3])
                                or (type(priority) is str and priority)
                            )
                        ):
                            p = (
                                0
                                if priority is None
                                else priority_codes.get(priority) or priority_code(priority)
                            )
                            delta = at - epoch
                            us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + (
                                delta.microseconds
                            )
                            number = number_of(ticket)
                            if spec[4]:  # created
                                service = obj.get("service")
                                ticket_kind = ticket_kinds[obj.get("ticket_kind")]
                                if type(service) is str and service:
                                    if number is None and p >= 0 and len(refs) < _TICKET_LIMIT:
                                        number = numbers[ticket] = len(refs)
                                        refs.append(ticket)
                                        created_lines(lineno)
                                        last_seq.append(seq)
                                        last_us.append(us)
                                        last_row.append(len(seqs))
                                        add_seq(seq)
                                        add_time(us)
                                        add_code(
                                            number << _TICKET_SHIFT | p | offset | status | spec[5]
                                        )
                                        services_of(service)
                                        kinds_of(ticket_kind)
                                        if cause is not None:
                                            causes[ticket] = (seq, cause)
                                        continue
                                    ready = True
                            else:
                                if (
                                    number is not None
                                    and seq > last_seq[number]
                                    and us >= last_us[number]
                                    and p >= 0
                                ):
                                    last_seq[number] = seq
                                    last_us[number] = us
                                    last_row[number] = len(seqs)
                                    add_seq(seq)
                                    add_time(us)
                                    add_code(
                                        number << _TICKET_SHIFT | p | offset | status | spec[5]
                                    )
                                    if cause is not None:
                                        # The highest seq so far: its cause wins.
                                        causes[ticket] = (seq, cause)
                                    continue
                                service = ticket_kind = None
                                ready = True
            except _FAST_ERRORS:
                ready = False
            if ready:
                add_event(
                    lineno,
                    ticket,
                    seq,
                    at,
                    spec[1],
                    _STATUS_NAMES[status >> _STATUS_SHIFT],
                    priority,
                    service,
                    ticket_kind,
                    cause,
                )
            else:
                slow(raw, lineno)
        return lineno

    def priority_code(self, priority: str) -> int:
        """The code of a priority in an event's code (codes from 1 in order of appearance),
        or -1 beyond the codes the columns hold."""
        code = self.priority_codes.get(priority)
        if code is None:
            number = len(self.priority_codes) + 1
            if number >= _PRIORITY_LIMIT:
                return -1
            code = self.priority_codes[priority] = number << _PRIORITY_SHIFT
        return code

    def line(self, raw: bytes, lineno: int) -> None:
        """Validate one line field by field; report its first fault, or add what it holds."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if not raw.strip():
                return  # a blank line
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                self.line(raw[len(codecs.BOM_UTF8) :], lineno)
                return
            self.fail(lineno, None, f"the line is not valid JSON ({exc})", None)
            return
        if type(obj) is not dict:
            self.fail(lineno, None, f"expected a JSON object, got {_show(obj)}", None)
            return
        kind = obj.get("type")
        try:
            if kind == "ticket_event":
                values = _ticket_event(obj)
            elif type(kind) is str and kind in _BUILDERS:
                record = _BUILDERS[kind](obj)
            elif kind is None:
                known = ", ".join(RECORD_TYPES)
                raise _Bad("type", f"every line needs a type (one of {known}), but it is missing")
            else:
                known = ", ".join(RECORD_TYPES)
                raise _Bad("type", f"unknown type {_show(kind)} (known: {known})")
        except _Bad as bad:
            ticket = obj.get("ticket") if kind != "satisfaction" else None
            owner = ticket if type(ticket) is str and ticket else None
            self.fail(lineno, bad.name, bad.message, owner)
            return
        if kind == "ticket_event":
            self.add_event(lineno, *values)
        else:
            self.add_record(kind, record, lineno)

    def new_ticket(self, ticket: str, created_line: int, us: int) -> int:
        """Number a ticket seen for the first time."""
        number = self.numbers[ticket] = len(self.refs)
        self.refs.append(ticket)
        self.created_lines.append(created_line)
        self.services.append(None)
        self.ticket_kinds.append("")
        self.last_seq.append(0)
        self.last_us.append(us)
        self.last_row.append(-1)
        return number

    def defer(self, number: int, values: tuple[Any, ...]) -> None:
        """Make a ticket irregular, and keep one of its events for :meth:`resolve`."""
        self.last_seq[number] = _IRREGULAR  # no later event takes a fast path: all are deferred
        self.irregular.add(values[1])
        self.deferred.append(values)

    def add_event(
        self,
        line: int,
        ticket: str,
        seq: int,
        at: datetime,
        kind: str,
        status: str | None,
        priority: str | None,
        service: str | None,
        ticket_kind: str | None,
        cause: str | None,
    ) -> None:
        """Add one valid ticket event: to the columns when it comes after its ticket's last
        one in ``seq`` (with a warning if it is earlier in ``at``), else defer it."""
        values = (line, ticket, seq, at, kind, status, priority, service, ticket_kind, cause)
        number = self.numbers.get(ticket)
        if number is not None and (
            kind == "created" or seq <= self.last_seq[number] or ticket in self.irregular
        ):
            self.defer(number, values)
            return
        offset = at.utcoffset()
        assert offset is not None  # the reader only accepts instants with an offset
        us = _micros(at)
        p = 0 if priority is None else self.priority_code(priority)
        if number is None:
            if kind != "created":
                self.first_seen[ticket] = line
            number = self.new_ticket(ticket, line if kind == "created" else 0, us)
        if seq >= _SEQ_LIMIT or p < 0 or number >= _TICKET_LIMIT:
            # Beyond what the columns hold: kept as a row, replayed with the irregular ones.
            self.defer(number, values)
            return
        if us < self.last_us[number]:
            self.out_of_order(line, ticket, (at, seq, kind, status, priority), self.last(number))
        self.last_seq[number], self.last_us[number] = seq, us
        self.last_row[number] = len(self.seqs)
        self.seqs.append(seq)
        self.times.append(us)
        self.codes.append(
            number << _TICKET_SHIFT
            | p
            | (offset // _MINUTE + _UTC_CODE) << _OFFSET_SHIFT
            | _STATUS_CODE[status] << _STATUS_SHIFT
            | _KIND_CODE[kind]
        )
        if kind == "created":
            assert service is not None
            self.services[number] = service
            self.ticket_kinds[number] = ticket_kind or "incident"
        if cause is not None:
            self.causes[ticket] = (seq, cause)  # the highest seq so far

    def last(self, number: int) -> Row:
        """The last event of a regular ticket (only its instant and seq are shown)."""
        row = self.last_row[number]
        return (self.instant(row), self.seqs[row], "", None, None)

    def instant(self, n: int) -> datetime:
        """The instant of row ``n`` of the columns, in the offset it was written with."""
        minutes = (self.codes[n] >> _OFFSET_SHIFT & 0xFFF) - _UTC_CODE
        return (_EPOCH + timedelta(microseconds=self.times[n])).astimezone(
            timezone(timedelta(minutes=minutes))
        )

    def row(self, n: int, priorities: list[str | None]) -> Row:
        """Row ``n`` of the columns, its instant in the offset it was written with
        (``priorities``: :meth:`priority_names`)."""
        code = self.codes[n]
        priority = code >> _PRIORITY_SHIFT & _PRIORITY_MASK
        return (
            self.instant(n),
            self.seqs[n],
            KIND_NAMES[code & 7],
            _STATUS_NAMES[code >> _STATUS_SHIFT & 15],
            priorities[priority] if priority else None,
        )

    def extend_priorities(self, names: Iterable[str | None]) -> dict[str, int]:
        """Codes for every priority of ``names`` (shifted, as in the columns), beyond the
        columns' limit if need be (the replayed rows are not packed with a ticket)."""
        for name in names:
            if name is not None and name not in self.priority_codes:
                number = len(self.priority_codes) + 1
                self.priority_codes[name] = number << _PRIORITY_SHIFT
        return self.priority_codes

    def priority_names(self) -> list[str | None]:
        names: list[str | None] = [None] * (len(self.priority_codes) + 1)
        for name, code in self.priority_codes.items():
            names[code >> _PRIORITY_SHIFT] = name
        return names

    def resolve(self) -> None:
        """Replay the deferred events of the irregular tickets, in line order, on row lists
        that start with each ticket's events in the columns (which are then left out)."""
        deferred, self.deferred = self.deferred, []
        if not deferred:
            return
        pending = {
            self.numbers[ticket]: ticket for ticket in self.irregular if ticket not in self.rows
        }
        if pending:
            tickets = self.ticket_column()
            wanted = np.zeros(len(self.refs), dtype=bool)
            wanted[list(pending)] = True
            names = self.priority_names()
            for n in np.flatnonzero(wanted[tickets]).tolist():
                self.rows.setdefault(pending[int(tickets[n])], []).append(self.row(n, names))
            for ticket in pending.values():
                self.rows.setdefault(ticket, [])
        for values in sorted(deferred, key=itemgetter(0)):
            self.insert_event(*values)

    def insert_event(
        self,
        line: int,
        ticket: str,
        seq: int,
        at: datetime,
        kind: str,
        status: str | None,
        priority: str | None,
        service: str | None,
        ticket_kind: str | None,
        cause: str | None,
    ) -> None:
        """Add one event of an irregular ticket: rows in ``seq`` order, ``created`` and cause
        noted, a second ``created`` event or a ``seq`` given twice refused."""
        number = self.numbers[ticket]
        if kind == "created" and self.services[number] is not None:
            first = next(row for row in self.rows[ticket] if row[2] == "created")
            message = (
                f"ticket {_show(ticket)} already has a created event "
                f"(seq {first[1]} at {first[0].isoformat()})"
            )
            self.fail(line, "kind", message, ticket)
            return
        row: Row = (at, seq, kind, status, priority)
        rows = self.rows[ticket]
        if not rows:
            rows.append(row)
            if kind != "created":
                self.first_seen[ticket] = line
        elif seq > rows[-1][1]:
            if at < rows[-1][0]:
                self.out_of_order(line, ticket, row, rows[-1])
            rows.append(row)
        else:
            i = bisect_left(rows, seq, key=_SEQ)
            if rows[i][1] == seq:
                other = rows[i]
                message = (
                    f"ticket {_show(ticket)} already has an event with seq {seq} "
                    f"(a {other[2]} event at {other[0].isoformat()})"
                )
                self.fail(line, "seq", message, ticket)
                return
            rows.insert(i, row)
            if i and rows[i - 1][0] > at:
                self.out_of_order(line, ticket, row, rows[i - 1])
            elif rows[i + 1][0] < at:
                self.out_of_order(line, ticket, row, rows[i + 1])
        if kind == "created":
            assert service is not None
            self.services[number] = service
            self.ticket_kinds[number] = ticket_kind or "incident"
            self.created_lines[number] = line
        if cause is not None:
            prior = self.causes.get(ticket)
            if prior is None or seq > prior[0]:
                self.causes[ticket] = (seq, cause)

    def out_of_order(self, line: int, ticket: str, row: Row, other: Row) -> None:
        at, seq = row[0], row[1]
        before = "before" if at < other[0] else "after"
        self.warn(
            line,
            "at",
            f"event seq {seq} of ticket {_show(ticket)} is at {at.isoformat()}, {before} event seq "
            f"{other[1]} at {other[0].isoformat()}: the clocks apply events in (at, seq) order, "
            "not in seq order",
        )

    def add_record(self, kind: str, record: Any, line: int) -> None:
        """Add one valid non-ticket record, unless its id was already given."""
        if kind != "satisfaction":
            ids = self.ids[kind]
            prior = ids.get(record.id)
            if prior is not None:
                if prior[0] == record:
                    message = f"{kind} {_show(record.id)} repeats line {prior[1]}; it is kept once"
                    self.warn(line, "id", message)
                else:
                    message = (
                        f"{kind} {_show(record.id)} was already given on line {prior[1]} "
                        "with different content"
                    )
                    self.fail(line, "id", message, None)
                return
            ids[record.id] = (record, line)
        self.records[kind].append(record)
        self.record_lines[kind].append(line)

    # -- whole-file checks

    def ticket_column(self) -> npt.NDArray[np.int64]:
        """The ticket index of each row of the columns."""
        return np.frombuffer(self.codes, dtype=np.int64) >> _TICKET_SHIFT

    def drop(self, ticket: str) -> None:
        """Remove a ticket and everything noted about it."""
        self.dropped.add(ticket)
        self.services[self.numbers[ticket]] = None
        self.causes.pop(ticket, None)
        self.first_seen.pop(ticket, None)

    def count(self, ticket: str) -> int:
        """The events kept of a ticket."""
        if ticket in self.rows:
            return len(self.rows[ticket])
        return int(np.count_nonzero(self.ticket_column() == self.numbers[ticket]))

    def finish(self, lines: int) -> EventsData:
        """The checks that need the whole file, then the result."""
        self.resolve()
        for ticket, bad_lines in self.bad.items():
            if ticket not in self.numbers or ticket in self.dropped:
                continue  # nothing of it was kept
            self.drop(ticket)
            listed = ", ".join(map(str, bad_lines))
            which = f"line {listed} was" if len(bad_lines) == 1 else f"lines {listed} were"
            message = (
                f"ticket {_show(ticket)} is left out entirely because {which} skipped: "
                "its clocks cannot be computed without all of its events"
            )
            self.problems.append(Problem(bad_lines[0], "ticket", message, "skipped"))
        unknown = sorted(
            (line, ticket)
            for ticket, line in self.first_seen.items()
            if self.services[self.numbers[ticket]] is None
        )
        for line, ticket in unknown:
            count = self.count(ticket)
            message = (
                f"ticket {_show(ticket)} has no created event, so its service is unknown "
                f"({count} event{'s' if count > 1 else ''} in the file)"
            )
            self.fail(line, "ticket", message, None)
            self.drop(ticket)
        self.check_outages()
        self.problems.sort(key=lambda problem: problem.line)
        tickets, refs = self.tickets()
        records = self.records
        return EventsData(
            tickets=tickets,
            logs=self.logs(refs),
            other=OtherData(
                outages=tuple(records["outage"]),
                maintenances=tuple(records["maintenance"]),
                backup_runs=tuple(records["backup_run"]),
                restore_tests=tuple(records["restore_test"]),
                satisfaction=tuple(records["satisfaction"]),
                evolutions=tuple(records["evolution"]),
                patches=tuple(records["patch"]),
            ),
            problems=self.problems,
            lines=lines,
        )

    def tickets(self) -> tuple[TicketTable, tuple[str, ...]]:
        """The tickets kept (those with a created event, not left out), in the order of
        their created events' lines, and their ids."""
        causes = [""] * len(self.refs)
        for ticket, (_seq, cause) in self.causes.items():
            causes[self.numbers[ticket]] = cause
        columns: list[list[Any]] = [self.refs, self.services, self.ticket_kinds, causes]
        kept = np.fromiter(map(operator.is_not, self.services, repeat(None)), bool, len(causes))
        # A ticket numbered before its created event was read makes rows (see resolve):
        # without them, the numbers are in the order of the created events.
        if not kept.all() or self.rows:
            order = np.flatnonzero(kept)
            if self.rows:  # created events replayed late: back to the order of their lines
                lines = np.frombuffer(self.created_lines, dtype=np.int64)
                order = order[np.argsort(lines[order], kind="stable")]
            chosen = order.tolist()
            columns = [list(map(column.__getitem__, chosen)) for column in columns]
        refs = tuple(columns[0])
        return TicketTable(refs, *columns[1:]), refs

    def logs(self, refs: tuple[str, ...]) -> TicketLogs:
        """The columns of the kept tickets (``refs``, in that order): the regular tickets'
        rows of the columns, the irregular ones' row lists."""
        codes = np.frombuffer(self.codes, dtype=np.int64)
        times = np.frombuffer(self.times, dtype=np.int64)
        seqs: npt.NDArray[Any] = np.frombuffer(self.seqs, dtype=np.int64)
        if self.rows or refs != tuple(self.refs):  # (the same strings: compared by identity)
            # Some tickets left out, or in another order: each row's place in ``refs``.
            numbers = np.fromiter(map(self.numbers.__getitem__, refs), np.int64, len(refs))
            position = np.full(len(self.refs), -1, dtype=np.int64)
            regular = np.ones(len(refs), dtype=bool)
            if self.rows:
                regular[[n for n, ref in enumerate(refs) if ref in self.rows]] = False
            position[numbers[regular]] = np.flatnonzero(regular)
            del regular
            owner = position[codes >> _TICKET_SHIFT]
            kept = np.flatnonzero(owner >= 0)
            codes, ticket, times, seqs = codes[kept], owner[kept], times[kept], seqs[kept]
            del owner, kept, numbers
        else:  # every ticket, in the order of their numbers: the columns as they are
            ticket = codes >> _TICKET_SHIFT
        self.numbers.clear()
        # The fields of the codes, through one scratch column (millions of rows).
        scratch = np.empty_like(codes)
        kinds = np.bitwise_and(codes, 7, out=scratch).astype(np.int8)
        np.right_shift(codes, _STATUS_SHIFT, out=scratch)
        statuses = np.bitwise_and(scratch, 15, out=scratch).astype(np.int16)
        np.right_shift(codes, _PRIORITY_SHIFT, out=scratch)
        priorities = np.bitwise_and(scratch, _PRIORITY_MASK, out=scratch)
        del codes
        extra = [
            (n, row)
            for n, ref in (enumerate(refs) if self.rows else ())
            if ref in self.rows
            for row in self.rows[ref]
        ]
        if extra:
            codes_of = self.extend_priorities(row[4] for _n, row in extra)
            ticket = np.concatenate([ticket, np.array([n for n, _row in extra], dtype=np.int64)])
            times = np.concatenate(
                [times, np.array([_micros(row[0]) for _n, row in extra], dtype=np.int64)]
            )
            kinds = np.concatenate(
                [kinds, np.array([_KIND_CODE[row[2]] for _n, row in extra], dtype=np.int8)]
            )
            statuses = np.concatenate(
                [statuses, np.array([_STATUS_CODE[row[3]] for _n, row in extra], dtype=np.int16)]
            )
            priorities = np.concatenate(
                [
                    priorities,
                    np.array(
                        [
                            0 if row[4] is None else codes_of[row[4]] >> _PRIORITY_SHIFT
                            for _n, row in extra
                        ],
                        dtype=np.int64,
                    ),
                ]
            )
            more = [row[1] for _n, row in extra]
            if max(more) < _SEQ_LIMIT:
                seqs = np.concatenate([seqs, np.array(more, dtype=np.int64)])
            else:  # only their order matters: ranks
                values = [*seqs.tolist(), *more]
                rank = {value: n for n, value in enumerate(sorted(set(values)))}
                seqs = np.array([rank[value] for value in values], dtype=np.int64)
        names = self.priority_names()
        vocabulary_ = vocabulary(names)
        remap = np.array([vocabulary_.index(name) for name in names], dtype=np.int32)
        return TicketLogs.from_columns(
            refs,
            ticket=ticket,
            at=times,
            seq=seqs,
            kind=kinds,
            status=statuses,
            priority=remap[priorities],
            status_names=_STATUS_NAMES,
            priority_names=vocabulary_,
        )

    def check_outages(self) -> None:
        """Warn about outages of one service that overlap (the measure counts them once)."""
        by_service: dict[str, list[tuple[Outage, int]]] = {}
        for outage, line in zip(self.records["outage"], self.record_lines["outage"], strict=True):
            by_service.setdefault(outage.service, []).append((outage, line))
        for service, items in by_service.items():
            items.sort(key=lambda item: (item[0].start, item[0].end, item[1]))
            reach: Outage | None = None  # the outage that ends last so far
            for outage, line in items:
                if reach is not None and outage.start < reach.end:
                    self.warn(
                        line,
                        "start",
                        f"outage {_show(outage.id)} overlaps outage {_show(reach.id)} of service "
                        f"{_show(service)}: the time they share is counted once",
                    )
                if reach is None or outage.end > reach.end:
                    reach = outage
