"""The monthly service report as a document: one revision's figures laid out for people, the
same for the web page and the PDF.

* :func:`trend_svg` draws a level's values over the months as a small SVG (pure: no Django,
  no database), so that the page and the PDF show the same chart with no script.
* :func:`report_context` turns a revision's evaluation (``docs/formats/evaluation.md``) into
  rows ready to print: values in the reader's units and language, the evidence of each
  missed level, the penalty statement, the disputes, the revisions.
* :func:`render_pdf` lays the print template out with WeasyPrint, with no network access.
* :func:`committee_minutes` lays out the meetings that discussed a report (attendees,
  decisions, action items, the overdue ones marked); :func:`render_pack_pdf` prints the
  committee pack: the report followed by those minutes.

Texts are formatted in the active language: a CLI or a benchmark calls both functions inside
``translation.override(language)``, as a request does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db.models import F
from django.db.models.fields.json import KT
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from infogerance.contracts.display import label, quantity
from infogerance.core import documents
from infogerance.core.documents import Number, refuse_fetch, trend_svg
from infogerance.sla.models import ActionItem, Dispute, Meeting, MonthlyReport, ReportRevision

__all__ = [
    "TREND_MONTHS",
    "committee_minutes",
    "refuse_fetch",
    "render_document",
    "render_pack_pdf",
    "render_pdf",
    "report_context",
    "trend_svg",
]

#: The trend shows this many months before the report's own.
TREND_MONTHS = 12

PRINT_TEMPLATE = "sla/report_print.html"
PACK_TEMPLATE = "sla/pack_print.html"

#: Metrics whose items are tickets of the contract (their ref is the ticket's number); the
#: refs of the others (outages, backup runs…) are never looked up as tickets.
TICKET_REF_METRICS = frozenset(
    {"gti", "gtr", "resolution", "first_contact_resolution", "satisfaction"}
)
#: Metrics whose level value is the worst duration in seconds when there is no compliance
#: threshold (the others give a percentage, or a score).
WORST_DURATION_METRICS = frozenset({"rpo", "rto_test"})


# --- Numbers in the reader's language ---------------------------------------------------------


def decimal_or_none(text: Any) -> Decimal | None:
    if text is None or isinstance(text, bool):
        return None
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None


def number_text(value: Decimal) -> str:
    return number_format(value.normalize() if value == value.to_integral() else value)


def money_text(amount: Any, currency: str = "") -> str:
    value = decimal_or_none(amount)
    if value is None:
        return "—"
    text = number_format(value, decimal_pos=2, force_grouping=True)
    return f"{text}\u00a0{currency}" if currency else text


def duration_text(seconds: Decimal | None) -> str:
    """Seconds as "45 s", "15 min", "1 h 05 min", "51 h 30 min 10 s" (exact under a minute)."""
    if seconds is None:
        return "—"
    if abs(seconds) < 60:
        return f"{number_text(seconds)}\u00a0s"
    total = int(seconds.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign = "−" if total < 0 else ""
    hours, rest = divmod(abs(total), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}\u00a0h {minutes:02d}\u00a0min" if hours else f"{minutes}\u00a0min"
    return f"{sign}{text} {secs:02d}\u00a0s" if secs else f"{sign}{text}"


def percent_text(value: Decimal) -> str:
    return f"{number_text(value)}\u00a0%"


# --- Rows ------------------------------------------------------------------------------------


@dataclass
class ItemRow:
    ref: str
    value: str
    raw_value: str | None
    met: bool
    overrun: str
    raw_overrun: str | None
    days_late: int
    note: str
    url: str = ""


@dataclass
class ExclusionRow:
    ref: str
    reason: str
    code: str
    url: str = ""


@dataclass
class LevelRow:
    level: str
    name: str
    metric: str
    metric_label: str
    services: list[str]
    priority: str | None
    target: str
    value: str
    raw_value: str | None
    verdict: str  # "met", "missed" or "no_data"
    sample: int
    within: int
    breaches: int
    overrun: str
    trend: SafeString
    dispute: Dispute | None = None
    out_of_target: list[ItemRow] = field(default_factory=list)
    excluded: list[ExclusionRow] = field(default_factory=list)


@dataclass
class PenaltyRow:
    rule_id: str
    kind: str
    kind_label: str
    level_id: str
    service: str
    quantity: str
    unit_amount: str
    amount: str
    formula: str
    held: bool
    waived: bool
    note: str


def comparable_target(result: dict[str, Any]) -> tuple[Decimal | None, str]:
    """The figure a level's ``value`` is judged against, and the value's kind (``percent``,
    ``score`` or ``seconds``): the target itself for percentage and score levels, the
    compliance threshold for item levels that have one, the target in seconds for an RPO or
    RTO without one, 100 % for other item levels (every item must be within target)."""
    unit = result["target"]["unit"]
    if unit in ("percent", "score"):
        return decimal_or_none(result["target"]["value"]), unit
    if result.get("compliance") is not None:
        return decimal_or_none(result["compliance"]), "percent"
    if result["metric"] in WORST_DURATION_METRICS:
        return decimal_or_none(result.get("target_seconds")), "seconds"
    return Decimal(100), "percent"


def value_text(value: Decimal | None, kind: str, result: dict[str, Any]) -> str:
    if value is None:
        measured_in = (result.get("details") or {}).get("measured_in")
        if measured_in:
            return _("measured in %(period)s") % {"period": measured_in}
        return "—"
    if kind == "seconds":
        return duration_text(value)
    if kind == "score":
        return number_text(value)
    return percent_text(value)


def target_text(result: dict[str, Any]) -> str:
    target = result["target"]
    number = decimal_or_none(target["value"])
    if target["unit"] == "percent" and number is not None:
        text = percent_text(number)
    else:
        # The contract's words for the unit, with the number written the reader's way.
        text = quantity(target["value"], target["unit"])
        if number is not None:
            text = text.replace(f"{number.normalize():f}", number_text(number), 1)
    compliance = decimal_or_none(result.get("compliance"))
    if compliance is not None:
        return _("%(target)s for %(compliance)s of the items") % {
            "target": text,
            "compliance": percent_text(compliance),
        }
    return text


def item_value_text(raw: Any, metric: str) -> str:
    value = decimal_or_none(raw)
    if value is None:
        return "—"
    if metric == "satisfaction":
        return number_text(value)
    return duration_text(value)


def exclusion_reason(code: str) -> str:
    """A readable reason for an excluded item's code (``docs/formats/evaluation.md``)."""
    kind, _sep, detail = code.partition(":")
    fixed = {
        "open:late": _("still open and already late: counted in the month it ends"),
        "pending": _("still open, within target: counted in the month it ends"),
        "outside_service_hours": _("outside service hours"),
        "during_maintenance": _("during a maintenance window"),
        "maintenance:not_approved": _("maintenance window not approved"),
        "maintenance:not_notified": _("maintenance window not notified"),
        "maintenance:late_notice": _("maintenance window notified too late"),
    }
    if code in fixed:
        return str(fixed[code])
    if kind == "cause" and detail:
        return _("excluded cause: %(cause)s") % {"cause": label(detail)}
    if kind == "invalid":
        return _("invalid data (%(detail)s)") % {"detail": detail}
    if kind == "missing":
        return _("missing data (%(detail)s)") % {"detail": detail}
    return code


