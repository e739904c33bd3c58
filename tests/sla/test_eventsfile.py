"""The events file of ``infogerance sla evaluate`` (:mod:`infogerance.sla.eventsfile`).

No database: the reader is plain Python. Besides the reader's own rules, these tests hold the
documentation to the code: every example line of ``docs/formats/events.md`` must validate
against ``docs/formats/events.schema.json`` and, all together, read as a valid file; the
schema's closed lists must be the module's. The schema is checked with ``jsonschema`` when it
is installed, else with the small validator below (the keywords the schema uses, no more).
"""

from __future__ import annotations

import gc
import io
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infogerance.helpdesk.clocks import EVENT_KINDS, TicketLog
from infogerance.sla import eventsfile
from infogerance.sla.eventsfile import EventsData, EventsFileError, Problem, read_events
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

try:
    import jsonschema
except ImportError:  # not a dependency of the project: the small validator below stands in
    jsonschema = None

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "formats" / "events.md"
SCHEMA_PATH = ROOT / "docs" / "formats" / "events.schema.json"
SCHEMA: dict[str, Any] = orjson.loads(SCHEMA_PATH.read_bytes())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def jsonl(*lines: dict[str, Any] | str) -> bytes:
    """A file: dicts are dumped as JSON, strings written as they are."""
    return b"".join(
        (line.encode() if isinstance(line, str) else orjson.dumps(line)) + b"\n" for line in lines
    )


def read(*lines: dict[str, Any] | str, on_error: str = "stop") -> EventsData:
    return read_events(io.BytesIO(jsonl(*lines)), on_error=on_error)


def logs_of(data: EventsData) -> dict[str, TicketLog]:
    """Each ticket's log, as the clocks replay it."""
    return {ref: data.logs.log(i) for i, ref in enumerate(data.logs.refs)}


def micros(value: datetime) -> int:
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def failure(*lines: dict[str, Any] | str) -> EventsFileError:
    with pytest.raises(EventsFileError) as caught:
        read(*lines)
    return caught.value


def event(ticket: str = "T1", seq: int = 2, kind: str = "comment", **fields: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"type": "ticket_event", "ticket": ticket, "seq": seq}
    line["at"] = fields.pop("at", "2026-03-02T10:00:00+01:00")
    line["kind"] = kind
    line.update(fields)
    return line


def created(ticket: str = "T1", seq: int = 1, **fields: Any) -> dict[str, Any]:
    fields.setdefault("at", "2026-03-02T09:00:00+01:00")
    fields.setdefault("service", "MAIL")
    return event(ticket, seq, "created", **fields)


def outage(id_: str = "O1", service: str = "MAIL", **fields: Any) -> dict[str, Any]:
    line = {
        "type": "outage",
        "id": id_,
        "service": service,
        "start": "2026-03-10T14:00:00+01:00",
        "end": "2026-03-10T15:00:00+01:00",
    }
    line.update(fields)
    return line


# --------------------------------------------------------------------------------------------
# A valid file with every type


VALID: list[dict[str, Any]] = [
    created(status="new", priority="P2"),
    event(seq=2, kind="assigned", at="2026-03-02T09:10:00+01:00", status="assigned"),
    # T2's events come before its created event: file order does not matter.
    event(
        "T2",
        2,
        "status",
        at="2026-03-02T08:30:00Z",
        status="intervention_started",
        priority=None,
    ),
    event(
        seq=3, kind="status", at="2026-03-02T09:20:00.250+01:00", status="resolved", cause="client"
    ),
    created(
        "T2",
        at="2026-03-02T08:00:00Z",
        service="ERP",
        ticket_kind="request",
        priority="P4",
        cause=None,
    ),
    event(seq=4, kind="reopened", at="2026-03-02T10:00:00+01:00"),
    event(seq=5, kind="priority", at="2026-03-02T10:05:00+01:00", priority="P1"),
    event(
        seq=6, kind="status", at="2026-03-02T11:00:00+01:00", status="resolved", cause="provider"
    ),
    event(seq=7, kind="status", at="2026-03-03T09:00:00+01:00", status="closed"),
    outage("O1"),
    outage(
        "O2",
        "ERP",
        start="2026-03-11T08:00:00Z",
        end="2026-03-11T08:30:00Z",
        cause="third_party",
    ),
    {
        "type": "maintenance",
        "id": "M1",
        "service": "MAIL",
        "start": "2026-03-14T22:00:00+01:00",
        "end": "2026-03-15T02:00:00+01:00",
        "notified_at": None,
    },
    {
        "type": "maintenance",
        "id": "M2",
        "service": "MAIL",
        "start": "2026-03-21T22:00:00+01:00",
        "end": "2026-03-21T23:00:00+01:00",
        "approved": False,
        "notified_at": "2026-03-14T10:00:00+01:00",
    },
    {
        "type": "backup_run",
        "id": "B1",
        "service": "BACKUP",
        "scope": "srv-mail-01",
        "scheduled_at": "2026-03-02T01:00:00+01:00",
        "status": "success",
        "point": "2026-03-02T01:00:00+01:00",
    },
    {
        "type": "backup_run",
        "id": "B2",
        "service": "BACKUP",
        "scope": "srv-mail-01",
        "scheduled_at": "2026-03-03T01:00:00+01:00",
        "status": "missed",
    },
    {
        "type": "restore_test",
        "id": "R1",
        "service": "BACKUP",
        "at": "2026-03-18T10:00:00+01:00",
        "passed": True,
        "declared_at": "2026-03-18T10:00:00+01:00",
        "restored_at": "2026-03-18T11:40:00+01:00",
    },
    {
        "type": "restore_test",
        "id": "R2",
        "service": "BACKUP",
        "at": "2026-03-25T10:00:00+01:00",
        "passed": False,
    },
    {
        "type": "satisfaction",
        "ticket": "T1",
        "service": "MAIL",
        "at": "2026-03-05T09:30:00+01:00",
        "score": 5,
    },
    {
        "type": "evolution",
        "id": "E1",
        "service": "TMA",
        "requested_at": "2026-02-20T10:00:00+01:00",
        "quoted_at": "2026-02-24T16:00:00+01:00",
        "due_at": "2026-03-20T18:00:00+01:00",
        "delivered_at": "2026-03-19T17:00:00+01:00",
    },
    {"type": "evolution", "id": "E2", "service": "TMA", "requested_at": "2026-03-09T10:00:00Z"},
    {
        "type": "patch",
        "id": "P1",
        "service": "OPS",
        "released_at": "2026-03-03T18:00:00Z",
        "applied_at": "2026-03-05T07:30:00+01:00",
    },
    {"type": "patch", "id": "P2", "service": "OPS", "released_at": "2026-03-04T18:00:00Z"},
]

EXPECTED_ROWS = {
    "T1": [
        (at("2026-03-02T09:00:00+01:00"), 1, "created", "new", "P2"),
        (at("2026-03-02T09:10:00+01:00"), 2, "assigned", "assigned", None),
        (at("2026-03-02T09:20:00.250+01:00"), 3, "status", "resolved", None),
        (at("2026-03-02T10:00:00+01:00"), 4, "reopened", None, None),
        (at("2026-03-02T10:05:00+01:00"), 5, "priority", None, "P1"),
        (at("2026-03-02T11:00:00+01:00"), 6, "status", "resolved", None),
        (at("2026-03-03T09:00:00+01:00"), 7, "status", "closed", None),
    ],
    "T2": [
        (at("2026-03-02T08:00:00Z"), 1, "created", None, "P4"),
        (at("2026-03-02T08:30:00Z"), 2, "status", "intervention_started", None),
    ],
}


