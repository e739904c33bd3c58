"""The inventory in the user API: assets, software, snapshots and their diff, performance,
agents and their health, enrolment tokens, licences."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import Field

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
from infogerance.inventory import eol, services, technical_audit
from infogerance.inventory.diff import diff
from infogerance.inventory.models import (
    Agent,
    AgentHealth,
    Asset,
    AssetKind,
    EnrollmentToken,
    InstalledSoftware,
    InventorySnapshot,
    Licence,
    Lifecycle,
    Ownership,
    PerformanceSummary,
    with_health,
)
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import Perm

router = Router(tags=["inventory"])

Short = Annotated[str, Field(max_length=200)]


class AssetBrief(Schema):
    id: int
    organization_id: int
    name: str
    kind: str
    source: str
    lifecycle: str
    ownership: str
    hostname: str
    os_name: str
    os_version: str
    software_count: int
    last_inventory_at: dt.datetime | None


class AssetOut(AssetBrief):
    lease_item: str
    location: str
    notes: str
    fqdn: str
    vendor: str
    model: str
    serial: str
    os_family: str
    kernel: str
    arch: str
    cpu_model: str
    cpu_cores: int | None
    memory_bytes: int | None
    pending_updates: int | None
    security_updates: int | None
    disk_free_ratio: float | None
    os_support: str = Field(description="supported, ending, eol or unknown (os_eol.yaml)")
    os_support_end: dt.date | None
    components: list[dict[str, Any]]
    version: int
    updated_at: dt.datetime


class AssetIn(StrictSchema):
    organization_id: Id
    name: str = Field(min_length=1, max_length=200)
    kind: AssetKind = Field(strict=False)
    lifecycle: Lifecycle = Field(Lifecycle.IN_SERVICE, strict=False)
    ownership: Ownership = Field(Ownership.CLIENT, strict=False)
    lease_item: Short = ""
    location: Short = ""
    notes: Annotated[str, Field(max_length=5000)] = ""
    hostname: Short = ""
    vendor: Short = ""
    model: Short = ""
    serial: Short = ""
    os_name: Short = ""
    os_version: Annotated[str, Field(max_length=100)] = ""


class AssetPatch(StrictSchema):
    name: str = Field(OMITTED, min_length=1, max_length=200)
    kind: AssetKind = Field(OMITTED, strict=False)
    lifecycle: Lifecycle = Field(OMITTED, strict=False)
    ownership: Ownership = Field(OMITTED, strict=False)
    lease_item: Short = OMITTED
    location: Short = OMITTED
    notes: Annotated[str, Field(max_length=5000)] = OMITTED
    hostname: Short = OMITTED
    vendor: Short = OMITTED
    model: Short = OMITTED
    serial: Short = OMITTED
    os_name: Short = OMITTED
    os_version: Annotated[str, Field(max_length=100)] = OMITTED
    version: int | None = Field(
        None, ge=1, description="The version you read: refused if the asset changed since"
    )


class SoftwareOut(Schema):
    id: int
    name: str
    version: str
    publisher: str
    source: str
    installed_at: dt.datetime | None


class SnapshotBrief(Schema):
    id: int
    report_id: str
    sequence: int
    collected_at: dt.datetime
    received_at: dt.datetime
    sha256: str


class DiffSection(Schema):
    name: str
    added: list[str]
    removed: list[str]
    changed: list[str]


class DiffOut(Schema):
    asset_id: int
    from_snapshot: int
    to_snapshot: int
    sections: list[DiffSection]


class StatOut(Schema):
    mean: float
    p95: float
    max: float


class PerformanceOut(Schema):
    id: int
    window_start: dt.datetime
    window_end: dt.datetime
    samples: int
    cpu_mean: float | None
    cpu_p95: float | None
    cpu_max: float | None
    memory_mean: float | None
    memory_p95: float | None
    memory_max: float | None
    disk_read_bytes_per_s: StatOut | None = None
    disk_write_bytes_per_s: StatOut | None = None
    net_recv_bytes_per_s: StatOut | None = None
    net_sent_bytes_per_s: StatOut | None = None
    load1: StatOut | None = None


def performance_out(summary: PerformanceSummary) -> dict[str, Any]:
    """A summary's columns and the rates its agent sent (absent when not measured)."""
    out: dict[str, Any] = {
        f.attname: getattr(summary, f.attname)
        for f in PerformanceSummary._meta.concrete_fields
        if f.attname != "data"
    }
    for key in (*technical_audit.RATES, "load1"):
        out[key] = summary.data.get(key)
    return out


