"""The events file of ``infogerance sla evaluate``: raw facts as JSON Lines, read into records.

An audit recomputes a month's service levels from a contract file and an *events file*: one
JSON object per line, each with a ``type`` (``ticket_event``, ``outage``, ``maintenance``,
``backup_run``, ``restore_test``, ``satisfaction``, ``evolution``, ``patch``). The format is
described field by field in ``docs/formats/events.md`` (a JSON Schema of one line is
``docs/formats/events.schema.json``); this module is its reader. Plain Python, no Django.

:func:`read_events` returns an :class:`EventsData`: the tickets (:class:`TicketInfo`), the
events of every ticket as columns (:class:`~infogerance.helpdesk.clocks.TicketLogs`, what the
clocks replay), the other records as an :class:`~infogerance.sla.metrics.OtherData` (in file
order), and the problems found.

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
Ticket events are most of a file (millions of lines), so they take a hand-inlined fast path:
``orjson.loads``, one subset test of the keys, a few ``type(x) is`` tests, a cheap shape test of
the instant and ``datetime.fromisoformat``. A line the fast path does not accept whole goes to
the slow path, which validates it field by field and names the first fault; the fast path
only ever accepts lines the slow path accepts. An accepted event is three 64-bit integers in
``array`` columns (seq, epoch microseconds, and a code packing kind, status, UTC offset,
priority and ticket), not a tuple of objects: a few dozen bytes instead of a few hundred, and
:meth:`~infogerance.helpdesk.clocks.TicketLogs.from_columns` replays them all at once. An
event that comes after its ticket's last one (in ``seq`` and in ``at``) is stored in place;
one earlier in ``at`` only adds a warning; a ``created`` event that is not the ticket's first
line, or a ``seq`` not above the ticket's last, makes the ticket *irregular*: its events are
then kept aside and replayed in line order, on row lists, before the first error is raised or
at the end of the file, so that every error, warning and line number is what reading the
lines one by one in that order gives. The cyclic garbage collector is paused while reading
(see :func:`read_events`).
"""

from __future__ import annotations

import codecs
import os
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
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


@dataclass
class EventsData:
    """What an events file holds, ready for the measures.

    ``logs`` holds the events of every ticket of ``tickets`` (columns, each ticket's events
    in ``(at, seq)`` order, see :class:`~infogerance.helpdesk.clocks.TicketLogs`).
    ``problems`` are in line order; ``lines`` counts every line read, blank ones included.
    """

    tickets: dict[str, TicketInfo] = field(default_factory=dict)
    logs: TicketLogs = field(default_factory=lambda: TicketLogs.from_rows({}))
    other: OtherData = field(default_factory=OtherData)
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0


