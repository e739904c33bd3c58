"""The client's estate: assets, their components and software, and the agents that feed them.

An :class:`Asset` belongs to one client. It is either fed by an :class:`Agent` (a machine that
reports its own facts) or recorded by hand (network gear, printers, licences, leased items).
What an agent reported is kept as immutable :class:`InventorySnapshot` rows, one per change of
the machine's stable facts; the asset row, its components and its software are the current
projection of the latest snapshot, written by the services in the same transaction.

Agents enrol with an :class:`EnrollmentToken` created for a client by a provider
administrator; each agent then holds its own credential, of which the server keeps only the
SHA-256 (credentials are long random strings: a slow password hash would buy nothing and
cost every heartbeat).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infogerance.core.fields import PackedJSONField
from infogerance.core.models import Immutable, TenantOwned, TenantQuerySet, TimeStamped


class AssetKind(models.TextChoices):
    SERVER = "server", _("Server")
    WORKSTATION = "workstation", _("Workstation")
    LAPTOP = "laptop", _("Laptop")
    NETWORK = "network", _("Network equipment")
    PRINTER = "printer", _("Printer")
    PHONE = "phone", _("Phone or tablet")
    OTHER = "other", _("Other")


class AssetSource(models.TextChoices):
    AGENT = "agent", _("Agent")
    MANUAL = "manual", _("Recorded by hand")


class Lifecycle(models.TextChoices):
    IN_SERVICE = "in_service", _("In service")
    IN_STOCK = "in_stock", _("In stock")
    RETIRED = "retired", _("Retired")


class Ownership(models.TextChoices):
    CLIENT = "client", _("Client")
    PROVIDER = "provider", _("Provider")
    LESSOR = "lessor", _("Lessor")


class Asset(TenantOwned, TimeStamped):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=AssetKind.choices)
    source = models.CharField(_("source"), max_length=10, choices=AssetSource.choices)
    lifecycle = models.CharField(
        _("lifecycle"), max_length=20, choices=Lifecycle.choices, default=Lifecycle.IN_SERVICE
    )
    ownership = models.CharField(
        _("owner"), max_length=10, choices=Ownership.choices, default=Ownership.CLIENT
    )
    # The item of the contract's `rentals` this asset is leased under (by its name).
    lease_item = models.CharField(_("lease line"), max_length=200, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Bumped by every change made by a person: an edit based on an older version is refused.
    version = models.PositiveIntegerField(default=1)
    # Identity and facts (from the latest inventory, or typed by hand).
    hostname = models.CharField(_("host name"), max_length=255, blank=True)
    fqdn = models.CharField(_("FQDN"), max_length=255, blank=True)
    machine_id = models.CharField(max_length=64, blank=True)
    vendor = models.CharField(_("manufacturer"), max_length=200, blank=True)
    model = models.CharField(_("model"), max_length=200, blank=True)
    serial = models.CharField(_("serial number"), max_length=200, blank=True)
    os_family = models.CharField(_("OS family"), max_length=20, blank=True)
    os_id = models.CharField(max_length=50, blank=True)
    os_name = models.CharField(_("operating system"), max_length=200, blank=True)
    os_version = models.CharField(_("OS version"), max_length=100, blank=True)
    kernel = models.CharField(_("kernel"), max_length=200, blank=True)
    arch = models.CharField(_("architecture"), max_length=30, blank=True)
    cpu_model = models.CharField(_("processor"), max_length=200, blank=True)
    cpu_cores = models.PositiveIntegerField(_("cores"), null=True, blank=True)
    memory_bytes = models.BigIntegerField(_("memory"), null=True, blank=True)
    software_count = models.PositiveIntegerField(_("software"), default=0)
    pending_updates = models.PositiveIntegerField(_("pending updates"), null=True, blank=True)
    security_updates = models.PositiveIntegerField(_("security updates"), null=True, blank=True)
    # The smallest share of free space over the asset's disks (0–1), for "short of disk".
    disk_free_ratio = models.FloatField(null=True, blank=True)
    last_inventory_at = models.DateTimeField(_("last inventory"), null=True, blank=True)
    inventory_sha256 = models.CharField(max_length=64, blank=True)
    software_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        indexes = [
            # The list across a provider's clients is ordered by name: without this index,
            # PostgreSQL sorted every visible asset for each page (docs/benchmarks.md).
            models.Index(fields=["name", "id"], name="inv_asset_name"),
            models.Index(fields=["organization", "name", "id"], name="inv_asset_org_name"),
            models.Index(fields=["organization", "kind"], name="inv_asset_org_kind"),
            models.Index(fields=["machine_id"], name="inv_asset_machine"),
        ]

    def __str__(self) -> str:
        return self.name


class ComponentKind(models.TextChoices):
    CPU = "cpu", _("Processor")
    DISK = "disk", _("Disk")
    INTERFACE = "interface", _("Network interface")


class AssetComponent(models.Model):
    """A typed part of an asset: a processor, a disk (a mounted filesystem), an interface."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="components")
    kind = models.CharField(max_length=20, choices=ComponentKind.choices)
    name = models.CharField(max_length=255)
    capacity_bytes = models.BigIntegerField(null=True)
    used_bytes = models.BigIntegerField(null=True)
    details = models.JSONField(default=dict)

    TENANT_ORG_FIELD: ClassVar[str] = "asset__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "asset__organization__provider_id"
    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class InstalledSoftware(models.Model):
    """A software package installed on an asset, as its latest inventory listed it."""

    # No index of its own: the (asset, lower(name)) index below serves lookups by asset (an
    # index more costs every row an inventory writes). No constraint in the database either:
    # checking it cost PostgreSQL more than writing the row (a lookup of the asset per row,
    # 1,500 for a first inventory), for rows that only ingestion writes, for the agent's own
    # asset, locked; assets are retired, never deleted, and Django's CASCADE still applies.
    asset = models.ForeignKey(
        Asset,
        on_delete=models.CASCADE,
        related_name="software",
        db_index=False,
        db_constraint=False,
    )
    name = models.CharField(max_length=255)
    version = models.CharField(max_length=255, blank=True)
    publisher = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=20)
    installed_at = models.DateTimeField(null=True)

    TENANT_ORG_FIELD: ClassVar[str] = "asset__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "asset__organization__provider_id"
    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        # Rows are read by asset, and licences are counted by asset and lower-cased name (a
        # probe per asset of the client instead of reading all its packages: 240 → 28 ms
        # for 5,000 assets). No index on the name alone: its inserts land all over the tree
        # (1,500 rows cost PostgreSQL 9.6 ms with it, 5.4 ms without) and no query needs it.
        indexes = [models.Index(F("asset"), Lower("name"), name="inv_software_asset_name")]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class EnrollmentToken(TenantOwned):
    """What an agent presents once to enrol on a client: expiring, counted, revocable."""

    label = models.CharField(_("label"), max_length=200)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires"))
    max_uses = models.PositiveIntegerField(_("uses allowed"))
    uses = models.PositiveIntegerField(_("uses"), default=0)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    created_by = models.ForeignKey(
        "tenancy.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("enrolment token")

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…)"

    def state(self, now: dt.datetime | None = None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if self.uses >= self.max_uses:
            return "exhausted"
        return "active"


class AgentHealth(models.TextChoices):
    OK = "ok", _("Reporting")
    LATE = "late", _("Late")
    OFFLINE = "offline", _("Offline")
    NEVER = "never", _("Never reported")
    REVOKED = "revoked", _("Revoked")


class Agent(TenantOwned):
    """An enrolled agent: one machine, one asset, one credential."""

    uid = models.UUIDField(unique=True)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="agents")
    credential_hash = models.CharField(max_length=64, unique=True)
    enrolled_with = models.ForeignKey(
        EnrollmentToken, on_delete=models.PROTECT, related_name="agents"
    )
    enrolled_at = models.DateTimeField(auto_now_add=True)
    agent_version = models.CharField(max_length=40, blank=True)
    heartbeat_seconds = models.PositiveIntegerField(default=60)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # The highest report sequence stored: reports come in order, so a report at or below it
    # is a replay (the answer to an earlier delivery was lost) and is acknowledged, not stored.
    last_sequence = models.BigIntegerField(default=0)
    reports_stored = models.BigIntegerField(default=0)
    uptime_seconds = models.BigIntegerField(null=True)
    cpu_percent = models.FloatField(null=True)
    memory_percent = models.FloatField(null=True)

    class Meta:
        ordering = ["-enrolled_at", "-pk"]
        verbose_name = _("agent")

    def __str__(self) -> str:
        return f"agent {self.uid}"

    def health(self, now: dt.datetime | None = None) -> str:
        """Reporting within three heartbeats, late within thirty, offline beyond
        (:func:`with_health` says the same in SQL)."""
        if self.revoked_at is not None:
            return AgentHealth.REVOKED
        if self.last_seen_at is None:
            return AgentHealth.NEVER
        silence = (now or timezone.now()) - self.last_seen_at
        if silence <= dt.timedelta(seconds=LATE_AFTER * self.heartbeat_seconds):
            return AgentHealth.OK
        if silence <= dt.timedelta(seconds=OFFLINE_AFTER * self.heartbeat_seconds):
            return AgentHealth.LATE
        return AgentHealth.OFFLINE


