"""Service levels in the API: recording operations, monthly reports, revisions, disputes,
committee meetings and their action items."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import Field, StringConstraints

from infogerance.contracts.models import Contract
from infogerance.core.api import (
    OMITTED,
    Id,
    Limit,
    Page,
    StrictSchema,
    actor_of,
    keyset_page,
    with_errors,
)
from infogerance.sla import services
from infogerance.sla.models import (
    ActionItem,
    Dispute,
    Meeting,
    MeetingKind,
    MonthlyReport,
    RecordKind,
    ServiceRecord,
)
from infogerance.tenancy import scope
from infogerance.tenancy.roles import Perm

router = Router(tags=["service levels"])

PERIOD = r"^\d{4}-\d{2}$"
Month = Annotated[str, StringConstraints(pattern=PERIOD)]


class RecordOut(Schema):
    id: int
    contract_id: int
    kind: str
    ref: str
    service: str
    at: dt.datetime
    data: dict[str, Any]
    created_at: dt.datetime
    created_by: str


class RecordsIn(StrictSchema):
    content: str = Field(
        min_length=1,
        max_length=20_000_000,
        description="JSON Lines: outages, maintenance windows, backup runs, restore tests, "
        "evolution requests, patches (docs/formats/events.md)",
    )


class RecordsOut(Schema):
    recorded: int
    already_recorded: int


class ReportOut(Schema):
    id: int
    contract_id: int
    organization_id: int
    period: str
    state: str
    revision: int
    frozen_revision: int | None
    frozen_at: dt.datetime | None
    frozen_by: str
    updated_at: dt.datetime


class RevisionOut(Schema):
    number: int
    contract_version: int
    computed_at: dt.datetime
    computed_by: str
    as_of: dt.datetime
    inputs_sha256: str
    inputs: dict[str, Any]
    evaluation: dict[str, Any]
    note: str

    @staticmethod
    def resolve_contract_version(obj: Any) -> int:
        return int(obj.version.number)


class ComputeIn(StrictSchema):
    # Checked by the service (after the contract's lookup: an outsider gets 404, not 422).
    period: str = Field(min_length=1, max_length=7, description="YYYY-MM")
    note: str = Field("", max_length=500)


class DisputeIn(StrictSchema):
    level_id: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=2000)


class DecisionIn(StrictSchema):
    outcome: str = Field(min_length=1, max_length=10, description="upheld or waived")
    decision: str = Field(min_length=1, max_length=2000)


class DisputeOut(Schema):
    id: int
    report_id: int
    revision: int
    level_id: str
    reason: str
    opened_by: str
    opened_at: dt.datetime
    state: str
    decision: str
    decided_by: str
    decided_at: dt.datetime | None


def _contract(request: HttpRequest, contract_id: int, perm: Perm = Perm.VIEW_REPORTS) -> Contract:
    return scope.get_visible_or_404(Contract, actor_of(request), perm, pk=contract_id)


def _report(request: HttpRequest, report_id: int) -> MonthlyReport:
    return scope.get_visible_or_404(
        MonthlyReport.objects.select_related("contract", "organization"),
        actor_of(request),
        Perm.VIEW_REPORTS,
        pk=report_id,
    )


@router.get(
    "/contracts/{contract_id}/records",
    response=with_errors({200: Page[RecordOut]}),
    summary="Recorded operations of a contract",
)
def list_records(
    request: HttpRequest,
    contract_id: Id,
    kind: RecordKind | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = ServiceRecord.objects.filter(contract=_contract(request, contract_id))
    if kind is not None:
        qs = qs.filter(kind=kind)
    return keyset_page(qs, cursor=cursor, limit=limit)


@router.post(
    "/contracts/{contract_id}/records",
    response=with_errors({201: RecordsOut}),
    summary="Record operations (JSON Lines): all lines or none",
)
def post_records(request: HttpRequest, contract_id: Id, payload: RecordsIn) -> Any:
    contract = _contract(request, contract_id)
    created, already = services.record_operations(
        actor=actor_of(request), contract=contract, text=payload.content
    )
    return Status(201, {"recorded": len(created), "already_recorded": already})


@router.get("/reports", response=with_errors({200: Page[ReportOut]}), summary="Monthly reports")
def list_reports(
    request: HttpRequest,
    contract_id: Id | None = None,
    period: Month | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = services.visible_reports(actor_of(request))
    if contract_id is not None:
        qs = qs.filter(contract_id=contract_id)
    if period is not None:
        qs = qs.filter(period=period)
    return keyset_page(qs, cursor=cursor, limit=limit, descending=True)


@router.post(
    "/contracts/{contract_id}/reports",
    response=with_errors({201: RevisionOut}),
    summary="Compute a month (a new revision of its report)",
)
def compute_report(request: HttpRequest, contract_id: Id, payload: ComputeIn) -> Any:
    revision = services.compute_report(
        actor=actor_of(request),
        contract=_contract(request, contract_id),
        period=payload.period,
        note=payload.note,
    )
    return Status(201, revision)


@router.get("/reports/{report_id}", response=with_errors({200: ReportOut}))
def get_report(request: HttpRequest, report_id: Id) -> Any:
    return _report(request, report_id)


@router.get(
    "/reports/{report_id}/revisions/{number}",
    response=with_errors({200: RevisionOut}),
    summary="A revision: the figures, the evidence and the penalty statement",
)
def get_revision(request: HttpRequest, report_id: Id, number: Id) -> Any:
    revision = services.revision_of(_report(request, report_id), number)
    if revision is None:
        raise Http404("no such revision")
    return revision


@router.post("/reports/{report_id}/submit", response=with_errors({200: ReportOut}))
def submit_report(request: HttpRequest, report_id: Id) -> Any:
    return services.submit_report(actor=actor_of(request), report=_report(request, report_id))


@router.post("/reports/{report_id}/freeze", response=with_errors({200: ReportOut}))
def freeze_report(request: HttpRequest, report_id: Id) -> Any:
    return services.freeze_report(actor=actor_of(request), report=_report(request, report_id))


@router.get("/reports/{report_id}/disputes", response=with_errors({200: list[DisputeOut]}))
def list_disputes(request: HttpRequest, report_id: Id) -> Any:
    return list(_report(request, report_id).disputes.all())


@router.post("/reports/{report_id}/disputes", response=with_errors({201: DisputeOut}))
def open_dispute(request: HttpRequest, report_id: Id, payload: DisputeIn) -> Any:
    dispute = services.open_dispute(
        actor=actor_of(request),
        report=_report(request, report_id),
        level_id=payload.level_id,
        reason=payload.reason,
    )
    return Status(201, dispute)


@router.post("/disputes/{dispute_id}/decision", response=with_errors({200: DisputeOut}))
def decide_dispute(request: HttpRequest, dispute_id: Id, payload: DecisionIn) -> Any:
    dispute = scope.get_visible_or_404(Dispute, actor_of(request), Perm.VIEW_REPORTS, pk=dispute_id)
    return services.decide_dispute(
        actor=actor_of(request), dispute=dispute, outcome=payload.outcome, decision=payload.decision
    )


# --- Committee meetings ----------------------------------------------------------------------

Attendee = Annotated[str, StringConstraints(min_length=1, max_length=services.MAX_ATTENDEE)]


class ActionIn(StrictSchema):
    text: str = Field(min_length=1, max_length=services.MAX_ACTION_TEXT)
    owner: str = Field(
        min_length=1, max_length=services.MAX_OWNER, description="A person or a party"
    )
    due_on: dt.date = Field(strict=False, description="On or after the meeting")


class MeetingIn(StrictSchema):
    kind: MeetingKind = Field(MeetingKind.STEERING, strict=False)
    held_on: dt.date = Field(strict=False, description="At most a year ahead")
    title: str = Field(min_length=1, max_length=services.MAX_TITLE)
    attendees: list[Attendee] = Field(max_length=services.MAX_ATTENDEES, description="At least one")
    decisions: str = Field("", max_length=services.MAX_DECISIONS)
    report_id: Id | None = Field(None, description="The monthly report discussed (same contract)")
    actions: list[ActionIn] = Field([], max_length=services.MAX_ACTIONS)


class MeetingPatch(StrictSchema):
    kind: MeetingKind = Field(OMITTED, strict=False)
    held_on: dt.date = Field(OMITTED, strict=False)
    title: str = Field(OMITTED, min_length=1, max_length=services.MAX_TITLE)
    attendees: list[Attendee] = Field(OMITTED, max_length=services.MAX_ATTENDEES)
    decisions: str = Field(OMITTED, max_length=services.MAX_DECISIONS)
    report_id: Id | None = Field(OMITTED, description="null: no report")


class CloseIn(StrictSchema):
    done_on: dt.date | None = Field(None, strict=False, description="Default: today")


class ActionOut(Schema):
    id: int
    meeting_id: int
    text: str
    owner: str
    due_on: dt.date
    done_on: dt.date | None
    overdue: bool = Field(description="Still open after its due date")

    @staticmethod
    def resolve_overdue(obj: Any) -> bool:
        return bool(obj.is_overdue(timezone.localdate()))


class MeetingOut(Schema):
    id: int
    contract_id: int
    organization_id: int
    report_id: int | None
    kind: str
    held_on: dt.date
    title: str
    attendees: list[str]
    decisions: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    actions: list[ActionOut]

    @staticmethod
    def resolve_attendees(obj: Any) -> list[str]:
        return list(obj.attendee_list)

    @staticmethod
    def resolve_actions(obj: Any) -> list[Any]:
        return list(obj.actions.all())


def _meeting(request: HttpRequest, meeting_id: int) -> Meeting:
    return scope.get_visible_or_404(
        Meeting.objects.select_related("organization").prefetch_related("actions"),
        actor_of(request),
        Perm.VIEW_REPORTS,
        pk=meeting_id,
    )


def _linked_report(request: HttpRequest, report_id: int | None) -> MonthlyReport | None:
    return None if report_id is None else _report(request, report_id)


@router.get(
    "/contracts/{contract_id}/meetings",
    response=with_errors({200: Page[MeetingOut]}),
    summary="Committee meetings of a contract, newest first",
)
def list_meetings(
    request: HttpRequest,
    contract_id: Id,
    report_id: Id | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    meetings = Meeting.objects.filter(contract=_contract(request, contract_id))
    if report_id is not None:
        meetings = meetings.filter(report_id=report_id)
    return keyset_page(
        meetings.prefetch_related("actions"), cursor=cursor, limit=limit, descending=True
    )


@router.post(
    "/contracts/{contract_id}/meetings",
    response=with_errors({201: MeetingOut}),
    summary="Record a committee meeting: attendees, decisions, action items",
)
def record_meeting(request: HttpRequest, contract_id: Id, payload: MeetingIn) -> Any:
    contract = _contract(request, contract_id)
    meeting = services.record_meeting(
        actor=actor_of(request),
        contract=contract,
        kind=payload.kind,
        held_on=payload.held_on,
        title=payload.title,
        attendees=payload.attendees,
        decisions=payload.decisions,
        report=_linked_report(request, payload.report_id),
        actions=[(a.text, a.owner, a.due_on) for a in payload.actions],
    )
    return Status(201, Meeting.objects.prefetch_related("actions").get(pk=meeting.pk))


@router.get("/meetings/{meeting_id}", response=with_errors({200: MeetingOut}))
def get_meeting(request: HttpRequest, meeting_id: Id) -> Any:
    return _meeting(request, meeting_id)


@router.patch(
    "/meetings/{meeting_id}",
    response=with_errors({200: MeetingOut}),
    summary="Change a meeting's minutes (the fields sent)",
)
def update_meeting(request: HttpRequest, meeting_id: Id, payload: MeetingPatch) -> Any:
    meeting = _meeting(request, meeting_id)
    changes = payload.model_dump(exclude_unset=True)
    if "report_id" in changes:
        changes["report"] = _linked_report(request, changes.pop("report_id"))
    services.update_meeting(actor=actor_of(request), meeting=meeting, **changes)
    return _meeting(request, meeting_id)


@router.post(
    "/meetings/{meeting_id}/actions",
    response=with_errors({201: ActionOut}),
    summary="Add an action item to a meeting",
)
def add_action(request: HttpRequest, meeting_id: Id, payload: ActionIn) -> Any:
    action = services.add_action(
        actor=actor_of(request),
        meeting=_meeting(request, meeting_id),
        text=payload.text,
        owner=payload.owner,
        due_on=payload.due_on,
    )
    return Status(201, action)


@router.post(
    "/actions/{action_id}/close",
    response=with_errors({200: ActionOut}),
    summary="Mark an action item done",
)
def close_action(request: HttpRequest, action_id: Id, payload: CloseIn) -> Any:
    action = scope.get_visible_or_404(
        ActionItem.objects.select_related("organization"),
        actor_of(request),
        Perm.VIEW_REPORTS,
        pk=action_id,
    )
    return services.close_action(actor=actor_of(request), action=action, done_on=payload.done_on)
