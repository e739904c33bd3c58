"""Writes on the backup records: repositories, runs and drills. Every write is audited; a run
or drill already recorded (same id) is returned as it is, never stored twice."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from infogerance.audit.services import record
from infogerance.backups.models import BackupRepository, BackupRun, RestoreDrill, RunStatus
from infogerance.core.actors import actor_label
from infogerance.core.services import service
from infogerance.core.snapshots import changed, snapshot
from infogerance.inventory.models import Asset
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import OrganizationKind, Perm

HEX = re.compile(r"^[0-9a-f]{64}$")
SERVICE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
VERIFICATION_TIERS = ("", "structure", "subset", "all")


def visible_repositories(user: Any) -> QuerySet[BackupRepository]:
    return scope.visible(BackupRepository, user, Perm.VIEW_INVENTORY).select_related("organization")


REPOSITORY_FIELDS = ("name", "location", "service_code", "key_reference", "repository_id")


def _clean_repository(
    client: Organization, fields: dict[str, Any], exclude_pk: int | None = None
) -> dict[str, str]:
    """The repository's fields, trimmed and checked (errors name the field; nothing is
    written)."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for name in sorted(set(fields) - set(REPOSITORY_FIELDS)):
        errors[name] = [_("Unknown field.")]
    for name in REPOSITORY_FIELDS:
        if name not in fields:
            continue
        value = fields[name]
        if not isinstance(value, str):
            errors[name] = [_("Text is expected.")]
            continue
        clean[name] = value.strip()
    if "name" in clean:
        others = BackupRepository.objects.filter(organization=client, name=clean["name"])
        if exclude_pk is not None:
            others = others.exclude(pk=exclude_pk)
        if not clean["name"]:
            errors["name"] = [_("This field is required.")]
        elif others.exists():
            errors["name"] = [_("This client already has a repository of this name.")]
    if "location" in clean and not clean["location"]:
        errors["location"] = [_("This field is required.")]
    if clean.get("service_code") and not SERVICE_CODE.match(clean["service_code"]):
        errors["service_code"] = [_("A service code, as in the contract (e.g. SAUV).")]
    if clean.get("repository_id") and not HEX.match(clean["repository_id"]):
        errors["repository_id"] = [_("64 hexadecimal digits (the repository's config id).")]
    for name, limit in (("name", 100), ("location", 500), ("key_reference", 300)):
        if len(clean.get(name, "")) > limit:
            errors[name] = [_("At most %(max)d characters.") % {"max": limit}]
    if errors:
        raise ValidationError(errors)
    return clean


@service
def create_repository(
    *,
    actor: Any,
    client: Organization,
    name: str,
    location: str,
    service_code: str = "",
    key_reference: str = "",
    repository_id: str = "",
) -> BackupRepository:
    scope.require(actor, Perm.MANAGE_INVENTORY, client)
    if client.kind != OrganizationKind.CLIENT:
        raise ValidationError({"organization_id": [_("Choose a client organisation.")]})
    clean = _clean_repository(
        client,
        {
            "name": name,
            "location": location,
            "service_code": service_code,
            "key_reference": key_reference,
            "repository_id": repository_id,
        },
    )
    repository = BackupRepository.objects.create(organization=client, **clean)
    record(
        actor=actor,
        action="backups.repository_create",
        target=repository,
        tenant=client.tenant,
        after=snapshot(repository, list(REPOSITORY_FIELDS)),
    )
    return repository


@service
def update_repository(
    repository: BackupRepository, *, actor: Any, fields: dict[str, Any]
) -> BackupRepository:
    """Change what the platform knows of a repository: where it is, its service, where its
    key is kept, its restic id (to link the runs that agents report). Its records stay."""
    repository = (
        BackupRepository.objects.select_for_update()
        .select_related("organization")
        .get(pk=repository.pk)
    )
    scope.require(actor, Perm.MANAGE_INVENTORY, repository.organization)
    clean = _clean_repository(repository.organization, fields, exclude_pk=repository.pk)
    before = snapshot(repository, list(REPOSITORY_FIELDS))
    for name, value in clean.items():
        setattr(repository, name, value)
    old, new = changed(before, snapshot(repository, list(REPOSITORY_FIELDS)))
    if new:
        repository.save()
        record(
            actor=actor,
            action="backups.repository_update",
            target=repository,
            tenant=repository.organization.tenant,
            before=old,
            after=new,
        )
    return repository


def _asset(
    repository: BackupRepository, asset_id: int | None, errors: dict[str, list[str]]
) -> Asset | None:
    if asset_id is None:
        return None
    asset = Asset.objects.filter(pk=asset_id, organization_id=repository.organization_id).first()
    if asset is None:
        errors["asset_id"] = [_("No asset of this client has this id.")]
    return asset


def _times(errors: dict[str, list[str]], started_at: dt.datetime, finished_at: dt.datetime) -> None:
    if started_at.tzinfo is None or finished_at.tzinfo is None:
        errors["started_at"] = [_("Give instants with their offset.")]
    elif finished_at < started_at:
        errors["finished_at"] = [_("The end comes before the start.")]


