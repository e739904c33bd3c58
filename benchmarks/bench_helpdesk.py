"""Help desk at scale on PostgreSQL: the provider's ticket list, ticket creation, SLA clocks.

Targets, with 1,000,000 tickets and 5,000,000 events: the provider's filtered ticket list
(first page of 50, newest first) in at most 100 ms median server time, page and API; at least
200 tickets opened per second through the API; at least 20,000 tickets per second when every
clock of every ticket is recomputed.

The world (provider, clients, people, one contract per client) and a few hundred tickets are
made through the services, so that the data is what the platform writes; the bulk of the
tickets and their events is then generated in SQL (``INSERT … SELECT generate_series``) over
the past year, with the same shapes: creation, assignment, status changes, a pause, restoration,
resolution, closure, comments. The script works in a database of its own
(``infogerance_bench_helpdesk``, created when missing, emptied first) and a fresh instance
directory under /tmp.

Usage: .venv/bin/python benchmarks/bench_helpdesk.py [--quick] [--tickets 1000000]
       [--events-per-ticket 5] [--reuse] [--only clocks] [--write]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import importlib
import json
import os
import platform
import pstats
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_section

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql:///infogerance_bench_helpdesk?host=/var/run/postgresql"
CONTRACT_FILE = ROOT / "examples" / "contrat-infogerance-globale.yaml"
LIST_TARGET_MS = 100.0
CREATE_TARGET = 200.0
CLOCK_TARGET = 20_000.0
CLIENTS = 10
ENGINEERS = 8
CLIENT_USERS = 5
SEED = 20261128
BATCH = 20_000  # tickets per batch when every clock is recomputed (sla.stream_clock_figures)
LEGACY_BATCH = 5_000  # tickets per read of sla.stream_clocks (its default)
LEGACY_TICKETS = 100_000  # the first tickets, for sla.stream_clocks (--legacy-tickets)


# --------------------------------------------------------------------------------------------
# Instance and database


def setup(database_url: str) -> None:
    if not database_url.startswith("postgres"):
        raise SystemExit("this benchmark runs on PostgreSQL only (--database-url postgresql://…)")
    os.environ["INFOGERANCE_HOME"] = tempfile.mkdtemp(prefix="infogerance-bench-helpdesk-")
    os.environ["INFOGERANCE_DATABASE_URL"] = database_url
    # Django's test client calls itself "testserver".
    os.environ["INFOGERANCE_ALLOWED_HOSTS"] = "localhost,127.0.0.1,testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infogerance.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    from infogerance.config import database_config, instance_home

    name = str(database_config(instance_home()).django["NAME"])
    with connect_pg("postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def connect_pg(dbname: str | None = None, autocommit: bool = False) -> Any:
    """A plain psycopg connection to the benchmark's server (to its database by default)."""
    import psycopg

    from infogerance.config import database_config, instance_home

    db = database_config(instance_home()).django
    params = {
        "dbname": dbname or db["NAME"],
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    return psycopg.connect(
        autocommit=autocommit,
        cursor_factory=psycopg.ClientCursor,
        **{k: v for k, v in params.items() if v},
    )


KEPT_TABLES = {
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
}


def reset_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = sorted(r[0] for r in cursor.fetchall() if r[0] not in KEPT_TABLES)
        cursor.execute(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        )


# --------------------------------------------------------------------------------------------
# The world, through the services


@dataclass
class Client:
    org: Any
    contract: Any
    manager: Any
    users: list[Any]


@dataclass
class World:
    provider: Any
    admin: Any
    engineers: list[Any]
    clients: list[Client] = field(default_factory=list)


def contract_text() -> str:
    # The example's pause statuses are French codes (attente_client, acces_refuse) that the
    # help desk never records: mapped to its statuses, so that a pause pauses.
    text = CONTRACT_FILE.read_text(encoding="utf-8")
    return text.replace("attente_client", "waiting_client").replace(
        "acces_refuse", "access_refused"
    )


def build_world(effective_from: dt.date) -> World:
    from infogerance.contracts.services import import_contract
    from infogerance.core.actors import SystemActor
    from infogerance.tenancy import services
    from infogerance.tenancy.roles import OrganizationKind, Role

    actor = SystemActor("bench")

    def member(org: Any, email: str, name: str, role: str) -> Any:
        return services.invite_member(
            actor=actor,
            organization=org,
            email=email,
            full_name=name,
            role=role,
            send_invitation=False,
        ).user

    provider = services.create_organization(
        actor=actor, kind=OrganizationKind.PROVIDER, name="Nordline Services", slug="nordline"
    )
    admin = member(provider, "admin@nordline.example", "Nadia Admin", Role.PROVIDER_ADMIN)
    engineers = [
        member(provider, f"tech{i}@nordline.example", f"Technicien {i}", Role.PROVIDER_ENGINEER)
        for i in range(ENGINEERS)
    ]
    world = World(provider, admin, engineers)
    text = contract_text()
    for c in range(CLIENTS):
        org = services.create_organization(
            actor=admin,
            kind=OrganizationKind.CLIENT,
            provider=provider,
            name=f"Client {c:02d}",
            slug=f"client-{c:02d}",
        )
        manager = member(org, f"dsi@client{c:02d}.example", f"DSI {c:02d}", Role.CLIENT_MANAGER)
        users = [
            member(org, f"user{u}@client{c:02d}.example", f"Utilisateur {u}", Role.CLIENT_USER)
            for u in range(CLIENT_USERS)
        ]
        version = import_contract(actor=admin, client=org, text=text, effective_from=effective_from)
        world.clients.append(Client(org, version.contract, manager, users))
    return world


def load_world() -> World:
    """The world of an earlier run (--reuse)."""
    from infogerance.contracts.models import Contract
    from infogerance.tenancy.models import Organization, User

    provider = Organization.objects.get(slug="nordline")
    world = World(
        provider,
        User.objects.get(email="admin@nordline.example"),
        [User.objects.get(email=f"tech{i}@nordline.example") for i in range(ENGINEERS)],
    )
    for c in range(CLIENTS):
        org = Organization.objects.get(slug=f"client-{c:02d}")
        world.clients.append(
            Client(
                org,
                Contract.objects.get(organization=org),
                User.objects.get(email=f"dsi@client{c:02d}.example"),
                [
                    User.objects.get(email=f"user{u}@client{c:02d}.example")
                    for u in range(CLIENT_USERS)
                ],
            )
        )
    return world


SERVICES = ["CDS", "PROX", "EXPL", "SAUV", "PARC", "TMA"]
IMPACTS = ["majeur", "significatif", "limite"]
URGENCIES = ["haute", "moyenne", "basse"]
TITLES = [
    "Imprimante du 2e étage hors service",
    "Impossible d'ouvrir une session Windows",
    "Lenteurs sur l'ERP de production",
    "Messagerie : boîte pleine",
    "Caisse du magasin bloquée au démarrage",
    "Sauvegarde nocturne en échec",
    "Demande d'accès au portail B2B",
    "Serveur de fichiers inaccessible",
    "Poste à préparer pour une arrivée",
    "Wi-Fi instable à l'atelier",
    "Erreur à la validation d'une commande",
    "Licence bureautique expirée",
]
# Worked through the services after opening: a few of each life stage.
SCENARIOS: list[list[str]] = [
    [],
    ["assign"],
    ["assign", "intervention_started"],
    ["assign", "intervention_started", "comment", "waiting_client"],
    ["assign", "intervention_started", "waiting_client", "intervention_started", "restored"],
    ["assign", "intervention_started", "restored", "resolved"],
    ["assign", "intervention_started", "comment", "restored", "resolved", "closed"],
]


def service_tickets(world: World, count: int) -> int:
    """Open and work ``count`` tickets through the services; returns the service calls."""
    from infogerance.helpdesk import services

    rng = random.Random(SEED)
    calls = 0
    for i in range(count):
        client = world.clients[min(int(CLIENTS * rng.random() ** 1.6), CLIENTS - 1)]
        engineer = rng.choice(world.engineers)
        ticket = services.open_ticket(
            actor=rng.choice(client.users),
            client=client.org,
            contract=client.contract,
            service_code=rng.choice(SERVICES),
            title=rng.choice(TITLES),
            description="Signalé par l'utilisateur, voir la pièce jointe.",
            impact=rng.choice(IMPACTS),
            urgency=rng.choice(URGENCIES),
        )
        calls += 1
        for step in SCENARIOS[i % len(SCENARIOS)]:
            if step == "assign":
                ticket = services.assign(ticket, actor=engineer, assignee=engineer)
            elif step == "comment":
                services.comment(ticket, actor=engineer, text="Diagnostic en cours.")
            else:
                ticket = services.transition(
                    ticket,
                    actor=engineer,
                    status=step,
                    cause="provider" if step == "closed" else "",
                )
            calls += 1
    return calls


# --------------------------------------------------------------------------------------------
# The bulk, in SQL

# Life paths, by the status they leave the ticket in: (kind, status) steps. A ticket gets the
# longest path of its status that fits its number of events, the rest being comments,
# written before the last step.
C, A = ("created", "new"), ("assigned", "")
IS, WC = ("status", "intervention_started"), ("status", "waiting_client")
AS, RE = ("status", "assigned"), ("status", "restored")
RS, CL = ("status", "resolved"), ("status", "closed")
PATHS: dict[str, list[list[tuple[str, str]]]] = {
    "new": [[C]],
    "assigned": [[C, A, AS]],
    "intervention_started": [[C, IS], [C, A, IS], [C, A, IS, WC, IS]],
    "waiting_client": [[C, A, WC], [C, A, IS, WC]],
    "restored": [[C, A, IS, RE], [C, A, IS, WC, IS, RE]],
    "resolved": [[C, RS], [C, A, IS, RS], [C, A, IS, RE, RS], [C, A, IS, WC, IS, RE, RS]],
    "closed": [
        [C, RS, CL],
        [C, A, IS, RS, CL],
        [C, A, IS, RE, RS, CL],
        [C, A, IS, WC, IS, RE, RS, CL],
    ],
}

# The status a ticket is in now, by its age: (max age in days, [(cumulated share, status)]).
STATUS_BY_AGE = [
    (
        1,
        [
            (0.30, "new"),
            (0.40, "assigned"),
            (0.65, "intervention_started"),
            (0.75, "waiting_client"),
            (0.85, "restored"),
            (1.00, "resolved"),
        ],
    ),
    (
        7,
        [
            (0.03, "new"),
            (0.06, "assigned"),
            (0.16, "intervention_started"),
            (0.23, "waiting_client"),
            (0.33, "restored"),
            (0.58, "resolved"),
            (1.00, "closed"),
        ],
    ),
    (
        30,
        [
            (0.005, "new"),
            (0.025, "intervention_started"),
            (0.045, "waiting_client"),
            (0.065, "restored"),
            (0.145, "resolved"),
            (1.00, "closed"),
        ],
    ),
    (
        None,
        [
            (0.002, "new"),
            (0.005, "intervention_started"),
            (0.010, "waiting_client"),
            (0.020, "resolved"),
            (1.00, "closed"),
        ],
    ),
]


def _cases(expr: str, choices: Iterable[tuple[float, str]]) -> str:
    arms = " ".join(f"WHEN {expr} < {share} THEN '{value}'" for share, value in choices)
    return f"CASE {arms} END"


def _status_sql() -> str:
    arms = []
    for max_age, choices in STATUS_BY_AGE:
        inner = _cases("r_status", choices)
        arms.append(f"WHEN age_days < {max_age} THEN {inner}" if max_age else f"ELSE {inner}")
    return "CASE " + " ".join(arms) + " END"


def _sql_text_array(values: Iterable[str]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"(ARRAY[{quoted}]::text[])"


GENERATE_SQL = """
CREATE TEMP TABLE bench_raw ON COMMIT DROP AS
WITH base AS (
    SELECT g,
           least(floor({clients} * power(random(), 1.6))::int, {clients} - 1) AS org_idx,
           floor(random() * {days})::int AS day,
           random() AS r_time, random() AS r_hour, random() AS r_weekend,
           random() AS r_service, random() AS r_kind, random() AS r_impact,
           random() AS r_urgency, random() AS r_channel, random() AS r_status,
           random() AS r_k, random() AS r_pace, random() AS r_eng, random() AS r_req,
           random() AS r_title, random() AS r_cause, random() AS r_descr
    FROM generate_series(1, {n}) AS g
), shifted AS (
    -- most weekend tickets move to the Friday before: people work on weekdays
    SELECT b.*,
           CASE WHEN extract(isodow FROM DATE '{first_day}' + b.day) >= 6 AND b.r_weekend < 0.8
                THEN b.day - (extract(isodow FROM DATE '{first_day}' + b.day)::int - 5)
                ELSE b.day END AS d
    FROM base b
), timed AS (
    SELECT s.*,
           least(
               ((DATE '{first_day}' + s.d)::timestamp
                + CASE WHEN s.r_time < 0.85
                       THEN interval '7 hours 30 minutes' + s.r_hour * interval '11 hours'
                       ELSE s.r_hour * interval '24 hours' END) AT TIME ZONE 'Europe/Paris',
               TIMESTAMPTZ '{end}' - s.r_hour * interval '6 hours'
           ) AS created_at
    FROM shifted s
), classified AS (
    SELECT t.*,
           {service} AS service_code,
           {impact} AS impact,
           {urgency} AS urgency,
           {channel} AS channel,
           extract(epoch FROM TIMESTAMPTZ '{now}' - t.created_at) / 86400.0 AS age_days,
           greatest(1, {events} - 3 + floor(t.r_k * 7)::int) AS k
    FROM timed t
)
SELECT c.*,
       CASE WHEN c.service_code = 'TMA-EVOL' THEN 'request'
            ELSE {kind} END AS kind,
       {status} AS status
FROM classified c;

CREATE TEMP TABLE bench_t ON COMMIT DROP AS
SELECT {id_base} + row_number() OVER (ORDER BY r.created_at, r.g) AS id,
       o.next_number - 1
         + row_number() OVER (PARTITION BY r.org_idx ORDER BY r.created_at, r.g) AS number,
       r.service_code, r.kind, r.impact, r.urgency, r.channel, r.status, r.created_at,
       CASE r.impact || '/' || r.urgency {matrix} END AS priority,
       {titles}[1 + floor(r.r_title * {n_titles})::int] AS title,
       CASE WHEN r.r_descr < 0.2 THEN ''
            ELSE 'Constaté ce matin par plusieurs utilisateurs du site, '
                 || 'le redémarrage du poste ne change rien. Merci de rappeler au poste '
                 || (1000 + floor(r.r_descr * 9000)::int)::text || '.' END AS description,
       {cause} AS cause,
       p.id AS path, p.len, p.has_assign,
       greatest(r.k, p.len) AS n_ev,
       o.org_id, o.contract_id,
       o.requester_ids[1 + floor(r.r_req * array_length(o.requester_ids, 1))::int] AS req_id,
       o.requester_labels[1 + floor(r.r_req * array_length(o.requester_ids, 1))::int]
         AS req_label,
       {eng_ids}[1 + floor(r.r_eng * {n_eng})::int] AS eng_id,
       {eng_labels}[1 + floor(r.r_eng * {n_eng})::int] AS eng_label,
       {eng_names}[1 + floor(r.r_eng * {n_eng})::int] AS eng_name,
       least(
           300 * exp(r.r_pace * ln(360)),
           extract(epoch FROM TIMESTAMPTZ '{end}' - r.created_at)::float8
             / (greatest(r.k, p.len) + 1)
       )::float8 AS pace
FROM bench_raw r
JOIN bench_org o ON o.idx = r.org_idx
CROSS JOIN LATERAL (
    SELECT q.id, q.len, q.has_assign FROM bench_path q
    WHERE q.status = r.status
    ORDER BY (q.len <= r.k) DESC, CASE WHEN q.len <= r.k THEN -q.len ELSE q.len END
    LIMIT 1
) p;

INSERT INTO helpdesk_ticket (
    id, number, service_code, kind, title, description, impact, urgency, priority, status,
    channel, queue, cause, created_at, updated_at, version, assignee_id, contract_id,
    organization_id, requester_id)
SELECT t.id, t.number, t.service_code, t.kind, t.title, t.description, t.impact, t.urgency,
       t.priority, t.status, t.channel, 'support',
       CASE WHEN t.status = 'closed' THEN t.cause ELSE '' END,
       t.created_at, t.created_at + (t.n_ev - 1) * t.pace * interval '1 second', t.n_ev,
       CASE WHEN t.has_assign THEN t.eng_id END, t.contract_id, t.org_id, t.req_id
FROM bench_t t
ORDER BY t.id;

INSERT INTO helpdesk_ticketevent (
    seq, at, kind, status, priority, actor_id, actor_label, reason, data, internal, ticket_id)
SELECT x.s,
       t.created_at
         + (x.s - 1 + CASE WHEN x.s > 1 AND x.s < t.n_ev THEN 0.8 * random() ELSE 0 END)
           * t.pace * interval '1 second',
       coalesce(p.kinds[x.step], 'comment'),
       coalesce(p.statuses[x.step], ''),
       CASE WHEN x.s = 1 THEN t.priority ELSE '' END,
       CASE WHEN x.s = 1 OR (x.step IS NULL AND x.s % 2 = 0) THEN t.req_id ELSE t.eng_id END,
       CASE WHEN x.s = 1 OR (x.step IS NULL AND x.s % 2 = 0) THEN t.req_label
            ELSE t.eng_label END,
       CASE WHEN p.statuses[x.step] = 'waiting_client'
            THEN 'En attente du retour de l''utilisateur' ELSE '' END,
       CASE WHEN x.s = 1
                 THEN jsonb_build_object('impact', t.impact, 'urgency', t.urgency,
                                         'service', t.service_code, 'kind', t.kind)
            WHEN p.kinds[x.step] = 'assigned'
                 THEN jsonb_build_object('assignee_id', t.eng_id, 'assignee', t.eng_name,
                                         'queue', 'support')
            WHEN p.statuses[x.step] = 'closed' THEN jsonb_build_object('cause', t.cause)
            WHEN x.step IS NULL
                 THEN jsonb_build_object('text', CASE WHEN x.s % 2 = 0
                      THEN 'Toujours bloqué ce matin, merci de votre aide.'
                      ELSE 'Diagnostic en cours, nous revenons vers vous.' END)
            ELSE '{{}}'::jsonb END,
       x.step IS NULL AND x.s % 2 = 1 AND x.s % 3 = 0,
       t.id
FROM bench_t t
JOIN bench_path p ON p.id = t.path
CROSS JOIN LATERAL (
    SELECT s,
           CASE WHEN s <= greatest(1, p.len - 1) THEN s
                WHEN s <= greatest(1, p.len - 1) + (t.n_ev - p.len) THEN NULL
                ELSE s - (t.n_ev - p.len) END AS step
    FROM generate_series(1, t.n_ev) AS s
) x;
"""

MATRIX = {
    ("majeur", "haute"): "P1",
    ("majeur", "moyenne"): "P2",
    ("majeur", "basse"): "P3",
    ("significatif", "haute"): "P2",
    ("significatif", "moyenne"): "P3",
    ("significatif", "basse"): "P3",
    ("limite", "haute"): "P3",
    ("limite", "moyenne"): "P4",
    ("limite", "basse"): "P4",
}


def generate(world: World, n: int, events: int, now: dt.datetime) -> dict[str, float]:
    """Insert ``n`` tickets and about ``n × events`` events in SQL; returns the timings."""
    from infogerance.tenancy.models import User

    end = now - dt.timedelta(minutes=15)
    first_day = (end - dt.timedelta(days=365)).date()
    timings: dict[str, float] = {}
    people = {u.pk: u for u in User.objects.all()}
    start = time.perf_counter()
    with connect_pg() as conn, conn.cursor() as cur:
        cur.execute("SET LOCAL work_mem = '256MB'")
        # Generated rows are consistent by construction: skip the per-row foreign key checks
        # (5 million deferred trigger events), as a bulk load does.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            "CREATE TEMP TABLE bench_org (idx int PRIMARY KEY, org_id bigint, contract_id bigint,"
            " next_number int, requester_ids bigint[], requester_labels text[]) ON COMMIT DROP"
        )
        for idx, client in enumerate(world.clients):
            cur.execute(
                "INSERT INTO bench_org VALUES (%s, %s, %s,"
                " 1 + coalesce((SELECT max(number) FROM helpdesk_ticket"
                " WHERE organization_id = %s), 0), %s, %s)",
                [
                    idx,
                    client.org.pk,
                    client.contract.pk,
                    client.org.pk,
                    [u.pk for u in client.users],
                    [people[u.pk].email for u in client.users],
                ],
            )
        cur.execute(
            "CREATE TEMP TABLE bench_path (id int PRIMARY KEY, status text, len int,"
            " has_assign bool, kinds text[], statuses text[]) ON COMMIT DROP"
        )
        path_id = 0
        for status, paths in PATHS.items():
            for path in paths:
                path_id += 1
                cur.execute(
                    "INSERT INTO bench_path VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        path_id,
                        status,
                        len(path),
                        any(kind == "assigned" for kind, _s in path),
                        [kind for kind, _s in path],
                        [s if kind != "assigned" else None for kind, s in path],
                    ],
                )
        id_base = cur.execute("SELECT coalesce(max(id), 0) FROM helpdesk_ticket").fetchone()[0]
        services = [
            (0.40, "CDS"),
            (0.60, "PROX"),
            (0.72, "EXPL"),
            (0.78, "SAUV"),
            (0.88, "PARC"),
            (0.97, "TMA"),
            (1.01, "TMA-EVOL"),
        ]
        sql = GENERATE_SQL.format(
            clients=len(world.clients),
            days=365,
            n=int(n),
            events=int(events),
            first_day=first_day.isoformat(),
            end=end.isoformat(),
            now=now.isoformat(),
            id_base=int(id_base),
            service=_cases("t.r_service", services),
            impact=_cases(
                "t.r_impact", [(0.05, "majeur"), (0.30, "significatif"), (1.01, "limite")]
            ),
            urgency=_cases("t.r_urgency", [(0.20, "haute"), (0.60, "moyenne"), (1.01, "basse")]),
            channel=_cases(
                "t.r_channel",
                [
                    (0.45, "portal"),
                    (0.70, "email"),
                    (0.85, "phone"),
                    (0.90, "api"),
                    (1.01, "monitoring"),
                ],
            ),
            kind=_cases("c.r_kind", [(0.72, "incident"), (0.96, "request"), (1.01, "problem")]),
            status=_status_sql()
            .replace("age_days", "c.age_days")
            .replace("r_status", "c.r_status"),
            matrix=" ".join(f"WHEN '{i}/{u}' THEN '{p}'" for (i, u), p in MATRIX.items()),
            titles=_sql_text_array(TITLES),
            n_titles=len(TITLES),
            cause=_cases(
                "r.r_cause",
                [
                    (0.80, "provider"),
                    (0.90, "client"),
                    (0.98, "third_party"),
                    (1.01, "force_majeure"),
                ],
            ),
            eng_ids="(ARRAY[" + ",".join(str(e.pk) for e in world.engineers) + "]::bigint[])",
            eng_labels=_sql_text_array(e.email for e in world.engineers),
            eng_names=_sql_text_array(str(e) for e in world.engineers),
            n_eng=len(world.engineers),
        )
        for statement in (s.strip() for s in sql.split(";\n")):
            if statement:
                step = time.perf_counter()
                cur.execute(statement)
                label = " ".join(statement.split()[:3]).lower()
                timings[label] = timings.get(label, 0.0) + time.perf_counter() - step
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('helpdesk_ticket', 'id'),"
            " (SELECT max(id) FROM helpdesk_ticket))"
        )
        # The services number tickets from each client's counter: start it past the
        # generated ones.
        cur.execute(
            "INSERT INTO helpdesk_ticketcounter (organization_id, last_number)"
            " SELECT organization_id, max(number) FROM helpdesk_ticket GROUP BY organization_id"
            " ON CONFLICT (organization_id) DO UPDATE SET last_number = EXCLUDED.last_number"
        )
        conn.commit()
    timings["insert"] = time.perf_counter() - start
    return timings