def test_a_valid_file_gives_every_record() -> None:
    data = read(*VALID)
    assert data.problems == []
    assert data.lines == len(VALID)
    assert data.tickets == {
        # The cause of the event with the highest seq that has one.
        "T1": TicketInfo("T1", "MAIL", "incident", "provider"),
        "T2": TicketInfo("T2", "ERP", "request", ""),
    }
    assert logs_of(data) == {ref: TicketLog.from_rows(rows) for ref, rows in EXPECTED_ROWS.items()}
    other = data.other
    assert other.outages == (
        Outage("O1", "MAIL", at("2026-03-10T14:00:00+01:00"), at("2026-03-10T15:00:00+01:00")),
        Outage("O2", "ERP", at("2026-03-11T08:00:00Z"), at("2026-03-11T08:30:00Z"), "third_party"),
    )
    assert other.maintenances == (
        Maintenance("M1", "MAIL", at("2026-03-14T22:00:00+01:00"), at("2026-03-15T02:00:00+01:00")),
        Maintenance(
            "M2",
            "MAIL",
            at("2026-03-21T22:00:00+01:00"),
            at("2026-03-21T23:00:00+01:00"),
            approved=False,
            notified_at=at("2026-03-14T10:00:00+01:00"),
        ),
    )
    assert other.backup_runs == (
        BackupRun(
            "B1",
            "BACKUP",
            "srv-mail-01",
            at("2026-03-02T01:00:00+01:00"),
            "success",
            at("2026-03-02T01:00:00+01:00"),
        ),
        BackupRun("B2", "BACKUP", "srv-mail-01", at("2026-03-03T01:00:00+01:00"), "missed"),
    )
    assert other.restore_tests == (
        RestoreTest(
            "R1",
            "BACKUP",
            at("2026-03-18T10:00:00+01:00"),
            True,
            at("2026-03-18T10:00:00+01:00"),
            at("2026-03-18T11:40:00+01:00"),
        ),
        RestoreTest("R2", "BACKUP", at("2026-03-25T10:00:00+01:00"), False),
    )
    assert other.satisfaction == (Satisfaction("T1", "MAIL", at("2026-03-05T09:30:00+01:00"), 5),)
    assert other.evolutions == (
        Evolution(
            "E1",
            "TMA",
            at("2026-02-20T10:00:00+01:00"),
            at("2026-02-24T16:00:00+01:00"),
            at("2026-03-20T18:00:00+01:00"),
            at("2026-03-19T17:00:00+01:00"),
        ),
        Evolution("E2", "TMA", at("2026-03-09T10:00:00Z")),
    )
    assert other.patches == (
        PatchRecord("P1", "OPS", at("2026-03-03T18:00:00Z"), at("2026-03-05T07:30:00+01:00")),
        PatchRecord("P2", "OPS", at("2026-03-04T18:00:00Z")),
    )
    # Instants, whatever their offsets.
    assert logs_of(data)["T1"].times[0] == micros(at("2026-03-02T08:00:00Z"))


def test_rows_replay_in_the_clocks() -> None:
    data = read(*VALID)
    log = logs_of(data)["T1"]
    assert log.kinds == (
        "created",
        "assigned",
        "status",
        "reopened",
        "priority",
        "status",
        "status",
    )
    assert log.statuses[-1] == "closed"
    assert log.priorities[-1] == "P1"


def test_file_order_does_not_matter() -> None:
    reference = read(*VALID)
    lines = list(VALID)
    random.Random(7).shuffle(lines)
    shuffled = read(*lines)
    assert shuffled.problems == []
    assert shuffled.tickets == reference.tickets
    assert logs_of(shuffled) == logs_of(reference)
    for name in ("outages", "maintenances", "backup_runs", "restore_tests", "evolutions"):
        assert sorted(getattr(shuffled.other, name), key=lambda r: r.id) == list(
            getattr(reference.other, name)
        )


def slow_read(data: bytes, on_error: str = "stop") -> EventsData:
    """Every line through the field-by-field path, none through the fast path."""
    reader = eventsfile._Reader("<events>", on_error == "stop")
    count = 0
    for count, raw in enumerate(io.BytesIO(data), start=1):
        reader.line(raw, count)
    return reader.finish(count)


def test_the_fast_path_and_the_slow_path_agree() -> None:
    data = jsonl(*VALID)
    assert slow_read(data) == read_events(io.BytesIO(data))


# --------------------------------------------------------------------------------------------
# Errors under on_error="stop": the line, the field, the value


def bad_instant(value: Any) -> dict[str, Any]:
    return event(seq=3, at=value)


STOP_CASES = [
    ("naive instant", event(seq=3, at="2026-03-02T09:00:00"), "at", "has no UTC offset"),
    ("naive start", outage("O9", start="2026-03-10T14:00:00"), "start", "has no UTC offset"),
    ("impossible date", event(seq=3, at="2026-02-30T09:00:00Z"), "at", "not a valid RFC 3339"),
    ("unknown type", {"type": "ticket_evnt", "ticket": "T1"}, "type", '"ticket_evnt"'),
    ("missing type", {"ticket": "T1", "seq": 3}, "type", "missing"),
    ("unknown field", event(seq=3, sttus="new"), "sttus", 'unknown field "sttus"'),
    ("unknown field elsewhere", outage("O9", duration=60), "duration", "unknown field"),
    ("missing field", {k: v for k, v in event(seq=3).items() if k != "at"}, "at", "missing"),
    ("null required field", outage("O9", service=None), "service", "null"),
    (
        "bool as string",
        {
            "type": "maintenance",
            "id": "M9",
            "service": "MAIL",
            "start": "2026-03-14T22:00:00+01:00",
            "end": "2026-03-15T02:00:00+01:00",
            "approved": "true",
        },
        "approved",
        'got "true"',
    ),
    (
        "bool as number",
        {
            "type": "restore_test",
            "id": "R9",
            "service": "BACKUP",
            "at": "2026-03-18T10:00:00+01:00",
            "passed": 1,
        },
        "passed",
        "got 1",
    ),
    ("seq 0", event(seq=0), "seq", "got 0"),
    ("seq float", event(seq=3.0), "seq", "got 3.0"),
    ("seq string", event(seq="3"), "seq", 'got "3"'),
    ("seq bool", event(seq=True), "seq", "got true"),
    ("status event without status", event(seq=3, kind="status"), "status", "needs a status"),
    ("status event null status", event(seq=3, kind="status", status=None), "status", "needs"),
    ("unknown status", event(seq=3, kind="status", status="fixed"), "status", '"fixed"'),
    ("priority event without one", event(seq=3, kind="priority"), "priority", "needs a priority"),
    ("empty priority", event(seq=3, priority=""), "priority", 'got ""'),
    ("unknown kind", event(seq=3, kind="closed"), "kind", '"closed"'),
    (
        "created without service",
        {k: v for k, v in created("T9").items() if k != "service"},
        "service",
        "needs the ticket's service",
    ),
    ("service on another event", event(seq=3, service="MAIL"), "service", "only the created"),
    ("ticket kind elsewhere", event(seq=3, ticket_kind="request"), "ticket_kind", "only"),
    ("unknown ticket kind", created("T9", ticket_kind="change"), "ticket_kind", '"change"'),
    ("ticket cause", event(seq=3, cause="planned_maintenance"), "cause", "planned_maintenance"),
    ("empty ticket", event("", 3), "ticket", 'got ""'),
    ("numeric ticket", event(42, 3), "ticket", "got 42"),  # type: ignore[arg-type]
    (
        "end before start",
        outage("O9", start="2026-03-10T15:00:00+01:00", end="2026-03-10T14:00:00+01:00"),
        "end",
        "not after start",
    ),
    (
        "empty window",
        {
            "type": "maintenance",
            "id": "M9",
            "service": "MAIL",
            "start": "2026-03-14T22:00:00+01:00",
            "end": "2026-03-14T21:00:00Z",
        },
        "end",
        "not after start",
    ),
    (
        "score 6",
        {"type": "satisfaction", "ticket": "T1", "service": "MAIL", "at": "2026-03-05T09:30:00Z"}
        | {"score": 6},
        "score",
        "got 6",
    ),
    (
        "score 4.0",
        {"type": "satisfaction", "ticket": "T1", "service": "MAIL", "at": "2026-03-05T09:30:00Z"}
        | {"score": 4.0},
        "score",
        "got 4.0",
    ),
    (
        "unknown backup status",
        {
            "type": "backup_run",
            "id": "B9",
            "service": "BACKUP",
            "scope": "db",
            "scheduled_at": "2026-03-02T01:00:00Z",
            "status": "ok",
        },
        "status",
        '"ok"',
    ),
    ("duplicate seq", event(seq=1, kind="comment"), "seq", "already has an event with seq 1"),
    ("second created event", created(seq=3), "kind", "already has a created event"),
    (
        "conflicting duplicate id",
        outage("O1", end="2026-03-10T16:00:00+01:00"),
        "id",
        "already given on line 2 with different content",
    ),
    ("invalid JSON", '{"type": "outage", "id": ', None, "not valid JSON"),
    ("not an object", "[1, 2]", None, "expected a JSON object, got [1,2]"),
    ("null line", "null", None, "got null"),
]