class AgentOut(Schema):
    id: int
    uid: str
    organization_id: int
    asset_id: int
    agent_version: str
    enrolled_at: dt.datetime
    last_seen_at: dt.datetime | None
    health: str
    last_sequence: int
    reports_stored: int
    revoked_at: dt.datetime | None


class EnrollmentTokenOut(Schema):
    id: int
    organization_id: int
    label: str
    prefix: str
    expires_at: dt.datetime
    max_uses: int
    uses: int
    state: str
    revoked_at: dt.datetime | None
    created_at: dt.datetime


class EnrollmentTokenCreated(EnrollmentTokenOut):
    secret: str = Field(description="Shown once: give it to `infogerance agent enroll --token`")


class EnrollmentTokenIn(StrictSchema):
    organization_id: Id
    label: str = Field(min_length=1, max_length=200)
    days: int = Field(7, ge=1, le=services.MAX_TOKEN_DAYS)
    max_uses: int = Field(1, ge=1, le=services.MAX_TOKEN_USES)


class LicenceOut(Schema):
    id: int
    organization_id: int
    product: str
    software_name: str
    owned: int
    installed: int
    notes: str


class LicenceIn(StrictSchema):
    organization_id: Id
    product: str = Field(min_length=1, max_length=255)
    software_name: str = Field(min_length=1, max_length=255)
    owned: int = Field(ge=0, le=10_000_000)
    notes: Annotated[str, Field(max_length=5000)] = ""


def _asset(request: HttpRequest, asset_id: int) -> Asset:
    asset: Asset = scope.get_visible_or_404(
        Asset.objects.select_related("organization"),
        actor_of(request),
        Perm.VIEW_INVENTORY,
        pk=asset_id,
    )
    return asset


def _organization(request: HttpRequest, organization_id: int, perm: Perm) -> Organization:
    """The organisation, if the caller sees it; PermissionDenied if it lacks ``perm`` there."""
    organization: Organization = scope.get_visible_or_404(
        Organization, actor_of(request), pk=organization_id
    )
    scope.require(actor_of(request), perm, organization)
    return organization


def asset_out(asset: Asset) -> dict[str, Any]:
    support = eol.support(asset.os_id or asset.os_family, asset.os_version, asset.os_name)
    data = {f.attname: getattr(asset, f.attname) for f in Asset._meta.concrete_fields}
    data.update(
        id=asset.pk,
        os_support=support.status,
        os_support_end=support.end,
        components=[
            {
                "kind": c.kind,
                "name": c.name,
                "capacity_bytes": c.capacity_bytes,
                "used_bytes": c.used_bytes,
                "details": c.details,
            }
            for c in asset.components.all()
        ],
    )
    return data


def agent_out(agent: Agent) -> dict[str, Any]:
    return {
        **{f.attname: getattr(agent, f.attname) for f in Agent._meta.concrete_fields},
        "uid": agent.uid.hex,
        "organization_id": agent.organization_id,
        "asset_id": agent.asset_id,
        "health": agent.health(),
    }


def token_out(token: EnrollmentToken) -> dict[str, Any]:
    return {
        **{f.attname: getattr(token, f.attname) for f in EnrollmentToken._meta.concrete_fields},
        "organization_id": token.organization_id,
        "state": token.state(),
    }


