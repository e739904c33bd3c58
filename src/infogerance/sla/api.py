"""Service levels in the API: recording operations, monthly reports, revisions, disputes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StringConstraints

from infogerance.contracts.models import Contract
from infogerance.core.api import Id, Limit, Page, StrictSchema, actor_of, keyset_page, with_errors
from infogerance.sla import services
from infogerance.sla.models import Dispute, MonthlyReport, RecordKind, ServiceRecord
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