def remember_generation(*stats: Any) -> None:
    with connect_pg(autocommit=True) as conn:
        name = conn.info.dbname
        conn.execute(f'COMMENT ON DATABASE "{name}" IS %s', [json.dumps(stats)])


def recall_generation() -> tuple[float, dict[str, float], int, float, float]:
    with connect_pg() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
            " WHERE datname = current_database()"
        ).fetchone()
    try:
        total, timings, count, services, vacuum = json.loads(row[0])
    except (TypeError, ValueError):
        return 0.0, {}, 0, 0.0, 0.0
    return float(total), dict(timings), int(count), float(services), float(vacuum)


def vacuum_analyze() -> float:
    """Finish the bulk load: statistics, visibility map, and a checkpoint, so that the
    measures do not pay for writing the load's pages out."""
    start = time.perf_counter()
    with connect_pg(autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) helpdesk_ticket")
        conn.execute("VACUUM (ANALYZE) helpdesk_ticketevent")
        conn.execute("ANALYZE")
        conn.execute("CHECKPOINT")
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# Measuring


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


@dataclass
class Timing:
    median_ms: float
    p95_ms: float
    count: int
    queries: int = 0
    extra: str = ""


def count_queries(do: Callable[[], Any]) -> int:
    """The SQL statements ``do()`` sends on this thread's connection."""
    from django.db import connection

    sent = [0]

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        do()
    return sent[0]


