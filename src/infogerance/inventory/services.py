"""Writes on the inventory: enrolment, what agents report, assets recorded by hand, licences.

Agents write through :func:`ingest` only, and only their own asset: the asset comes from the
authenticated agent row, never from the payload. Reports are telemetry, not decisions: they
are kept as immutable snapshots and summaries, not as audit events; enrolment, revocations,
tokens and every change made by a person are audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Count, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from infogerance.audit.services import record
from infogerance.core.actors import SystemActor
from infogerance.core.db import from_row, select_list
from infogerance.core.services import service
from infogerance.core.snapshots import changed, snapshot
from infogerance.inventory import payload, report_kinds
from infogerance.inventory.models import (
    Agent,
    Asset,
    AssetComponent,
    AssetKind,
    AssetSource,
    ComponentKind,
    EnrollmentToken,
    InstalledSoftware,
    InventorySnapshot,
    Licence,
    Lifecycle,
    Ownership,
    PerformanceSummary,
)
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import OrganizationKind, Perm

TOKEN_PREFIX = "iget_"
CREDENTIAL_PREFIX = "iga_"
MAX_TOKEN_DAYS = 90
MAX_TOKEN_USES = 10_000
HEARTBEAT_SECONDS = 60
INVENTORY_SECONDS = 6 * 3600
# Facts that change between two inventories of an unchanged machine: left out of the hash
# that decides whether a new snapshot is kept.
VOLATILE = ("uptime_seconds", "boot_time", "notes")
VOLATILE_DISK = ("used_bytes", "free_bytes")
ASSET_FIELDS = (
    "name",
    "kind",
    "lifecycle",
    "ownership",
    "lease_item",
    "location",
    "notes",
    "hostname",
    "vendor",
    "model",
    "serial",
    "os_name",
    "os_version",
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _require(actor: Any, perm: Perm, organization: Organization) -> None:
    scope.require(actor, perm, organization)


def _client(organization: Organization) -> None:
    if organization.kind != OrganizationKind.CLIENT:
        raise ValidationError({"organization_id": [_("Choose a client organisation.")]})


# --- Enrolment tokens ------------------------------------------------------------------------


@service
def create_enrollment_token(
    *, actor: Any, client: Organization, label: str, days: int = 7, max_uses: int = 1
) -> tuple[EnrollmentToken, str]:
    """A token for enrolling agents on ``client``; returns the row and the secret, shown once."""
    _require(actor, Perm.MANAGE_AGENTS, client)
    _client(client)
    errors: dict[str, list[str]] = {}
    label = label.strip()
    if not label:
        errors["label"] = [_("This field is required.")]
    elif len(label) > 200:
        errors["label"] = [_("At most 200 characters.")]
    if not 1 <= days <= MAX_TOKEN_DAYS:
        errors["days"] = [_("Between 1 and %(max)d days.") % {"max": MAX_TOKEN_DAYS}]
    if not 1 <= max_uses <= MAX_TOKEN_USES:
        errors["max_uses"] = [_("Between 1 and %(max)d uses.") % {"max": MAX_TOKEN_USES}]
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = EnrollmentToken.objects.create(
        organization=client,
        label=label,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=_sha256(secret),
        expires_at=timezone.now() + dt.timedelta(days=days),
        max_uses=max_uses,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record(
        actor=actor,
        action="inventory.token_create",
        target=token,
        tenant=client.tenant,
        after=snapshot(token, ["label", "prefix", "expires_at", "max_uses"]),
    )
    return token, secret


@service
def revoke_enrollment_token(token: EnrollmentToken, *, actor: Any) -> EnrollmentToken:
    _require(actor, Perm.MANAGE_AGENTS, token.organization)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            actor=actor,
            action="inventory.token_revoke",
            target=token,
            tenant=token.organization.tenant,
        )
    return token


class EnrolmentRefused(Exception):
    """401: the enrolment token is unknown, expired, used up or revoked."""

    def __init__(self, reason: str, token: EnrollmentToken | None = None) -> None:
        self.reason = reason
        self.token = token
        super().__init__(reason)


@dataclass(frozen=True)
class Enrolled:
    agent: Agent
    credential: str


def _guess_kind(os_info: payload.OsInfo | None) -> str:
    if os_info is None:
        return AssetKind.OTHER
    if os_info.family == "windows" and "server" not in os_info.name.lower():
        return AssetKind.WORKSTATION
    return AssetKind.SERVER


def enroll(*, actor: Any, body: Any) -> Enrolled:
    """An agent presents an enrolment token: a new agent identity for the machine's asset.

    The machine's existing asset (same client, same machine id) is reused and its former
    agents revoked: a reinstalled agent continues the machine's history. A refusal for a
    known token is filed under its client, after the enrolment's transaction is undone."""
    request = payload.parse_model(payload.Enrolment, body)
    try:
        return _enroll(request, actor=actor)
    except EnrolmentRefused as refused:
        if refused.token is not None:
            _record_refusal(refused.token, refused.reason, request.hostname, actor=actor)
        raise


