"""Demo data: one provider, two clients, a person for every role. Loading twice is harmless."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from infogerance.core.actors import SystemActor
from infogerance.tenancy import services
from infogerance.tenancy.models import Organization, User
from infogerance.tenancy.roles import OrganizationKind, Role

# A public, demo-only password: the demo instance listens on localhost.
DEMO_PASSWORD = "demo-infogerance"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    org_slug: str
    role: Role


PROVIDER = ("nordline", "Nordline Services", "Nordline Services SAS", "512345678")
CLIENTS = [
    ("martin", "Boulangeries Martin", "Boulangeries Martin SAS", "423456789"),
    ("lefevre", "Cabinet Lefèvre Avocats", "SELARL Cabinet Lefèvre", "834567891"),
]
PEOPLE = [
    DemoPerson("admin@nordline.example", "Claire Admin", "nordline", Role.PROVIDER_ADMIN),
    DemoPerson("tech@nordline.example", "Hugo Technicien", "nordline", Role.PROVIDER_ENGINEER),
    DemoPerson("audit@nordline.example", "Inès Auditrice", "nordline", Role.AUDITOR),
    DemoPerson("dsi@martin.example", "Marc Martin (DSI)", "martin", Role.CLIENT_MANAGER),
    DemoPerson("compta@martin.example", "Sophie Comptable", "martin", Role.CLIENT_USER),
    DemoPerson("cac@martin.example", "Paul Commissaire", "martin", Role.AUDITOR),
    DemoPerson("dsi@lefevre.example", "Anne Lefèvre (DSI)", "lefevre", Role.CLIENT_MANAGER),
    DemoPerson("accueil@lefevre.example", "Léa Accueil", "lefevre", Role.CLIENT_USER),
]


@transaction.atomic
def load() -> bool:
    """Create the demo data unless it exists; True when something was created."""
    if Organization.objects.filter(slug=PROVIDER[0]).exists():
        return False
    actor = SystemActor("demo")
    slug, name, legal, siren = PROVIDER
    provider = services.create_organization(
        actor=actor,
        kind=OrganizationKind.PROVIDER,
        name=name,
        slug=slug,
        legal_name=legal,
        registration_id=siren,
    )
    orgs = {slug: provider}
    for slug, name, legal, siren in CLIENTS:
        orgs[slug] = services.create_organization(
            actor=actor,
            kind=OrganizationKind.CLIENT,
            provider=provider,
            name=name,
            slug=slug,
            legal_name=legal,
            registration_id=siren,
        )
    for person in PEOPLE:
        services.invite_member(
            actor=actor,
            organization=orgs[person.org_slug],
            email=person.email,
            full_name=person.full_name,
            role=person.role,
            password=DEMO_PASSWORD,
            send_invitation=False,
        )
    load_contracts(orgs, actor)
    load_tickets(orgs)
    load_inventory(orgs, actor)
    load_backups(orgs, actor)
    load_last_month(orgs, actor)
    return True


DEMO_TICKETS = [
    # (requester, service, title, impact, urgency, statuses the provider moves it through)
    (
        "compta@martin.example",
        "CDS",
        "Impossible d'imprimer les factures",
        "limite",
        "moyenne",
        ["intervention_started"],
    ),
    (
        "dsi@martin.example",
        "EXPL",
        "L'ERP est très lent depuis ce matin",
        "majeur",
        "haute",
        ["intervention_started", "restored"],
    ),
    (
        "compta@martin.example",
        "PARC",
        "Nouveau poste pour une arrivée lundi",
        "limite",
        "basse",
        [],
    ),
]


def load_tickets(orgs: dict[str, Organization]) -> int:
    """A few tickets on the first example contract, when it was imported."""
    from infogerance.contracts.models import Contract
    from infogerance.helpdesk import services as helpdesk

    contract = Contract.objects.filter(organization=orgs["martin"]).first()
    if contract is None:
        return 0
    engineer = User.objects.get(email="tech@nordline.example")
    for email, code, title, impact, urgency, statuses in DEMO_TICKETS:
        requester = User.objects.get(email=email)
        ticket = helpdesk.open_ticket(
            actor=requester,
            client=orgs["martin"],
            contract=contract,
            service_code=code,
            title=title,
            impact=impact,
            urgency=urgency,
        )
        if statuses:
            ticket = helpdesk.assign(ticket, actor=engineer, assignee=engineer)
        for status in statuses:
            ticket = helpdesk.transition(ticket, actor=engineer, status=status)
    return len(DEMO_TICKETS)


# Last month's history: (service, title, impact, urgency, day, hour, minutes to the
# intervention, minutes to the restoration), opened and worked through the services, then
# placed in last month (events are immutable through the ORM: the demo writes them as they
# would have been written then).
DEMO_HISTORY = [
    ("EXPL", "Base de données de production arrêtée", "majeur", "haute", 3, 9, 20, 150),
    ("EXPL", "Sauvegarde nocturne en échec", "significatif", "haute", 6, 10, 45, 300),
    ("CDS", "Messagerie inaccessible pour un service", "significatif", "moyenne", 10, 14, 200, 600),
    ("CDS", "Imprimante du siège hors service", "limite", "basse", 12, 11, 90, 1500),
    ("PARC", "Poste à remplacer", "limite", "moyenne", 17, 9, 300, 3000),
    ("EXPL", "Lenteurs de l'ERP", "majeur", "moyenne", 24, 16, 35, 420),
]


def load_last_month(orgs: dict[str, Organization], actor: SystemActor) -> str | None:
    """Last month on the first example contract: tickets and outages, and its monthly report
    computed, reviewed and frozen (the backup runs and drills are the platform's own, loaded
    before), so that the service-level pages have something to show."""
    import datetime as dt
    import json

    from django.utils import timezone

    from infogerance.contracts.models import Contract
    from infogerance.helpdesk import services as helpdesk
    from infogerance.helpdesk.models import Ticket, TicketEvent
    from infogerance.sla.services import (
        compute_report,
        freeze_report,
        record_operations,
        submit_report,
    )

    contract = Contract.objects.filter(organization=orgs["martin"]).first()
    if contract is None:
        return None
    today = timezone.localdate()
    last = today.replace(day=1) - dt.timedelta(days=1)
    tz = timezone.get_default_timezone()
    requester = User.objects.get(email="dsi@martin.example")
    engineer = User.objects.get(email="tech@nordline.example")
    for code, title, impact, urgency, day, hour, to_start, to_restore in DEMO_HISTORY:
        ticket = helpdesk.open_ticket(
            actor=requester,
            client=orgs["martin"],
            contract=contract,
            service_code=code,
            title=title,
            impact=impact,
            urgency=urgency,
        )
        ticket = helpdesk.assign(ticket, actor=engineer, assignee=engineer)
        for status in ("intervention_started", "restored", "resolved"):
            ticket = helpdesk.transition(ticket, actor=engineer, status=status)
        opened = dt.datetime(last.year, last.month, min(day, last.day), hour, tzinfo=tz)
        offsets = [0, 1, to_start, to_restore, to_restore + 30]
        for seq, minutes in enumerate(offsets, start=1):
            TicketEvent.objects.filter(ticket=ticket, seq=seq).update(
                at=opened + dt.timedelta(minutes=minutes)
            )
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=opened, updated_at=opened + dt.timedelta(minutes=offsets[-1])
        )
    lines = [
        {
            "type": "outage",
            "id": f"INC-{last:%Y%m}-{n}",
            "service": "EXPL",
            "start": dt.datetime(last.year, last.month, day, 10, tzinfo=tz).isoformat(),
            "end": dt.datetime(last.year, last.month, day, 10, minutes, tzinfo=tz).isoformat(),
        }
        for n, (day, minutes) in enumerate([(3, 40), (24, 55)], start=1)
    ]
    record_operations(
        actor=actor, contract=contract, text="".join(json.dumps(line) + "\n" for line in lines)
    )
    period = f"{last:%Y-%m}"
    revision = compute_report(actor=actor, contract=contract, period=period)
    # Reviewed and frozen: the month's figures of record, with their penalty statement.
    submit_report(actor=actor, report=revision.report)
    freeze_report(actor=actor, report=revision.report, expected_revision=revision.number)
    return period


# Machines of the first client, as their agents would report them: (host, OS id, OS name,
# version, memory GiB, disk free share, pending and security updates, CPU and memory load).
DEMO_MACHINES = [
    ("srv-erp-01", "debian", "Debian GNU/Linux", "12", 32, 0.42, 3, 1, 35.0, 71.0),
    ("srv-fichiers", "debian", "Debian GNU/Linux", "10", 16, 0.06, 41, 12, 12.0, 48.0),
    ("srv-web-01", "ubuntu", "Ubuntu", "22.04", 8, 0.55, 0, 0, 22.0, 93.0),
    ("pc-compta-01", "windows", "Windows 10 Pro", "22H2", 16, 0.31, 5, 2, 9.0, 55.0),
]
DEMO_SOFTWARE = [
    ("openssl", "3.0.15-1~deb12u1"),
    ("openssh-server", "1:9.2p1-2+deb12u3"),
    ("postgresql-15", "15.8-0+deb12u1"),
    ("nginx", "1.22.1-9"),
    ("libreoffice", "4:7.4.7-1+deb12u5"),
    ("python3", "3.11.2-1+b1"),
]


def load_inventory(orgs: dict[str, Organization], actor: SystemActor) -> int:
    """The first client's machines enrolled with an agent, each with an inventory and a day
    of performance summaries; a printer recorded by hand; licences."""
    import datetime as dt
    import uuid

    from django.utils import timezone

    from infogerance.inventory import services as inventory

    client = orgs["martin"]
    _token, secret = inventory.create_enrollment_token(
        actor=actor, client=client, label="Déploiement initial", max_uses=len(DEMO_MACHINES)
    )
    now = timezone.now().replace(microsecond=0)
    for n, machine in enumerate(DEMO_MACHINES):
        host, os_id, os_name, version, memory, free, pending, security, cpu, mem = machine
        family = "windows" if os_id == "windows" else "linux"
        os_info = {"family": family, "name": os_name, "version": version, "id": os_id}
        os_info["version_id"] = version
        agent = inventory.enroll(
            actor=inventory.AGENT_ACTOR,
            body={"token": secret, "hostname": host, "machine_id": f"{n:032x}", "os": os_info},
        ).agent
        total = 200 * 2**30
        data: dict[str, Any] = {
            "hostname": host,
            "machine_id": f"{n:032x}",
            "os": {**os_info, "arch": "x86_64"},
            "hardware": {
                "vendor": "Dell Inc.",
                "model": "PowerEdge R350" if host.startswith("srv") else "OptiPlex 7010",
                "serial": f"DEMO{n:04d}",
                "cpu": {"model": "Intel(R) Xeon(R) E-2336", "cores": 6, "threads": 12},
                "memory_bytes": memory * 2**30,
            },
            "disks": [
                {
                    "device": "/dev/sda1",
                    "mountpoint": "C:" if family == "windows" else "/",
                    "fstype": "ntfs" if family == "windows" else "ext4",
                    "total_bytes": total,
                    "used_bytes": total - int(total * free),
                    "free_bytes": int(total * free),
                }
            ],
            "software": [
                {"name": name, "version": v, "publisher": "Debian", "source": "dpkg"}
                for name, v in DEMO_SOFTWARE[: 3 + n]
            ],
            "updates": {"source": "apt", "count": pending, "security_count": security},
        }

        def report(kind: str, sequence: int, body: dict[str, Any], at: dt.datetime) -> Any:
            return {
                "format": "infogerance-agent/1",
                "report_id": str(uuid.uuid4()),
                "kind": kind,
                "sequence": sequence,
                "collected_at": at.isoformat(),
                "agent_version": "demo",
                "data": body,
            }

        reports = [report("inventory", 1, data, now)]
        for hour in range(24):
            end = now - dt.timedelta(hours=23 - hour)
            wave = (hour % 12) / 12  # a daily rhythm, busier in the afternoon
            body: dict[str, Any] = {
                "window_start": (end - dt.timedelta(hours=1)).isoformat(),
                "window_end": end.isoformat(),
                "samples": 360,
                "cpu_percent": {
                    "mean": cpu * (0.5 + wave),
                    "p95": min(100.0, cpu * (1 + wave) + 10),
                    "max": min(100.0, cpu * 2 + 15),
                },
                "memory_percent": {"mean": mem - 4, "p95": mem, "max": min(100.0, mem + 3)},
            }
            reports.append(report("performance", hour + 2, body, end))
        reports.append(report("heartbeat", 26, {"uptime_seconds": 864000, "cpu_percent": cpu}, now))
        inventory.ingest(agent, {"reports": reports}, actor=inventory.AGENT_ACTOR)
    inventory.create_asset(
        actor=actor,
        client=client,
        fields={
            "name": "Imprimante accueil",
            "kind": "printer",
            "ownership": "lessor",
            "vendor": "Brother",
            "model": "MFC-L8900CDW",
            "location": "Rez-de-chaussée",
        },
    )
    inventory.save_licence(
        actor=actor,
        client=client,
        product="LibreOffice (support)",
        software_name="libreoffice",
        owned=1,
    )
    return len(DEMO_MACHINES) + 1


def load_backups(orgs: dict[str, Organization], actor: SystemActor) -> int:
    """The first client's repository: nightly runs of two scopes since the first day of last
    month (three failed), and a restore drill in each month."""
    import datetime as dt
    import uuid

    from django.utils import timezone

    from infogerance.backups import services as backups
    from infogerance.inventory.models import Asset

    client = orgs["martin"]
    repository = backups.create_repository(
        actor=actor,
        client=client,
        name="martin-principal",
        location="/srv/sauvegardes/martin",
        service_code="SAUV",
        key_reference="coffre : sauvegardes/martin",
    )
    assets = {a.name: a for a in Asset.objects.filter(organization=client)}
    today = timezone.localdate()
    first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    failures = {
        (first.replace(day=9), "erp-db"),
        (first.replace(day=21), "fichiers"),
        (today - dt.timedelta(days=6), "fichiers"),
    }
    count = 0
    day = first
    while day < today:
        for scope_name, host, size in (
            ("erp-db", "srv-erp-01", 12),
            ("fichiers", "srv-fichiers", 40),
        ):
            start = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 1, 0))
            failed = (day, scope_name) in failures
            backups.record_run(
                actor=actor,
                repository=repository,
                run_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo:{scope_name}:{day}"),
                scope_name=scope_name,
                asset_id=assets[host].pk if host in assets else None,
                scheduled_at=start,
                started_at=start,
                finished_at=start + dt.timedelta(minutes=size // 2 + 3),
                status="failed" if failed else "success",
                snapshot_id="" if failed else _demo_snapshot(scope_name, day),
                snapshot_time=None if failed else start + dt.timedelta(minutes=2),
                files=0 if failed else 1500 * size,
                bytes_read=0 if failed else size * 2**30,
                bytes_added=0 if failed else size * 2**25,
                verification="" if failed else "subset",
                verification_ok=None if failed else True,
                error="No space left on device (/srv/sauvegardes)" if failed else "",
            )
            count += 1
        day += dt.timedelta(days=1)
    for drill_day in (first.replace(day=12), today - dt.timedelta(days=3)):
        snapshot_time = timezone.make_aware(
            dt.datetime(drill_day.year, drill_day.month, drill_day.day, 1, 2)
        )
        started = snapshot_time + dt.timedelta(hours=8, minutes=58)
        backups.record_drill(
            actor=actor,
            repository=repository,
            drill_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo:drill:{drill_day}"),
            snapshot_id=_demo_snapshot("erp-db", drill_day),
            snapshot_time=snapshot_time,
            started_at=started,
            finished_at=started + dt.timedelta(minutes=17, seconds=40),
            files_checked=18_000,
            bytes_checked=12 * 2**30,
            mismatches=0,
            asset_id=assets["srv-erp-01"].pk if "srv-erp-01" in assets else None,
        )
        count += 1
    return count


def _demo_snapshot(scope_name: str, day: datetime.date) -> str:
    return hashlib.sha256(f"{scope_name}{day}".encode()).hexdigest()


def enrolment_hint(server: str) -> str:
    """A fresh enrolment token of the demo's first client, and the commands that use it."""
    from infogerance.inventory import services as inventory

    client = Organization.objects.filter(slug=CLIENTS[0][0]).first()
    if client is None:
        return ""
    _token, secret = inventory.create_enrollment_token(
        actor=SystemActor("demo"), client=client, label="Démo : cette machine", max_uses=5
    )
    return (
        "Enrol this machine's agent on the demo (another terminal, while it runs):\n"
        f"  infogerance agent enroll --server {server} --token {secret} "
        "--config ./var/agent.json\n"
        "  infogerance agent run --config ./var/agent.json"
    )


