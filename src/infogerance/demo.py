"""Demo data: one provider, two clients, a person for every role. Loading twice is harmless."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    """Last month on the first example contract: tickets, outages and backup runs, and its
    monthly report computed (a draft), so that the service-level pages have something to
    show."""
    import datetime as dt
    import json

    from django.utils import timezone

    from infogerance.contracts.models import Contract
    from infogerance.helpdesk import services as helpdesk
    from infogerance.helpdesk.models import Ticket, TicketEvent
    from infogerance.sla.services import compute_report, record_operations

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
    for day in range(1, last.day + 1):
        for scope_name in ("erp-db", "fichiers"):
            failed = (day, scope_name) in {(9, "erp-db"), (21, "fichiers")}
            lines.append(
                {
                    "type": "backup_run",
                    "id": f"SAV-{last:%Y%m}{day:02d}-{scope_name}",
                    "service": "SAUV",
                    "scope": scope_name,
                    "scheduled_at": dt.datetime(
                        last.year, last.month, day, 1, tzinfo=tz
                    ).isoformat(),
                    "status": "failed" if failed else "success",
                }
            )
    record_operations(
        actor=actor, contract=contract, text="".join(json.dumps(line) + "\n" for line in lines)
    )
    period = f"{last:%Y-%m}"
    compute_report(actor=actor, contract=contract, period=period)
    return period


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