@service
def _record_refusal(token: EnrollmentToken, reason: str, hostname: str, *, actor: Any) -> None:
    record(
        actor=actor,
        action="inventory.enrol_refused",
        target=token,
        tenant=token.organization.tenant,
        after={"reason": reason, "hostname": hostname},
    )


@service
def _enroll(request: payload.Enrolment, *, actor: Any) -> Enrolled:
    token = (
        EnrollmentToken.objects.select_for_update()
        .select_related("organization")
        .filter(token_hash=_sha256(request.token.strip()))
        .first()
    )
    if token is None:
        raise EnrolmentRefused("unknown")
    state = token.state()
    if state != "active":
        raise EnrolmentRefused(state, token)
    client = token.organization
    token.uses += 1
    token.save(update_fields=["uses"])
    asset = None
    if request.machine_id:
        asset = (
            Asset.objects.filter(organization=client, machine_id=request.machine_id)
            .exclude(lifecycle=Lifecycle.RETIRED)
            .order_by("pk")
            .first()
        )
    if asset is None:
        asset = Asset.objects.create(
            organization=client,
            name=request.hostname,
            hostname=request.hostname,
            machine_id=request.machine_id,
            kind=_guess_kind(request.os),
            source=AssetSource.AGENT,
            os_family=request.os.family if request.os else "",
            os_name=request.os.name if request.os else "",
            os_version=request.os.version if request.os else "",
        )
    else:
        Agent.objects.filter(asset=asset, revoked_at__isnull=True).update(revoked_at=timezone.now())
    uid = uuid.uuid4()
    credential = f"{CREDENTIAL_PREFIX}{uid.hex}_{secrets.token_urlsafe(32)}"
    agent = Agent.objects.create(
        organization=client,
        uid=uid,
        asset=asset,
        credential_hash=_sha256(credential),
        enrolled_with=token,
        agent_version=request.agent_version,
        heartbeat_seconds=HEARTBEAT_SECONDS,
    )
    record(
        actor=actor,
        action="inventory.agent_enrolled",
        target=agent,
        tenant=client.tenant,
        after={
            "asset": asset.pk,
            "hostname": request.hostname,
            "token": token.prefix,
            "agent_version": request.agent_version,
        },
    )
    return Enrolled(agent, credential)


def authenticate_agent(credential: str) -> Agent | None:
    """The live agent holding ``credential``, or None (unknown or revoked).

    Every report pays for this lookup: one raw query (the ORM's query compiler costs several
    times the query itself), the organisation loaded only when asked for."""
    if not credential.startswith(CREDENTIAL_PREFIX) or len(credential) > 200:
        return None
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: every attribute of it is a lookup
    with db.cursor() as cursor:
        cursor.execute(_agent_sql(db.vendor)["auth"], [_sha256(credential)])
        row = cursor.fetchone()
    return None if row is None else from_row(Agent, row)


