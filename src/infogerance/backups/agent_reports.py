"""Backup runs and restore drills reported by an enrolled agent (``agent backup``, ``agent
drill``), recorded on the agent's own client and asset.

``inventory`` receives the reports and hands these two kinds over through its registry
(:mod:`infogerance.inventory.report_kinds`); :class:`~infogerance.backups.apps.BackupsConfig`
registers the handlers below when the app is ready.

The repository is looked up by the restic repository's id **among the agent's client's
repositories only**, and the asset is the agent's own, never one named in the report: an
agent cannot record anything on another client's repository or another machine. The run or
drill is recorded by :func:`~infogerance.backups.services.record_run` /
:func:`~infogerance.backups.services.record_drill` (audited, with the agent as actor); one
already recorded under the same id is acknowledged as a duplicate, not stored again.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import translation

from infogerance.backups import services
from infogerance.backups.models import BackupRepository
from infogerance.inventory import payload, report_kinds
from infogerance.inventory.report_kinds import AgentReport, Outcome


def _repository(report: AgentReport, repository_id: str) -> BackupRepository:
    found = list(
        BackupRepository.objects.filter(
            organization_id=report.agent.organization_id, repository_id=repository_id
        ).select_related("organization")[:2]
    )
    if not found:
        raise report.refuse(
            {
                "repository_id": [
                    f"no backup repository of this agent's client has the id {repository_id}: "
                    "declare it on the platform (Backups, with this repository id) and send "
                    "the report again"
                ]
            }
        )
    if len(found) > 1:
        raise report.refuse(
            {
                "repository_id": [
                    f"several backup repositories of this agent's client have the id "
                    f"{repository_id}: keep the id on one of them"
                ]
            }
        )
    return found[0]


def store_backup_run(report: AgentReport) -> Outcome:
    data: payload.BackupRunData = report.data
    repository = _repository(report, data.repository_id)
    # The agent API answers in English, as the protocol's own errors are.
    with translation.override("en"):
        try:
            _run, created = services.record_run(
                actor=report.actor,
                repository=repository,
                run_id=data.run_id,
                scope_name=data.scope,
                started_at=data.started_at,
                finished_at=data.finished_at,
                status=data.status,
                asset_id=report.agent.asset_id,
                snapshot_id=data.snapshot_id or "",
                snapshot_time=data.snapshot_time,
                files=data.files,
                bytes_read=data.bytes_read,
                bytes_added=data.bytes_added,
                verification=data.verification,
                verification_ok=data.verification_ok,
                error=data.error,
            )
        except ValidationError as exc:
            raise report.refuse_validation(exc) from None
    return "stored" if created else "duplicate"


def store_restore_drill(report: AgentReport) -> Outcome:
    data: payload.RestoreDrillData = report.data
    repository = _repository(report, data.repository_id)
    evidence = data.evidence.model_dump(mode="json", exclude_defaults=True)
    with translation.override("en"):
        try:
            _drill, created = services.record_drill(
                actor=report.actor,
                repository=repository,
                drill_id=data.drill_id,
                snapshot_id=data.snapshot_id,
                snapshot_time=data.snapshot_time,
                started_at=data.started_at,
                finished_at=data.finished_at,
                files_checked=data.files_checked,
                bytes_checked=data.bytes_checked,
                mismatches=data.mismatches,
                asset_id=report.agent.asset_id,
                evidence=evidence,
                failures=list(data.errors),
            )
        except ValidationError as exc:
            raise report.refuse_validation(exc) from None
    return "stored" if created else "duplicate"


def register() -> None:
    report_kinds.register("backup_run", store_backup_run)
    report_kinds.register("restore_drill", store_restore_drill)