# Heartbeats missed before an agent is late, and offline.
LATE_AFTER = 3
OFFLINE_AFTER = 30
# The order in which the dashboard lists agents: those needing attention first.
HEALTH_ORDER = (
    AgentHealth.OFFLINE,
    AgentHealth.LATE,
    AgentHealth.NEVER,
    AgentHealth.OK,
    AgentHealth.REVOKED,
)


def with_health(agents: models.QuerySet[Agent], now: dt.datetime) -> models.QuerySet[Any]:
    """``agents`` annotated with ``health_state`` (what :meth:`Agent.health` says at ``now``)
    and ``health_rank`` (its place in :data:`HEALTH_ORDER`), so that a fleet is counted,
    filtered and sorted by health in the database. The thresholds depend on each agent's
    heartbeat period: one pair of conditions per distinct period (there are few), so the
    comparison is of times with times on every database."""
    periods = agents.order_by().values_list("heartbeat_seconds", flat=True).distinct()
    whens = [
        models.When(revoked_at__isnull=False, then=models.Value(AgentHealth.REVOKED.value)),
        models.When(last_seen_at__isnull=True, then=models.Value(AgentHealth.NEVER.value)),
    ]
    for seconds in sorted(periods):
        for health, beats in ((AgentHealth.OK, LATE_AFTER), (AgentHealth.LATE, OFFLINE_AFTER)):
            whens.append(
                models.When(
                    heartbeat_seconds=seconds,
                    last_seen_at__gte=now - dt.timedelta(seconds=beats * seconds),
                    then=models.Value(health.value),
                )
            )
    state = models.Case(
        *whens, default=models.Value(AgentHealth.OFFLINE.value), output_field=models.CharField()
    )
    rank = models.Case(
        *(
            models.When(health_state=value, then=models.Value(index))
            for index, value in enumerate(HEALTH_ORDER)
        ),
        output_field=models.IntegerField(),
    )
    return agents.annotate(health_state=state).annotate(health_rank=rank)


