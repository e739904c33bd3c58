"""The monthly report as a PDF, with 12 months of history.

Builds, in a fresh instance on SQLite (or the database of ``--database-url``), one client
under the example contract `examples/contrat-infogerance-globale.yaml`, ``--tickets`` tickets
a month over 12 months opened and worked through the help desk's services (their events then
placed in their month), a few outages a month, and the 12 monthly reports computed by
``compute_report``. Then times, for the last month, building the report's context (its rows
and the 12-month trends, read from the database) and laying it out as a PDF with WeasyPrint,
in French: median and worst of ``--repeat`` runs (target ≤ 3 s).

Usage: .venv/bin/python benchmarks/bench_report_pdf.py [--tickets 150] [--repeat 7] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_section

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "examples" / "contrat-infogerance-globale.yaml"
TARGET_SECONDS = 3.0
MONTHS = [f"{2025 + (m + 10) // 12}-{(m + 10) % 12 + 1:02d}" for m in range(12)]  # 2025-11…


def setup(database_url: str | None) -> str:
    os.environ["INFOGERANCE_HOME"] = tempfile.mkdtemp(prefix="infogerance-bench-pdf-")
    os.environ["INFOGERANCE_DATABASE_URL"] = database_url or ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infogerance.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    return str(connection.vendor)


def build(tickets_per_month: int) -> tuple[Any, Any, float]:
    from django.db.models import Max

    from infogerance.contracts.services import import_contract
    from infogerance.core.actors import SystemActor
    from infogerance.helpdesk import services as helpdesk
    from infogerance.helpdesk.models import Ticket, TicketEvent
    from infogerance.sla.services import compute_report, record_operations
    from infogerance.tenancy import services as tenancy
    from infogerance.tenancy.roles import OrganizationKind, Role

    started = time.perf_counter()
    actor = SystemActor("bench")
    provider = tenancy.create_organization(
        actor=actor, kind=OrganizationKind.PROVIDER, name="Nordline", slug="nordline"
    )
    client = tenancy.create_organization(
        actor=actor,
        kind=OrganizationKind.CLIENT,
        provider=provider,
        name="Boulangeries Martin",
        slug="martin",
    )
    admin = tenancy.invite_member(
        actor=actor,
        organization=provider,
        email="admin@example.org",
        full_name="Admin",
        role=Role.PROVIDER_ADMIN,
        password="Clef-de-bench-4821",
        send_invitation=False,
    ).user
    requester = tenancy.invite_member(
        actor=actor,
        organization=client,
        email="dsi@example.org",
        full_name="DSI",
        role=Role.CLIENT_MANAGER,
        password="Clef-de-bench-4821",
        send_invitation=False,
    ).user
    text = CONTRACT.read_text(encoding="utf-8").replace("start: 2026-01-01", "start: 2025-01-01")
    contract = import_contract(actor=actor, client=client, text=text).contract
    rng = random.Random(7)
    services = ["CDS", "EXPL", "PARC", "TMA"]
    impacts = ["majeur", "significatif", "limite"]
    urgencies = ["haute", "moyenne", "basse"]
    paris = dt.timezone(dt.timedelta(hours=1))
    for period in MONTHS:
        year, month = map(int, period.split("-"))
        for n in range(tickets_per_month):
            ticket = helpdesk.open_ticket(
                actor=actor,
                client=client,
                contract=contract,
                service_code=services[n % len(services)],
                title=f"Incident {period} {n}",
                impact=rng.choice(impacts),
                urgency=rng.choice(urgencies),
                requester=requester,
            )
            for status in ("intervention_started", "restored", "resolved"):
                helpdesk.transition(ticket, actor=actor, status=status)
            opened = dt.datetime(year, month, 1 + n % 27, 8, tzinfo=paris) + dt.timedelta(
                minutes=rng.randrange(0, 600)
            )
            steps = [0, rng.expovariate(1 / 90), rng.expovariate(1 / 600), 30]
            at = opened
            for seq, minutes in enumerate(steps, start=1):
                at += dt.timedelta(minutes=minutes)
                TicketEvent.objects.filter(ticket=ticket, seq=seq).update(at=at)
            last = TicketEvent.objects.filter(ticket=ticket).aggregate(m=Max("at"))["m"]
            Ticket.objects.filter(pk=ticket.pk).update(created_at=opened, updated_at=last)
        outages = [
            {
                "type": "outage",
                "id": f"O-{period}-{k}",
                "service": "EXPL",
                "start": dt.datetime(year, month, 3 + 7 * k, 10, tzinfo=paris).isoformat(),
                "end": dt.datetime(
                    year, month, 3 + 7 * k, 10, 20 + 10 * k, tzinfo=paris
                ).isoformat(),
            }
            for k in range(3)
        ]
        record_operations(
            actor=actor, contract=contract, text="".join(json.dumps(o) + "\n" for o in outages)
        )
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    revision = None
    for period in MONTHS:
        revision = compute_report(actor=actor, contract=contract, period=period, now=now)
    assert revision is not None
    return revision, admin, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=150, help="tickets a month")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    vendor = setup(args.database_url)
    import pypdf
    from django.utils import translation

    from infogerance.sla import report as document

    revision, admin, built = build(args.tickets)
    print(f"12 months of {args.tickets} tickets and their reports built in {built:.1f} s")
    timings: list[tuple[float, float]] = []
    size = 0
    for _ in range(args.repeat):
        with translation.override("fr"):
            t0 = time.perf_counter()
            context = document.report_context(revision.report, revision, admin)
            t1 = time.perf_counter()
            pdf = document.render_pdf(context, "fr")
            t2 = time.perf_counter()
        timings.append((t1 - t0, t2 - t1))
        size = len(pdf)
    totals = [a + b for a, b in timings]
    median = statistics.median(totals)
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    lines = [
        f"### Monthly report PDF ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, {vendor})",
        "",
        f"The report of {MONTHS[-1]} under `{CONTRACT.name}` ({len(revision.evaluation['results'])}"
        f" service levels, 12-month trends), {args.tickets} tickets a month over 12 months; "
        f"context (rows and trends from the database) then WeasyPrint, in French, "
        f"{args.repeat} runs; {size / 1024:.0f} KiB, {pages} pages.",
        "",
        "| measure | target | figure | |",
        "|---|---|---|---|",
        f"| report PDF with 12 months of history | ≤ {TARGET_SECONDS:.0f} s | "
        f"{median:.2f} s median, {max(totals):.2f} s worst (context "
        f"{statistics.median(a for a, _ in timings):.2f} s, layout "
        f"{statistics.median(b for _, b in timings):.2f} s) | "
        f"{'met' if median <= TARGET_SECONDS else '**missed**'} |",
        "",
    ]
    print("\n".join(lines))
    if args.write:
        write_section("### Monthly report PDF ", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