@pytest.mark.parametrize(
    ("bad", "field", "fragment"),
    [case[1:] for case in STOP_CASES],
    ids=[case[0] for case in STOP_CASES],
)
def test_stop_names_the_line_and_the_field(
    bad: dict[str, Any] | str, field: str | None, fragment: str
) -> None:
    error = failure(created(), outage("O1"), bad, event(seq=2, at="2026-03-02T09:10:00+01:00"))
    problem = error.problem
    assert (problem.line, problem.field, problem.action) == (3, field, "stopped")
    assert fragment in problem.message
    where = "<events>:3: " if field is None else f"<events>:3: {field}: "
    assert str(error) == where + problem.message
    assert isinstance(error, ValueError)


def test_an_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "march.jsonl"
    path.write_bytes(jsonl(created(), "", event(seq=2, at="2026-03-02T09:00:00")))
    with pytest.raises(EventsFileError) as caught:
        read_events(path)
    assert str(caught.value) == (
        f'{path}:3: at: "2026-03-02T09:00:00" has no UTC offset: '
        "add it (2026-03-02T09:00:00+01:00, say) or write Z for UTC"
    )
    assert caught.value.filename == str(path)


def test_a_stream_gives_its_name() -> None:
    stream = io.BytesIO(jsonl(event("T1", 2)))
    stream.name = "export.jsonl"  # type: ignore[misc]
    with pytest.raises(EventsFileError, match=r"^export\.jsonl:1: ticket: "):
        read_events(stream)


def test_unknown_on_error_value() -> None:
    with pytest.raises(ValueError, match="on_error"):
        read_events(io.BytesIO(b""), on_error="ignore")


# --------------------------------------------------------------------------------------------
# Instants: the fast path (ticket events) and the slow path (everything else) agree


GOOD_INSTANTS = [
    "2026-03-02T09:00:00+01:00",
    "2026-03-02T08:00:00Z",
    "2026-03-02T08:00:00.5Z",
    "2026-03-02T08:00:00.123456-03:30",
    "2026-03-02T08:00:00.1234567+00:00",  # truncated to the microsecond
    "2026-03-02T08:00:00-00:00",
    "2026-03-02T08:00:00+23:59",
]
BAD_INSTANTS = [
    # (value, the schema's pattern rejects it too)
    ("2026-03-02T09:00:00", True),
    ("2026-03-02", True),
    ("2026-03-02 09:00:00+01:00", True),
    ("2026-03-02t09:00:00Z", True),
    ("2026-03-02T09:00:00z", True),
    ("2026-03-02T09:00+01:00", True),
    ("20260302T090000Z", True),
    ("2026-W10-1T09:00:00Z", True),
    ("2026-03-02T09:00:00,5Z", True),
    ("2026-03-02T09:00:00.Z", True),
    ("2026-03-02T09:00:00.+01:00", True),
    ("2026-03-02T09:00:00+0100", True),
    ("2026-03-02T09:00:00+01", True),
    ("2026-03-02T09:00:00+01:00:00", True),
    ("2026-03-02T09:00:00+01:60", True),
    ("2026-03-02T09:00:00Z+01:00", True),
    (" 2026-03-02T09:00:00Z", True),
    ("2026-03-02T09:00:00Z ", True),
    ("", True),
    (20260302, True),
    ("2026-02-30T09:00:00Z", False),
    ("2026-03-02T24:00:00Z", False),
    ("2026-03-02T09:00:60Z", False),
    ("2026-03-02T09:00:00+24:00", False),
]


@pytest.mark.parametrize("value", GOOD_INSTANTS)
def test_good_instants(value: str) -> None:
    data = read(created(at=value), outage("O1", start=value, end="2026-03-03T00:00:00Z"))
    assert data.other.outages[0].start == at(value)
    assert logs_of(data)["T1"].times[0] == micros(at(value))
    assert data.other.outages[0].start.tzinfo is not None


@pytest.mark.parametrize(("value", "_pattern"), BAD_INSTANTS)
def test_bad_instants(value: Any, _pattern: bool) -> None:
    for line, field in ((created(at=value), "at"), (outage("O1", start=value), "start")):
        problem = failure(line).problem
        assert (problem.line, problem.field) == (1, field)
        assert orjson.dumps(value).decode() in problem.message


# --------------------------------------------------------------------------------------------
# on_error="skip": the line, and its whole ticket


def test_skip_leaves_the_whole_ticket_out() -> None:
    data = read(
        created(),
        created("T2", service="ERP"),
        event(seq=2, at="2026-03-02T09:00:00"),  # line 3: T1 loses an event...
        event(seq=3, at="2026-03-02T11:00:00+01:00", kind="status", status="resolved"),
        event("T2", 2, at="2026-03-02T09:30:00+01:00"),
        event(seq=4, kind="status"),  # line 6: ...and another
        outage("O1"),
        on_error="skip",
    )
    assert list(data.tickets) == ["T2"]
    assert list(data.logs.refs) == ["T2"]
    assert len(logs_of(data)["T2"].times) == 2
    assert len(data.other.outages) == 1
    assert [(p.line, p.field, p.action) for p in data.problems] == [
        (3, "at", "skipped"),
        (3, "ticket", "skipped"),
        (6, "status", "skipped"),
    ]
    assert data.problems[1].message == (
        'ticket "T1" is left out entirely because lines 3, 6 were skipped: '
        "its clocks cannot be computed without all of its events"
    )
    assert data.lines == 7


def test_skip_a_duplicate_seq_leaves_the_ticket_out() -> None:
    data = read(created(), event(seq=2), event(seq=2, kind="assigned"), on_error="skip")
    assert data.tickets == {}
    assert len(data.logs) == 0
    assert [(p.line, p.field, p.action) for p in data.problems] == [
        (3, "seq", "skipped"),
        (3, "ticket", "skipped"),
    ]
    assert "line 3 was skipped" in data.problems[1].message


def test_skip_lines_that_belong_to_no_ticket() -> None:
    data = read(
        created(),
        "not json",
        outage("O1"),
        outage("O1", cause="client"),  # contradicts line 3: skipped, line 3 kept
        {"type": "satisfaction", "ticket": "T1", "service": "MAIL", "at": "2026-03-05T09:30:00Z"}
        | {"score": 0},
        on_error="skip",
    )
    assert list(data.tickets) == ["T1"]  # a bad satisfaction answer does not touch T1's clocks
    assert data.other.outages == (
        Outage("O1", "MAIL", at("2026-03-10T14:00:00+01:00"), at("2026-03-10T15:00:00+01:00")),
    )
    assert [(p.line, p.field, p.action) for p in data.problems] == [
        (2, None, "skipped"),
        (4, "id", "skipped"),
        (5, "score", "skipped"),
    ]


def test_skip_ties_a_bad_line_of_unknown_type_to_its_ticket() -> None:
    data = read(created(), {"type": "tickt_event", "ticket": "T1", "seq": 2}, on_error="skip")
    assert data.tickets == {}
    assert [p.field for p in data.problems] == ["type", "ticket"]


