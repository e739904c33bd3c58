"""`infogerance sla evaluate`: the offline evaluation from a contract file and an events file.

The contract and the hand-computed figures are those of ``test_measure.py`` (March 2026,
Europe/Paris); here they go through the files and the command line, and must come out the
same as the platform's own ``measure``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from infogerance.cli import main
from infogerance.contracts.loader import load_contract
from infogerance.sla.evaluate import evaluate, evaluation_to_json
from infogerance.sla.eventsfile import TicketTable, read_events
from infogerance.sla.measure import measure, result_to_json
from infogerance.sla.records import TicketInfo
from tests.sla.test_measure import CONTRACT

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PENALTIES = """
penalties:
  rules:
    - {id: pen-gti, kind: fixed_per_breach, service_levels: [gti-p1], amount: "150.00"}
    - {id: pen-gtr, kind: per_started_hour, service_levels: [gtr-p2], amount: "100.00"}
    - id: pen-dispo
      kind: tiered_fee_pct
      service_levels: [dispo]
      tiers: [{below: "99.9", fee_pct: 5}, {below: "99.5", fee_pct: 15}]
  franchise: "100.00"
  caps: {contract_pct: 10}
"""

# (ticket, service, priority, [(at, kind, status)], cause)
LINES = [
    {"type": "ticket_event", "ticket": "T1", "seq": 1, "at": "2026-03-02T09:00:00+01:00",
     "kind": "created", "status": "new", "priority": "P2", "service": "HD"},
    {"type": "ticket_event", "ticket": "T1", "seq": 2, "at": "2026-03-02T09:05:00+01:00",
     "kind": "assigned"},
    {"type": "ticket_event", "ticket": "T1", "seq": 3, "at": "2026-03-02T09:10:00+01:00",
     "kind": "status", "status": "intervention_started"},
    {"type": "ticket_event", "ticket": "T1", "seq": 4, "at": "2026-03-02T15:00:00+01:00",
     "kind": "status", "status": "restored"},
    {"type": "ticket_event", "ticket": "T1", "seq": 5, "at": "2026-03-02T16:00:00+01:00",
     "kind": "status", "status": "resolved"},
    # Paused over a weekend: 1 h + 8 h = 9 h > 8 h.
    {"type": "ticket_event", "ticket": "T2", "seq": 1, "at": "2026-03-06T16:00:00+01:00",
     "kind": "created", "status": "new", "priority": "P2", "service": "HD"},
    {"type": "ticket_event", "ticket": "T2", "seq": 2, "at": "2026-03-06T17:00:00+01:00",
     "kind": "status", "status": "waiting_client"},
    {"type": "ticket_event", "ticket": "T2", "seq": 3, "at": "2026-03-09T10:00:00+01:00",
     "kind": "status", "status": "intervention_started"},
    {"type": "ticket_event", "ticket": "T2", "seq": 4, "at": "2026-03-09T18:00:00+01:00",
     "kind": "status", "status": "restored"},
    # Late, but the client's doing.
    {"type": "ticket_event", "ticket": "T3", "seq": 1, "at": "2026-03-10T09:00:00+01:00",
     "kind": "created", "status": "new", "priority": "P2", "service": "HD"},
    {"type": "ticket_event", "ticket": "T3", "seq": 2, "at": "2026-03-12T09:00:00+01:00",
     "kind": "status", "status": "restored", "cause": "client"},
    # Across the DST change on 24x7: 40 min of real time.
    {"type": "ticket_event", "ticket": "T8", "seq": 1, "at": "2026-03-29T01:30:00+01:00",
     "kind": "created", "status": "new", "priority": "P1", "service": "INFRA"},
    {"type": "ticket_event", "ticket": "T8", "seq": 2, "at": "2026-03-29T03:10:00+02:00",
     "kind": "status", "status": "intervention_started"},
    {"type": "outage", "id": "O-1", "service": "INFRA", "start": "2026-03-10T10:00:00+01:00",
     "end": "2026-03-10T10:45:00+01:00"},
]  # fmt: skip


def write(tmp_path: Path, lines: list[Any], name: str = "events.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def contract_file(tmp_path: Path) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(CONTRACT + PENALTIES, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["sla", "evaluate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_is_the_platforms_measurement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = write(tmp_path, LINES)
    code, out, err = run(
        capsys,
        "--contract", str(contract_file(tmp_path)),
        "--events", str(events),
        "--period", "2026-03",
        "--format", "json",
        "--as-of", "2026-05-01T00:00:00+02:00",
    )  # fmt: skip
    assert code == 0, err
    output = json.loads(out)
    assert output["format"] == "infogerance-sla-evaluation/1"
    assert output["period"] == "2026-03"
    assert output["inputs"]["events_lines"] == len(LINES)
    # The same figures as measure() on the same events, read back from the file.
    data = read_events(events)
    expected = measure(
        load_contract(CONTRACT + PENALTIES),
        "2026-03",
        tickets=data.tickets,
        logs=data.logs,
        other=data.other,
        now=output_as_of(output),
    )
    assert output["results"] == [result_to_json(r) for r in expected.results]
    results = {r["level"]: r for r in output["results"]}
    # GTR P2: T1 6 h met, T2 9 h over by 1 h; T3 excluded (client) → 1 of 2 = 50 % < 90 %.
    gtr = results["gtr-p2"]
    assert [(i["ref"], i["met"], i["overrun_seconds"]) for i in gtr["items"]] == [
        ("T1", True, "0"),
        ("T2", False, "3600"),
    ]
    assert gtr["excluded"] == [{"ref": "T3", "reason": "cause:client"}]
    assert (gtr["value"], gtr["met"]) == ("50.0000", False)
    # GTI P1: T8, 40 min across the DST change > 30 min.
    assert [(i["ref"], i["value"]) for i in results["gti-p1"]["items"]] == [("T8", "2400")]
    # Availability: (2,674,800 − 2,700) / 2,674,800 → 99.8991 %.
    assert results["dispo"]["value"] == "99.8991"
    # Penalties: GTI P1 missed (0 of 1), 1 breach × 150 = 150; GTR P2 missed, T2 1 h over →
    # 1 started hour × 100 = 100; availability 99.8991 < 99.9 → 5 % of 10,000 = 500.
    # Σ 750 − franchise 100 = 650, under the cap of 10 % × 10,000 = 1,000: 650.00 due.
    penalties = output["penalties"]
    assert [(line["rule_id"], line["amount"]) for line in penalties["lines"]] == [
        ("pen-gti", "150.00"),
        ("pen-gtr", "100.00"),
        ("pen-dispo", "500.00"),
    ]
    assert (penalties["malus"], penalties["after_franchise"], penalties["due"]) == (
        "750.00",
        "650.00",
        "650.00",
    )
    assert output["summary"]["due"] == "650.00"


def test_the_tickets_as_columns_measure_as_ticket_objects(tmp_path: Path) -> None:
    data = read_events(write(tmp_path, LINES))
    assert isinstance(data.tickets, TicketTable)
    document = load_contract(CONTRACT + PENALTIES)
    now = datetime.fromisoformat("2026-05-01T00:00:00+02:00")

    def measured(tickets: Any) -> list[dict[str, Any]]:
        result = measure(
            document, "2026-03", tickets=tickets, logs=data.logs, other=data.other, now=now
        )
        return [result_to_json(r) for r in result.results]

    expected = measured(dict(data.tickets))
    assert measured(data.tickets) == expected
    # Tickets that are not those of the logs, in their order: measured from the objects.
    assert measured(dict(reversed(list(data.tickets.items())))) == expected
    fewer = {ref: info for ref, info in data.tickets.items() if ref != "T3"}
    without = measured(fewer)
    assert without != expected
    columns = [[getattr(info, name) for info in fewer.values()] for name in TicketInfo.__slots__]
    assert measured(TicketTable(*columns)) == without  # columns, but not the logs' tickets


def test_the_json_file_is_byte_for_byte_that_of_the_items_as_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command writes the items of ticket levels from ready text (``ItemsText``): the
    same bytes as orjson writing one dict per item."""
    events = write(tmp_path, LINES)
    contract = contract_file(tmp_path)
    output = tmp_path / "out.json"
    code, _out, err = run(
        capsys,
        "--contract", str(contract),
        "--events", str(events),
        "--period", "2026-03",
        "--as-of", "2026-05-01T00:00:00+02:00",
        "--format", "json",
        "--output", str(output),
    )  # fmt: skip
    assert code == 0, err
    written = output.read_bytes()
    document = orjson.loads(written)
    as_dicts = evaluation_to_json(
        evaluate(
            load_contract(CONTRACT + PENALTIES),
            read_events(events),
            "2026-03",
            now=output_as_of(document),
            inputs=document["inputs"],
        )
    )
    gtr = next(r for r in as_dicts["results"] if r["level"] == "gtr-p2")
    assert [i["ref"] for i in gtr["items"]] == ["T1", "T2"]  # items of a ticket level
    assert written == orjson.dumps(as_dicts, option=orjson.OPT_INDENT_2) + b"\n"