def verdict_of(met: Any) -> str:
    return "met" if met is True else "missed" if met is False else "no_data"


# --- Reads -----------------------------------------------------------------------------------


def month_start(period: str) -> dt.date:
    year, month = period.split("-")
    return dt.date(int(year), int(month), 1)


def months_before(period: str, count: int = TREND_MONTHS) -> list[str]:
    """The ``count`` months before ``period``, oldest first."""
    first = month_start(period)
    index = first.year * 12 + first.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count, index) if i >= 12]


def _text_or_none(value: Any) -> str | None:
    # SQLite gives a JSON null as the text "null" (PostgreSQL as NULL); the keys read here
    # hold decimal strings, ids or null, never the word.
    return None if value is None or value == "null" else str(value)


def trend_values(report: MonthlyReport, months: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{period: {level: value}}`` from the latest revision of each of ``months``' reports of
    the report's contract, values as the evaluation writes them (decimal strings, or
    ``None``). Only the levels' ids and values are read from the database: a month's
    evaluation carries all its evidence, far more than a chart needs."""
    latest = ReportRevision.objects.filter(
        report__contract_id=report.contract_id,
        report__period__in=list(months),
        number=F("report__revision"),
    )
    # KT reads a JSON value as text on every database (a key transform would turn the
    # decimal strings into floats on SQLite).
    counts = latest.annotate(levels=KT("evaluation__summary__levels")).values_list(
        "levels", flat=True
    )
    size = max((int(c) for c in counts if c is not None and str(c).isdigit()), default=0)
    if not size:
        return {}
    keys = {
        f"{key}_{i}": KT(f"evaluation__results__{i}__{key}")
        for i in range(size)
        for key in ("level", "value")
    }
    values: dict[str, dict[str, Any]] = {}
    for row in latest.annotate(**keys).values("report__period", *keys):
        values[row["report__period"]] = {
            row[f"level_{i}"]: _text_or_none(row[f"value_{i}"])
            for i in range(size)
            if _text_or_none(row[f"level_{i}"]) is not None
        }
    return values


def ticket_urls(report: MonthlyReport, user: Any, numbers: set[int]) -> dict[str, str]:
    """Pages of the tickets of the report's contract among ``numbers`` that ``user`` may
    read, by ticket number."""
    from infogerance.helpdesk.services import visible_tickets

    if not numbers or user is None:
        return {}
    rows = (
        visible_tickets(user)
        .filter(
            organization_id=report.organization_id,
            contract_id=report.contract_id,
            number__in=sorted(numbers),
        )
        .values_list("number", "pk")
    )
    return {str(number): reverse("helpdesk:ticket", args=[pk]) for number, pk in rows}


def _ticket_numbers(results: list[dict[str, Any]]) -> set[int]:
    numbers: set[int] = set()
    for result in results:
        if result["metric"] not in TICKET_REF_METRICS:
            continue
        for entry in [*result.get("items", []), *result.get("excluded", [])]:
            ref = str(entry.get("ref", ""))
            if ref.isdigit() and len(ref) < 10:
                numbers.add(int(ref))
    return numbers


def _level_row(
    result: dict[str, Any],
    history: dict[str, dict[str, Any]],
    months: list[str],
    period: str,
    links: dict[str, str],
    dispute: Dispute | None,
) -> LevelRow:
    threshold, kind = comparable_target(result)
    value = decimal_or_none(result.get("value"))
    is_ticket = result["metric"] in TICKET_REF_METRICS
    points: list[tuple[str, Number | None]] = [
        (month, decimal_or_none(history.get(month, {}).get(result["level"]))) for month in months
    ]
    points.append((period, value))
    name = result.get("name") or result["level"]
    title = _("%(level)s, %(first)s to %(last)s; target %(target)s: %(values)s") % {
        "level": name,
        "first": points[0][0],
        "last": period,
        "target": "—" if threshold is None else value_text(threshold, kind, result),
        "values": "; ".join(
            f"{month} {value_text(Decimal(v), kind, result)}"
            for month, v in points
            if v is not None
        )
        or "—",
    }
    svg = trend_svg(points, threshold, title=title)
    row = LevelRow(
        level=result["level"],
        name=name,
        metric=result["metric"],
        metric_label=str(label(result["metric"])),
        services=list(result.get("services", [])),
        priority=result.get("priority"),
        target=target_text(result),
        value=value_text(value, kind, result),
        raw_value=result.get("value"),
        verdict=verdict_of(result.get("met")),
        sample=int(result.get("sample", 0)),
        within=int(result.get("within", 0)),
        breaches=int(result.get("breaches", 0)),
        overrun=duration_text(decimal_or_none(result.get("overrun_seconds"))),
        trend=mark_safe(svg),  # noqa: S308 - trend_svg escapes every text it writes
        dispute=dispute,
    )
    for item in result.get("items", []):
        if item.get("met"):
            continue
        ref = str(item.get("ref", ""))
        row.out_of_target.append(
            ItemRow(
                ref=ref,
                value=item_value_text(item.get("value"), result["metric"]),
                raw_value=item.get("value"),
                met=bool(item.get("met")),
                overrun=duration_text(decimal_or_none(item.get("overrun_seconds"))),
                raw_overrun=item.get("overrun_seconds"),
                days_late=int(item.get("days_late") or 0),
                note=str(item.get("note") or ""),
                url=links.get(ref, "") if is_ticket else "",
            )
        )
    for entry in result.get("excluded", []):
        ref = str(entry.get("ref", ""))
        code = str(entry.get("reason", ""))
        row.excluded.append(
            ExclusionRow(
                ref=ref,
                reason=exclusion_reason(code),
                code=code,
                url=links.get(ref, "") if is_ticket else "",
            )
        )
    return row


def _penalty_row(line: dict[str, Any], currency: str) -> PenaltyRow:
    quantity_value = decimal_or_none(line.get("quantity"))
    return PenaltyRow(
        rule_id=str(line.get("rule_id", "")),
        kind=str(line.get("kind", "")),
        kind_label=str(label(line.get("kind", ""))),
        level_id=str(line.get("level_id", "")),
        service=str(line.get("service") or ""),
        quantity="—" if quantity_value is None else number_text(quantity_value),
        unit_amount=money_text(line.get("unit_amount"), currency)
        if line.get("unit_amount") is not None
        else "—",
        amount=money_text(line.get("amount"), currency),
        formula=str(line.get("formula", "")),
        held=bool(line.get("held")),
        waived=bool(line.get("waived")),
        note=str(line.get("note") or ""),
    )


def report_context(report: MonthlyReport, revision: ReportRevision, user: Any) -> dict[str, Any]:
    """What the web page and the PDF show of ``revision`` of ``report``. ``user`` decides
    which tickets are linked (only those they may read; ``None``: no link)."""
    evaluation: dict[str, Any] = revision.evaluation
    results: list[dict[str, Any]] = list(evaluation.get("results", []))
    disputes = list(report.disputes.all())
    latest_dispute: dict[str, Dispute] = {}
    for dispute in disputes:  # newest first: the first seen per level is its latest
        latest_dispute.setdefault(dispute.level_id, dispute)
    months = months_before(report.period)
    history = trend_values(report, months)
    links = ticket_urls(report, user, _ticket_numbers(results))
    levels = [
        _level_row(r, history, months, report.period, links, latest_dispute.get(r["level"]))
        for r in results
    ]
    penalties: dict[str, Any] = evaluation.get("penalties", {})
    currency = str(penalties.get("currency") or evaluation.get("summary", {}).get("currency", ""))
    totals = [
        (_("Penalties (malus)"), money_text(penalties.get("malus"), currency)),
        (_("Bonus"), money_text(penalties.get("bonus"), currency)),
        (_("Net"), money_text(penalties.get("net"), currency)),
        (_("Franchise"), money_text(penalties.get("franchise"), currency)),
        (_("After the franchise"), money_text(penalties.get("after_franchise"), currency)),
        (
            _("Contract cap"),
            money_text(penalties.get("contract_cap"), currency)
            if penalties.get("contract_cap") is not None
            else _("none"),
        ),
        (_("Held (under dispute)"), money_text(penalties.get("held_total"), currency)),
    ]
    inputs = dict(revision.inputs or {})
    volumes = [
        (_("Tickets counted"), inputs.get("tickets", 0)),
        (_("Ticket clock events"), inputs.get("ticket_events", 0)),
        (_("Satisfaction answers"), inputs.get("satisfaction_answers", 0)),
        (_("Recorded operations"), inputs.get("records", 0)),
        (_("Backup runs and restore drills"), inputs.get("backup_records", 0)),
    ]
    return {
        "report": report,
        "revision": revision,
        "evaluation": evaluation,
        "contract": evaluation.get("contract", {}),
        "month": month_start(report.period),
        "is_latest": revision.number == report.revision,
        "is_frozen_revision": revision.number == report.frozen_revision,
        "revisions": list(
            report.revisions.defer("evaluation", "inputs")
            .annotate(terms=F("version__number"))
            .order_by("-number")
        ),
        "terms": evaluation.get("inputs", {}).get("contract_version"),
        "levels": levels,
        "missed": [row for row in levels if row.verdict == "missed"],
        "with_exclusions": [row for row in levels if row.excluded],
        "trend_first": months[0] if months else report.period,
        "penalty_lines": [_penalty_row(line, currency) for line in penalties.get("lines", [])],
        "cap_adjustments": [
            {
                "service": adjustment.get("service", ""),
                "before": money_text(adjustment.get("before"), currency),
                "cap": money_text(adjustment.get("cap"), currency),
                "after": money_text(adjustment.get("after"), currency),
                "formula": adjustment.get("formula", ""),
            }
            for adjustment in penalties.get("cap_adjustments", [])
        ],
        "steps": list(penalties.get("steps", [])),
        "totals": totals,
        "monthly_fee": money_text(penalties.get("monthly_fee"), currency),
        "due": money_text(penalties.get("due"), currency),
        "currency": currency,
        "volumes": volumes,
        "problems": list(evaluation.get("problems", [])),
        "disputes": disputes,
        "summary": evaluation.get("summary", {}),
    }


# --- Committee minutes -----------------------------------------------------------------------


@dataclass
class ActionRow:
    action: ActionItem
    overdue: bool


@dataclass
class MinutesRow:
    meeting: Meeting
    attendees: list[str]
    actions: list[ActionRow]

    @property
    def open_actions(self) -> int:
        return sum(1 for row in self.actions if row.action.done_on is None)

    @property
    def overdue_actions(self) -> int:
        return sum(1 for row in self.actions if row.overdue)


def report_meetings(report: MonthlyReport) -> list[Meeting]:
    """The meetings that discussed ``report``, oldest first, with their action items."""
    return list(report.meetings.prefetch_related("actions").order_by("held_on", "pk"))


def committee_minutes(meetings: Iterable[Meeting], today: dt.date) -> list[MinutesRow]:
    """The minutes of ``meetings`` as printed: attendees one by one, and each action item
    marked overdue when it is still open after its due date (as of ``today``)."""
    return [
        MinutesRow(
            meeting=meeting,
            attendees=meeting.attendee_list,
            actions=[
                ActionRow(action=action, overdue=action.is_overdue(today))
                for action in meeting.actions.all()
            ],
        )
        for meeting in meetings
    ]


# --- PDF -------------------------------------------------------------------------------------


def render_document(context: dict[str, Any], language: str, template: str = PRINT_TEMPLATE) -> Any:
    """The print ``template`` of ``context`` laid out in pages (a WeasyPrint ``Document``)."""
    return documents.render_document(context, language, template)


def render_pdf(context: dict[str, Any], language: str) -> bytes:
    """The report of ``context`` (from :func:`report_context`) as a PDF, A4, in
    ``language``."""
    pdf: bytes = render_document(context, language).write_pdf()
    return pdf


def render_pack_pdf(
    context: dict[str, Any],
    meetings: Iterable[Meeting],
    language: str,
    today: dt.date | None = None,
) -> bytes:
    """The committee pack of the report of ``context``: the report, then the minutes of
    ``meetings`` (overdue actions as of ``today``, default the local date), as one PDF."""
    day = today or timezone.localdate()
    pack = {**context, "minutes": committee_minutes(meetings, day), "today": day}
    pdf: bytes = render_document(pack, language, PACK_TEMPLATE).write_pdf()
    return pdf