@functools.cache
def _agent_sql(vendor: str) -> dict[str, str]:
    """The raw statements on the agent's row for this kind of database (built from the
    model's quoted names only: every value is a parameter)."""
    db = connections[DEFAULT_DB_ALIAS]
    quote, table = db.ops.quote_name, db.ops.quote_name(Agent._meta.db_table)
    lock = (
        f"SELECT {quote('last_sequence')}, {quote('revoked_at')} IS NOT NULL"  # noqa: S608
        f" FROM {table} WHERE {quote('id')} = %s"
    )
    sql = {
        "auth": (
            f"SELECT {select_list(Agent, table)} FROM {table}"  # noqa: S608
            f" WHERE {quote('credential_hash')} = %s AND {quote('revoked_at')} IS NULL"
        ),
        "lock": lock + (" FOR UPDATE" if db.features.has_select_for_update else ""),
        "update": f"UPDATE {table} SET {{}}, {quote('reports_stored')} = "  # noqa: S608
        f"{quote('reports_stored')} + %s WHERE {quote('id')} = %s",
        "heartbeat": f"UPDATE {table} SET {{}}, {quote('reports_stored')} = "  # noqa: S608
        f"{quote('reports_stored')} + 1 WHERE {quote('id')} = %s"
        f" AND {quote('revoked_at')} IS NULL AND {quote('last_sequence')} < %s",
    }
    return sql


@service
def revoke_agent(agent: Agent, *, actor: Any) -> Agent:
    _require(actor, Perm.MANAGE_AGENTS, agent.organization)
    if agent.revoked_at is None:
        agent.revoked_at = timezone.now()
        agent.save(update_fields=["revoked_at"])
        record(
            actor=actor,
            action="inventory.agent_revoke",
            target=agent,
            tenant=agent.organization.tenant,
        )
    return agent


# --- Reports ---------------------------------------------------------------------------------


def stable_digest(data: dict[str, Any]) -> str:
    """The hash of an inventory's stable facts (what a new snapshot is kept for)."""
    stable = {k: v for k, v in data.items() if k not in VOLATILE}
    stable["disks"] = [
        {k: v for k, v in disk.items() if k not in VOLATILE_DISK} for disk in data.get("disks", [])
    ]
    return _digest(stable)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SOFTWARE_COLUMNS = ("asset_id", "source", "name", "version", "publisher", "installed_at")


def _software_rows(asset: Asset, software: list[payload.Software]) -> None:
    """Bring the asset's software rows to ``software``: only the differences are written."""
    wanted: dict[tuple[Any, ...], int] = {}
    for item in software:
        key = (item.source, item.name, item.version, item.publisher, item.installed_at)
        wanted[key] = wanted.get(key, 0) + 1
    if connection.vendor == "postgresql":
        _software_rows_postgresql(asset, wanted)
        return
    stale = []
    for pk, *fields in InstalledSoftware.objects.filter(asset=asset).values_list(
        "pk", "source", "name", "version", "publisher", "installed_at"
    ):
        found = tuple(fields)
        if wanted.get(found, 0) > 0:
            wanted[found] -= 1
        else:
            stale.append(pk)
    if stale:
        InstalledSoftware.objects.filter(pk__in=stale).delete()
    InstalledSoftware.objects.bulk_create(
        [
            InstalledSoftware(
                asset=asset,
                source=source,
                name=name,
                version=version,
                publisher=publisher,
                installed_at=installed_at,
            )
            for (source, name, version, publisher, installed_at), count in wanted.items()
            for _ in range(count)
            if count > 0
        ],
        batch_size=2000,
    )