def test_unknown_ticket() -> None:
    lines = (
        created(),
        event("T5", 2),
        event(seq=2, at="2026-03-02T09:10:00+01:00"),
        event("T5", 3, at="2026-03-02T11:00:00+01:00"),
    )
    problem = failure(*lines).problem
    assert (problem.line, problem.field, problem.action) == (2, "ticket", "stopped")
    assert problem.message == (
        'ticket "T5" has no created event, so its service is unknown (2 events in the file)'
    )
    data = read(*lines, on_error="skip")
    assert list(data.tickets) == list(data.logs.refs) == ["T1"]
    assert data.problems == [Problem(2, "ticket", problem.message, "skipped")]


# --------------------------------------------------------------------------------------------
# Warnings: reported in both modes, data unchanged


@pytest.mark.parametrize("on_error", ["stop", "skip"])
def test_out_of_order_is_a_warning(on_error: str) -> None:
    lines = [
        created(at="2026-03-02T09:00:00+01:00"),
        event(seq=2, at="2026-03-02T10:00:00+01:00"),
        event(seq=3, at="2026-03-02T09:30:00+01:00"),
    ]
    data = read(*lines, on_error=on_error)
    assert data.problems == [
        Problem(
            3,
            "at",
            'event seq 3 of ticket "T1" is at 2026-03-02T09:30:00+01:00, before event seq 2 at '
            "2026-03-02T10:00:00+01:00: the clocks apply events in (at, seq) order, "
            "not in seq order",
            "warning",
        )
    ]
    log = logs_of(data)["T1"]
    assert log.times == tuple(micros(at(line["at"])) for line in (lines[0], lines[2], lines[1]))
    # Lines in another order: the same log, the warning on the line that reveals it.
    data = read(lines[2], lines[0], lines[1], on_error=on_error)
    assert logs_of(data)["T1"] == log
    assert [(p.line, p.field, p.action) for p in data.problems] == [(3, "at", "warning")]
    assert 'event seq 2 of ticket "T1" is at 2026-03-02T10:00:00+01:00, after event seq 3' in (
        data.problems[0].message
    )


def test_simultaneous_events_are_in_order() -> None:
    same = "2026-03-02T09:00:00+01:00"
    data = read(created(at=same), event(seq=3, at="2026-03-02T08:00:00Z"), event(seq=2, at=same))
    assert data.problems == []  # 08:00Z is 09:00+01:00: the same instant, ordered by seq


@pytest.mark.parametrize("on_error", ["stop", "skip"])
def test_overlapping_outages_are_a_warning(on_error: str) -> None:
    data = read(
        outage("O1", start="2026-03-10T10:00:00+01:00", end="2026-03-10T11:00:00+01:00"),
        outage("O3", "ERP", start="2026-03-10T10:00:00+01:00", end="2026-03-10T12:00:00+01:00"),
        outage("O2", start="2026-03-10T09:30:00Z", end="2026-03-10T11:00:00Z"),
        outage("O4", start="2026-03-10T10:00:00Z", end="2026-03-10T10:30:00Z"),
        on_error=on_error,
    )
    assert [o.id for o in data.other.outages] == ["O1", "O3", "O2", "O4"]
    assert data.problems == [
        Problem(
            3,
            "start",
            'outage "O2" overlaps outage "O1" of service "MAIL": '
            "the time they share is counted once",
            "warning",
        ),
        Problem(
            4,
            "start",
            'outage "O4" overlaps outage "O2" of service "MAIL": '
            "the time they share is counted once",
            "warning",
        ),
    ]


def test_touching_outages_do_not_overlap() -> None:
    data = read(
        outage("O1", start="2026-03-10T10:00:00+01:00", end="2026-03-10T11:00:00+01:00"),
        outage("O2", start="2026-03-10T10:00:00Z", end="2026-03-10T10:30:00Z"),
    )
    assert data.problems == []


def test_an_exact_repeat_is_kept_once() -> None:
    data = read(outage("O1"), outage("O1"))
    assert len(data.other.outages) == 1
    assert data.problems == [
        Problem(2, "id", 'outage "O1" repeats line 1; it is kept once', "warning")
    ]


# --------------------------------------------------------------------------------------------
# Blank lines, empty files, odd bytes


def test_blank_lines_are_ignored() -> None:
    raw = b"\n" + jsonl(created()) + b"   \n\r\n" + jsonl(event(seq=2)) + b"\n"
    data = read_events(io.BytesIO(raw))
    assert data.problems == []
    assert data.lines == 6
    assert len(logs_of(data)["T1"].times) == 2
    raw = b"\n\n" + jsonl(event(seq=2, at="2026-03-02T10:00:00"))
    with pytest.raises(EventsFileError, match=r"^<events>:3: at: "):
        read_events(io.BytesIO(raw))


def test_crlf_lines() -> None:
    raw = jsonl(created()).replace(b"\n", b"\r\n") + jsonl(event(seq=2)).replace(b"\n", b"\r\n")
    assert len(logs_of(read_events(io.BytesIO(raw)))["T1"].times) == 2


@pytest.mark.parametrize("raw", [b"", b"\n", b"\n  \n\r\n"])
def test_no_records_is_valid(raw: bytes) -> None:
    data = read_events(io.BytesIO(raw))
    assert data == EventsData(lines=raw.count(b"\n"))
    assert data.tickets == {}
    assert data.other.outages == ()


def test_a_byte_order_mark_is_tolerated() -> None:
    data = read_events(io.BytesIO(b"\xef\xbb\xbf" + jsonl(created())))
    assert list(data.tickets) == ["T1"]


def test_the_garbage_collector_is_resumed() -> None:
    assert gc.isenabled()
    read(*VALID)
    assert gc.isenabled()
    failure(event())
    assert gc.isenabled()
    gc.disable()
    try:
        read(*VALID)
        assert not gc.isenabled()
    finally:
        gc.enable()


# --------------------------------------------------------------------------------------------
# The closed lists are the help desk's


def test_closed_lists_match_the_help_desk() -> None:
    from infogerance.helpdesk.workflow import Cause, Kind, Status

    assert tuple(Status.values) == eventsfile.TICKET_STATUSES
    assert tuple(Kind.values) == eventsfile.TICKET_KINDS
    assert tuple(Cause.values) == eventsfile.TICKET_CAUSES
    assert set(eventsfile.TICKET_CAUSES) < set(CAUSES)


def test_the_schema_lists_are_the_module_lists() -> None:
    defs = SCHEMA["$defs"]
    event_props = defs["ticket_event"]["properties"]
    assert set(event_props["kind"]["enum"]) == EVENT_KINDS
    assert event_props["status"]["enum"] == [*eventsfile.TICKET_STATUSES, None]
    assert event_props["ticket_kind"]["enum"] == [*eventsfile.TICKET_KINDS, None]
    assert event_props["cause"]["enum"] == [*eventsfile.TICKET_CAUSES, None]
    assert defs["outage"]["properties"]["cause"]["enum"] == [*CAUSES, None]
    assert defs["backup_run"]["properties"]["status"]["enum"] == list(BACKUP_STATUSES)
    branches = [branch["$ref"].removeprefix("#/$defs/") for branch in SCHEMA["oneOf"]]
    assert branches == list(eventsfile.RECORD_TYPES)
    for name in eventsfile.RECORD_TYPES:
        assert list(defs[name]["properties"]) == list(eventsfile._FIELDS[name])


# --------------------------------------------------------------------------------------------
# The JSON Schema and the documentation


_SUPPORTED = {
    "$schema",
    "$ref",
    "$defs",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "pattern",
    "minLength",
    "minimum",
    "maximum",
    "required",
    "properties",
    "additionalProperties",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
}