@router.get("/assets", response=with_errors({200: Page[AssetBrief]}), summary="Assets")
def list_assets(
    request: HttpRequest,
    organization_id: Id | None = None,
    kind: AssetKind | None = None,
    lifecycle: Lifecycle | None = None,
    source: str | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = services.visible_assets(actor_of(request))
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    if kind is not None:
        qs = qs.filter(kind=kind)
    if lifecycle is not None:
        qs = qs.filter(lifecycle=lifecycle)
    if source:
        qs = qs.filter(source=source)
    return keyset_page(qs, cursor=cursor, limit=limit)


@router.post("/assets", response=with_errors({201: AssetOut}), summary="Record an asset by hand")
def create_asset(request: HttpRequest, payload: AssetIn) -> Any:
    client = _organization(request, payload.organization_id, Perm.MANAGE_INVENTORY)
    fields = payload.model_dump(exclude={"organization_id"}, mode="json")
    asset = services.create_asset(actor=actor_of(request), client=client, fields=fields)
    return Status(201, asset_out(asset))


@router.get("/assets/{asset_id}", response=with_errors({200: AssetOut}))
def get_asset(request: HttpRequest, asset_id: Id) -> Any:
    return asset_out(_asset(request, asset_id))


@router.patch("/assets/{asset_id}", response=with_errors({200: AssetOut}))
def update_asset(request: HttpRequest, asset_id: Id, payload: AssetPatch) -> Any:
    asset = _asset(request, asset_id)
    fields = payload.model_dump(exclude_unset=True, exclude={"version"}, mode="json")
    updated = services.update_asset(
        asset, actor=actor_of(request), fields=fields, expected_version=payload.version
    )
    return asset_out(updated)


@router.get(
    "/assets/{asset_id}/software",
    response=with_errors({200: Page[SoftwareOut]}),
    summary="Software installed on an asset",
)
def list_software(
    request: HttpRequest, asset_id: Id, cursor: str | None = None, limit: Limit = 200
) -> Any:
    qs = InstalledSoftware.objects.filter(asset=_asset(request, asset_id))
    return keyset_page(qs, cursor=cursor, limit=limit)


@router.get(
    "/assets/{asset_id}/snapshots",
    response=with_errors({200: Page[SnapshotBrief]}),
    summary="Inventories kept for an asset (one per change)",
)
def list_snapshots(
    request: HttpRequest, asset_id: Id, cursor: str | None = None, limit: Limit = 50
) -> Any:
    qs = InventorySnapshot.objects.filter(asset=_asset(request, asset_id)).defer("data")
    return keyset_page(
        qs,
        cursor=cursor,
        limit=limit,
        descending=True,
        serialize=lambda s: {
            "id": s.pk,
            "report_id": str(s.report_id),
            "sequence": s.sequence,
            "collected_at": s.collected_at,
            "received_at": s.received_at,
            "sha256": s.sha256,
        },
    )


@router.get(
    "/assets/{asset_id}/diff",
    response=with_errors({200: DiffOut}),
    summary="What changed between two inventories of an asset",
)
def snapshot_diff(request: HttpRequest, asset_id: Id, from_snapshot: Id, to_snapshot: Id) -> Any:
    asset = _asset(request, asset_id)
    found = {s.pk: s for s in asset.snapshots.filter(pk__in=[from_snapshot, to_snapshot])}
    if from_snapshot not in found or to_snapshot not in found:
        raise Http404("no such snapshot of this asset")
    sections = diff(found[from_snapshot].data, found[to_snapshot].data)
    return {
        "asset_id": asset.pk,
        "from_snapshot": from_snapshot,
        "to_snapshot": to_snapshot,
        "sections": [{**vars(s), "changed": [str(c) for c in s.changed]} for s in sections],
    }


@router.get(
    "/assets/{asset_id}/performance",
    response=with_errors({200: Page[PerformanceOut]}),
    summary="Performance summaries of an asset, latest first",
)
def list_performance(
    request: HttpRequest, asset_id: Id, cursor: str | None = None, limit: Limit = 96
) -> Any:
    qs = PerformanceSummary.objects.filter(asset=_asset(request, asset_id))
    return keyset_page(qs, cursor=cursor, limit=limit, descending=True, serialize=performance_out)


@router.get("/agents", response=with_errors({200: Page[AgentOut]}), summary="Agents and health")
def list_agents(
    request: HttpRequest,
    organization_id: Id | None = None,
    health: AgentHealth | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = scope.visible(Agent, actor_of(request), Perm.VIEW_INVENTORY)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    if health is not None:
        qs = with_health(qs, timezone.now()).filter(health_state=health)
    return keyset_page(qs, cursor=cursor, limit=limit, descending=True, serialize=agent_out)


@router.post(
    "/agents/{agent_id}/revoke",
    response=with_errors({200: AgentOut}),
    summary="Revoke an agent's credential",
)
def revoke_agent(request: HttpRequest, agent_id: Id) -> Any:
    agent: Agent = scope.get_visible_or_404(
        Agent.objects.select_related("organization"),
        actor_of(request),
        Perm.VIEW_INVENTORY,
        pk=agent_id,
    )
    return agent_out(services.revoke_agent(agent, actor=actor_of(request)))


@router.get(
    "/enrollment-tokens",
    response=with_errors({200: Page[EnrollmentTokenOut]}),
    summary="Enrolment tokens (their secrets are never shown again)",
)
def list_tokens(request: HttpRequest, cursor: str | None = None, limit: Limit = 50) -> Any:
    qs = scope.visible(EnrollmentToken, actor_of(request), Perm.MANAGE_AGENTS)
    return keyset_page(qs, cursor=cursor, limit=limit, descending=True, serialize=token_out)


@router.post(
    "/enrollment-tokens",
    response=with_errors({201: EnrollmentTokenCreated}),
    summary="Create an enrolment token for a client",
)
def create_token(request: HttpRequest, payload: EnrollmentTokenIn) -> Any:
    client = _organization(request, payload.organization_id, Perm.MANAGE_AGENTS)
    token, secret = services.create_enrollment_token(
        actor=actor_of(request),
        client=client,
        label=payload.label,
        days=payload.days,
        max_uses=payload.max_uses,
    )
    return Status(201, {**token_out(token), "secret": secret})


@router.post(
    "/enrollment-tokens/{enrollment_token_id}/revoke",
    response=with_errors({200: EnrollmentTokenOut}),
    summary="Revoke an enrolment token",
)
def revoke_token(request: HttpRequest, enrollment_token_id: Id) -> Any:
    token: EnrollmentToken = scope.get_visible_or_404(
        EnrollmentToken.objects.select_related("organization"),
        actor_of(request),
        Perm.MANAGE_AGENTS,
        pk=enrollment_token_id,
    )
    return token_out(services.revoke_enrollment_token(token, actor=actor_of(request)))


def _licences_out(licences: list[Licence]) -> list[dict[str, Any]]:
    usage = services.licence_usage(licences)
    return [
        {
            **{f.attname: getattr(lic, f.attname) for f in Licence._meta.concrete_fields},
            "organization_id": lic.organization_id,
            "installed": usage[lic.pk],
        }
        for lic in licences
    ]


@router.get(
    "/licences",
    response=with_errors({200: Page[LicenceOut]}),
    summary="Licences owned, against installations found",
)
def list_licences(
    request: HttpRequest,
    organization_id: Id | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> Any:
    qs = scope.visible(Licence, actor_of(request), Perm.VIEW_INVENTORY)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    page = keyset_page(qs, cursor=cursor, limit=limit)
    page["items"] = _licences_out(page["items"])
    return page


@router.post("/licences", response=with_errors({201: LicenceOut}), summary="Record licences")
def create_licence(request: HttpRequest, payload: LicenceIn) -> Any:
    client = _organization(request, payload.organization_id, Perm.MANAGE_INVENTORY)
    licence = services.save_licence(
        actor=actor_of(request),
        client=client,
        product=payload.product,
        software_name=payload.software_name,
        owned=payload.owned,
        notes=payload.notes,
    )
    return Status(201, _licences_out([licence])[0])