def _software_rows_postgresql(asset: Asset, wanted: dict[tuple[Any, ...], int]) -> None:
    """:func:`_software_rows` on PostgreSQL, where an inventory of 1,500 packages must cost
    little: the rows are compared with install times as integer microseconds (turning 1,500
    timestamps into aware datetimes costs more than the query), and written with COPY."""
    micro = dt.timedelta(microseconds=1)
    by_micros = {
        (*key[:4], None if key[4] is None else (key[4] - _EPOCH) // micro): key for key in wanted
    }
    left = {micros: wanted[key] for micros, key in by_micros.items()}
    table = connection.ops.quote_name(InstalledSoftware._meta.db_table)
    asset_id = asset.pk
    stale = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, source, name, version, publisher,"  # noqa: S608 (the model's table)
            " round(extract(epoch FROM installed_at) * 1000000)::bigint"
            f" FROM {table} WHERE asset_id = %s",
            [asset_id],
        )
        for pk, *fields in cursor.fetchall():
            found = tuple(fields)
            if left.get(found, 0) > 0:
                left[found] -= 1
            else:
                stale.append(pk)
        if stale:
            InstalledSoftware.objects.filter(pk__in=stale).delete()
        rows = [
            (asset_id, *by_micros[micros]) for micros, count in left.items() for _ in range(count)
        ]
        if rows:
            columns = ", ".join(_SOFTWARE_COLUMNS)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def _components(asset: Asset, data: dict[str, Any]) -> None:
    rows = []
    cpu = (data.get("hardware") or {}).get("cpu")
    if cpu:
        rows.append(
            AssetComponent(
                asset=asset, kind=ComponentKind.CPU, name=cpu.get("model") or "cpu", details=cpu
            )
        )
    for disk in data.get("disks", []):
        rows.append(
            AssetComponent(
                asset=asset,
                kind=ComponentKind.DISK,
                name=disk["mountpoint"],
                capacity_bytes=disk["total_bytes"],
                used_bytes=disk["used_bytes"],
                details={k: disk.get(k) for k in ("device", "fstype", "free_bytes")},
            )
        )
    for interface in data.get("interfaces", []):
        rows.append(
            AssetComponent(
                asset=asset,
                kind=ComponentKind.INTERFACE,
                name=interface["name"],
                details={k: interface.get(k) for k in ("mac", "up", "speed_mbps", "addresses")},
            )
        )
    AssetComponent.objects.filter(asset=asset).delete()
    AssetComponent.objects.bulk_create(rows)


def _json_value(value: Any) -> Any:
    """``value`` for a JSONField. On PostgreSQL, serialised by orjson: Django's json.dumps
    costs milliseconds for the 200 KiB of an inventory of 1,500 packages."""
    if connection.vendor != "postgresql":
        return value
    return RawSQL("%s::jsonb", (orjson.dumps(value).decode(),))


def _apply_inventory(
    agent: Agent,
    asset: Asset,
    envelope: payload.Envelope,
    data: payload.Inventory,
    now: dt.datetime,
) -> None:
    dumped = data.model_dump(mode="json")
    digest = stable_digest(dumped)
    if digest != asset.inventory_sha256:
        InventorySnapshot.objects.create(
            asset=asset,
            agent=agent,
            report_id=envelope.report_id,
            sequence=envelope.sequence,
            collected_at=envelope.collected_at,
            received_at=now,
            sha256=digest,
            data=_json_value(dumped),
        )
        asset.inventory_sha256 = digest
    software_digest = _digest(dumped["software"])
    if software_digest != asset.software_sha256:
        _software_rows(asset, data.software)
        asset.software_sha256 = software_digest
        asset.software_count = len(dumped["software"])
    _components(asset, dumped)
    os_info, hardware = data.os, data.hardware or payload.Hardware()
    cpu = hardware.cpu or payload.Cpu()
    disks = [d for d in data.disks if d.total_bytes > 0]
    asset.hostname = data.hostname
    asset.fqdn = data.fqdn
    asset.machine_id = data.machine_id or asset.machine_id
    asset.os_family, asset.os_id = os_info.family, os_info.id
    asset.os_name, asset.os_version = os_info.name, os_info.version_id or os_info.version
    asset.kernel, asset.arch = os_info.kernel, os_info.arch
    asset.vendor, asset.model = hardware.vendor, hardware.model
    asset.serial = hardware.serial or asset.serial
    asset.cpu_model, asset.cpu_cores = cpu.model, cpu.cores
    asset.memory_bytes = hardware.memory_bytes
    asset.disk_free_ratio = min((d.free_bytes / d.total_bytes for d in disks), default=None)
    asset.pending_updates = data.updates.count if data.updates else None
    asset.security_updates = data.updates.security_count if data.updates else None
    if asset.last_inventory_at is None or envelope.collected_at >= asset.last_inventory_at:
        asset.last_inventory_at = envelope.collected_at
    asset.save()