def output_as_of(output: dict[str, Any]) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(output["as_of"])


def test_table_output_and_a_held_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = write(tmp_path, LINES)
    code, out, err = run(
        capsys,
        "--contract", str(contract_file(tmp_path)),
        "--events", str(events),
        "--period", "2026-03",
        "--as-of", "2026-05-01T00:00:00+02:00",
        "--held", "dispo",
    )  # fmt: skip
    assert code == 0, err
    assert "MESURE-1 — Contrat de mesure" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "MISSED" in rows["gtr-p2"] and "50.00 %" in rows["gtr-p2"]
    assert "99.90 %" in rows["dispo"] or "99.89" in rows["dispo"]
    # The disputed availability (500) is shown but held: 150 + 100 − 100 = 150 due.
    assert "[held]" in out
    assert "Due: 150.00 EUR" in out


def test_a_bad_line_stops_with_its_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: list[Any] = list(LINES)
    lines[3] = {**lines[3], "at": "2026-03-02T15:00:00"}  # no offset
    events = write(tmp_path, lines)
    code, out, err = run(
        capsys,
        "--contract", str(contract_file(tmp_path)),
        "--events", str(events),
        "--period", "2026-03",
    )  # fmt: skip
    assert code == 1 and out == ""
    assert f"{events}:4: at:" in err