def time_requests(do: Callable[[], Any], count: int, warmup: int = 3) -> Timing:
    for _ in range(warmup):
        do()
    queries = count_queries(do)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        do()
        samples.append((time.perf_counter() - start) * 1000)
    return Timing(statistics.median(samples), percentile(samples, 0.95), count, queries)


@dataclass
class Profile:
    total: float
    cumulative: dict[str, float]  # category -> seconds (cumulative, may overlap)
    calls: dict[str, int]
    top_own: list[tuple[str, float]]  # functions with the most own time


# Categories of a profile: (file path suffix, function names separated by |).
CATEGORIES = {
    "sql": ("django/db/backends/utils.py", "_execute"),
    "orm": ("django/db/models/query.py", "_fetch_all"),
    "commit": ("django/db/backends/base/base.py", "commit"),
    "parse": ("infogerance/contracts/models.py", "parsed"),
    "engine": ("infogerance/helpdesk/clocks.py", "compute_clock"),
    "render": ("django/template/backends/django.py", "render"),
    "audit": ("infogerance/audit/services.py", "record"),
    "open": ("infogerance/helpdesk/services.py", "open_ticket"),
    "calendar": ("infogerance/contracts/calendars.py", "calendar_for"),
    "sla": ("infogerance/helpdesk/views.py", "worst_state|worst_states"),
    "auth": ("infogerance/accounts/services.py", "authenticate_token"),
    "lookup": ("infogerance/tenancy/scope.py", "get_visible_or_404"),
    # The columnar recomputation (sla.stream_clock_figures).
    "reads": ("infogerance/core/db.py", "value_rows"),
    "events": ("infogerance/helpdesk/sla.py", "_event_rows"),
    "columns": ("infogerance/helpdesk/sla.py", "_columns"),
    "logs": ("infogerance/helpdesk/clocks.py", "from_columns"),
    "groups": ("infogerance/helpdesk/sla.py", "groups"),
    "select": ("infogerance/helpdesk/clocks.py", "select"),
    "figures": ("infogerance/helpdesk/clocks.py", "clock_figures"),
}


