"""Service levels on the platform: recording operations, computing a month, freezing it,
disputes, and the minutes of the governance committees.

The figures of a month come from :func:`infogerance.sla.evaluate.evaluate`, the code of
``infogerance sla evaluate``: the platform gathers the same inputs from its database (the
help desk's ticket events and satisfaction answers, the recorded operations) and stores the
result, in the JSON shape of that command, as an immutable revision with the hash of its
inputs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from infogerance.audit.services import record
from infogerance.backups.models import BackupRun as PlatformBackupRun
from infogerance.backups.models import RestoreDrill, RunStatus
from infogerance.contracts.models import Contract, ContractVersion
from infogerance.core.actors import actor_label
from infogerance.core.db import value_rows
from infogerance.core.services import service
from infogerance.core.snapshots import changed, snapshot
from infogerance.helpdesk.clocks import TicketLogs
from infogerance.helpdesk.models import SatisfactionAnswer, Ticket, TicketEvent
from infogerance.helpdesk.sla import CLOCK_KINDS
from infogerance.sla.evaluate import evaluate, evaluation_to_json
from infogerance.sla.eventsfile import EventsData, EventsFileError, read_events
from infogerance.sla.measure import PeriodError, month_bounds, parse_month
from infogerance.sla.models import (
    ActionItem,
    Dispute,
    DisputeState,
    Meeting,
    MeetingKind,
    MonthlyReport,
    RecordKind,
    ReportRevision,
    ReportState,
    ServiceRecord,
)
from infogerance.sla.records import BackupRun, RestoreTest, Satisfaction, TicketInfo
from infogerance.tenancy import scope
from infogerance.tenancy.roles import Perm

#: At most this many records per import (a month of a large estate fits many times over).
MAX_RECORDS = 50_000
MAX_REASON = 2_000
#: How far back records and answers are read for a month: a yearly level's year, and the
#: last backup before it for the RPO.
LOOKBACK = dt.timedelta(days=400)

# The events-file field holding each kind's main instant, and the records tuple of OtherData.
_KINDS = {
    RecordKind.OUTAGE: ("outages", "start"),
    RecordKind.MAINTENANCE: ("maintenances", "start"),
    RecordKind.BACKUP_RUN: ("backup_runs", "scheduled_at"),
    RecordKind.RESTORE_TEST: ("restore_tests", "at"),
    RecordKind.EVOLUTION: ("evolutions", "requested_at"),
    RecordKind.PATCH: ("patches", "released_at"),
}


# --- Reads -----------------------------------------------------------------------------------


def visible_reports(user: Any) -> QuerySet[MonthlyReport]:
    return scope.visible(MonthlyReport, user, Perm.VIEW_REPORTS).select_related(
        "contract", "organization"
    )


def revision_of(report: MonthlyReport, number: int | None = None) -> ReportRevision | None:
    wanted = report.revision if number is None else number
    return report.revisions.filter(number=wanted).first()


def held_and_waived(report: MonthlyReport) -> tuple[set[str], set[str]]:
    disputes = list(report.disputes.values_list("level_id", "state"))
    return (
        {level for level, state in disputes if state == DisputeState.OPEN},
        {level for level, state in disputes if state == DisputeState.WAIVED},
    )


# --- Recording operations --------------------------------------------------------------------


def _line_text(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def _canonical(kind: str, record_obj: Any) -> dict[str, Any]:
    """A record as a line of the events file, instants in UTC: equal facts, equal lines."""
    line: dict[str, Any] = {"type": kind}
    for name, value in dataclasses.asdict(record_obj).items():
        if value is None:
            continue
        line[name] = (
            value.astimezone(dt.UTC).isoformat() if isinstance(value, dt.datetime) else value
        )
    return line


@service
def record_operations(
    *, actor: Any, contract: Contract, text: str | bytes
) -> tuple[list[ServiceRecord], int]:
    """Record the lines of a JSON Lines text (the events file's non-ticket types) for
    ``contract``: all of them or none. A line already recorded with the same content is
    skipped (imports can be replayed); the same identifier with other content is an error.
    Returns the new records and how many lines were already there.

    Raises ValidationError ``{"lines": ["line N: field: message", …]}``.
    """
    scope.require(actor, Perm.RECORD_OPERATIONS, contract.organization)
    data = text.encode("utf-8") if isinstance(text, str) else text
    version = contract.versions.order_by("-number").first()
    services = {s.code for s in version.parsed().catalogue} if version else set()
    errors: list[str] = []
    parsed: list[tuple[int, str, dict[str, Any]]] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(parsed) >= MAX_RECORDS:
            errors.append(
                _("line %(n)d: more than %(max)d records in one import.")
                % {"n": number, "max": MAX_RECORDS}
            )
            break
        try:
            one = read_events(io.BytesIO(raw))
        except EventsFileError as exc:
            problem = exc.problem
            where = f"{problem.field}: " if problem.field else ""
            errors.append(f"line {number}: {where}{problem.message}")
            continue
        kind, obj = _single(one)
        if kind is None:
            errors.append(
                _(
                    "line %(n)d: ticket events and satisfaction answers come from the help desk, "
                    "they are not recorded here."
                )
                % {"n": number}
            )
            continue
        if obj["service"] not in services:
            errors.append(
                _("line %(n)d: service: %(service)r is not in the contract's catalogue.")
                % {"n": number, "service": obj["service"]}
            )
            continue
        parsed.append((number, kind, obj))
    if errors:
        raise ValidationError({"lines": errors[:50]})
    existing = {
        (row.kind, row.ref): row.data
        for row in ServiceRecord.objects.filter(
            contract=contract, ref__in={obj["id"] for _n, _k, obj in parsed}
        )
    }
    seen: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    created: list[ServiceRecord] = []
    already = 0
    for number, kind, obj in parsed:
        key = (kind, obj["id"])
        known = existing.get(key)
        if key in seen and seen[key][1] != obj:
            errors.append(
                _("line %(n)d: id: %(ref)r already appears on line %(m)d with other content.")
                % {"n": number, "ref": obj["id"], "m": seen[key][0]}
            )
            continue
        if known is not None:
            if known != obj:
                errors.append(
                    _(
                        "line %(n)d: id: %(ref)r is already recorded with other content; a "
                        "recorded fact is never changed."
                    )
                    % {"n": number, "ref": obj["id"]}
                )
            else:
                already += 1
            continue
        if key in seen:
            continue
        seen[key] = (number, obj)
        created.append(
            ServiceRecord(
                organization_id=contract.organization_id,
                contract=contract,
                kind=kind,
                ref=obj["id"],
                service=obj["service"],
                at=dt.datetime.fromisoformat(obj[_KINDS[RecordKind(kind)][1]]),
                data=obj,
                created_by=actor_label(actor),
            )
        )
    if errors:
        raise ValidationError({"lines": errors[:50]})
    ServiceRecord.objects.bulk_create(created)
    if created:
        counts: dict[str, int] = {}
        for row in created:
            counts[row.kind] = counts.get(row.kind, 0) + 1
        record(
            actor=actor,
            action="sla.records",
            target=contract,
            after={"recorded": counts, "already_recorded": already},
            tenant=contract.organization.tenant,
        )
    return created, already


def _single(data: EventsData) -> tuple[str | None, dict[str, Any]]:
    """The kind and canonical line of a one-line :class:`EventsData` (``None``: not a record
    kept here)."""
    other = data.other
    for kind, (attribute, _instant) in _KINDS.items():
        records = getattr(other, attribute)
        if records:
            return str(kind), _canonical(str(kind), records[0])
    return None, {}


# --- Computing a month -----------------------------------------------------------------------


def _version_for(contract: Contract, first_day: dt.date) -> ContractVersion:
    version = contract.version_in_force(first_day) or contract.versions.order_by("number").first()
    if version is None:
        raise ValidationError({"contract": [_("This contract has no version.")]})
    return version


def gather(contract: Contract, period: str) -> tuple[EventsData, dict[str, Any], str]:
    """The inputs of a month from the database, as an events file would give them: the
    contract's tickets that may matter (opened before the month's end, and not closed before
    it began), their clock events, the satisfaction answers and the recorded operations.
    Returns the data, counts of what went in, and the SHA-256 of it all."""
    year, month = parse_month(period)
    start, end = month_bounds(year, month, timezone.get_default_timezone())
    # A day of margin either side: levels on calendars in other zones start their months at
    # other instants; the measurement applies each level's own bounds.
    low, high = start - LOOKBACK, end + dt.timedelta(days=1)
    tickets_qs = Ticket.objects.filter(contract=contract, created_at__lt=high).filter(
        ~Q(status="closed") | Q(updated_at__gte=start - dt.timedelta(days=1))
    )
    digest = hashlib.sha256()
    data = EventsData()
    ids: dict[int, str] = {}
    ticket_rows: dict[str, list[tuple[dt.datetime, int, str, str | None, str | None]]] = {}
    for pk, number, service_code, kind, cause in value_rows(
        tickets_qs.order_by("pk").values_list("pk", "number", "service_code", "kind", "cause")
    ):
        ref = str(number)
        ids[pk] = ref
        data.tickets[ref] = TicketInfo(ref, service_code, kind, cause)
        ticket_rows[ref] = []
    for ticket_id, at, seq, kind, status, priority in value_rows(
        TicketEvent.objects.filter(ticket__in=tickets_qs, kind__in=CLOCK_KINDS, at__lt=high)
        .order_by("ticket_id", "seq")
        .values_list("ticket_id", "at", "seq", "kind", "status", "priority")
    ):
        ticket_rows[ids[ticket_id]].append((at, seq, kind, status or None, priority or None))
    for ref in sorted(ticket_rows):
        info = data.tickets[ref]
        digest.update(
            _line_text(
                {"ticket": ref, "service": info.service, "kind": info.kind, "cause": info.cause}
            )
        )
        for at, seq, kind, status, priority in ticket_rows[ref]:
            digest.update(_line_text([at.isoformat(), seq, kind, status, priority]))
    data.logs = TicketLogs.from_rows(ticket_rows)
    answers = [
        Satisfaction(str(number), service_code, answered_at, score)
        for number, service_code, answered_at, score in value_rows(
            SatisfactionAnswer.objects.filter(
                ticket__contract=contract, answered_at__gte=low, answered_at__lt=high
            )
            .order_by("answered_at", "pk")
            .values_list("ticket__number", "ticket__service_code", "answered_at", "score")
        )
    ]
    for answer in answers:
        digest.update(_line_text(_canonical("satisfaction", answer)))
    rows = list(
        ServiceRecord.objects.filter(contract=contract, at__gte=low, at__lt=high)
        .order_by("kind", "at", "ref")
        .values_list("data", flat=True)
    )
    platform = platform_operations(contract, low, high)
    rows.extend(platform)
    for line in rows:
        digest.update(_line_text(line))
    records = read_events(io.BytesIO(b"\n".join(_line_text(line) for line in rows)))
    data.other = dataclasses.replace(records.other, satisfaction=tuple(answers))
    counts = {
        "tickets": len(data.tickets),
        "ticket_events": sum(len(rows) for rows in ticket_rows.values()),
        "satisfaction_answers": len(answers),
        "records": len(rows) - len(platform),
        "backup_records": len(platform),
    }
    return data, counts, digest.hexdigest()


#: A platform backup run's status as the events file says it: a partly failed run did not
#: save everything it should have, so it is not a success.
_RUN_STATUS = {
    RunStatus.SUCCESS: "success",
    RunStatus.PARTIAL: "failed",
    RunStatus.FAILED: "failed",
    RunStatus.MISSED: "missed",
}


def platform_operations(
    contract: Contract, low: dt.datetime, high: dt.datetime
) -> list[dict[str, Any]]:
    """The backup runs and restore drills the platform recorded for the contract's client,
    in ``[low, high)``, as lines of the events file (``backup_run``, ``restore_test``).

    Only repositories tied to a contract service (``service_code``) count. A run is
    scheduled when the engine says so, else when it started; its point is the snapshot's
    time; a partly failed run counts as failed. A drill happened when it finished, and its
    measured RTO runs from its start to its end."""
    lines: list[dict[str, Any]] = []
    runs = (
        PlatformBackupRun.objects.filter(
            organization_id=contract.organization_id,
            started_at__lt=high,
        )
        .exclude(repository__service_code="")
        .filter(Q(scheduled_at__gte=low) | Q(scheduled_at__isnull=True, started_at__gte=low))
        .order_by("started_at", "run_id")
        .values_list(
            "run_id",
            "repository__service_code",
            "scope",
            "scheduled_at",
            "started_at",
            "status",
            "snapshot_time",
        )
    )
    for run_id, service_code, scope_name, scheduled, started, status, point in value_rows(runs):
        status = _RUN_STATUS[RunStatus(status)]
        lines.append(
            _canonical(
                "backup_run",
                BackupRun(
                    id=str(run_id),
                    service=service_code,
                    scope=scope_name,
                    scheduled_at=scheduled or started,
                    status=status,
                    point=point if status == "success" else None,
                ),
            )
        )
    drills = (
        RestoreDrill.objects.filter(
            organization_id=contract.organization_id, finished_at__gte=low, finished_at__lt=high
        )
        .exclude(repository__service_code="")
        .order_by("finished_at", "drill_id")
        .values_list("drill_id", "repository__service_code", "started_at", "finished_at", "passed")
    )
    for drill_id, service_code, started, finished, passed in value_rows(drills):
        lines.append(
            _canonical(
                "restore_test",
                RestoreTest(
                    id=str(drill_id),
                    service=service_code,
                    at=finished,
                    passed=passed,
                    declared_at=started,
                    restored_at=finished,
                ),
            )
        )
    return lines


@service
def compute_report(
    *, actor: Any, contract: Contract, period: str, now: dt.datetime | None = None, note: str = ""
) -> ReportRevision:
    """Compute ``period`` (``YYYY-MM``) for ``contract`` and append a revision to its
    monthly report (created on first use). A frozen report keeps its frozen revision; the
    new one goes to review and must be frozen in its turn."""
    scope.require(actor, Perm.MANAGE_REPORTS, contract.organization)
    try:
        year, month = parse_month(period)
    except PeriodError:
        raise ValidationError(
            {"period": [_("Write the month as YYYY-MM, e.g. 2026-03.")]}
        ) from None
    period = f"{year:04d}-{month:02d}"
    now = now or timezone.now()
    start, _end = month_bounds(year, month, timezone.get_default_timezone())
    if start > now:
        raise ValidationError({"period": [_("This month has not begun.")]})
    version = _version_for(contract, start.date())
    report, created = MonthlyReport.objects.select_for_update().get_or_create(
        contract=contract, period=period, defaults={"organization": contract.organization}
    )
    data, counts, inputs_hash = gather(contract, period)
    held, waived = held_and_waived(report)
    document = version.parsed()
    version_hash = hashlib.sha256(version.document.encode("utf-8")).hexdigest()
    inputs_sha = hashlib.sha256(f"{version_hash}:{inputs_hash}".encode()).hexdigest()
    result = evaluate(
        document,
        data,
        period,
        now=now,
        held=held,
        waived=waived,
        inputs={**counts, "contract_version": version.number, "inputs_sha256": inputs_sha},
    )
    evaluation = evaluation_to_json(result)
    report.revision += 1
    revision = ReportRevision.objects.create(
        organization_id=contract.organization_id,
        report=report,
        number=report.revision,
        version=version,
        computed_at=timezone.now(),
        computed_by=actor_label(actor),
        as_of=result.measurement.as_of,
        inputs_sha256=inputs_sha,
        inputs=counts,
        evaluation=evaluation,
        note=note[:500],
    )
    before = {"state": report.state, "revision": report.revision - 1}
    report.state = ReportState.REVIEW if report.frozen_revision else ReportState.DRAFT
    report.save(update_fields=["revision", "state", "updated_at"])
    record(
        actor=actor,
        action="sla.report.compute",
        target=report,
        before=None if created else before,
        after={
            "state": report.state,
            "revision": report.revision,
            "inputs_sha256": inputs_sha,
            "due": evaluation["penalties"]["due"],
        },
        tenant=contract.organization.tenant,
    )
    return revision


@service
def submit_report(*, actor: Any, report: MonthlyReport) -> MonthlyReport:
    """Draft → review: the provider has checked the draft and shows it to the client."""
    return _move(actor, report, ReportState.DRAFT, ReportState.REVIEW, "sla.report.submit")


@service
def freeze_report(
    *, actor: Any, report: MonthlyReport, expected_revision: int | None = None
) -> MonthlyReport:
    """Review → frozen: the revision shown becomes the month's figures of record.
    ``expected_revision``: the revision the person reviewed; if a recomputation made another
    one meanwhile, nothing is frozen."""
    report = _move(
        actor,
        report,
        ReportState.REVIEW,
        ReportState.FROZEN,
        "sla.report.freeze",
        expected_revision=expected_revision,
    )
    report.frozen_revision = report.revision
    report.frozen_at = timezone.now()
    report.frozen_by = actor_label(actor)
    report.save(update_fields=["frozen_revision", "frozen_at", "frozen_by", "updated_at"])
    return report


def _move(
    actor: Any,
    report: MonthlyReport,
    source: str,
    target: str,
    action: str,
    expected_revision: int | None = None,
) -> Any:
    scope.require(actor, Perm.MANAGE_REPORTS, report.organization)
    locked = MonthlyReport.objects.select_for_update().get(pk=report.pk)
    if expected_revision is not None and locked.revision != expected_revision:
        raise ValidationError(
            {
                "revision": [
                    _("Revision %(n)d was computed meanwhile; review it before freezing.")
                    % {"n": locked.revision}
                ]
            }
        )
    if locked.state != source:
        raise ValidationError(
            {
                "state": [
                    _("The report is %(state)s; this needs a report in %(source)s.")
                    % {"state": locked.get_state_display(), "source": ReportState(source).label}
                ]
            }
        )
    locked.state = target
    locked.save(update_fields=["state", "updated_at"])
    record(
        actor=actor,
        action=action,
        target=locked,
        before={"state": source},
        after={"state": target, "revision": locked.revision},
        tenant=locked.organization.tenant,
    )
    return locked


# --- Disputes --------------------------------------------------------------------------------


@service
def open_dispute(*, actor: Any, report: MonthlyReport, level_id: str, reason: str) -> Dispute:
    """The client's IT manager contests a service level of the revision shown; its penalty
    is held (in the next revision) until the steering committee decides."""
    scope.require(actor, Perm.DISPUTE, report.organization)
    reason = reason.strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Say why the figure is contested.")]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [_("At most %(n)d characters.") % {"n": MAX_REASON}]
    revision = revision_of(report)
    levels = {r["level"] for r in revision.evaluation["results"]} if revision else set()
    if level_id not in levels:
        errors["level_id"] = [_("No service level %(id)r in this report.") % {"id": level_id}]
    elif report.disputes.filter(level_id=level_id, state=DisputeState.OPEN).exists():
        errors["level_id"] = [_("This service level is already under dispute.")]
    if errors:
        raise ValidationError(errors)
    assert revision is not None
    dispute = Dispute.objects.create(
        organization_id=report.organization_id,
        report=report,
        revision=revision.number,
        level_id=level_id,
        reason=reason,
        opened_by=actor_label(actor),
    )
    record(
        actor=actor,
        action="sla.dispute.open",
        target=dispute,
        after={"report": str(report), "level_id": level_id, "reason": reason},
        tenant=report.organization.tenant,
    )
    return dispute


@service
def decide_dispute(*, actor: Any, dispute: Dispute, outcome: str, decision: str) -> Dispute:
    """Record the steering committee's decision: the penalty is upheld or waived. The next
    revision of the month applies it."""
    scope.require(actor, Perm.MANAGE_REPORTS, dispute.organization)
    errors: dict[str, list[str]] = {}
    if outcome not in (DisputeState.UPHELD, DisputeState.WAIVED):
        errors["outcome"] = [_("Choose upheld or waived.")]
    decision = decision.strip()
    if not decision:
        errors["decision"] = [_("Write the committee's decision.")]
    elif len(decision) > MAX_REASON:
        errors["decision"] = [_("At most %(n)d characters.") % {"n": MAX_REASON}]
    locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if locked.state != DisputeState.OPEN:
        errors["outcome"] = [_("This dispute has already been decided.")]
    if errors:
        raise ValidationError(errors)
    locked.state = outcome
    locked.decision = decision
    locked.decided_by = actor_label(actor)
    locked.decided_at = timezone.now()
    locked.save(update_fields=["state", "decision", "decided_by", "decided_at"])
    record(
        actor=actor,
        action="sla.dispute.decide",
        target=locked,
        before={"state": DisputeState.OPEN},
        after={"state": outcome, "decision": decision},
        tenant=locked.organization.tenant,
    )
    return locked


# --- Committees ------------------------------------------------------------------------------

MAX_TITLE = 200
MAX_ATTENDEE = 200
MAX_ATTENDEES = 100
MAX_DECISIONS = 10_000
MAX_ACTION_TEXT = 500
MAX_OWNER = 200
#: Action items of one meeting, at most.
MAX_ACTIONS = 100
#: A committee may be recorded ahead of time (a planned date), at most this far.
MAX_AHEAD = dt.timedelta(days=365)
MEETING_FIELDS = frozenset({"kind", "held_on", "title", "attendees", "decisions", "report"})

#: An action item as given to :func:`record_meeting`: what, who, by when.
ActionSpec = tuple[str, str, dt.date]


def may_record_meetings(user: Any, organization: Any) -> bool:
    """Provider administrators run the committees; the client's IT manager attends them and
    records their minutes as well."""
    return scope.has_perm(user, Perm.MANAGE_REPORTS, organization) or scope.has_perm(
        user, Perm.DISPUTE, organization
    )


def _require_committee(actor: Any, organization: Any) -> None:
    if not scope.has_perm(actor, Perm.DISPUTE, organization):
        scope.require(actor, Perm.MANAGE_REPORTS, organization)


def _clean_text(
    errors: dict[str, list[str]],
    name: str,
    value: str,
    limit: int,
    *,
    required: bool = True,
    one_line: bool = False,
) -> str:
    """``value`` stripped (and on one line if ``one_line``); a problem is added to
    ``errors`` under ``name``."""
    text = " ".join(value.split()) if one_line else value.strip()
    if "\x00" in text:
        errors[name] = [_("Remove the null character.")]
    elif required and not text:
        errors[name] = [_("This field is required.")]
    elif len(text) > limit:
        errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
    return text


def _clean_attendees(errors: dict[str, list[str]], value: str | Sequence[str]) -> str:
    """One attendee a line, blank lines dropped: the text stored."""
    lines = value.splitlines() if isinstance(value, str) else list(value)
    names = [name for name in (" ".join(line.split()) for line in lines) if name]
    too_long = [n for n, name in enumerate(names, start=1) if len(name) > MAX_ATTENDEE]
    if any("\x00" in name for name in names):
        errors["attendees"] = [_("Remove the null character.")]
    elif not names:
        errors["attendees"] = [_("Name at least one attendee, one a line.")]
    elif len(names) > MAX_ATTENDEES:
        errors["attendees"] = [_("At most %(n)d attendees.") % {"n": MAX_ATTENDEES}]
    elif too_long:
        errors["attendees"] = [
            _("Line %(line)d: at most %(n)d characters.") % {"line": too_long[0], "n": MAX_ATTENDEE}
        ]
    return "\n".join(names)


def _check_held_on(errors: dict[str, list[str]], held_on: dt.date) -> None:
    if held_on > timezone.localdate() + MAX_AHEAD:
        errors["held_on"] = [_("A meeting is recorded at most a year ahead.")]


def _due_error(held_on: dt.date) -> str:
    return _("An action is due on or after the meeting (%(date)s).") % {
        "date": date_format(held_on, "SHORT_DATE_FORMAT")
    }


def _clean_action(
    errors: dict[str, list[str]],
    prefix: str,
    text: str,
    owner: str,
    due_on: dt.date,
    held_on: dt.date | None,
) -> ActionSpec:
    found: dict[str, list[str]] = {}
    text = _clean_text(found, "text", text, MAX_ACTION_TEXT)
    owner = _clean_text(found, "owner", owner, MAX_OWNER, one_line=True)
    if held_on is not None and due_on < held_on:
        found["due_on"] = [_due_error(held_on)]
    errors.update({f"{prefix}{name}": messages for name, messages in found.items()})
    return text, owner, due_on


def _action_json(action: ActionItem) -> dict[str, Any]:
    return {
        "id": action.pk,
        "text": action.text,
        "owner": action.owner,
        "due_on": action.due_on,
        "done_on": action.done_on,
    }


@service
def record_meeting(
    *,
    actor: Any,
    contract: Contract,
    kind: str,
    held_on: dt.date,
    title: str,
    attendees: str | Sequence[str],
    decisions: str = "",
    report: MonthlyReport | None = None,
    actions: Sequence[ActionSpec] = (),
) -> Meeting:
    """Record the minutes of a committee of ``contract``: who attended, what was decided,
    the action items (text, owner, due date), and the monthly report discussed if any.
    Everything or nothing is written.

    Raises ValidationError naming the field; an action item's fields are named
    ``actions.N.text``, ``actions.N.owner`` and ``actions.N.due_on`` (N from 0)."""
    _require_committee(actor, contract.organization)
    errors: dict[str, list[str]] = {}
    if kind not in MeetingKind.values:
        errors["kind"] = [_("Choose a kind of committee.")]
    _check_held_on(errors, held_on)
    title = _clean_text(errors, "title", title, MAX_TITLE, one_line=True)
    attendee_text = _clean_attendees(errors, attendees)
    decisions = _clean_text(errors, "decisions", decisions, MAX_DECISIONS, required=False)
    if report is not None and report.contract_id != contract.pk:
        errors["report"] = [_("This report is of another contract.")]
    if len(actions) > MAX_ACTIONS:
        errors["actions"] = [_("At most %(n)d action items.") % {"n": MAX_ACTIONS}]
        actions = ()
    rows = [
        _clean_action(errors, f"actions.{index}.", text, owner, due_on, held_on)
        for index, (text, owner, due_on) in enumerate(actions)
    ]
    if errors:
        raise ValidationError(errors)
    meeting = Meeting.objects.create(
        organization_id=contract.organization_id,
        contract=contract,
        report=report,
        kind=kind,
        held_on=held_on,
        title=title,
        attendees=attendee_text,
        decisions=decisions,
        created_by=actor_label(actor),
    )
    items = ActionItem.objects.bulk_create(
        ActionItem(
            organization_id=contract.organization_id,
            meeting=meeting,
            text=text,
            owner=owner,
            due_on=due_on,
        )
        for text, owner, due_on in rows
    )
    record(
        actor=actor,
        action="sla.meeting.record",
        target=meeting,
        after={**snapshot(meeting), "actions": [_action_json(item) for item in items]},
        tenant=contract.organization.tenant,
    )
    return meeting


@service
def update_meeting(*, actor: Any, meeting: Meeting, **changes: Any) -> Meeting:
    """Change a meeting's ``kind``, ``held_on``, ``title``, ``attendees``, ``decisions`` or
    ``report`` (a report of the same contract, or ``None``). The audit event holds the
    values before and after."""
    unknown = set(changes) - MEETING_FIELDS
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    _require_committee(actor, meeting.organization)
    locked = Meeting.objects.select_for_update().select_related("organization").get(pk=meeting.pk)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if "kind" in changes:
        if changes["kind"] not in MeetingKind.values:
            errors["kind"] = [_("Choose a kind of committee.")]
        values["kind"] = changes["kind"]
    if "held_on" in changes:
        held_on = changes["held_on"]
        _check_held_on(errors, held_on)
        earliest = locked.actions.order_by("due_on").values_list("due_on", flat=True).first()
        if "held_on" not in errors and earliest is not None and earliest < held_on:
            errors["held_on"] = [
                _("An action of this meeting is due on %(date)s, before this date.")
                % {"date": date_format(earliest, "SHORT_DATE_FORMAT")}
            ]
        values["held_on"] = held_on
    if "title" in changes:
        values["title"] = _clean_text(errors, "title", changes["title"], MAX_TITLE, one_line=True)
    if "attendees" in changes:
        values["attendees"] = _clean_attendees(errors, changes["attendees"])
    if "decisions" in changes:
        values["decisions"] = _clean_text(
            errors, "decisions", changes["decisions"], MAX_DECISIONS, required=False
        )
    if "report" in changes:
        report = changes["report"]
        if report is not None and report.contract_id != locked.contract_id:
            errors["report"] = [_("This report is of another contract.")]
        values["report"] = report
    if errors:
        raise ValidationError(errors)
    before = snapshot(locked)
    for name, value in values.items():
        setattr(locked, name, value)
    locked.save()
    old, new = changed(before, snapshot(locked))
    if new:
        record(
            actor=actor,
            action="sla.meeting.update",
            target=locked,
            before=old,
            after=new,
            tenant=locked.organization.tenant,
        )
    return locked


@service
def add_action(
    *, actor: Any, meeting: Meeting, text: str, owner: str, due_on: dt.date
) -> ActionItem:
    """Add an action item to a meeting's minutes."""
    _require_committee(actor, meeting.organization)
    locked = Meeting.objects.select_for_update().select_related("organization").get(pk=meeting.pk)
    errors: dict[str, list[str]] = {}
    text, owner, due_on = _clean_action(errors, "", text, owner, due_on, locked.held_on)
    if locked.actions.count() >= MAX_ACTIONS:
        errors["text"] = [_("At most %(n)d action items.") % {"n": MAX_ACTIONS}]
    if errors:
        raise ValidationError(errors)
    action = ActionItem.objects.create(
        organization_id=locked.organization_id,
        meeting=locked,
        text=text,
        owner=owner,
        due_on=due_on,
    )
    record(
        actor=actor,
        action="sla.action.add",
        target=action,
        after={"meeting": locked.pk, **_action_json(action)},
        tenant=locked.organization.tenant,
    )
    return action


@service
def close_action(*, actor: Any, action: ActionItem, done_on: dt.date | None = None) -> ActionItem:
    """Mark an action item done on ``done_on`` (today if not given): not before its meeting,
    not in the future, once."""
    _require_committee(actor, action.organization)
    locked = (
        ActionItem.objects.select_for_update()
        .select_related("meeting", "organization")
        .get(pk=action.pk)
    )
    today = timezone.localdate()
    done_on = done_on or today
    errors: dict[str, list[str]] = {}
    if locked.done_on is not None:
        errors["done_on"] = [_("This action is already done.")]
    elif done_on > today:
        errors["done_on"] = [_("An action cannot be done in the future.")]
    elif done_on < locked.meeting.held_on:
        errors["done_on"] = [
            _("An action is done on or after its meeting (%(date)s).")
            % {"date": date_format(locked.meeting.held_on, "SHORT_DATE_FORMAT")}
        ]
    if errors:
        raise ValidationError(errors)
    locked.done_on = done_on
    locked.save(update_fields=["done_on"])
    record(
        actor=actor,
        action="sla.action.close",
        target=locked,
        before={"done_on": None},
        after={"done_on": done_on},
        tenant=locked.organization.tenant,
    )
    return locked