def read_events(
    source: str | os.PathLike[str] | IO[bytes], *, on_error: str = "stop"
) -> EventsData:
    """Read an events file (a path, or a binary stream read line by line).

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


class _Reader:
    """One reading of one file: the state the lines build up, then :meth:`finish`.

    Accepted ticket events go to columns (``array`` of 64-bit integers: seq, epoch
    microseconds, and a code packing kind, status, UTC offset, priority and ticket), with per
    ticket ``[its number << _TICKET_SHIFT, last seq, last microseconds, last instant]``. An
    event of a known ticket that does not come after its last one in ``seq`` (or a second
    ``created`` event) makes the ticket *irregular*: from then on its events wait in
    ``deferred`` and are replayed in line order by :meth:`resolve`, on row lists, with the
    checks of :meth:`insert_event`, before the first error is raised or the file is finished.
    """

    def __init__(self, filename: str, stop: bool) -> None:
        self.filename = filename
        self.stop = stop
        self.refs: list[str] = []
        # ticket -> [index << _TICKET_SHIFT, last seq, last µs, last instant]
        self.state: dict[str, list[Any]] = {}
        self.created_lines = array("q")  # per ticket index: the line of its created event
        self.seqs = array("q")
        self.times = array("q")  # epoch microseconds
        self.codes = array("q")  # kind, status, UTC offset, priority, ticket (see _TICKET_SHIFT)
        self.priority_codes: dict[str, int] = {}
        self.deferred: list[tuple[Any, ...]] = []  # add_event arguments of irregular tickets
        self.irregular: set[str] = set()
        self.dropped: set[str] = set()
        self.rows: dict[str, list[Row]] = {}  # irregular tickets' events, once resolved
        self.created: dict[str, TicketInfo] = {}  # its cause is set in finish()
        self.causes: dict[str, tuple[int, str]] = {}  # ticket -> seq, cause
        self.first_seen: dict[str, int] = {}  # tickets whose first line is not "created"
        self.bad: dict[str, list[int]] = {}  # ticket -> skipped lines
        self.records: dict[str, list[Any]] = {name: [] for name in _BUILDERS}
        self.record_lines: dict[str, list[int]] = {name: [] for name in _BUILDERS}
        self.ids: dict[str, dict[str, tuple[Any, int]]] = {name: {} for name in _BUILDERS}
        self.problems: list[Problem] = []

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

    def read(self, stream: Iterable[bytes]) -> EventsData:
        """Read every line: ticket events on the inlined fast path, the rest via :meth:`line`.

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
        state_of = self.state
        created = self.created
        causes = self.causes
        priority_codes = self.priority_codes
        priority_code = self.priority_code
        refs = self.refs
        created_lines = self.created_lines.append
        add_seq, add_time, add_code = self.seqs.append, self.times.append, self.codes.append
        ticket_info = TicketInfo
        add_event = self.add_event
        slow = self.line
        lineno = 0
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
                            state = state_of.get(ticket)
                            if spec[4]:  # created
                                service = obj.get("service")
                                ticket_kind = ticket_kinds[obj.get("ticket_kind")]
                                if type(service) is str and service:
                                    if state is None and p >= 0 and len(refs) < _TICKET_LIMIT:
                                        base = len(refs) << _TICKET_SHIFT
                                        state_of[ticket] = [base, seq, us, at]
                                        refs.append(ticket)
                                        created_lines(lineno)
                                        add_seq(seq)
                                        add_time(us)
                                        add_code(base | p | offset | status | spec[5])
                                        created[ticket] = ticket_info(ticket, service, ticket_kind)
                                        if cause is not None:
                                            causes[ticket] = (seq, cause)
                                        continue
                                    ready = True
                            else:
                                if (
                                    state is not None
                                    and seq > state[1]
                                    and us >= state[2]
                                    and p >= 0
                                ):
                                    state[1], state[2], state[3] = seq, us, at
                                    add_seq(seq)
                                    add_time(us)
                                    add_code(state[0] | p | offset | status | spec[5])
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
        return self.finish(lineno)

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
        state = self.state.get(ticket)
        if state is not None and (kind == "created" or seq <= state[1]):
            state[1] = _SEQ_LIMIT  # no later event takes the fast path: all are deferred
            self.irregular.add(ticket)
            self.deferred.append(
                (line, ticket, seq, at, kind, status, priority, service, ticket_kind, cause)
            )
            return
        offset = at.utcoffset()
        assert offset is not None  # the reader only accepts instants with an offset
        us = _micros(at)
        p = 0 if priority is None else self.priority_code(priority)
        if state is None:
            if kind != "created":
                self.first_seen[ticket] = line
            state = self.state[ticket] = [len(self.refs) << _TICKET_SHIFT, 0, us, at]
            self.refs.append(ticket)
            self.created_lines.append(line if kind == "created" else 0)
        if seq >= _SEQ_LIMIT or p < 0 or state[0] >> _TICKET_SHIFT >= _TICKET_LIMIT:
            # Beyond what the columns hold: kept as a row, replayed with the irregular ones.
            state[1] = _SEQ_LIMIT
            self.irregular.add(ticket)
            self.deferred.append(
                (line, ticket, seq, at, kind, status, priority, service, ticket_kind, cause)
            )
            return
        if us < state[2]:
            self.out_of_order(line, ticket, (at, seq, kind, status, priority), self.last(state))
        state[1], state[2], state[3] = seq, us, at
        self.seqs.append(seq)
        self.times.append(us)
        self.codes.append(
            state[0]
            | p
            | (offset // _MINUTE + _UTC_CODE) << _OFFSET_SHIFT
            | _STATUS_CODE[status] << _STATUS_SHIFT
            | _KIND_CODE[kind]
        )
        if kind == "created":
            assert service is not None
            self.created[ticket] = TicketInfo(ticket, service, ticket_kind or "incident")
        if cause is not None:
            self.causes[ticket] = (seq, cause)  # the highest seq so far

    def last(self, state: list[Any]) -> Row:
        """The last event of a regular ticket (only its instant and seq are shown)."""
        return (state[3], state[1], "", None, None)

    def row(self, n: int, priorities: list[str | None]) -> Row:
        """Row ``n`` of the columns, its instant in the offset it was written with
        (``priorities``: :meth:`priority_names`)."""
        code = self.codes[n]
        minutes = (code >> _OFFSET_SHIFT & 0xFFF) - _UTC_CODE
        priority = code >> _PRIORITY_SHIFT & _PRIORITY_MASK
        return (
            (_EPOCH + timedelta(microseconds=self.times[n])).astimezone(
                timezone(timedelta(minutes=minutes))
            ),
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
            self.state[ticket][0] >> _TICKET_SHIFT: ticket
            for ticket in self.irregular
            if ticket not in self.rows
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
        if kind == "created" and ticket in self.created:
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
            self.created[ticket] = TicketInfo(ticket, service, ticket_kind or "incident")
            self.created_lines[self.state[ticket][0] >> _TICKET_SHIFT] = line
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
        self.created.pop(ticket, None)
        self.causes.pop(ticket, None)
        self.first_seen.pop(ticket, None)

    def count(self, ticket: str) -> int:
        """The events kept of a ticket."""
        if ticket in self.rows:
            return len(self.rows[ticket])
        index = self.state[ticket][0] >> _TICKET_SHIFT
        return int(np.count_nonzero(self.ticket_column() == index))

    def finish(self, lines: int) -> EventsData:
        """The checks that need the whole file, then the result."""
        self.resolve()
        for ticket, bad_lines in self.bad.items():
            if ticket not in self.state or ticket in self.dropped:
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
            (line, ticket) for ticket, line in self.first_seen.items() if ticket not in self.created
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
        tickets = self.created
        for ticket, (_seq, cause) in self.causes.items():
            info = tickets[ticket]
            tickets[ticket] = TicketInfo(info.id, info.service, info.kind, cause)
        if self.rows:  # created events replayed late: back to the order of their lines
            lines_of = self.created_lines
            tickets = dict(
                sorted(
                    tickets.items(),
                    key=lambda item: lines_of[self.state[item[0]][0] >> _TICKET_SHIFT],
                )
            )
        records = self.records
        return EventsData(
            tickets=tickets,
            logs=self.logs(tickets),
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

    def logs(self, tickets: dict[str, TicketInfo]) -> TicketLogs:
        """The columns of the kept tickets (``tickets``, in that order): the regular tickets'
        rows of the columns, the irregular ones' row lists."""
        refs = tuple(tickets)
        position = np.full(len(self.refs), -1, dtype=np.int64)
        regular = [
            (self.state[ref][0] >> _TICKET_SHIFT, n)
            for n, ref in enumerate(refs)
            if ref not in self.rows
        ]
        if regular:
            old, new = zip(*regular, strict=True)
            position[list(old)] = new
        self.state.clear()
        owner = position[self.ticket_column()]
        kept = np.flatnonzero(owner >= 0)
        codes = np.frombuffer(self.codes, dtype=np.int64)[kept]
        ticket = owner[kept]
        del owner
        times = np.frombuffer(self.times, dtype=np.int64)[kept]
        seqs: npt.NDArray[Any] = np.frombuffer(self.seqs, dtype=np.int64)[kept]
        del kept
        kinds = (codes & 7).astype(np.int8)
        statuses = (codes >> _STATUS_SHIFT & 15).astype(np.int16)
        priorities = (codes >> _PRIORITY_SHIFT & _PRIORITY_MASK).astype(np.int64)
        del codes
        extra = [
            (n, row) for n, ref in enumerate(refs) if ref in self.rows for row in self.rows[ref]
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