def profile(do: Callable[[], Any], repeat: int = 1) -> Profile:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(repeat):
        do()
    profiler.disable()
    total = time.perf_counter() - start
    stats: Any = pstats.Stats(profiler).stats
    cumulative = dict.fromkeys(CATEGORIES, 0.0)
    calls = dict.fromkeys(CATEGORIES, 0)
    for (filename, _line, name), (_cc, ncalls, _tt, ct, _callers) in stats.items():
        for key, (suffix, func) in CATEGORIES.items():
            if name in func.split("|") and filename.replace("\\", "/").endswith(suffix):
                cumulative[key] += ct
                calls[key] += ncalls
    own = sorted(
        ((function_name(f, name), v[2]) for (f, _l, name), v in stats.items()),
        key=lambda item: -item[1],
    )
    return Profile(total, {k: v / repeat for k, v in cumulative.items()}, calls, own[:12])


def function_name(filename: str, name: str) -> str:
    """``module.function`` for people, ``type.method`` for built-ins."""
    if filename == "~":
        method = re.match(r"<method '(\w+)' of '([\w.]+)' objects>", name)
        if method:
            return f"{method.group(2).rsplit('.', 1)[-1]}.{method.group(1)}"
        builtin = re.match(r"<built-in method (?:builtins\.)?([\w.]+)>", name)
        return builtin.group(1) if builtin else name
    return f"{Path(filename).stem}.{name}"


def share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


# --------------------------------------------------------------------------------------------
# 1. The ticket list


@dataclass
class ListCase:
    kind: str  # page | api
    url: str
    label: str
    filters: dict[str, Any]
    timing: Timing | None = None
    rows: int = 0
    query_ms: float | None = None  # the page's ticket query alone
    plan: str = ""  # how PostgreSQL runs it
    profiled: bool = False


