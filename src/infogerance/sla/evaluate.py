"""``infogerance sla evaluate``: a month's service levels and penalties from two files.

For audits and for anyone checking the numbers without the platform's database: a contract
file (the YAML of ``docs/formats/contract.md``) and a JSON Lines file of raw events
(``docs/formats/events.md``) give the results of every service level of the month and the
penalty statement, computed by the same code as the platform's own measurement
(:func:`infogerance.sla.measure.measure`, :func:`infogerance.sla.penalties.compute_statement`).
The JSON output is documented in ``docs/formats/evaluation.md`` and stable: its ``format``
field changes when a field's meaning does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from infogerance.contracts.format import ContractDocument
from infogerance.helpdesk.clocks import TicketLogs
from infogerance.sla.collector import collector_paused
from infogerance.sla.eventsfile import EventsData, Problem
from infogerance.sla.measure import ItemsText, Measurement, measure, result_to_json
from infogerance.sla.penalties import Statement, compute_statement, statement_to_json

__all__ = ["FORMAT", "Evaluation", "evaluate", "evaluation_table", "evaluation_to_json"]

#: The identifier of the JSON output's shape.
FORMAT = "infogerance-sla-evaluation/1"


@dataclass
class Evaluation:
    document: ContractDocument
    measurement: Measurement
    statement: Statement
    problems: list[Problem]
    inputs: dict[str, Any] = field(default_factory=dict)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def evaluate(
    document: ContractDocument,
    data: EventsData,
    period: str,
    *,
    now: datetime | None = None,
    held: Collection[str] = (),
    waived: Collection[str] = (),
    inputs: dict[str, Any] | None = None,
) -> Evaluation:
    """Measure ``period`` (``YYYY-MM``) and apply the contract's penalty rules (``held``:
    levels under dispute; ``waived``: levels whose penalties the committee waived).
    ``data.tickets`` and ``data.logs`` are consumed (emptied) on the way, so that their memory
    serves the results."""
    with collector_paused():
        tickets, logs = data.tickets, data.logs
        data.tickets, data.logs = {}, TicketLogs.from_rows({})
        measurement = measure(
            document, period, tickets=tickets, logs=logs, other=data.other, now=now
        )
        del tickets, logs
        statement = compute_statement(
            document.penalties,
            measurement.results,
            monthly_fee=document.fees.monthly_fee,
            currency=document.fees.currency,
            held=held,
            waived=waived,
        )
    return Evaluation(document, measurement, statement, list(data.problems), dict(inputs or {}))


#: The depth of nesting of each item in the document: top, results, a result, its items.
_ITEMS_DEPTH = 4


def evaluation_to_json(evaluation: Evaluation, *, for_indent_2: bool = False) -> dict[str, Any]:
    """The evaluation as JSON-ready values. ``for_indent_2``: for ``orjson.dumps(...,
    option=orjson.OPT_INDENT_2)`` only, which writes the millions of items of a month's
    tickets from ready text (the same bytes, several times faster)."""
    with collector_paused():
        return _evaluation_json(evaluation, ItemsText(_ITEMS_DEPTH) if for_indent_2 else None)


def _evaluation_json(evaluation: Evaluation, items_text: ItemsText | None) -> dict[str, Any]:
    document, measurement = evaluation.document, evaluation.measurement
    return {
        "format": FORMAT,
        "contract": {
            "reference": document.reference,
            "title": document.title,
            "provider": document.parties.provider.legal_name,
            "client": document.parties.client.legal_name,
        },
        "period": measurement.period,
        "as_of": measurement.as_of.isoformat(),
        "inputs": evaluation.inputs,
        "summary": {
            "levels": len(measurement.results),
            "met": sum(1 for r in measurement.results if r.met is True),
            "missed": sum(1 for r in measurement.results if r.met is False),
            "no_data": list(measurement.no_data),
            "due": statement_to_json(evaluation.statement)["due"],
            "currency": evaluation.statement.currency,
        },
        "results": [result_to_json(r, items_text=items_text) for r in measurement.results],
        "penalties": statement_to_json(evaluation.statement),
        "problems": [
            {"line": p.line, "field": p.field, "message": p.message, "action": p.action}
            for p in evaluation.problems
        ],
    }


def _target(result: Any) -> str:
    target = f"{result.target.normalize():f} {result.unit}"
    if result.compliance is not None:
        target += f", {result.compliance.normalize():f} % within"
    return target


def _measured(result: Any) -> str:
    """The value in its unit: a score, the worst duration (RPO or RTO without a compliance
    threshold) or a percentage (everything else)."""
    if result.value is None:
        measured_in = result.details.get("measured_in")
        return f"measured in {measured_in}" if measured_in else "no data"
    if result.unit == "score":
        return f"{result.value:.2f}"
    if result.metric in ("rpo", "rto_test") and result.compliance is None:
        return f"{result.value.normalize():f} s"
    return f"{result.value:.2f} %"


def evaluation_table(evaluation: Evaluation) -> str:
    """A plain-text report for a terminal: results, penalty lines and totals, problems."""
    document, measurement = evaluation.document, evaluation.measurement
    lines = [
        f"{document.reference} — {document.title}",
        f"Period {measurement.period}, as of {measurement.as_of.isoformat()}",
        "",
    ]
    rows = [("level", "metric", "target", "measured", "result", "sample", "breaches")]
    for r in measurement.results:
        verdict = {True: "met", False: "MISSED", None: "–"}[r.met]
        rows.append(
            (
                r.level_id,
                r.metric,
                _target(r),
                _measured(r),
                verdict,
                str(r.sample),
                str(r.breaches),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    statement = evaluation.statement
    lines += ["", f"Penalties ({statement.currency})"]
    for line in statement.lines:
        held = " [held]" if line.held else ""
        lines.append(f"  {line.rule_id} on {line.level_id}: {line.formula}{held}")
    for adjustment in statement.cap_adjustments:
        lines.append(f"  cap {adjustment.service}: {adjustment.formula}")
    lines += [f"  {step}" for step in statement.steps]
    lines.append(f"  Due: {statement.due} {statement.currency}")
    if evaluation.problems:
        lines += ["", f"Problems in the events file ({len(evaluation.problems)})"]
        lines += [
            f"  line {p.line}: {p.field + ': ' if p.field else ''}{p.message} ({p.action})"
            for p in evaluation.problems
        ]
    return "\n".join(lines) + "\n"