def _keywords(schema: Any) -> set[str]:
    """Every keyword used in a schema (property names excluded)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    found |= _keywords(sub)
            elif isinstance(value, dict | list) and key not in ("enum", "const", "required"):
                found |= _keywords(value)
    elif isinstance(schema, list):
        for sub in schema:
            found |= _keywords(sub)
    return found


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":
        return (type(value) is int) or (type(value) is float and value.is_integer())
    return {
        "null": value is None,
        "boolean": type(value) is bool,
        "number": type(value) in (int, float),
        "string": type(value) is str,
        "object": type(value) is dict,
        "array": type(value) is list,
    }[kind]


def _same(a: Any, b: Any) -> bool:
    return (type(a) is bool) == (type(b) is bool) and (a is None) == (b is None) and a == b


def mini_errors(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """The errors of ``value`` against ``schema``: draft 2020-12, the keywords above only."""
    errors: list[str] = []

    def valid(sub: dict[str, Any]) -> bool:
        return not mini_errors(sub, value, path)

    if "$ref" in schema:
        errors += mini_errors(SCHEMA["$defs"][schema["$ref"].removeprefix("#/$defs/")], value, path)
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, kind) for kind in kinds):
            return [*errors, f"{path}: {value!r} is not of type {kinds}"]
    if "const" in schema and not _same(value, schema["const"]):
        errors.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if type(value) is str:
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: {value!r} is too short")
    if type(value) in (int, float):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value!r} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value!r} > {schema['maximum']}")
    if type(value) is dict:
        errors += [
            f"{path}: {name} is required"
            for name in schema.get("required", ())
            if name not in value
        ]
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties:
                errors += mini_errors(properties[name], item, f"{path}/{name}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: {name} is not allowed")
    for sub in schema.get("allOf", ()):
        errors += mini_errors(sub, value, path)
    if "anyOf" in schema and not any(valid(sub) for sub in schema["anyOf"]):
        errors.append(f"{path}: no branch of anyOf matches")
    if "oneOf" in schema and sum(valid(sub) for sub in schema["oneOf"]) != 1:
        errors.append(f"{path}: not exactly one branch of oneOf matches")
    if "not" in schema and valid(schema["not"]):
        errors.append(f"{path}: matches a schema it must not")
    if "if" in schema:
        branch = schema.get("then") if valid(schema["if"]) else schema.get("else")
        if branch is not None:
            errors += mini_errors(branch, value, path)
    return errors


def schema_errors(value: Any) -> list[str]:
    if jsonschema is not None:
        validator = jsonschema.Draft202012Validator(SCHEMA)
        return [error.message for error in validator.iter_errors(value)]
    return mini_errors(SCHEMA, value)


def test_the_schema_uses_only_known_keywords() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert _keywords(SCHEMA) <= _SUPPORTED
    if jsonschema is not None:
        jsonschema.Draft202012Validator.check_schema(SCHEMA)


def doc_examples() -> list[str]:
    """Every line of the ```json blocks of docs/formats/events.md."""
    blocks = re.findall(r"^```json\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_every_type_has_a_documented_example() -> None:
    types = {orjson.loads(line)["type"] for line in doc_examples()}
    assert types == set(eventsfile.RECORD_TYPES)


@pytest.mark.parametrize("line", doc_examples())
def test_the_documented_examples_match_the_schema(line: str) -> None:
    assert schema_errors(orjson.loads(line)) == []


def test_the_documented_examples_are_a_valid_file() -> None:
    data = read_events(io.BytesIO("\n".join(doc_examples()).encode()))
    assert data.problems == []
    assert data.tickets == {
        "INC-2026-0042": TicketInfo("INC-2026-0042", "MESSAGERIE", "incident", "client")
    }
    assert len(logs_of(data)["INC-2026-0042"].times) == 12
    other = data.other
    counts = [len(getattr(other, name)) for name in other.__dataclass_fields__]
    assert counts == [1] * 7


@pytest.mark.parametrize("line", VALID, ids=lambda line: f"{line['type']}")
def test_the_fixtures_match_the_schema(line: dict[str, Any]) -> None:
    assert schema_errors(line) == []


SCHEMA_REJECTS = [
    event(seq=3, at="2026-03-02T09:00:00"),
    event(seq=0),
    event(seq="3"),
    event(seq=3, sttus="new"),
    event(seq=3, kind="status"),
    event(seq=3, kind="status", status=None),
    event(seq=3, kind="priority"),
    event(seq=3, service="MAIL"),
    event(seq=3, cause="planned_maintenance"),
    {k: v for k, v in created().items() if k != "service"},
    created(ticket_kind="change"),
    outage("O1", start="2026-03-10 14:00:00+01:00"),
    outage("O1", cause="nobody"),
    {
        "type": "maintenance",
        "id": "M9",
        "service": "MAIL",
        "start": "2026-03-14T22:00:00+01:00",
        "end": "2026-03-15T02:00:00+01:00",
        "approved": "true",
    },
    {"type": "satisfaction", "ticket": "T1", "service": "MAIL", "at": "2026-03-05T09:30:00Z"}
    | {"score": 6},
    {"type": "ticket_evnt", "ticket": "T1"},
    {"ticket": "T1", "seq": 1},
    {"type": "patch", "id": "", "service": "OPS", "released_at": "2026-03-04T18:00:00Z"},
]


@pytest.mark.parametrize("line", SCHEMA_REJECTS)
def test_the_schema_rejects_bad_lines(line: dict[str, Any]) -> None:
    assert schema_errors(line) != []


@pytest.mark.parametrize(("value", "pattern_rejects"), BAD_INSTANTS)
def test_the_schema_agrees_on_instants(value: Any, pattern_rejects: bool) -> None:
    assert (schema_errors(created(at=value)) != []) is pattern_rejects
    for good in GOOD_INSTANTS:
        assert schema_errors(created(at=good)) == []


# --------------------------------------------------------------------------------------------
# The columns against the lines read one by one


def reference_reading(
    lines: list[dict[str, Any]],
) -> tuple[dict[str, TicketInfo], dict[str, TicketLog], list[tuple[int, str | None, str]]]:
    """Valid ticket event lines read one by one with the documented rules, in skip mode:
    per ticket, rows in seq order; a second created event or a seq given twice is skipped
    and leaves its ticket out; a seq order that disagrees with the at order is a warning
    against the neighbour it was placed after (or before); a ticket without created event
    is left out. Returns the tickets, their logs and the problems (line, field, action)."""
    rows: dict[str, list[tuple[datetime, int, str, str | None, str | None]]] = {}
    info: dict[str, TicketInfo] = {}
    causes: dict[str, tuple[int, str]] = {}
    first: dict[str, int] = {}
    bad: dict[str, list[int]] = {}
    problems: list[tuple[int, str | None, str]] = []
    for number, line in enumerate(lines, start=1):
        ticket, seq, when, kind = line["ticket"], line["seq"], at(line["at"]), line["kind"]
        row = (when, seq, kind, line.get("status"), line.get("priority"))
        mine = rows.setdefault(ticket, [])
        if kind == "created" and ticket in info:
            problems.append((number, "kind", "skipped"))
            bad.setdefault(ticket, []).append(number)
            continue
        if any(r[1] == seq for r in mine):
            problems.append((number, "seq", "skipped"))
            bad.setdefault(ticket, []).append(number)
            continue
        if not mine and kind != "created":
            first[ticket] = number
        mine.append(row)
        mine.sort(key=lambda r: r[1])
        i = mine.index(row)
        if (i and mine[i - 1][0] > when) or (i + 1 < len(mine) and mine[i + 1][0] < when):
            problems.append((number, "at", "warning"))
        if kind == "created":
            info[ticket] = TicketInfo(ticket, line["service"])
        if "cause" in line and (ticket not in causes or seq > causes[ticket][0]):
            causes[ticket] = (seq, line["cause"])
    for ticket, numbers in bad.items():
        if rows.get(ticket):
            problems.append((numbers[0], "ticket", "skipped"))
            info.pop(ticket, None)
            rows.pop(ticket)
    for ticket, number in first.items():
        if ticket in rows and ticket not in info:
            problems.append((number, "ticket", "skipped"))
    for ticket, (_seq, cause) in causes.items():
        if ticket in info:
            info[ticket] = TicketInfo(ticket, info[ticket].service, "incident", cause)
    problems.sort(key=lambda problem: problem[0])
    logs = {ticket: TicketLog.from_rows(rows[ticket]) for ticket in info}
    return info, logs, problems