def plan_summary(queryset: Any) -> str:
    """How PostgreSQL reads the tickets for ``queryset`` (EXPLAIN ANALYZE), in a few words."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    parts = []
    for node in nodes:
        if node.get("Relation Name") != "helpdesk_ticket":
            continue
        loops = node.get("Actual Loops", 1)
        kept = node.get("Actual Rows", 0) * loops
        read = kept + node.get("Rows Removed by Filter", 0) * loops
        index = node.get("Index Name") or next(
            (c.get("Index Name") for c in node.get("Plans", []) if c.get("Index Name")), None
        )
        parts.append(
            f"{node['Node Type'].lower()}{f' on {index}' if index else ''}, {read:,.0f} "
            f"tickets read for {kept:,.0f} kept"
        )
    if any(n["Node Type"] == "Sort" for n in nodes):
        parts.append("then sorted")
    return ", ".join(parts)


def measure_lists(world: World, count: int) -> tuple[list[ListCase], Profile]:
    from django.test import Client as TestClient

    from infogerance.accounts.services import create_token
    from infogerance.helpdesk import services, views

    engineer = world.engineers[0]
    page = TestClient()
    page.force_login(engineer)
    _row, secret = create_token(actor=engineer, name="bench", scope="read")
    api = TestClient(headers={"Authorization": f"Bearer {secret}"})
    org = world.clients[0].org.pk
    new, new_one, p1_one = (
        {"status": "new"},
        {"status": "new", "organization_id": org},
        {"priority": "P1", "organization_id": org},
    )
    cases = [
        ListCase("page", "/tickets/?status=new", "page `?status=new` (all clients)", new),
        ListCase(
            "page",
            f"/tickets/?status=new&organization={org}",
            "page `?status=new`, one client",
            new_one,
        ),
        ListCase(
            "page",
            f"/tickets/?priority=P1&organization={org}",
            "page `?priority=P1`, one client",
            p1_one,
        ),
        ListCase(
            "api", "/api/v1/tickets?status=new&limit=50", "API `?status=new` (all clients)", new
        ),
        ListCase(
            "api",
            f"/api/v1/tickets?status=new&organization_id={org}&limit=50",
            "API `?status=new&organization_id=…`",
            new_one,
        ),
        ListCase(
            "api",
            f"/api/v1/tickets?priority=P1&organization_id={org}&limit=50",
            "API `?priority=P1&organization_id=…`",
            p1_one,
        ),
    ]
    for case in cases:
        client = page if case.kind == "page" else api

        def do(client: Any = client, url: str = case.url) -> Any:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"GET {url}: {response.status_code} {response.content[:300]!r}")
            return response

        first = do()
        if case.kind == "page":
            case.rows = first.content.decode().count('<td class="num"><a href="')
            # The page's ticket query alone, as the view builds it (up to SLA_SCAN rows).
            query = (
                services.visible_tickets(engineer)
                .select_related("organization", "assignee")
                .filter(**case.filters)
                .order_by("-created_at", "-pk")[: getattr(views, "SLA_SCAN", 500)]
            )
            case.query_ms = time_requests(lambda query=query: list(query.all()), 20).median_ms
            case.plan = plan_summary(query)
        else:
            case.rows = len(json.loads(first.content)["items"])
        case.timing = time_requests(do, count)
        query = f", ticket query alone {case.query_ms:.1f} ms" if case.query_ms else ""
        print(
            f"  {case.label}: median {case.timing.median_ms:.1f} ms, p95 "
            f"{case.timing.p95_ms:.1f} ms, {case.timing.queries} queries, {case.rows} rows{query}",
            flush=True,
        )
    slowest = max((c for c in cases if c.kind == "page"), key=lambda c: c.timing.median_ms)
    slowest.profiled = True
    return cases, profile(lambda: page.get(slowest.url), repeat=5)


# --------------------------------------------------------------------------------------------
# 2. Creation


def creation_payloads(world: World, count: int) -> list[dict[str, Any]]:
    rng = random.Random(SEED + 1)
    payloads = []
    for i in range(count):
        client = world.clients[i % len(world.clients)]
        payloads.append(
            {
                "client_id": client.org.pk,
                "contract_id": client.contract.pk,
                "service_code": rng.choice(SERVICES),
                "title": rng.choice(TITLES),
                "description": "Ouvert par l'outil de supervision du client.",
                "impact": rng.choice(IMPACTS),
                "urgency": rng.choice(URGENCIES),
            }
        )
    return payloads


def client_tokens(world: World) -> dict[int, str]:
    """A write token of one user of each client, by organisation id."""
    from infogerance.accounts.services import create_token

    tokens = {}
    for client in world.clients:
        _row, secret = create_token(actor=client.users[0], name="bench", scope="write")
        tokens[client.org.pk] = secret
    return tokens


def measure_create_inprocess(
    world: World, tokens: dict[int, str], count: int
) -> tuple[float, Timing, Profile]:
    from django.test import Client as TestClient

    clients = {
        org: TestClient(headers={"Authorization": f"Bearer {secret}"})
        for org, secret in tokens.items()
    }
    payloads = creation_payloads(world, count + 25)

    def post(body: dict[str, Any]) -> None:
        response = clients[body["client_id"]].post(
            "/api/v1/tickets", data=json.dumps(body), content_type="application/json"
        )
        if response.status_code != 201:
            raise SystemExit(f"POST /api/v1/tickets: {response.status_code} {response.content!r}")

    for body in payloads[:5]:
        post(body)
    queries = count_queries(lambda: post(payloads[5]))
    samples = []
    start = time.perf_counter()
    for body in payloads[6 : 6 + count]:
        t0 = time.perf_counter()
        post(body)
        samples.append((time.perf_counter() - t0) * 1000)
    rate = count / (time.perf_counter() - start)
    rest = iter(payloads[6 + count :])
    prof = profile(lambda: post(next(rest)), repeat=10)
    timing = Timing(
        statistics.median(samples),
        percentile(samples, 0.95),
        count,
        queries,
    )
    return rate, timing, prof


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``infogerance serve --workers 2`` on a loopback port, in its own process group."""

    def __init__(self, workers: int, threads: int = 8) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
        self.log = Path(os.environ["INFOGERANCE_HOME"]) / "serve.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infogerance",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--no-worker",
            ],
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped: see {self.log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the server did not answer within 60 s: see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def http_create(
    port: int, tokens: dict[int, str], payloads: list[dict[str, Any]], threads: int
) -> tuple[float, list[float], int]:
    """POST every payload, spread over ``threads`` keep-alive connections; returns the rate,
    the latencies (ms) and the number of failures."""
    chunks = [payloads[i::threads] for i in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    barrier = threading.Barrier(threads + 1)

    def work(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        for body in chunks[index]:
            data = json.dumps(body).encode()
            headers = {
                "Authorization": f"Bearer {tokens[body['client_id']]}",
                "Content-Type": "application/json",
            }
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/tickets", body=data, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 201:
                    failures[index] += 1
            except (OSError, http.client.HTTPException):
                failures[index] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            latencies[index].append((time.perf_counter() - t0) * 1000)
        conn.close()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    flat = [x for chunk in latencies for x in chunk]
    return len(payloads) / elapsed, flat, sum(failures)


def cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine, from /proc/stat (Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def machine_busy(seconds: float) -> float | None:
    """The share of the machine's CPU in use over ``seconds`` (other processes' load)."""
    start = cpu_times()
    time.sleep(seconds)
    end = cpu_times()
    if not start or not end or end[1] <= start[1]:
        return None
    return (end[0] - start[0]) / (end[1] - start[1])


def process_cpu(pids: Iterable[int] | None = None, group: int | None = None) -> dict[int, float]:
    """CPU seconds (user + system) used so far by ``pids`` or the process group ``group``."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    wanted = set(pids or ())
    found = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or (wanted and int(entry.name) not in wanted):
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if group is not None and int(fields[2]) != group:
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


#: How often the observer samples pg_stat_activity: often enough for the shares over a
#: phase of tens of seconds, rarely enough not to take the CPU it measures (sampling every
#: 10 ms took a visible share of the 2 cores from the server it watched).
SAMPLE_SECONDS = 0.1


class Observer:
    """While a load runs: the CPU used by the server's processes and by the database
    backends, the machine's CPU use, and what the backends are doing (pg_stat_activity
    sampled every SAMPLE_SECONDS: running, waiting for a lock, idle in a transaction while the
    application works)."""

    def __init__(self, server_group: int) -> None:
        self.server_group = server_group
        self.samples: dict[str, int] = {}
        self.cpu: float | None = None
        self.server_cpu = self.db_cpu = 0.0

    def _backends(self) -> dict[int, float]:
        with connect_pg(autocommit=True) as conn:
            pids = [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                ).fetchall()
            ]
        return process_cpu(pids) if pids else {}

    def __enter__(self) -> Observer:
        self.stopping = threading.Event()
        self.db_start = self._backends()
        self.server_start = process_cpu(group=self.server_group)
        self.start = cpu_times()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        with connect_pg(autocommit=True) as conn:
            while not self.stopping.is_set():
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND state IN ('active', 'idle in transaction')"
                ).fetchall()
                for state, wait_type, wait in rows:
                    if state != "active":
                        key = "idle in transaction"
                    elif wait_type == "Lock":
                        key = f"lock:{wait}"
                    else:
                        key = "running" if wait_type is None else f"{wait_type}:{wait}"
                    self.samples[key] = self.samples.get(key, 0) + 1
                time.sleep(SAMPLE_SECONDS)

    def __exit__(self, *exc: object) -> None:
        end = cpu_times()
        server_end = process_cpu(group=self.server_group)
        self.stopping.set()
        self.thread.join()
        db_end = self._backends()
        if self.start and end and end[1] > self.start[1]:
            self.cpu = (end[0] - self.start[0]) / (end[1] - self.start[1])
        # A backend or worker born during the run used all its CPU during it.
        self.server_cpu = sum(v - self.server_start.get(k, 0.0) for k, v in server_end.items())
        self.db_cpu = sum(v - self.db_start.get(k, 0.0) for k, v in db_end.items())

    def waits(self) -> str:
        total = sum(self.samples.values())
        if not total:
            return "no busy backend seen"
        named = {
            "running": "running a statement",
            "idle in transaction": "idle in a transaction (the application works, locks held)",
            "lock:advisory": "waiting for the audit chain's lock",
            "lock:transactionid": "waiting for a row lock (the client's ticket number)",
            "lock:tuple": "waiting for a row lock (the client's ticket number)",
        }
        shares: dict[str, int] = {}
        for key, n in self.samples.items():
            label = named.get(key, key)
            shares[label] = shares.get(label, 0) + n
        top = sorted(shares.items(), key=lambda kv: -kv[1])[:4]
        return ", ".join(f"{100 * n / total:.0f} % {label}" for label, n in top)


@dataclass
class ServerRun:
    threads: int
    rate: float
    median_ms: float
    p95_ms: float
    failures: int
    cpu: float | None  # the machine's, all processes
    server_ms: float  # CPU per ticket, the server's processes
    db_ms: float  # CPU per ticket, the database backends
    waits: str


def measure_create_server(
    world: World, tokens: dict[int, str], count: int, concurrency: list[int], workers: int
) -> list[ServerRun]:
    server = Server(workers)
    results = []
    try:
        # Warm-up: every worker thread opens its database connection.
        http_create(server.port, tokens, creation_payloads(world, 64), 16)
        for threads in concurrency:
            with Observer(server.process.pid) as seen:
                rate, latencies, failures = http_create(
                    server.port, tokens, creation_payloads(world, count), threads
                )
            run = ServerRun(
                threads,
                rate,
                statistics.median(latencies),
                percentile(latencies, 0.95),
                failures,
                seen.cpu,
                1000 * seen.server_cpu / count,
                1000 * seen.db_cpu / count,
                seen.waits(),
            )
            results.append(run)
            cpu = f"{100 * run.cpu:.0f} %" if run.cpu is not None else "?"
            print(
                f"  server, {threads} client(s): {rate:,.0f} tickets/s, median "
                f"{run.median_ms:.1f} ms, {failures} failures; CPU per ticket: server "
                f"{run.server_ms:.1f} ms, database {run.db_ms:.1f} ms; machine busy {cpu}; "
                f"database backends: {run.waits}",
                flush=True,
            )
    finally:
        server.stop()
    return results


# --------------------------------------------------------------------------------------------
# 3. Clocks


CLOCKS_BATCH = 500  # tickets per call of sla.clocks_for


Verdict = tuple[str, str, int, int | None, int | None]  # name, state, elapsed, stopped, breached
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


def verdicts(clocks: Iterable[Any]) -> list[Verdict]:
    """``ticket_clocks``' clocks of a ticket as what the columnar path gives (µs), sorted."""
    return sorted(
        (
            c.name,
            c.result.state,
            c.result.elapsed // _US,
            None if c.result.stopped_at is None else (c.result.stopped_at - _EPOCH) // _US,
            None if c.result.breached_at is None else (c.result.breached_at - _EPOCH) // _US,
        )
        for c in clocks
    )


def measure_ticket_clocks(
    sample: int, now: dt.datetime
) -> tuple[float, int, dict[int, list[Verdict]], Profile, int, float | None]:
    from django.db.models import Max, Min

    from infogerance.helpdesk.models import Ticket
    from infogerance.helpdesk.sla import ticket_clocks

    bounds = Ticket.objects.aggregate(low=Min("pk"), high=Max("pk"))
    low, high = bounds["low"], bounds["high"]
    rng = random.Random(SEED + 2)
    ids = sorted(rng.sample(range(low, high + 1), min(sample, high - low + 1)))
    # As the list page reads them.
    tickets = list(Ticket.objects.filter(pk__in=ids).select_related("organization", "assignee"))
    for ticket in tickets[:20]:
        ticket_clocks(ticket, now)
    tickets = list(Ticket.objects.filter(pk__in=ids).select_related("organization", "assignee"))
    queries = count_queries(lambda: ticket_clocks(tickets[0], now))
    states: dict[int, list[Verdict]] = {}
    results = {}
    clocks = 0
    start = time.perf_counter()
    for ticket in tickets:
        result = ticket_clocks(ticket, now)
        results[ticket.pk] = result
        clocks += len(result)
    rate = len(tickets) / (time.perf_counter() - start)
    states = {pk: verdicts(result) for pk, result in results.items()}
    fresh = list(Ticket.objects.filter(pk__in=ids[:300]).select_related("organization"))
    prof = profile(lambda: [ticket_clocks(t, now) for t in fresh])
    prof.total /= len(fresh)
    prof.cumulative = {k: v / len(fresh) for k, v in prof.cumulative.items()}
    # The batch form, when the platform has one: one read of events for many tickets.
    batch_rate = None
    clocks_for = getattr(importlib.import_module("infogerance.helpdesk.sla"), "clocks_for", None)
    if clocks_for is not None:
        start = time.perf_counter()
        for i in range(0, len(tickets), CLOCKS_BATCH):
            clocks_for(tickets[i : i + CLOCKS_BATCH], now)
        batch_rate = len(tickets) / (time.perf_counter() - start)
    return rate, clocks, states, prof, queries, batch_rate


@dataclass
class EngineRun:
    tickets: int = 0
    clocks: int = 0
    #: workers -> wall-clock seconds of a full pass
    seconds: dict[int, float] = field(default_factory=dict)
    #: workers -> CPU seconds of the pass, in the workers and in their database backends
    cpu: dict[int, float] = field(default_factory=dict)
    db_cpu: dict[int, float] = field(default_factory=dict)
    states: dict[int, list[Verdict]] = field(default_factory=dict)
    profile: Profile | None = None
    profile_tickets: int = 0
    #: sla.stream_clocks over the first tickets, one process: tickets, clocks, seconds
    legacy: tuple[int, int, float] | None = None
    legacy_profile: Profile | None = None

    def rate(self, workers: int) -> float:
        return self.tickets / self.seconds[workers]


def _backend_cpu() -> tuple[int, float]:
    """This process's database backend and the CPU seconds it used so far."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid, process_cpu([pid]).get(pid, 0.0)


def _recompute_shard(
    task: tuple[int, int, dt.datetime, frozenset[int]],
) -> tuple[int, dict[int, list[Verdict]], float, float]:
    """Every clock of the tickets with ``low < pk <= high`` through the columnar path (one
    worker process): the clocks, the verdicts of the tickets of ``keep``, and the CPU
    seconds of the worker and of its database backend."""
    import numpy as np

    from infogerance.helpdesk.clocks import CLOCK_STATES
    from infogerance.helpdesk.models import Ticket
    from infogerance.helpdesk.sla import stream_clock_figures

    low, high, now, keep = task
    wanted = np.array(sorted(keep), dtype=np.int64)
    cpu = time.process_time()
    backend, db_cpu = _backend_cpu()
    clocks = 0
    kept: dict[int, list[Verdict]] = {}
    tickets = Ticket.objects.filter(pk__gt=low, pk__lte=high)
    for batch in stream_clock_figures(tickets, now, batch=BATCH):
        clocks += len(batch.tickets)
        f = batch.figures
        for i in np.flatnonzero(np.isin(batch.tickets, wanted)).tolist():
            kept.setdefault(int(batch.tickets[i]), []).append(
                (
                    batch.name,
                    CLOCK_STATES[f.state[i]],
                    int(f.elapsed[i]),
                    int(f.stopped[i]) if f.is_stopped[i] else None,
                    int(f.breached[i]) if f.is_breached[i] else None,
                )
            )
    db_cpu = process_cpu([backend]).get(backend, db_cpu) - db_cpu
    return clocks, {pk: sorted(v) for pk, v in kept.items()}, time.process_time() - cpu, db_cpu


def measure_engine(
    limit: int | None, now: dt.datetime, keep: set[int], workers: int, legacy_tickets: int
) -> EngineRun:
    """Every clock of every ticket (or of the first ``limit``) through the columnar
    ``sla.stream_clock_figures``, reads included: once in this process, then split by
    primary key over ``workers`` processes (forked; each opens its own connection). Then
    ``sla.stream_clocks`` (a replay per ticket) over the first ``legacy_tickets``, in this
    process, for comparison."""
    import multiprocessing

    from django.db import connections

    from infogerance.helpdesk.models import Ticket
    from infogerance.helpdesk.sla import stream_clock_figures, stream_clocks

    pks = Ticket.objects.order_by("pk").values_list("pk", flat=True)
    if limit is not None:
        pks = pks[:limit]
    ids = list(pks)
    run = EngineRun(tickets=len(ids))
    frozen = frozenset(keep)

    first = Ticket.objects.filter(pk__lte=ids[min(len(ids), BATCH) - 1])
    run.profile_tickets = first.count()
    run.profile = profile(lambda: list(stream_clock_figures(first, now, batch=BATCH)))
    for count in sorted({1, workers}):
        bounds = [ids[0] - 1] + [ids[(len(ids) * (i + 1)) // count - 1] for i in range(count)]
        tasks = [(bounds[i], bounds[i + 1], now, frozen) for i in range(count)]
        connections.close_all()
        start = time.perf_counter()
        if count == 1:
            parts = [_recompute_shard(tasks[0])]
        else:
            with multiprocessing.get_context("fork").Pool(count) as pool:
                parts = pool.map(_recompute_shard, tasks)
        run.seconds[count] = time.perf_counter() - start
        run.clocks = sum(p[0] for p in parts)
        run.cpu[count] = sum(p[2] for p in parts)
        run.db_cpu[count] = sum(p[3] for p in parts)
        for part in parts:
            run.states.update(part[1])
        print(
            f"  stream_clock_figures, {count} process(es): {run.rate(count):,.0f} tickets/s "
            f"({run.clocks / run.seconds[count]:,.0f} clocks/s) on {run.tickets:,} tickets; "
            f"per ticket {1e6 * run.cpu[count] / run.tickets:.1f} µs of the workers' CPU, "
            f"{1e6 * run.db_cpu[count] / run.tickets:.1f} µs of PostgreSQL's",
            flush=True,
        )
    if legacy_tickets:
        legacy = Ticket.objects.filter(pk__lte=ids[min(len(ids), legacy_tickets) - 1])
        start = time.perf_counter()
        tickets = clocks = 0
        for _pk, results in stream_clocks(legacy, now, batch=LEGACY_BATCH):
            tickets += 1
            clocks += len(results)
        run.legacy = (tickets, clocks, time.perf_counter() - start)
        print(
            f"  stream_clocks, 1 process: {tickets / run.legacy[2]:,.0f} tickets/s "
            f"({clocks / run.legacy[2]:,.0f} clocks/s) on the first {tickets:,} tickets",
            flush=True,
        )
        few = Ticket.objects.filter(pk__lte=ids[min(len(ids), LEGACY_BATCH) - 1])
        run.legacy_profile = profile(lambda: list(stream_clocks(few, now, batch=LEGACY_BATCH)))
    return run


# --------------------------------------------------------------------------------------------
# Main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--events-per-ticket", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets, fewer requests")
    parser.add_argument(
        "--service-tickets",
        type=int,
        default=None,
        help="opened through the services (default 300, 100 with --quick)",
    )
    parser.add_argument("--requests", type=int, default=60, help="per list measure (≥ 50)")
    parser.add_argument(
        "--creates",
        type=int,
        default=None,
        help="tickets opened per creation measure (default 1000, 300 with --quick)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="client threads vs. the server")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--no-server", action="store_true", help="skip the real server")
    parser.add_argument(
        "--sample",
        type=int,
        default=None,
        help="tickets for ticket_clocks (default 2000, 500 with --quick)",
    )
    parser.add_argument(
        "--clock-tickets",
        type=int,
        default=None,
        help="tickets for the engine pass (default: every ticket)",
    )
    parser.add_argument(
        "--clock-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for the full recomputation (default: one per core)",
    )
    parser.add_argument(
        "--legacy-tickets",
        type=int,
        default=LEGACY_TICKETS,
        help="the first tickets for sla.stream_clocks, a replay per ticket (0: skip it)",
    )
    parser.add_argument(
        "--only",
        choices=["all", "clocks"],
        default="all",
        help="clocks: skip the ticket list and creation measures",
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the data of an earlier run with as many tickets (no reset, no generation)",
    )
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    if args.quick:
        args.tickets = 20_000 if args.tickets == 1_000_000 else args.tickets
    service_count = args.service_tickets or (100 if args.quick else 300)
    creates = args.creates or (300 if args.quick else 1000)
    sample = args.sample or (500 if args.quick else 2000)
    if args.requests < 50:
        parser.error("--requests: at least 50")
    if args.write and args.only != "all":
        parser.error("--write records every measure: not with --only")
    if service_count >= args.tickets:
        parser.error("--tickets: more than --service-tickets")

    setup(args.database_url)
    from django.db.models import Count
    from django.utils import timezone

    from infogerance.helpdesk.models import Ticket, TicketEvent

    now = timezone.now()
    if args.reuse and Ticket.objects.count() >= args.tickets:
        world = load_world()
        # How the data was made, noted on the database by the run that made it.
        generation, timings, service_count, service_time, vacuum = recall_generation()
        print("Reusing the data of an earlier run.", flush=True)
    else:
        print(f"Generating {args.tickets:,} tickets…", flush=True)
        start = time.perf_counter()
        reset_tables()
        first_day = (now - dt.timedelta(days=372)).date()
        world = build_world(first_day)
        world_time = time.perf_counter() - start
        timings = generate(world, args.tickets - service_count, args.events_per_ticket, now)
        t0 = time.perf_counter()
        calls = service_tickets(world, service_count)
        service_time = time.perf_counter() - t0
        vacuum = vacuum_analyze()
        generation = time.perf_counter() - start
        remember_generation(generation, timings, service_count, service_time, vacuum)
        print(
            f"  world {world_time:.1f} s, SQL {timings['insert']:.1f} s "
            f"({', '.join(f'{k} {v:.1f} s' for k, v in timings.items() if k != 'insert')}), "
            f"{service_count} tickets through the services {service_time:.1f} s "
            f"({calls / service_time:.0f} service calls/s), VACUUM ANALYZE {vacuum:.1f} s; "
            f"total {generation:.1f} s",
            flush=True,
        )
    tickets = Ticket.objects.count()
    events = TicketEvent.objects.count()
    print(f"{tickets:,} tickets, {events:,} events ({events / tickets:.2f} per ticket)")
    status_counts = dict(
        Ticket.objects.order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    print("  by status: " + ", ".join(f"{k} {v:,}" for k, v in sorted(status_counts.items())))

    background = machine_busy(3.0)
    if background is not None:
        print(f"Other processes keep {100 * background:.0f} % of the CPU busy.", flush=True)

    lists: list[ListCase] = []
    page_profile = create_profile = None
    create = None
    if args.only == "all":
        print("1. Ticket list", flush=True)
        lists, page_profile = measure_lists(world, args.requests)

        print("2. Ticket creation", flush=True)
        tokens = client_tokens(world)
        create_rate, create_timing, create_profile = measure_create_inprocess(
            world, tokens, creates
        )
        print(
            f"  test client, sequential: {create_rate:,.0f} tickets/s, median "
            f"{create_timing.median_ms:.1f} ms, {create_timing.queries} queries",
            flush=True,
        )
        server_results = []
        if not args.no_server:
            levels = [1] if args.concurrency <= 1 else [1, args.concurrency]
            server_results = measure_create_server(
                world, tokens, creates, levels, args.server_workers
            )
        create = (create_rate, create_timing, create_profile, server_results)

    print("3. Clocks", flush=True)
    now = timezone.now()
    tc_rate, tc_clocks, tc_states, tc_profile, tc_queries, batch_rate = measure_ticket_clocks(
        sample, now
    )
    print(
        f"  ticket_clocks: {tc_rate:,.0f} tickets/s ({tc_clocks / len(tc_states):.1f} "
        f"clocks per ticket, {tc_queries} queries per ticket)"
        + (f"; sla.clocks_for: {batch_rate:,.0f} tickets/s" if batch_rate else ""),
        flush=True,
    )
    engine = measure_engine(
        args.clock_tickets, now, set(tc_states), args.clock_workers, args.legacy_tickets
    )
    # Every clock of the sample, from the columnar path and from ticket_clocks: name, state,
    # elapsed, stopped and breached instants (µs). A ticket without clocks has no entry.
    compared = [pk for pk in tc_states if pk in engine.states or not tc_states[pk]]
    differ = [pk for pk in compared if tc_states[pk] != engine.states.get(pk, [])]
    print(
        f"  {len(compared)} tickets compared with ticket_clocks (state, elapsed, stopped, "
        f"breached of each clock), {len(differ)} differ"
    )
    if differ:
        print(f"  differ: {differ[:10]}")
    print(" " + figures_note(engine)[1:], flush=True)

    lines = report_lines(
        args=args,
        tickets=tickets,
        events=events,
        generation=(generation, timings, service_count, service_time, vacuum),
        lists=lists,
        page=page_profile,
        create=create,
        tc=(tc_rate, tc_clocks, len(tc_states), tc_profile, tc_queries, batch_rate),
        engine=engine,
        compared=(len(compared), len(differ)),
        background=background,
    )
    print()
    print("\n".join(lines))
    print("Profiles (own time):")
    for name, prof in (
        ("list page", page_profile),
        ("creation", create_profile),
        ("ticket_clocks", tc_profile),
        ("stream_clock_figures", engine.profile),
        ("stream_clocks", engine.legacy_profile),
    ):
        if prof is not None:
            top = ", ".join(f"{f} {t * 1000:.0f} ms" for f, t in prof.top_own[:8])
            print(f"  {name}: {top}")
    if args.write:
        write_section("### Help desk on postgresql ", lines)
    return 0


# --------------------------------------------------------------------------------------------
# Report


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report_lines(
    *,
    args: argparse.Namespace,
    tickets: int,
    events: int,
    generation: tuple[float, dict[str, float], int, float, float],
    lists: list[ListCase],
    page: Profile | None,
    create: tuple[float, Timing, Profile, list[ServerRun]] | None,
    tc: tuple[float, int, int, Profile, int, float | None],
    engine: EngineRun,
    compared: tuple[int, int],
    background: float | None,
) -> list[str]:
    total, timings, service_count, service_time, vacuum = generation
    tc_rate, tc_clocks, tc_count, tc_profile, tc_queries, batch_rate = tc
    lines = [
        f"### Help desk on postgresql ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, {tickets:,} tickets, {events:,} events)",
        "",
    ]
    if total:
        lines += [
            f"Data: {CLIENTS} clients of one provider, {ENGINEERS} engineers, one contract per "
            "client (`examples/contrat-infogerance-globale.yaml`, its pause statuses mapped to "
            f"the help desk's), {service_count} tickets opened and worked through the services, "
            f"the rest generated in SQL over the past year ({events / tickets:.1f} events per "
            "ticket: created, assigned, status changes, pauses, restored, resolved, closed, "
            f"comments). Generating it took {total:.0f} s: {timings['insert']:.0f} s of "
            f"`INSERT … SELECT`, {service_time:.0f} s of services, {vacuum:.0f} s of "
            "`VACUUM ANALYZE` and `CHECKPOINT`.",
            "",
        ]
    lines += [
        (
            "Server times are measured in-process through Django's test client (median and p95 "
            f"of {args.requests} requests after a warm-up), as a provider engineer: logged in "
            "for the page, with a token for the API. The page computes the SLA state of every "
            "ticket it lists."
            if lists or create
            else "Only the clocks were measured (`--only clocks`)."
        )
        + (
            f" Other processes kept {100 * background:.0f} % of the machine's CPU busy when "
            "the measures began."
            if background is not None and background >= 0.05
            else ""
        ),
        "",
        "| measure | target | figure | |",
        "|---|---|---|---|",
    ]
    missed: dict[str, bool] = {}
    for case in lists:
        assert case.timing is not None
        ok = case.timing.median_ms <= LIST_TARGET_MS
        missed[case.kind] = missed.get(case.kind, False) or not ok
        lines.append(
            f"| ticket list, {case.label} | ≤ {LIST_TARGET_MS:.0f} ms median | "
            f"{case.timing.median_ms:,.1f} ms median, {case.timing.p95_ms:,.1f} ms p95 "
            f"({case.rows} rows, {case.timing.queries} queries) | {verdict(ok)} |"
        )
    if create is not None:
        create_rate, create_timing, _profile, server = create
        lines.append(
            f"| ticket creation, `POST /api/v1/tickets`, test client, sequential | "
            f"≥ {CREATE_TARGET:.0f}/s | {create_rate:,.0f}/s (median "
            f"{create_timing.median_ms:.1f} ms, {create_timing.queries} queries) | "
            f"{verdict(create_rate >= CREATE_TARGET)} |"
        )
        for run in server:
            fails = f", {run.failures} failed" if run.failures else ""
            lines.append(
                f"| ticket creation, `infogerance serve --workers {args.server_workers}`, "
                f"{run.threads} HTTP client{'s' if run.threads > 1 else ''} | "
                f"≥ {CREATE_TARGET:.0f}/s | {run.rate:,.0f}/s (median {run.median_ms:.1f} ms, "
                f"p95 {run.p95_ms:.1f} ms{fails}) | {verdict(run.rate >= CREATE_TARGET)} |"
            )
        missed["create"] = max([create_rate] + [r.rate for r in server]) < CREATE_TARGET
    lines.append(
        f"| clocks, `sla.ticket_clocks` (events read per ticket), {tc_count:,} random "
        f"tickets | ≥ {CLOCK_TARGET:,.0f} tickets/s | {tc_rate:,.0f} tickets/s "
        f"({tc_clocks / tc_count:.1f} clocks and {tc_queries} queries per ticket) | "
        f"{verdict(tc_rate >= CLOCK_TARGET)} |"
    )
    if batch_rate:
        lines.append(
            f"| clocks, `sla.clocks_for`, the same tickets, {CLOCKS_BATCH} per call (one read "
            f"of their events each) | ≥ {CLOCK_TARGET:,.0f} tickets/s | "
            f"{batch_rate:,.0f} tickets/s | {verdict(batch_rate >= CLOCK_TARGET)} |"
        )
    best = max(engine.seconds, key=engine.rate)
    checked, differ = compared
    for count in sorted(engine.seconds):
        cpu = 1e6 * engine.cpu[count] / engine.tickets
        db_cpu = 1e6 * engine.db_cpu[count] / engine.tickets
        lines.append(
            f"| clocks, every clock of "
            f"{'every ticket' if engine.tickets >= tickets else 'the first tickets'} "
            f"({engine.tickets:,}) through `sla.stream_clock_figures` (columnar, reads "
            f"included, {BATCH:,} tickets per batch), {count} process"
            f"{'es' if count > 1 else ''} | ≥ {CLOCK_TARGET:,.0f} tickets/s | "
            f"{engine.rate(count):,.0f} tickets/s ({engine.clocks / engine.seconds[count]:,.0f} "
            f"clocks/s; per ticket {cpu:.1f} µs of CPU in the workers, {db_cpu:.1f} µs in "
            f"PostgreSQL) | {verdict(engine.rate(count) >= CLOCK_TARGET)} |"
        )
    if engine.legacy is not None:
        legacy_tickets, legacy_clocks, legacy_seconds = engine.legacy
        legacy_rate = legacy_tickets / legacy_seconds
        lines.append(
            f"| clocks, every clock of the first {legacy_tickets:,} tickets through "
            f"`sla.stream_clocks` (a replay per ticket, reads included, {LEGACY_BATCH:,} "
            f"tickets per read), 1 process | ≥ {CLOCK_TARGET:,.0f} tickets/s | "
            f"{legacy_rate:,.0f} tickets/s ({legacy_clocks / legacy_seconds:,.0f} clocks/s) | "
            f"{verdict(legacy_rate >= CLOCK_TARGET)} |"
        )
    missed["ticket_clocks"] = tc_rate < CLOCK_TARGET
    missed["engine"] = engine.rate(best) < CLOCK_TARGET
    missed["batch"] = bool(batch_rate) and batch_rate < CLOCK_TARGET
    notes = []
    if missed.get("page"):
        notes.append(page_note(lists, page))
    if missed.get("api"):
        worst = max((c for c in lists if c.kind == "api"), key=lambda c: c.timing.median_ms)
        notes.append(
            f"- API list: no SLA state is computed; the time is the ticket query ({worst.label})."
        )
    if create is not None and missed["create"]:
        _rate, create_timing, create_profile, server = create
        notes.append(create_note(create_profile, create_timing, server, args.server_workers))
    if missed["ticket_clocks"]:
        per = tc_profile.total
        c = tc_profile.cumulative
        notes.append(
            f"- `ticket_clocks`: {per * 1000:.1f} ms per ticket under the profiler: "
            f"{share(c['orm'], per)} in the ORM's {tc_queries} reads (of which waiting for "
            f"PostgreSQL {share(c['sql'], per)}, the rest building the queries and the rows), "
            f"{share(c['engine'], per)} in `compute_clock`, {share(c['calendar'], per)} "
            f"building calendars and targets, {share(c['parse'], per)} in "
            "`ContractVersion.parsed()`."
        )
    if missed["batch"]:
        assert batch_rate
        notes.append(
            f"- `clocks_for`: {1e6 / batch_rate:.0f} µs per ticket ({CLOCKS_BATCH} tickets "
            "per call, so the contract versions are read and parsed once per call)."
        )
    if missed["engine"] and engine.profile is not None:
        notes.append(figures_note(engine))
    lines += [
        "",
        f"The columnar recomputation reads each batch's tickets and their clock events (two "
        "queries), turns the events into numpy columns, groups the tickets by clock (contract "
        "version in force on their opening day and service; equal clocks of several contracts "
        "are one) and judges each clock of a batch in one `clocks.clock_figures` call. "
        f"Compared with `ticket_clocks` on the {checked:,} sampled tickets (state, elapsed "
        f"time, stop and breach instants of every clock), {differ} differ. "
        "`sla.stream_clocks`, the replay per ticket it replaces for recomputations, is "
        "measured on the first tickets only, in one process.",
    ]
    if notes:
        lines += [
            "",
            "Where the time goes, for each missed target (cProfile, which inflates the share "
            "of Python-heavy code):",
            "",
            *notes,
        ]
    lines.append("")
    return lines


def figures_note(engine: EngineRun) -> str:
    """Where the columnar recomputation's time goes (one batch under the profiler)."""
    assert engine.profile is not None
    prof = engine.profile
    per = prof.total / max(1, engine.profile_tickets)
    c = prof.cumulative
    workers = max(engine.seconds, key=engine.rate)
    return (
        f"- `stream_clock_figures`: {per * 1e6:.1f} µs per ticket under the profiler (one "
        f"batch of {engine.profile_tickets:,}): reading the tickets "
        f"{share(c['reads'] - c['events'], prof.total)} and their events "
        f"{share(c['events'], prof.total)} (waiting for PostgreSQL and building the rows), "
        f"the events into columns {share(c['columns'] - c['logs'], prof.total)}, "
        f"`TicketLogs.from_columns` {share(c['logs'], prof.total)}, grouping by clock "
        f"{share(c['groups'], prof.total)}, `TicketLogs.select` "
        f"{share(c['select'], prof.total)}, `clock_figures` {share(c['figures'], prof.total)}. "
        f"With {workers} process{'es' if workers > 1 else ''}, a ticket costs "
        f"{1e6 * engine.cpu[workers] / engine.tickets:.1f} µs of the workers' CPU and "
        f"{1e6 * engine.db_cpu[workers] / engine.tickets:.1f} µs of PostgreSQL's."
    )


def page_note(lists: list[ListCase], page: Profile) -> str:
    case = next(c for c in lists if c.profiled)
    per = page.total / 5
    c = page.cumulative
    assert case.timing is not None
    parsed = (
        f", `ContractVersion.parsed()` {share(c['parse'], per)}" if c["parse"] > per / 100 else ""
    )
    return (
        f"- List page ({case.label}, {case.rows} rows): {per * 1000:.0f} ms per page under "
        f"the profiler, {share(c['sla'], per)} of it computing the SLA states of the listed "
        f"tickets ({page.calls['engine'] / 5:.0f} `compute_clock` calls). Over the whole "
        f"page: the ORM's {case.timing.queries} reads {share(c['orm'], per)} (of which "
        f"waiting for PostgreSQL {share(c['sql'], per)}), `compute_clock` "
        f"{share(c['engine'], per)}{parsed}, rendering {share(c['render'], per)}; the ticket "
        f"query itself takes {case.query_ms:.1f} ms ({case.plan})."
    )


def create_note(prof: Profile, timing: Timing, server: list[ServerRun], workers: int) -> str:
    per = prof.total / 10
    c = prof.cumulative
    note = (
        f"- Creation: {per * 1000:.1f} ms per ticket under the profiler "
        f"({timing.median_ms:.1f} ms without), {share(c['sql'], per)} of it in its "
        f"{timing.queries} SQL queries and {share(c['commit'], per)} in the COMMIT (the WAL "
        f"flush); the service `open_ticket` is {share(c['open'], per)} "
        f"(of which the audit append {share(c['audit'], per)}, `ContractVersion.parsed()` "
        f"{share(c['parse'], per)} for {prof.calls['parse'] // 10} calls), the token check "
        f"{share(c['auth'], per)}, the tenant-scoped lookups of client and contract "
        f"{share(c['lookup'], per)}, the rest "
        "Django's and Ninja's request handling (middleware, session, schema validation, "
        "serialisation)."
    )
    if server:
        busy = max(server, key=lambda r: r.rate)
        per_ticket = busy.server_ms + busy.db_ms
        cores = os.cpu_count() or 1
        note += (
            f" Behind `serve --workers {workers}`, a ticket costs {busy.server_ms:.1f} ms of "
            f"the server's CPU and {busy.db_ms:.1f} ms of PostgreSQL's: {cores} cores cannot "
            f"open more than about {1000 * cores / per_ticket:.0f} per second, even on an "
            f"otherwise idle machine. With {busy.threads} clients, the database's backends "
            f"were sampled {busy.waits}."
        )
    return note


if __name__ == "__main__":
    raise SystemExit(main())