def _apply_performance(
    agent: Agent, asset: Asset, envelope: payload.Envelope, data: payload.Performance
) -> None:
    cpu, memory = data.cpu_percent, data.memory_percent
    PerformanceSummary.objects.create(
        asset=asset,
        agent=agent,
        report_id=envelope.report_id,
        window_start=data.window_start,
        window_end=data.window_end,
        samples=data.samples,
        cpu_mean=cpu.mean if cpu else None,
        cpu_p95=cpu.p95 if cpu else None,
        cpu_max=cpu.max if cpu else None,
        memory_mean=memory.mean if memory else None,
        memory_p95=memory.p95 if memory else None,
        memory_max=memory.max if memory else None,
        data=data.model_dump(mode="json"),
    )


@service
def ingest(agent: Agent, body: Any, *, actor: Any) -> list[tuple[str, str]]:
    """Store a batch of reports from ``agent``: all of them, or none (PayloadError).

    Returns ``(report_id, "stored" | "duplicate")`` in the order sent. A report at or below
    the agent's highest stored sequence was stored before (its answer was lost): it is
    acknowledged and not stored again. Kinds that another app owns (backup runs, restore
    drills) go to the handler it registered (:mod:`infogerance.inventory.report_kinds`),
    which may also answer ``duplicate`` for a fact recorded before under its own id."""
    reports = payload.parse_reports(body)
    if len(reports) == 1 and reports[0][0].kind == "heartbeat":
        envelope, heartbeat_data = reports[0]
        if _store_lone_heartbeat(agent.pk, envelope, heartbeat_data):
            return [(str(envelope.report_id), "stored")]
        # Not stored: a replay or a revoked agent, which the general path tells apart.
    last_sequence, revoked = _lock_agent(agent.pk)
    if revoked:
        raise PermissionDenied("revoked agent")
    now = timezone.now()
    asset: Asset | None = None
    results = []
    heartbeat: payload.Heartbeat | None = None
    agent_version: str | None = None
    stored = 0
    for index, (envelope, data) in enumerate(reports):
        if envelope.sequence <= last_sequence:
            results.append((str(envelope.report_id), "duplicate"))
            continue
        last_sequence = envelope.sequence
        outcome = "stored"
        if envelope.kind == "heartbeat":
            heartbeat = data
        elif envelope.kind in report_kinds.OWN_KINDS:
            if asset is None:
                asset = Asset.objects.get(pk=agent.asset_id)
            if envelope.kind == "inventory":
                _apply_inventory(agent, asset, envelope, data, now)
            else:
                _apply_performance(agent, asset, envelope, data)
        else:
            outcome = _hand_over(agent, envelope, data, index)
        if outcome == "stored":
            stored += 1
        if envelope.agent_version:
            agent_version = envelope.agent_version
        results.append((str(envelope.report_id), outcome))
    changes: dict[str, Any] = {
        "last_seen_at": connection.ops.adapt_datetimefield_value(now),
        "last_sequence": last_sequence,
    }
    if agent_version is not None:
        changes["agent_version"] = agent_version
    if heartbeat is not None:
        changes["uptime_seconds"] = heartbeat.uptime_seconds
        changes["cpu_percent"] = heartbeat.cpu_percent
        changes["memory_percent"] = heartbeat.memory_percent
    _update_agent(agent.pk, changes, stored)
    return results


def _hand_over(agent: Agent, envelope: payload.Envelope, data: Any, index: int) -> str:
    """A report of a kind another app stores, to the handler that app registered."""
    handler = report_kinds.handler_for(envelope.kind)
    if handler is None:
        raise payload.PayloadError(
            {f"reports[{index}].kind": [f"this server does not store {envelope.kind} reports"]}
        )
    return handler(report_kinds.AgentReport(agent, envelope, data, index))


def _heartbeat_changes(
    now: dt.datetime, envelope: payload.Envelope, heartbeat: payload.Heartbeat
) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "last_seen_at": connection.ops.adapt_datetimefield_value(now),
        "last_sequence": envelope.sequence,
    }
    if envelope.agent_version:
        changes["agent_version"] = envelope.agent_version
    changes["uptime_seconds"] = heartbeat.uptime_seconds
    changes["cpu_percent"] = heartbeat.cpu_percent
    changes["memory_percent"] = heartbeat.memory_percent
    return changes


