from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import Field

from infogerance.contracts import services
from infogerance.contracts.calendars import CalendarDefinitionError, calendar_for
from infogerance.contracts.export import to_yaml
from infogerance.contracts.format import CalendarPreset, json_schema
from infogerance.contracts.models import Contract, ContractVersion
from infogerance.core.api import (
    Id,
    Limit,
    Page,
    StrictSchema,
    actor_of,
    keyset_page,
    with_errors,
)
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization

router = Router(tags=["contracts"])


class VersionBrief(Schema):
    number: int
    effective_from: dt.date
    sha256: str
    note: str
    imported_at: dt.datetime
    imported_by: str


class ContractOut(Schema):
    id: int
    organization_id: int
    reference: str
    title: str
    created_at: dt.datetime
    versions: list[VersionBrief]

    @staticmethod
    def resolve_versions(obj: Contract) -> list[ContractVersion]:
        return list(obj.versions.order_by("number"))


class VersionOut(VersionBrief):
    contract_id: int
    document: dict[str, Any]

    @staticmethod
    def resolve_document(obj: ContractVersion) -> dict[str, Any]:
        return obj.terms


class ImportIn(StrictSchema):
    client_id: Id
    content: str = Field(min_length=1, description="The contract file (YAML)")
    effective_from: dt.date | None = Field(
        None, strict=False, description="Default: the term's start, or today for an amendment"
    )
    note: str = Field("", max_length=500)


class DurationOut(Schema):
    calendar: str
    start: dt.datetime
    end: dt.datetime
    seconds: float


def _contract(request: HttpRequest, contract_id: int) -> Contract:
    return scope.get_visible_or_404(Contract, actor_of(request), pk=contract_id)


def _version(contract: Contract, number: int | None, day: dt.date | None = None) -> ContractVersion:
    from django.http import Http404

    if number is not None:
        version = contract.versions.filter(number=number).first()
    elif day is not None:
        version = contract.version_in_force(day)
    else:
        version = contract.latest
    if version is None:
        raise Http404("no such version")
    return version


@router.get("/contracts", response=with_errors({200: Page[ContractOut]}), summary="Contracts")
def list_contracts(
    request: HttpRequest,
    organization_id: Id | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = scope.visible(Contract, actor_of(request)).prefetch_related("versions")
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    return keyset_page(qs, cursor=cursor, limit=limit)


@router.get(
    "/contracts/schema",
    response=with_errors({200: dict[str, Any]}),
    summary="JSON Schema of the contract file format",
)
def contract_schema(request: HttpRequest) -> Any:
    return json_schema()


@router.post(
    "/contracts/import",
    response=with_errors({201: VersionOut}),
    summary="Import a contract or an amendment",
)
def import_contract(request: HttpRequest, payload: ImportIn) -> Any:
    actor = actor_of(request)
    client = scope.get_visible_or_404(Organization, actor, pk=payload.client_id)
    version = services.import_contract(
        actor=actor,
        client=client,
        text=payload.content,
        effective_from=payload.effective_from,
        note=payload.note,
    )
    return Status(201, version)


@router.get("/contracts/{contract_id}", response=with_errors({200: ContractOut}))
def get_contract(request: HttpRequest, contract_id: Id) -> Any:
    return _contract(request, contract_id)


@router.get("/contracts/{contract_id}/versions/{number}", response=with_errors({200: VersionOut}))
def get_version(request: HttpRequest, contract_id: Id, number: Id) -> Any:
    return _version(_contract(request, contract_id), number)


@router.get(
    "/contracts/{contract_id}/versions/{number}/yaml",
    response=with_errors({200: str}),
    summary="A version as a contract file",
)
def export_version(request: HttpRequest, contract_id: Id, number: Id) -> Any:
    version = _version(_contract(request, contract_id), number)
    response = HttpResponse(to_yaml(version.parsed()), content_type="application/yaml")
    response["Content-Disposition"] = (
        f'attachment; filename="{version.contract.reference}-v{version.number}.yaml"'
    )
    return response


def _section(
    request: HttpRequest, contract_id: int, number: int | None, date: dt.date | None
) -> Any:
    return _version(_contract(request, contract_id), number, date).parsed()


@router.get(
    "/contracts/{contract_id}/catalogue",
    response=with_errors({200: list[dict[str, Any]]}),
    summary="Services of the version in force (or of a version)",
)
def catalogue(
    request: HttpRequest, contract_id: Id, number: Id | None = None, date: dt.date | None = None
) -> Any:
    document = _section(request, contract_id, number, date)
    return [s.model_dump(mode="json") for s in document.catalogue]


@router.get(
    "/contracts/{contract_id}/service-levels", response=with_errors({200: list[dict[str, Any]]})
)
def service_levels(
    request: HttpRequest, contract_id: Id, number: Id | None = None, date: dt.date | None = None
) -> Any:
    document = _section(request, contract_id, number, date)
    return [s.model_dump(mode="json") for s in document.service_levels]


@router.get("/contracts/{contract_id}/calendars", response=with_errors({200: dict[str, Any]}))
def calendars(
    request: HttpRequest, contract_id: Id, number: Id | None = None, date: dt.date | None = None
) -> Any:
    document = _section(request, contract_id, number, date)
    defined = {
        name: c.model_dump(mode="json", exclude_defaults=True)
        for name, c in document.calendars.items()
    }
    return {**{p.value: {"preset": p.value} for p in CalendarPreset}, **defined}


@router.get(
    "/contracts/{contract_id}/calendars/{name}/business-duration",
    response=with_errors({200: DurationOut}),
    summary="Business time between two instants in one of the contract's calendars",
)
def business_duration(
    request: HttpRequest,
    contract_id: Id,
    name: str,
    start: dt.datetime,
    end: dt.datetime,
    number: Id | None = None,
) -> Any:
    from django.core.exceptions import ValidationError
    from django.http import Http404

    document = _section(request, contract_id, number, None)
    if name not in document.calendar_names():
        raise Http404("no such calendar")
    errors: dict[str, list[str]] = {}
    for field, value in (("start", start), ("end", end)):
        if timezone.is_naive(value):
            errors[field] = ["Give a time zone offset (e.g. 2026-03-02T09:00:00+01:00)."]
    if not errors and end < start:
        errors["end"] = ["The end comes before the start."]
    if errors:
        raise ValidationError(errors)
    try:
        calendar = calendar_for(document, name)
    except CalendarDefinitionError as exc:
        raise ValidationError({"name": [str(exc)]}) from None
    duration = calendar.business_duration(start, end)
    return {"calendar": name, "start": start, "end": end, "seconds": duration.total_seconds()}