def test_skip_mode_drops_the_whole_ticket_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: list[Any] = list(LINES)
    lines[3] = {**lines[3], "at": "2026-03-02T15:00:00"}  # T1's restoration, no offset
    events = write(tmp_path, lines)
    code, out, err = run(
        capsys,
        "--contract", str(contract_file(tmp_path)),
        "--events", str(events),
        "--period", "2026-03",
        "--format", "json",
        "--on-error", "skip",
        "--as-of", "2026-05-01T00:00:00+02:00",
    )  # fmt: skip
    assert code == 0, err
    output = json.loads(out)
    gtr = next(r for r in output["results"] if r["level"] == "gtr-p2")
    assert [i["ref"] for i in gtr["items"]] == ["T2"]  # T1 is gone, not half-measured
    assert {p["line"] for p in output["problems"]} >= {4}
    assert all(p["action"] in ("skipped", "warning") for p in output["problems"])
    assert any("T1" in p["message"] for p in output["problems"])


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--period", "2026-3", "--period: period '2026-3' is not a month written YYYY-MM"),
        ("--as-of", "2026-04-01T00:00:00", "--as-of: '2026-04-01T00:00:00' is not an instant"),
        ("--held", "nope", "--held: no service level nope in the contract"),
    ],
)
def test_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    argv = {"--period": "2026-03"} | {option: value}
    events = write(tmp_path, LINES)
    code, out, err = run(
        capsys,
        "--contract", str(contract_file(tmp_path)),
        "--events", str(events),
        *[x for pair in argv.items() for x in pair],
    )  # fmt: skip
    assert code == 2 and out == ""
    assert message in err


def test_an_invalid_contract_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONTRACT.replace("value: 30, unit: minutes", "value: 30, unit: parsecs"))
    code, out, err = run(
        capsys,
        "--contract", str(bad),
        "--events", str(write(tmp_path, LINES)),
        "--period", "2026-03",
        "--lang", "en",
    )  # fmt: skip
    assert code == 1 and out == ""
    assert f"{bad}:25:31: service_levels.0.target.unit:" in err and "parsecs" in err


def test_an_empty_events_file_is_a_month_without_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "--contract", str(EXAMPLES / "contrat-infogerance-globale.yaml"),
        "--events", str(write(tmp_path, [])),
        "--period", "2026-02",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    output = json.loads(out)
    # No outage recorded: the availability is 100 %, met; every other level has no data.
    assert (output["summary"]["met"], output["summary"]["missed"]) == (1, 0)
    assert output["summary"]["no_data"] == [
        r["level"] for r in output["results"] if r["level"] != "dispo-prod"
    ]
    # The quarterly satisfaction level is measured in March, at the end of its quarter.
    satisfaction = next(r for r in output["results"] if r["metric"] == "satisfaction")
    assert satisfaction["details"] == {"period": "quarter", "measured_in": "2026-03"}
    assert output["penalties"]["due"] == "0.00"