@st.composite
def ticket_lines(draw: st.DrawFn) -> list[dict[str, Any]]:
    lines = []
    for ticket in ("T1", "T2", "T3"):
        count = draw(st.integers(1, 6))
        for n in range(count):
            seq = draw(st.integers(1, count + 1))  # some seqs twice, some missing
            kind = draw(st.sampled_from(["created", "comment", "status", "priority"]))
            minutes = draw(st.integers(0, 300))
            zone = timezone(timedelta(minutes=draw(st.sampled_from([0, 60, -330]))))
            when = datetime(2026, 3, 2, 8, tzinfo=UTC) + timedelta(minutes=minutes)
            text = when.astimezone(zone).isoformat().replace("+00:00", "Z")
            fields: dict[str, Any] = {"at": text}
            if kind == "status":
                fields["status"] = draw(st.sampled_from(["new", "restored", "resolved"]))
            if kind == "priority":
                fields["priority"] = draw(st.sampled_from(["P1", "P2"]))
            if draw(st.booleans()) and n:
                fields["cause"] = draw(st.sampled_from(["client", "provider"]))
            lines.append(event(ticket, seq, kind, **fields))
            if kind == "created":
                lines[-1]["service"] = "MAIL"
    return draw(st.permutations(lines))


@settings(max_examples=300, deadline=None)
@given(ticket_lines())
def test_the_columns_are_the_lines_read_one_by_one(lines: list[dict[str, Any]]) -> None:
    # Files in any order, with seqs given twice, second created events, tickets without
    # one and seq orders that disagree with at orders: the irregular tickets' replay.
    tickets, logs, problems = reference_reading(lines)
    data = read(*lines, on_error="skip")
    assert data.tickets == tickets
    assert logs_of(data) == logs
    assert [(p.line, p.field, p.action) for p in data.problems] == problems
    # Stopping: at the first line in error, else at the first unknown ticket once all is read.
    errors = [p[:2] for p in problems if p[1] in ("kind", "seq")]
    errors = errors or [p[:2] for p in problems if p[1] == "ticket"]
    if errors:
        problem = failure(*lines).problem
        assert (problem.line, problem.field) == errors[0]
    else:
        assert read(*lines).problems == data.problems


# --------------------------------------------------------------------------------------------
# Reading by batches: what reading the lines one by one gives


def line_by_line(data: bytes, on_error: str = "stop") -> EventsData:
    """Every line through the line-by-line reader (its inlined fast path, else field by
    field), none through the batches."""
    reader = eventsfile._Reader("<events>", on_error == "stop")
    return reader.finish(reader.lines(io.BytesIO(data), 0))


def batched(data: bytes, on_error: str = "stop") -> EventsData:
    return read_events(io.BytesIO(data), on_error=on_error)


def outcome(reading: Any, data: bytes, on_error: str) -> Any:
    """What a reading gives, comparable: the tickets, logs, records and problems (the logs'
    codes aside), or the error."""
    try:
        got = reading(data, on_error)
    except EventsFileError as error:
        return ("stopped", str(error), error.problem)
    return (
        list(got.tickets.items()),
        list(got.logs.refs),
        logs_of(got),
        got.other,
        got.problems,
        got.lines,
    )


def same_as_line_by_line(data: bytes) -> None:
    for on_error in ("stop", "skip"):
        expected = outcome(line_by_line, data, on_error)
        assert outcome(batched, data, on_error) == expected
        assert outcome(slow_read, data, on_error) == expected


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 512 bytes and pieces of 3 lines: batch and piece boundaries everywhere."""
    monkeypatch.setattr(eventsfile, "_BLOCK", 512)
    monkeypatch.setattr(eventsfile, "_PIECE", 3)


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What each call of the batch reader returned (-1: left to the line-by-line reader)."""
    results: list[int] = []
    fast_batch = eventsfile._Reader.fast_batch

    def spy(self: Any, *args: Any) -> int:
        results.append(fast_batch(self, *args))
        return results[-1]

    monkeypatch.setattr(eventsfile._Reader, "fast_batch", spy)
    return results


ZONES = {"Z": 0, "+01:00": 60, "-05:30": -330, "+00:00": 0, "-00:00": 0, "+14:00": 840}


def instant(n: int) -> str:
    """A different instant for each ``n``, in one of the shapes exports write: each zone,
    no fraction or 1 to 7 digits of it (the seventh truncated)."""
    when = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=37 * n, microseconds=1001 * n)
    zone = list(ZONES)[n % len(ZONES)]
    local = (when + timedelta(minutes=ZONES[zone])).replace(tzinfo=None)
    places = n % 8
    text = local.isoformat(timespec="seconds")
    if places:
        text += "." + f"{local.microsecond:06d}{n % 10}"[:places]
    return text + zone


def tickets_file(count: int, *, shuffle: bool = False, prefix: str = "INC") -> list[dict[str, Any]]:
    """``count`` tickets of a few events each, in instants of every shape, with priorities,
    causes, ticket kinds and nulls; grouped by ticket (or shuffled)."""
    lines: list[dict[str, Any]] = []
    n = 0
    for t in range(count):
        ref = f"{prefix}-{t:05d}"
        lines.append(
            created(
                ref,
                at=instant(n),
                service=("MAIL", "ERP", "OPS")[t % 3],
                status="new",
                priority=f"P{t % 4 + 1}",
                ticket_kind=(None, "request", "incident", "problem")[t % 4],
            )
        )
        later: list[tuple[str, dict[str, Any]]] = [
            ("assigned", {"status": "assigned"}),
            ("status", {"status": "intervention_started", "priority": None}),
            ("comment", {}),
            ("priority", {"priority": "P1"}),
            ("status", {"status": "resolved", "cause": ("client", None)[t % 2]}),
        ]
        for seq, (kind, fields) in enumerate(later[: 2 + t % 4], start=2):
            n += 1
            lines.append(event(ref, seq, kind, at=instant(n), **fields))
    if shuffle:
        random.Random(count).shuffle(lines)
    return lines


def test_a_large_file_is_read_by_batches(taken: list[int]) -> None:
    lines = tickets_file(400)
    data = jsonl(*lines, *VALID[9:])
    same_as_line_by_line(data)
    # One batch, its ticket events all stored at once, its other records one by one.
    assert taken == [len(VALID[9:])] * len(taken)
    expected = line_by_line(data)
    got = batched(data)
    assert got.tickets == expected.tickets
    assert isinstance(got.tickets, eventsfile.TicketTable)


def test_small_batches_and_pieces(small_batches: None, taken: list[int]) -> None:
    same_as_line_by_line(jsonl(*tickets_file(60), *VALID))
    assert sum(result >= 0 for result in taken) > 10


def test_a_file_in_random_order(taken: list[int]) -> None:
    same_as_line_by_line(jsonl(*tickets_file(300, shuffle=True)))
    # Most events cannot be stored at once: the next batches go line by line.
    same_as_line_by_line(jsonl(*tickets_file(2000, shuffle=True)))


def test_lines_longer_than_a_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventsfile, "_BLOCK", 16)
    same_as_line_by_line(jsonl(*tickets_file(5), *VALID))
    same_as_line_by_line(jsonl(*tickets_file(5))[:-1])  # the last line without "\n"


def test_a_batch_with_every_kind_of_record(small_batches: None) -> None:
    same_as_line_by_line(jsonl(*VALID))
    lines = list(VALID)
    random.Random(3).shuffle(lines)
    same_as_line_by_line(jsonl(*lines))


