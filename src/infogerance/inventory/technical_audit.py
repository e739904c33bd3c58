"""The technical audit of a client's estate (audit technique), meant to be annexed to the
contract: what is there, what is out of support, what is short of resources, what waits for
updates, how the machines perform, what software runs where, licences against installations.

Everything is read from the inventory as it stands (``today``); performance baselines cover
the last ``BASELINE_DAYS`` days of summaries sent by the agents.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, FloatField, Max, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDate
from django.template.loader import render_to_string
from django.utils import timezone, translation

from infogerance.core.documents import PRINT_CSS, render_pdf, trend_svg
from infogerance.inventory import eol
from infogerance.inventory.models import (
    Agent,
    Asset,
    AssetKind,
    InstalledSoftware,
    Licence,
    Lifecycle,
    PerformanceSummary,
)
from infogerance.inventory.services import licence_usage
from infogerance.tenancy.models import Organization

BASELINE_DAYS = 30
# Thresholds of the findings.
LOW_DISK_RATIO = 0.10  # less than 10 % free on some disk
HIGH_MEMORY_PERCENT = 90.0  # memory p95 at or above 90 % over the baseline
HIGH_CPU_PERCENT = 85.0  # processor p95 at or above 85 % over the baseline
STALE_DAYS = 7  # an agent's asset with no inventory for a week
TOP_SOFTWARE = 30
PRINT_TEMPLATE = "inventory/audit_print.html"


# The rates an agent sends only in a summary's data (bytes per second), whose 95th percentiles
# the baselines give: the busiest window's.
RATES = (
    "disk_read_bytes_per_s",
    "disk_write_bytes_per_s",
    "net_recv_bytes_per_s",
    "net_sent_bytes_per_s",
)


@dataclass(frozen=True)
class Baseline:
    asset: Asset
    samples: int
    cpu_mean: float | None
    cpu_p95: float | None
    cpu_max: float | None
    memory_mean: float | None
    memory_p95: float | None
    memory_max: float | None
    disk_read_p95: float | None
    disk_write_p95: float | None
    net_recv_p95: float | None
    net_sent_p95: float | None
    chart: str


def _rate_p95(rate: str) -> Max:
    return Max(Cast(KT(f"data__{rate}__p95"), FloatField()))


def _baselines(assets: list[Asset], since: dt.datetime) -> list[Baseline]:
    """Per asset, over its summaries since ``since``: the mean of the windows' means, the
    highest p95 and the highest maximum (disk and network: the highest p95); the chart is the
    daily mean processor load. Aggregated by the database: a month of 15-minute windows is
    2,880 summaries a machine."""
    summaries = PerformanceSummary.objects.filter(asset__in=assets, window_end__gte=since)
    totals = {
        row["asset_id"]: row
        for row in summaries.order_by()
        .values("asset_id")
        .annotate(
            n=Sum("samples"),
            cpu_avg=Avg("cpu_mean"),
            cpu_top=Max("cpu_p95"),
            cpu_peak=Max("cpu_max"),
            memory_avg=Avg("memory_mean"),
            memory_top=Max("memory_p95"),
            memory_peak=Max("memory_max"),
            disk_read_top=_rate_p95("disk_read_bytes_per_s"),
            disk_write_top=_rate_p95("disk_write_bytes_per_s"),
            net_recv_top=_rate_p95("net_recv_bytes_per_s"),
            net_sent_top=_rate_p95("net_sent_bytes_per_s"),
        )
    }
    daily: dict[int, list[tuple[str, float | None]]] = defaultdict(list)
    for asset_id, day, load in (
        summaries.filter(cpu_mean__isnull=False)
        .annotate(day=TruncDate("window_end"))
        .order_by("asset_id", "day")
        .values("asset_id", "day")
        .annotate(load=Avg("cpu_mean"))
        .values_list("asset_id", "day", "load")
    ):
        daily[asset_id].append((day.isoformat(), round(load, 1)))
    baselines = []
    for asset in assets:
        row = totals.get(asset.pk)
        if row is None:
            continue
        points = daily[asset.pk]
        baselines.append(
            Baseline(
                asset=asset,
                samples=row["n"],
                cpu_mean=row["cpu_avg"],
                cpu_p95=row["cpu_top"],
                cpu_max=row["cpu_peak"],
                memory_mean=row["memory_avg"],
                memory_p95=row["memory_top"],
                memory_max=row["memory_peak"],
                disk_read_p95=row["disk_read_top"],
                disk_write_p95=row["disk_write_top"],
                net_recv_p95=row["net_recv_top"],
                net_sent_p95=row["net_sent_top"],
                chart=trend_svg(points, None, width=160, height=32) if points else "",
            )
        )
    return baselines


def audit_context(client: Organization, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the audit shows, for the page and the PDF."""
    today = today or timezone.localdate()
    now = timezone.now()
    assets = list(
        Asset.objects.filter(organization=client)
        .exclude(lifecycle=Lifecycle.RETIRED)
        .order_by("name", "pk")
    )
    in_service = [a for a in assets if a.lifecycle == Lifecycle.IN_SERVICE]
    kinds = Counter(a.kind for a in assets)
    systems: dict[tuple[str, str], list[Asset]] = defaultdict(list)
    unsupported = []
    for asset in in_service:
        if not asset.os_name:
            continue
        systems[(asset.os_name, asset.os_version)].append(asset)
        support = eol.support(
            asset.os_id or asset.os_family, asset.os_version, asset.os_name, today
        )
        if support.status in ("eol", "ending"):
            unsupported.append((asset, support))
    os_rows = []
    for (name, version), members in sorted(systems.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        first = members[0]
        support = eol.support(first.os_id or first.os_family, version, name, today)
        os_rows.append(
            {"name": name, "version": version, "count": len(members), "support": support}
        )
    since = now - dt.timedelta(days=BASELINE_DAYS)
    baselines = _baselines(in_service, since)
    short_memory = [
        b for b in baselines if b.memory_p95 is not None and b.memory_p95 >= HIGH_MEMORY_PERCENT
    ]
    busy_cpu = [b for b in baselines if b.cpu_p95 is not None and b.cpu_p95 >= HIGH_CPU_PERCENT]
    short_disk = sorted(
        (
            a
            for a in in_service
            if a.disk_free_ratio is not None and a.disk_free_ratio < LOW_DISK_RATIO
        ),
        key=lambda a: a.disk_free_ratio or 0,
    )
    updates = sorted(
        (a for a in in_service if a.pending_updates),
        key=lambda a: (-(a.security_updates or 0), -(a.pending_updates or 0), a.name),
    )
    stale_before = now - dt.timedelta(days=STALE_DAYS)
    stale = [
        a
        for a in in_service
        if a.source == "agent"
        and (a.last_inventory_at is None or a.last_inventory_at < stale_before)
    ]
    spread = list(
        InstalledSoftware.objects.filter(asset__in=in_service)
        .values("name")
        .annotate(assets=Count("asset_id", distinct=True), versions=Count("version", distinct=True))
        .order_by("-assets", "name")[:TOP_SOFTWARE]
    )
    licences = list(Licence.objects.filter(organization=client))
    usage = licence_usage(licences)
    agents = list(Agent.objects.filter(organization=client, revoked_at__isnull=True))
    health = Counter(agent.health(now) for agent in agents)
    last_inventory = Asset.objects.filter(organization=client).aggregate(m=Max("last_inventory_at"))
    daily_reports = (
        PerformanceSummary.objects.filter(asset__organization=client, window_end__gte=since)
        .annotate(day=TruncDate("window_end"))
        .values("day")
        .distinct()
        .count()
    )
    return {
        "client": client,
        "today": today,
        "generated_at": now,
        "assets": assets,
        "total": len(assets),
        "in_service": len(in_service),
        "in_stock": len(assets) - len(in_service),
        "kinds": [(AssetKind(k).label, n) for k, n in kinds.most_common()],
        "os_rows": os_rows,
        "unsupported": unsupported,
        "short_disk": short_disk,
        "short_memory": short_memory,
        "busy_cpu": busy_cpu,
        "updates": updates,
        "stale": stale,
        "baselines": baselines,
        "spread": spread,
        "licences": [(lic, usage[lic.pk]) for lic in licences],
        "agents": len(agents),
        "health": dict(health),
        "last_inventory": last_inventory["m"],
        "baseline_days": BASELINE_DAYS,
        "days_with_performance": daily_reports,
        "thresholds": {
            "disk": int(LOW_DISK_RATIO * 100),
            "memory": int(HIGH_MEMORY_PERCENT),
            "cpu": int(HIGH_CPU_PERCENT),
            "stale": STALE_DAYS,
        },
    }


def audit_pdf(client: Organization, language: str, today: dt.date | None = None) -> bytes:
    return render_pdf(audit_context(client, today), language, PRINT_TEMPLATE)


def audit_html(client: Organization, language: str, today: dt.date | None = None) -> str:
    """The audit as one self-contained HTML file (its style sheet inside)."""
    context = {
        **audit_context(client, today),
        "language": language,
        "print": True,
        "css": PRINT_CSS.read_text(encoding="utf-8"),
    }
    with translation.override(language):
        return render_to_string(PRINT_TEMPLATE, context)
