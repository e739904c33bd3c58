"""Backups in the user API: repositories, and the runs and restore drills recorded in them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from infogerance.backups import services
from infogerance.backups.models import BackupRepository, BackupRun, RestoreDrill, RunStatus
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
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import Perm

router = Router(tags=["backups"])

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Count = Annotated[int, Field(ge=0, le=2**62)]


class RepositoryOut(Schema):
    id: int
    organization_id: int
    name: str
    location: str
    repository_id: str
    service_code: str
    key_reference: str
    created_at: dt.datetime


class RepositoryIn(StrictSchema):
    organization_id: Id
    name: str = Field(min_length=1, max_length=100)
    location: str = Field(min_length=1, max_length=500)
    service_code: str = Field("", max_length=40)
    key_reference: str = Field("", max_length=300)
    repository_id: str = Field("", max_length=64)


class RepositoryPatch(StrictSchema):
    name: str = Field(OMITTED, min_length=1, max_length=100)
    location: str = Field(OMITTED, min_length=1, max_length=500)
    service_code: str = Field(OMITTED, max_length=40)
    key_reference: str = Field(OMITTED, max_length=300)
    repository_id: str = Field(OMITTED, max_length=64)


class RunIn(StrictSchema):
    run_id: uuid.UUID = Field(
        strict=False, description="Chosen by the engine: a replay is not stored twice"
    )
    scope: str = Field(min_length=1, max_length=200)
    started_at: dt.datetime = Field(strict=False)
    finished_at: dt.datetime = Field(strict=False)
    status: RunStatus = Field(strict=False)
    asset_id: Id | None = None
    scheduled_at: dt.datetime | None = Field(None, strict=False)
    snapshot_id: Hex64 | None = None
    snapshot_time: dt.datetime | None = Field(None, strict=False)
    files: Count = 0
    bytes_read: Count = 0
    bytes_added: Count = 0
    verification: str = Field("", max_length=20)
    verification_ok: bool | None = None
    error: str = Field("", max_length=5000)


class RunOut(Schema):
    id: int
    run_id: uuid.UUID
    repository_id: int
    asset_id: int | None
    scope: str
    scheduled_at: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime
    duration_seconds: float
    status: str
    snapshot_id: str
    snapshot_time: dt.datetime | None
    files: int
    bytes_read: int
    bytes_added: int
    verification: str
    verification_ok: bool | None
    error: str
    recorded_by: str


class DrillIn(StrictSchema):
    drill_id: uuid.UUID = Field(strict=False)
    snapshot_id: Hex64
    snapshot_time: dt.datetime = Field(strict=False)
    started_at: dt.datetime = Field(strict=False)
    finished_at: dt.datetime = Field(strict=False)
    files_checked: Count
    bytes_checked: Count
    mismatches: Count
    asset_id: Id | None = None
    evidence: dict[str, Any] = Field({}, description="e.g. the first files that differ")


class DrillOut(Schema):
    id: int
    drill_id: uuid.UUID
    repository_id: int
    asset_id: int | None
    snapshot_id: str
    snapshot_time: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime
    rto_seconds: float
    rpo_seconds: float
    files_checked: int
    bytes_checked: int
    mismatches: int
    passed: bool
    evidence: dict[str, Any]


def _repository(request: HttpRequest, repository_id: int) -> BackupRepository:
    repository: BackupRepository = scope.get_visible_or_404(
        BackupRepository.objects.select_related("organization"),
        actor_of(request),
        Perm.VIEW_INVENTORY,
        pk=repository_id,
    )
    return repository


@router.get(
    "/backup-repositories",
    response=with_errors({200: Page[RepositoryOut]}),
    summary="Backup repositories (one or more per client)",
)
def list_repositories(
    request: HttpRequest,
    organization_id: Id | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = services.visible_repositories(actor_of(request))
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    return keyset_page(qs, cursor=cursor, limit=limit)


@router.post(
    "/backup-repositories",
    response=with_errors({201: RepositoryOut}),
    summary="Declare a client's repository",
)
def create_repository(request: HttpRequest, payload: RepositoryIn) -> Any:
    client: Organization = scope.get_visible_or_404(
        Organization, actor_of(request), pk=payload.organization_id
    )
    repository = services.create_repository(
        actor=actor_of(request),
        client=client,
        name=payload.name,
        location=payload.location,
        service_code=payload.service_code,
        key_reference=payload.key_reference,
        repository_id=payload.repository_id,
    )
    return Status(201, repository)


@router.get("/backup-repositories/{repository_id}", response=with_errors({200: RepositoryOut}))
def get_repository(request: HttpRequest, repository_id: Id) -> Any:
    return _repository(request, repository_id)


@router.patch(
    "/backup-repositories/{repository_id}",
    response=with_errors({200: RepositoryOut}),
    summary="Change a repository's location, service, key reference or restic id",
)
def update_repository(request: HttpRequest, repository_id: Id, payload: RepositoryPatch) -> Any:
    return services.update_repository(
        _repository(request, repository_id),
        actor=actor_of(request),
        fields=payload.model_dump(exclude_unset=True),
    )


@router.get(
    "/backup-repositories/{repository_id}/runs",
    response=with_errors({200: Page[RunOut]}),
    summary="Backup runs, latest first",
)
def list_runs(
    request: HttpRequest, repository_id: Id, cursor: str | None = None, limit: Limit = 50
) -> Any:
    qs = BackupRun.objects.filter(repository=_repository(request, repository_id))
    return keyset_page(qs, cursor=cursor, limit=limit, descending=True)


@router.post(
    "/backup-repositories/{repository_id}/runs",
    response=with_errors({200: RunOut, 201: RunOut}),
    summary="Record a backup run (201; 200 when this run_id was recorded before)",
)
def post_run(request: HttpRequest, repository_id: Id, payload: RunIn) -> Any:
    data = payload.model_dump()
    data["scope_name"] = data.pop("scope")
    data["snapshot_id"] = data["snapshot_id"] or ""
    run, created = services.record_run(
        actor=actor_of(request), repository=_repository(request, repository_id), **data
    )
    return Status(201 if created else 200, run)


@router.get(
    "/backup-repositories/{repository_id}/drills",
    response=with_errors({200: Page[DrillOut]}),
    summary="Restore drills, latest first",
)
def list_drills(
    request: HttpRequest, repository_id: Id, cursor: str | None = None, limit: Limit = 50
) -> Any:
    qs = RestoreDrill.objects.filter(repository=_repository(request, repository_id))
    return keyset_page(qs, cursor=cursor, limit=limit, descending=True)


@router.post(
    "/backup-repositories/{repository_id}/drills",
    response=with_errors({200: DrillOut, 201: DrillOut}),
    summary="Record a restore drill (201; 200 when this drill_id was recorded before)",
)
def post_drill(request: HttpRequest, repository_id: Id, payload: DrillIn) -> Any:
    drill, created = services.record_drill(
        actor=actor_of(request),
        repository=_repository(request, repository_id),
        **payload.model_dump(),
    )
    return Status(201 if created else 200, drill)