def _store_lone_heartbeat(
    agent_id: int, envelope: payload.Envelope, heartbeat: payload.Heartbeat
) -> bool:
    """A batch of one new heartbeat, the most common report by far, stored with one
    statement: the agent's row is updated only if the agent is live and the sequence is
    above its last, which the row's lock makes a check and a write at once. False (nothing
    written) for a replay or a revoked agent: :func:`ingest`'s general path answers them."""
    db = connections[DEFAULT_DB_ALIAS]
    changes = _heartbeat_changes(timezone.now(), envelope, heartbeat)
    sql = _agent_sql(db.vendor)["heartbeat"].format(
        ", ".join(f"{db.ops.quote_name(name)} = %s" for name in changes)
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [*changes.values(), agent_id, envelope.sequence])
        return bool(cursor.rowcount == 1)


# The agent's row is read and written with raw statements (:func:`_agent_sql`): a heartbeat
# is little more than these two, and the ORM's query compiler would cost several times their
# execution.


def _lock_agent(agent_id: int) -> tuple[int, bool]:
    """The agent's highest stored sequence and whether it is revoked, its row locked until
    the transaction ends (so that two deliveries of one agent are stored one after the other)."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(_agent_sql(db.vendor)["lock"], [agent_id])
        row = cursor.fetchone()
    if row is None:
        raise PermissionDenied("unknown agent")
    return int(row[0]), bool(row[1])


def _update_agent(agent_id: int, changes: dict[str, Any], stored: int) -> None:
    db = connections[DEFAULT_DB_ALIAS]
    assignments = ", ".join(f"{db.ops.quote_name(name)} = %s" for name in changes)
    sql = _agent_sql(db.vendor)["update"].format(assignments)
    with db.cursor() as cursor:
        cursor.execute(sql, [*changes.values(), stored, agent_id])


AGENT_ACTOR = SystemActor("agent")


# --- Assets recorded by hand and licences ----------------------------------------------------


def _lease_items(client: Organization) -> set[str]:
    """Items of the rentals of the client's contracts (any version)."""
    from infogerance.contracts.models import ContractVersion

    items = set()
    for version in ContractVersion.objects.filter(contract__organization=client):
        for rental in version.parsed().rentals:
            items.add(rental.item)
    return items