class InventorySnapshot(Immutable):
    """An inventory as an agent reported it, kept when the machine's stable facts changed."""

    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="snapshots", db_index=False
    )  # indexed by (asset, -collected_at) below
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="+")
    report_id = models.UUIDField(unique=True)
    sequence = models.BigIntegerField()
    collected_at = models.DateTimeField()
    received_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64)
    # Read whole, in Python (the diff of two snapshots), never queried: kept zstd-compressed.
    data = PackedJSONField()

    TENANT_ORG_FIELD: ClassVar[str] = "asset__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "asset__organization__provider_id"
    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-collected_at", "-pk"]
        indexes = [models.Index(fields=["asset", "-collected_at"], name="inv_snapshot_asset")]

    def __str__(self) -> str:
        return f"inventory of {self.collected_at:%Y-%m-%d %H:%M}"


class PerformanceSummary(Immutable):
    """Performance sampled by an agent over a window, summarised (mean, p95, max)."""

    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="performance", db_index=False
    )  # indexed by (asset, -window_end) below
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="+")
    report_id = models.UUIDField(unique=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    samples = models.PositiveIntegerField()
    cpu_mean = models.FloatField(null=True)
    cpu_p95 = models.FloatField(null=True)
    cpu_max = models.FloatField(null=True)
    memory_mean = models.FloatField(null=True)
    memory_p95 = models.FloatField(null=True)
    memory_max = models.FloatField(null=True)
    data = models.JSONField()

    TENANT_ORG_FIELD: ClassVar[str] = "asset__organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "asset__organization__provider_id"
    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-window_end", "-pk"]
        indexes = [models.Index(fields=["asset", "-window_end"], name="inv_perf_asset")]

    def __str__(self) -> str:
        return f"performance {self.window_start:%Y-%m-%d %H:%M}–{self.window_end:%H:%M}"


class Licence(TenantOwned, TimeStamped):
    """Licences a client owns for a product, compared with the installations found."""

    product = models.CharField(_("product"), max_length=255)
    # Installed software whose name equals this (case-insensitive) counts as an installation.
    software_name = models.CharField(_("software name"), max_length=255)
    owned = models.PositiveIntegerField(_("licences owned"))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["product", "pk"]
        verbose_name = _("licence")

    def __str__(self) -> str:
        return self.product
