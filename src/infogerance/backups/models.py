"""Backups on the platform: each client's repository, and the record of every backup run and
restore drill, per client and asset.

The engine that writes the repositories is :mod:`infogerance.backup` (no Django): it runs on
the machines and reports what it did. These rows are that record: immutable, one per run or
drill, identified by the id the engine gave it (a replay is recognised, not stored twice).
The service levels of backups (success rate, achieved RPO, restore tests) are measured from
them.

One repository and one key per client: repositories are never shared between clients, since
deduplication across clients would let one infer another's data from chunk patterns. The
platform keeps where the key is kept (``key_reference``), never the key.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from infogerance.core.models import Immutable, TenantOwned, TenantQuerySet, TimeStamped


class BackupRepository(TenantOwned, TimeStamped):
    name = models.CharField(_("name"), max_length=100)
    location = models.CharField(
        _("location"), max_length=500, help_text=_("A path, or an s3: address.")
    )
    repository_id = models.CharField(_("repository id"), max_length=64, blank=True)
    # The contract's backup service whose levels these runs count for (e.g. SAUV).
    service_code = models.CharField(_("contract service"), max_length=40, blank=True)
    key_reference = models.CharField(
        _("where the key is kept"),
        max_length=300,
        blank=True,
        help_text=_("A vault entry or a file on the backup host; never the key itself."),
    )

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("backup repository")
        verbose_name_plural = _("backup repositories")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="backups_repository_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    SUCCESS = "success", _("Succeeded")
    PARTIAL = "partial", _("Partly failed")
    FAILED = "failed", _("Failed")
    MISSED = "missed", _("Did not run")


class BackupRun(Immutable):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="+"
    )
    repository = models.ForeignKey(BackupRepository, on_delete=models.PROTECT, related_name="runs")
    asset = models.ForeignKey(
        "inventory.Asset", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    run_id = models.UUIDField(unique=True)
    scope = models.CharField(_("scope"), max_length=200)
    scheduled_at = models.DateTimeField(_("scheduled"), null=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices)
    snapshot_id = models.CharField(_("snapshot"), max_length=64, blank=True)
    snapshot_time = models.DateTimeField(null=True)
    files = models.BigIntegerField(_("files"), default=0)
    bytes_read = models.BigIntegerField(_("bytes read"), default=0)
    bytes_added = models.BigIntegerField(_("bytes added"), default=0)
    verification = models.CharField(_("verification"), max_length=20, blank=True)
    verification_ok = models.BooleanField(null=True)
    error = models.TextField(_("error"), blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.CharField(max_length=254)

    TENANT_ORG_FIELD: ClassVar[str] = "organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "organization__provider_id"
    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-started_at"], name="backups_run_org"),
            models.Index(fields=["repository", "-started_at"], name="backups_run_repo"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class RestoreDrill(Immutable):
    """A snapshot restored to a scratch place and every file compared with it: the proof
    that the backup gives back a true copy, and the time it took (RTO) for data that old
    (RPO)."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="+"
    )
    repository = models.ForeignKey(
        BackupRepository, on_delete=models.PROTECT, related_name="drills"
    )
    asset = models.ForeignKey(
        "inventory.Asset", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    drill_id = models.UUIDField(unique=True)
    snapshot_id = models.CharField(_("snapshot"), max_length=64)
    snapshot_time = models.DateTimeField(_("snapshot time"))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    files_checked = models.BigIntegerField(_("files checked"))
    bytes_checked = models.BigIntegerField(_("bytes checked"))
    mismatches = models.BigIntegerField(_("files that differ"))
    passed = models.BooleanField(_("passed"))
    evidence = models.JSONField(default=dict)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.CharField(max_length=254)

    TENANT_ORG_FIELD: ClassVar[str] = "organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "organization__provider_id"
    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"drill {self.snapshot_id[:8]} {self.started_at:%Y-%m-%d}"

    @property
    def rto_seconds(self) -> float:
        """How long the restore took."""
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def rpo_seconds(self) -> float:
        """How old the restored data was when the drill began."""
        return (self.started_at - self.snapshot_time).total_seconds()
