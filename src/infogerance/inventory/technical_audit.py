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

from django.db.models import Count, Max
from django.db.models.functions import TruncDate
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
    chart: str


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _baselines(assets: list[Asset], since: dt.datetime) -> list[Baseline]:
    """Per asset: means of the windows' means, the highest p95 and the highest maximum; the
    chart is the daily mean processor load."""
    rows: dict[int, list[PerformanceSummary]] = defaultdict(list)
    for summary in (
        PerformanceSummary.objects.filter(asset__in=assets, window_end__gte=since)
        .defer("data")
        .order_by("window_end")
    ):
        rows[summary.asset_id].append(summary)
    daily: dict[int, dict[dt.date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for asset_id, summaries in rows.items():
        for summary in summaries:
            if summary.cpu_mean is not None:
                daily[asset_id][timezone.localdate(summary.window_end)].append(summary.cpu_mean)
    baselines = []
    for asset in assets:
        found = rows.get(asset.pk)
        if not found:
            continue

        def pick(name: str, summaries: list[PerformanceSummary] = found) -> list[float]:
            return [v for v in (getattr(s, name) for s in summaries) if v is not None]

        days = sorted(daily[asset.pk].items())
        points: list[tuple[str, float | None]] = [
            (day.isoformat(), round(sum(v) / len(v), 1)) for day, v in days
        ]
        baselines.append(
            Baseline(
                asset=asset,
                samples=sum(s.samples for s in found),
                cpu_mean=_mean(pick("cpu_mean")),
                cpu_p95=max(pick("cpu_p95"), default=None),
                cpu_max=max(pick("cpu_max"), default=None),
                memory_mean=_mean(pick("memory_mean")),
                memory_p95=max(pick("memory_p95"), default=None),
                memory_max=max(pick("memory_max"), default=None),
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