@service
def record_run(
    *,
    actor: Any,
    repository: BackupRepository,
    run_id: uuid.UUID,
    scope_name: str,
    started_at: dt.datetime,
    finished_at: dt.datetime,
    status: str,
    asset_id: int | None = None,
    scheduled_at: dt.datetime | None = None,
    snapshot_id: str = "",
    snapshot_time: dt.datetime | None = None,
    files: int = 0,
    bytes_read: int = 0,
    bytes_added: int = 0,
    verification: str = "",
    verification_ok: bool | None = None,
    error: str = "",
) -> tuple[BackupRun, bool]:
    """Record a backup run; returns it and whether it is new (False: recorded before)."""
    scope.require(actor, Perm.RECORD_OPERATIONS, repository.organization)
    existing = BackupRun.objects.filter(run_id=run_id).first()
    if existing is not None:
        if existing.repository_id != repository.pk:
            raise ValidationError({"run_id": [_("This id belongs to another run.")]})
        return existing, False
    errors: dict[str, list[str]] = {}
    asset = _asset(repository, asset_id, errors)
    _times(errors, started_at, finished_at)
    if status not in RunStatus.values:
        errors["status"] = [
            _("Choose one of: %(values)s.") % {"values": ", ".join(RunStatus.values)}
        ]
    if not scope_name.strip():
        errors["scope"] = [_("This field is required.")]
    if snapshot_id and not HEX.match(snapshot_id):
        errors["snapshot_id"] = [_("64 hexadecimal digits.")]
    if status == RunStatus.SUCCESS and not snapshot_id:
        errors["snapshot_id"] = [_("A successful run names the snapshot it made.")]
    if verification not in VERIFICATION_TIERS:
        errors["verification"] = [_("Choose one of: structure, subset, all.")]
    for name, value in (("files", files), ("bytes_read", bytes_read), ("bytes_added", bytes_added)):
        if value < 0:
            errors[name] = [_("Not below zero.")]
    if errors:
        raise ValidationError(errors)
    run = BackupRun.objects.create(
        organization_id=repository.organization_id,
        repository=repository,
        asset=asset,
        run_id=run_id,
        scope=scope_name.strip()[:200],
        scheduled_at=scheduled_at,
        started_at=started_at,
        finished_at=finished_at,
        status=status,
        snapshot_id=snapshot_id,
        snapshot_time=snapshot_time or (finished_at if snapshot_id else None),
        files=files,
        bytes_read=bytes_read,
        bytes_added=bytes_added,
        verification=verification,
        verification_ok=verification_ok,
        error=error[:5000],
        recorded_by=actor_label(actor)[:254],
    )
    record(
        actor=actor,
        action="backups.run_record",
        target=run,
        tenant=repository.organization.tenant,
        after={"status": status, "scope": run.scope, "snapshot": snapshot_id},
    )
    return run, True


@service
def record_drill(
    *,
    actor: Any,
    repository: BackupRepository,
    drill_id: uuid.UUID,
    snapshot_id: str,
    snapshot_time: dt.datetime,
    started_at: dt.datetime,
    finished_at: dt.datetime,
    files_checked: int,
    bytes_checked: int,
    mismatches: int,
    asset_id: int | None = None,
    evidence: dict[str, Any] | None = None,
    failures: list[str] | None = None,
) -> tuple[RestoreDrill, bool]:
    """Record a restore drill: passed when every file came back identical.

    ``failures`` say what kept the restore from finishing (a damaged pack…): a drill with any
    has failed, whatever the files compared before; they are kept in the evidence."""
    scope.require(actor, Perm.RECORD_OPERATIONS, repository.organization)
    existing = RestoreDrill.objects.filter(drill_id=drill_id).first()
    if existing is not None:
        if existing.repository_id != repository.pk:
            raise ValidationError({"drill_id": [_("This id belongs to another drill.")]})
        return existing, False
    errors: dict[str, list[str]] = {}
    asset = _asset(repository, asset_id, errors)
    _times(errors, started_at, finished_at)
    if not HEX.match(snapshot_id):
        errors["snapshot_id"] = [_("64 hexadecimal digits.")]
    if (
        snapshot_time.tzinfo is not None
        and started_at.tzinfo is not None
        and snapshot_time > started_at
    ):
        errors["snapshot_time"] = [_("The snapshot cannot be younger than the drill.")]
    for name, value in (
        ("files_checked", files_checked),
        ("bytes_checked", bytes_checked),
        ("mismatches", mismatches),
    ):
        if value < 0:
            errors[name] = [_("Not below zero.")]
    if mismatches > files_checked:
        errors["mismatches"] = [_("More files differ than were checked.")]
    if errors:
        raise ValidationError(errors)
    drill = RestoreDrill.objects.create(
        organization_id=repository.organization_id,
        repository=repository,
        asset=asset,
        drill_id=drill_id,
        snapshot_id=snapshot_id,
        snapshot_time=snapshot_time,
        started_at=started_at,
        finished_at=finished_at,
        files_checked=files_checked,
        bytes_checked=bytes_checked,
        mismatches=mismatches,
        passed=mismatches == 0 and files_checked > 0 and not failures,
        evidence={**(evidence or {}), **({"failures": failures} if failures else {})},
        recorded_by=actor_label(actor)[:254],
    )
    record(
        actor=actor,
        action="backups.drill_record",
        target=drill,
        tenant=repository.organization.tenant,
        after={
            "snapshot": snapshot_id,
            "passed": drill.passed,
            "files_checked": files_checked,
            "mismatches": mismatches,
            "failures": len(failures or []),
            "rto_seconds": drill.rto_seconds,
            "rpo_seconds": drill.rpo_seconds,
        },
    )
    return drill, True