# The example contracts of the repository, and the client each one belongs to.
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
DEMO_CONTRACTS = {
    "contrat-infogerance-globale.yaml": "martin",
    "contrat-plan-de-secours.yaml": "lefevre",
}


def load_contracts(orgs: dict[str, Organization], actor: SystemActor) -> list[str]:
    """Import the example contracts, when the repository's examples/ is there."""
    from infogerance.contracts.services import import_contract

    loaded = []
    for filename, slug in DEMO_CONTRACTS.items():
        path = EXAMPLES_DIR / filename
        if path.is_file():
            version = import_contract(actor=actor, client=orgs[slug], text=path.read_bytes())
            loaded.append(version.contract.reference)
    return loaded


def summary(created: bool) -> str:
    lines = ["Demo data " + ("loaded." if created else "already present (instance reused).")]
    from infogerance.contracts.models import Contract

    references = sorted(Contract.objects.values_list("reference", flat=True))
    if references:
        lines.append(f"Contracts: {', '.join(references)}")
    lines.append(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    existing = set(
        User.objects.filter(email__in=[p.email for p in PEOPLE]).values_list("email", flat=True)
    )
    for person in PEOPLE:
        if person.email in existing:
            lines.append(f"  {person.email:<28} {person.role.label} — {person.org_slug}")
    return "\n".join(lines)