def _clean_asset_fields(client: Organization, fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    unknown = set(fields) - set(ASSET_FIELDS)
    for name in sorted(unknown):
        errors[name] = [_("Unknown field.")]
    choices = {
        "kind": AssetKind.values,
        "lifecycle": Lifecycle.values,
        "ownership": Ownership.values,
    }
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if name in unknown:
            continue
        value = (value or "").strip() if isinstance(value, str) or value is None else value
        if not isinstance(value, str):
            errors[name] = [_("Text is expected.")]
            continue
        limit = getattr(Asset._meta.get_field(name), "max_length", None)
        if limit and len(value) > limit:
            errors[name] = [_("At most %(max)d characters.") % {"max": limit}]
        elif name in choices and value not in choices[name]:
            errors[name] = [_("Choose one of: %(values)s.") % {"values": ", ".join(choices[name])}]
        clean[name] = value
    if "name" in clean and not clean["name"]:
        errors["name"] = [_("This field is required.")]
    if clean.get("lease_item") and clean["lease_item"] not in _lease_items(client):
        errors["lease_item"] = [_("No rental of the client's contracts has this item.")]
    if errors:
        raise ValidationError(errors)
    return clean


@service
def create_asset(*, actor: Any, client: Organization, fields: dict[str, Any]) -> Asset:
    """An asset recorded by hand (network gear, printers, leased items…)."""
    _require(actor, Perm.MANAGE_INVENTORY, client)
    _client(client)
    if "name" not in fields or "kind" not in fields:
        missing = [name for name in ("name", "kind") if name not in fields]
        raise ValidationError({name: [_("This field is required.")] for name in missing})
    clean = _clean_asset_fields(client, fields)
    asset = Asset.objects.create(organization=client, source=AssetSource.MANUAL, **clean)
    record(
        actor=actor,
        action="inventory.asset_create",
        target=asset,
        tenant=client.tenant,
        after=snapshot(asset, ASSET_FIELDS),
    )
    return asset


@service
def update_asset(
    asset: Asset, *, actor: Any, fields: dict[str, Any], expected_version: int | None = None
) -> Asset:
    """Change an asset's descriptive fields (an agent's asset keeps its reported facts)."""
    asset = Asset.objects.select_for_update().select_related("organization").get(pk=asset.pk)
    _require(actor, Perm.MANAGE_INVENTORY, asset.organization)
    if expected_version is not None and expected_version != asset.version:
        raise ValidationError(
            {
                "version": [
                    _("This asset changed meanwhile (version %(now)d, not %(seen)d): reload it.")
                    % {"now": asset.version, "seen": expected_version}
                ]
            }
        )
    if asset.source == AssetSource.AGENT:
        reported = set(fields) & {"hostname", "vendor", "model", "serial", "os_name", "os_version"}
        if reported:
            raise ValidationError(
                {
                    name: [_("Reported by the agent: it cannot be changed by hand.")]
                    for name in sorted(reported)
                }
            )
    clean = _clean_asset_fields(asset.organization, fields)
    before = snapshot(asset, ASSET_FIELDS)
    for name, value in clean.items():
        setattr(asset, name, value)
    old, new = changed(before, snapshot(asset, ASSET_FIELDS))
    if new:
        asset.version += 1
        asset.save()
        record(
            actor=actor,
            action="inventory.asset_update",
            target=asset,
            tenant=asset.organization.tenant,
            before=old,
            after=new,
        )
    return asset


@service
def save_licence(
    *,
    actor: Any,
    client: Organization,
    product: str,
    software_name: str,
    owned: int,
    notes: str = "",
    licence: Licence | None = None,
) -> Licence:
    """Record (or change) the licences a client owns for a product."""
    _require(actor, Perm.MANAGE_INVENTORY, client)
    _client(client)
    errors: dict[str, list[str]] = {}
    product, software_name = product.strip(), software_name.strip()
    if not product:
        errors["product"] = [_("This field is required.")]
    if not software_name:
        errors["software_name"] = [_("This field is required.")]
    if len(product) > 255 or len(software_name) > 255:
        errors.setdefault("product", []).append(_("At most %(max)d characters.") % {"max": 255})
    if not 0 <= owned <= 10_000_000:
        errors["owned"] = [_("Between 0 and 10,000,000.")]
    if errors:
        raise ValidationError(errors)
    before = snapshot(licence) if licence else {}
    licence = licence or Licence(organization=client)
    licence.product, licence.software_name, licence.owned = product, software_name, owned
    licence.notes = notes.strip()
    licence.save()
    record(
        actor=actor,
        action="inventory.licence_save",
        target=licence,
        tenant=client.tenant,
        before=before or None,
        after=snapshot(licence, ["product", "software_name", "owned", "notes"]),
    )
    return licence


# --- Reads -----------------------------------------------------------------------------------


def visible_assets(user: Any) -> QuerySet[Asset]:
    return scope.visible(Asset, user, Perm.VIEW_INVENTORY).select_related("organization")


def licence_usage(licences: Iterable[Licence]) -> dict[int, int]:
    """Installations found per licence: in-service assets of the licence's client with a
    software of that name (case-insensitive), each asset counted once. One query for all."""
    licences = list(licences)
    if not licences:
        return {}
    found = {
        (row["asset__organization_id"], row["lname"]): row["n"]
        for row in InstalledSoftware.objects.annotate(lname=Lower("name"))
        .filter(
            asset__organization_id__in={lic.organization_id for lic in licences},
            asset__lifecycle=Lifecycle.IN_SERVICE,
            lname__in={lic.software_name.lower() for lic in licences},
        )
        .values("asset__organization_id", "lname")
        .annotate(n=Count("asset_id", distinct=True))
    }
    return {
        lic.pk: found.get((lic.organization_id, lic.software_name.lower()), 0) for lic in licences
    }