BAD_LINES = [
    '{"type": "outage", "id": ',  # not JSON
    '{"type":"ticket_event","ticket":"INC-00001","seq":9,"at":"2026-03-09T00:00:00Z"}'
    ',{"type":"ticket_event","ticket":"INC-00002","seq":9,"at":"2026-03-09T00:00:00Z",'
    '"kind":"comment"}',  # two objects on one line
    '{"type":"ticket_event","ticket":"INC-00001","seq":9,"at":"2026-03-09T00:00:00Z",'
    '"kind":"comment","note":[{}',  # an array over two lines...
    "{}]}",  # ...with the next one
    '{"type":"ticket_event","ticket":"INC-00001},',  # a string over two lines...
    '{1","seq":9,"at":"2026-03-09T00:00:00Z","kind":"comment"}',  # ...with the next one
    "[1, 2]",
    "null",
    "",
    "   ",
    "{}",
    orjson.dumps(event("INC-00001", 9, at="2026-03-09T00:00:00")).decode(),  # no offset
    orjson.dumps(event("INC-00001", 9, at="2026-03-09T00:00:00.+01:00")).decode(),
    orjson.dumps(event("INC-00001", 9, at="2026-02-29T00:00:00Z")).decode(),
    orjson.dumps(event("INC-00001", 9, at="2026-03-09T24:00:00Z")).decode(),
    orjson.dumps(event("INC-00001", 9, at="2026-03-09T09:00:00+24:00")).decode(),
    orjson.dumps(event("INC-00001", 9, at="２０２６-03-09T09:00:00Z")).decode(),
    orjson.dumps(event("INC-00001", 9, at=20260309)).decode(),
    orjson.dumps(event("INC-00001", 9, sttus="new")).decode(),
    orjson.dumps(event("INC-00001", 9, status=None, kind="status")).decode(),
    orjson.dumps(event("INC-00001", 9, kind="status", status=["new"])).decode(),
    orjson.dumps(event("INC-00001", 9, priority={"P": 1})).decode(),
    orjson.dumps(event("INC-00001", 9, priority="")).decode(),
    orjson.dumps(event("INC-00001", 9, kind="priority", priority=None)).decode(),
    orjson.dumps(event("INC-00001", 9, cause="weather")).decode(),
    orjson.dumps(event("INC-00001", 9, cause=[])).decode(),
    orjson.dumps(event("INC-00001", 9, service=None)).decode(),
    orjson.dumps(event("INC-00001", 9, ticket_kind=None)).decode(),
    orjson.dumps(event("INC-00001", 2**63)).decode(),
    orjson.dumps(event("INC-00001", 0)).decode(),
    orjson.dumps(event("INC-00001", True)).decode(),
    orjson.dumps(event("INC-00001", 9.0)).decode(),  # type: ignore[arg-type]
    orjson.dumps(event("", 9)).decode(),
    orjson.dumps(event(None, 9)).decode(),  # type: ignore[arg-type]
    orjson.dumps(created("INC-09999", service="")).decode(),
    orjson.dumps({k: v for k, v in created("INC-09999").items() if k != "service"}).decode(),
    orjson.dumps(created("INC-09999", ticket_kind="change")).decode(),
    orjson.dumps({k: v for k, v in event("INC-00001", 9).items() if k != "kind"}).decode(),
    orjson.dumps(event("INC-00001", 2, kind="comment")).decode(),  # a seq given twice
    orjson.dumps(created("INC-00001", seq=9)).decode(),  # a second created event
    orjson.dumps(event("INC-77777", 2)).decode(),  # an unknown ticket
    orjson.dumps(outage("O1", cause="meteor")).decode(),
    orjson.dumps(outage("O1", end="2026-03-10T13:00:00+01:00")).decode(),
    '\ufeff{"type":"outage"}',  # a byte order mark not at the start of the file
]


@pytest.mark.parametrize("where", [0, 1, 2, 3, 50, 209])
@pytest.mark.parametrize("bad", range(len(BAD_LINES)), ids=lambda n: f"bad{n}")
def test_a_bad_line_in_a_batch_is_reported_on_its_own_line(
    small_batches: None, bad: int, where: int
) -> None:
    lines: list[dict[str, Any] | str] = [*tickets_file(35), outage("O1")]
    lines.insert(where, BAD_LINES[bad])
    if BAD_LINES[bad].endswith("[{}") or BAD_LINES[bad].endswith("},"):
        lines.insert(where + 1, BAD_LINES[bad + 1])
    same_as_line_by_line(jsonl(*lines))


@pytest.mark.parametrize("bad", range(len(BAD_LINES)), ids=lambda n: f"bad{n}")
def test_a_bad_line_in_a_large_batch(bad: int) -> None:
    lines: list[dict[str, Any] | str] = [*tickets_file(400)]
    lines.insert(1234, BAD_LINES[bad])
    data = jsonl(*lines)
    same_as_line_by_line(data)
    if bad == 0:
        with pytest.raises(EventsFileError) as caught:
            batched(data)
        assert caught.value.problem.line == 1235
        assert str(caught.value).startswith("<events>:1235: the line is not valid JSON (")


def test_an_instant_the_fast_path_does_not_take(small_batches: None) -> None:
    lines: list[dict[str, Any] | str] = list(tickets_file(30))
    lines.insert(40, event("INC-00003", 9, at="2026-03-09T10:00:00"))
    with pytest.raises(EventsFileError) as caught:
        batched(jsonl(*lines))
    assert str(caught.value) == (
        '<events>:41: at: "2026-03-09T10:00:00" has no UTC offset: '
        "add it (2026-03-09T10:00:00+01:00, say) or write Z for UTC"
    )
    # Seven digits of fraction: not a fast shape, but a valid instant (truncated).
    lines[40] = event("INC-00003", 9, at="2026-03-09T10:00:00.1234567-02:00")
    data = batched(jsonl(*lines))
    assert data.problems == []
    assert micros(at("2026-03-09T12:00:00.123456Z")) in logs_of(data)["INC-00003"].times


def test_out_of_order_events_across_a_batch_boundary(small_batches: None) -> None:
    first = [created("T1", at="2026-03-02T09:00:00+01:00")]
    first += [event("T1", seq, at=f"2026-03-02T1{seq}:00:00+01:00") for seq in (2, 3, 4)]
    filler = tickets_file(10)
    later = [
        event("T1", 6, at="2026-03-02T10:30:00+01:00"),  # after seq 4, but earlier: a warning
        event("T1", 5, at="2026-03-02T15:00:00+01:00"),  # below the last seq: replayed
        event("T1", 3, kind="assigned", at="2026-03-02T16:00:00+01:00"),  # seq 3 twice
    ]
    data = jsonl(*first, *filler, *later)
    same_as_line_by_line(data)
    line = len(first) + len(filler) + 1
    got = batched(data, "skip")
    assert [(p.line, p.field, p.action) for p in got.problems] == [
        (line, "at", "warning"),
        (line + 1, "at", "warning"),
        (line + 2, "seq", "skipped"),
        (line + 2, "ticket", "skipped"),
    ]
    assert "T1" not in got.tickets
    with pytest.raises(EventsFileError) as caught:
        batched(data)
    assert caught.value.problem.line == line + 2
    assert caught.value.problem.message.startswith(
        'ticket "T1" already has an event with seq 3 (a comment event at 2026-03-02T13:00:00+01:00)'
    )
    # Without the seq given twice: every event kept, in (at, seq) order.
    data = jsonl(*first, *filler, *later[:2])
    same_as_line_by_line(data)
    log = logs_of(batched(data))["T1"]
    instants = [first[0], later[0], *first[1:], later[1]]  # seqs 1, 6, 2, 3, 4, 5
    assert log.times == tuple(micros(at(line["at"])) for line in instants)


def test_a_created_event_across_a_batch_boundary(small_batches: None) -> None:
    # T1's events before its created event, in an earlier batch: replayed in line order.
    lines = [
        event("T1", 3, at="2026-03-02T11:00:00Z"),
        *tickets_file(8),
        event("T1", 2, at="2026-03-02T10:00:00Z"),
        created("T1", at="2026-03-02T09:00:00Z", priority="P9"),
        *tickets_file(3, prefix="REQ"),
    ]
    same_as_line_by_line(jsonl(*lines))
    data = batched(jsonl(*lines))
    assert list(data.tickets)[:1] == ["INC-00000"]
    assert data.tickets["T1"] == TicketInfo("T1", "MAIL")


@st.composite
def odd_instants(draw: st.DrawFn) -> str:
    """Instants near the shapes of the fast path, valid or not."""
    year = draw(st.sampled_from([1, 4, 100, 1600, 1900, 1969, 1970, 2000, 2024, 2026, 9999, 0]))
    parts = [
        f"{year:04d}",
        f"{draw(st.integers(0, 13)):02d}",
        f"{draw(st.integers(0, 32)):02d}",
        f"{draw(st.integers(0, 24)):02d}",
        f"{draw(st.integers(0, 60)):02d}",
        f"{draw(st.integers(0, 60)):02d}",
    ]
    text = f"{parts[0]}-{parts[1]}-{parts[2]}T{parts[3]}:{parts[4]}:{parts[5]}"
    if draw(st.booleans()):
        text += "." + draw(st.text("0123456789", max_size=8))
    zone = draw(
        st.sampled_from(["Z", "z", "", "+", "-"])
        | st.builds(
            "{}{:02d}:{:02d}".format,
            st.sampled_from("+-"),
            st.integers(0, 24),
            st.integers(0, 60),
        )
    )
    text += zone
    if draw(st.integers(0, 9)) == 0:  # a character changed
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.sampled_from("x9:-+. Té\x00")) + text[i + 1 :]
    return text


@settings(max_examples=300, deadline=None)
@given(st.lists(odd_instants(), min_size=1, max_size=40))
def test_fast_instants_read_what_the_strict_check_accepts(texts: list[str]) -> None:
    joined = "".join(texts).encode("ascii", "replace")
    lengths = np.array([len(text) for text in texts], dtype=np.int64)
    us, offset, read_ = eventsfile._fast_instants(joined, lengths)
    for n, text in enumerate(texts):
        accepted = eventsfile._accepted_instant(text)
        if read_[n]:
            assert accepted is not None, text
            assert int(us[n]) == micros(accepted), text
            utc_offset = accepted.utcoffset()
            assert utc_offset is not None
            assert int(offset[n]) * 60 == utc_offset.total_seconds(), text


def test_fast_instants_read_every_common_shape() -> None:
    texts = [instant(n) for n in range(96)]
    texts += ["2026-03-02T08:00:00-00:00", "2026-03-02T08:00:00+23:59", "0001-01-01T00:00:00Z"]
    lengths = np.array([len(text) for text in texts])
    us, offset, read_ = eventsfile._fast_instants("".join(texts).encode(), lengths)
    for n, text in enumerate(texts):
        seven_places = n < 96 and n % 8 == 7  # left to the strict check
        assert read_[n] != seven_places, text
        if read_[n]:
            assert int(us[n]) == micros(at(text))
            assert timedelta(minutes=int(offset[n])) == at(text).utcoffset()


def file_lines(bad_lines: bool) -> st.SearchStrategy[list[dict[str, Any] | str]]:
    """Lines of a few tickets (seqs given twice, created events missing or repeated, seqs
    in another order than instants…), with records, in any order; and some invalid lines
    (``bad_lines``)."""

    def ticket_event(
        ticket: str, seq: int, kind: str, minutes: int, zone: int, extra: dict[str, Any]
    ) -> dict[str, Any]:
        when = datetime(2026, 3, 2, 8, tzinfo=UTC) + timedelta(minutes=minutes)
        text = when.astimezone(timezone(timedelta(minutes=zone))).isoformat()
        line = event(ticket, seq, kind, at=text.replace("+00:00", "Z"), **extra)
        if kind == "created":
            line["service"] = "MAIL"
        if kind in ("status", "priority") and not line.get(kind):
            line[kind] = "resolved" if kind == "status" else "P3"
        return line

    events = st.builds(
        ticket_event,
        st.sampled_from(["T1", "T2", "T3"]),
        st.integers(1, 6),
        st.sampled_from(["created", "comment", "status", "priority", "assigned"]),
        st.integers(0, 300),
        st.sampled_from([0, 60, -330]),
        st.fixed_dictionaries(
            {},
            optional={
                "status": st.sampled_from(["new", "resolved", "closed", None]),
                "priority": st.sampled_from(["P1", "P2", None]),
                "cause": st.sampled_from(["client", "provider", None]),
            },
        ),
    )
    records = st.sampled_from([*VALID[9:], outage("O1", cause="client"), outage("O1")])
    line = st.one_of(events, events, events, records)
    if bad_lines:
        line |= st.sampled_from(BAD_LINES)
    return st.lists(line, min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(file_lines(bad_lines=False))
def test_batches_read_as_line_by_line(lines: list[dict[str, Any] | str]) -> None:
    data = jsonl(*lines)
    with pytest.MonkeyPatch.context() as patch:
        results: list[int] = []
        fast_batch = eventsfile._Reader.fast_batch

        def spy(self: Any, *args: Any) -> int:
            results.append(fast_batch(self, *args))
            return results[-1]

        patch.setattr(eventsfile._Reader, "fast_batch", spy)
        patch.setattr(eventsfile, "_BLOCK", 256)
        patch.setattr(eventsfile, "_PIECE", 4)
        same_as_line_by_line(data)
        assert results and min(results) >= 0  # every batch read at once
    same_as_line_by_line(data)


@settings(max_examples=300, deadline=None)
@given(file_lines(bad_lines=True))
def test_batches_with_bad_lines_read_as_line_by_line(lines: list[dict[str, Any] | str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eventsfile, "_BLOCK", 256)
        patch.setattr(eventsfile, "_PIECE", 4)
        same_as_line_by_line(jsonl(*lines))
    same_as_line_by_line(jsonl(*lines))


# --------------------------------------------------------------------------------------------
# The tickets as columns


def test_the_ticket_table_is_a_mapping() -> None:
    table = eventsfile.TicketTable(
        ("T1", "T2"), ("MAIL", "ERP"), ("incident", "request"), ("client", "")
    )
    expected = {
        "T1": TicketInfo("T1", "MAIL", "incident", "client"),
        "T2": TicketInfo("T2", "ERP", "request", ""),
    }
    assert table == expected
    assert expected == table
    assert list(table) == ["T1", "T2"]
    assert len(table) == 2
    assert table["T2"] == expected["T2"]
    assert table.get("T3") is None
    assert "T1" in table
    assert "T3" not in table
    assert dict(table.items()) == expected
    assert repr(table) == f"TicketTable({expected!r})"
    assert table.columns() == (
        ("T1", "T2"),
        ["MAIL", "ERP"],
        ["incident", "request"],
        ["client", ""],
    )
    # A change: a plain dictionary inside, no more columns.
    table["T3"] = TicketInfo("T3", "OPS")
    del table["T1"]
    assert table.columns() is None
    assert list(table) == ["T2", "T3"]
    assert table == {"T2": expected["T2"], "T3": TicketInfo("T3", "OPS")}
    with pytest.raises(KeyError):
        table["T1"]
    with pytest.raises(ValueError, match="lengths"):
        eventsfile.TicketTable(("T1",), (), (), ())
    assert eventsfile.TicketTable() == {}


def test_the_tickets_are_in_the_order_of_their_created_events() -> None:
    data = read(
        event("T2", 2, at="2026-03-02T10:00:00Z"),
        created("T1"),
        created("T2", at="2026-03-02T08:00:00Z"),
        created("T3"),
    )
    assert list(data.tickets) == list(data.logs.refs) == ["T1", "T2", "T3"]
