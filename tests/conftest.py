"""Fixtures shared by the whole suite: a small world of tenants built through the services."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

import pytest

os.environ.setdefault("INFOGERANCE_HOME", tempfile.mkdtemp(prefix="infogerance-test-"))

PASSWORD = "correct-horse-battery-9"
MARKER = "Zebulon7Q"  # appears in every piece of the victim client's data, and nowhere else


@dataclass
class World:
    provider: Any
    victim: Any  # client A, the victim of the isolation walk
    neighbour: Any  # client B, same provider
    other_provider: Any  # provider Q, unrelated
    users: dict[str, Any]

    def user(self, key: str) -> Any:
        return self.users[key]


def build_world() -> World:
    from infogerance.core.actors import SystemActor
    from infogerance.tenancy import services
    from infogerance.tenancy.roles import OrganizationKind, Role

    actor = SystemActor("test")
    provider = services.create_organization(
        actor=actor, kind=OrganizationKind.PROVIDER, name="Provider P", slug="provider-p"
    )
    victim = services.create_organization(
        actor=actor,
        kind=OrganizationKind.CLIENT,
        provider=provider,
        name=f"Client A {MARKER}",
        slug="client-a",
        legal_name=f"{MARKER} SAS",
    )
    neighbour = services.create_organization(
        actor=actor,
        kind=OrganizationKind.CLIENT,
        provider=provider,
        name="Client B",
        slug="client-b",
    )
    other = services.create_organization(
        actor=actor, kind=OrganizationKind.PROVIDER, name="Provider Q", slug="provider-q"
    )
    people = {
        "p_admin": (provider, Role.PROVIDER_ADMIN, "Paula Admin"),
        "p_engineer": (provider, Role.PROVIDER_ENGINEER, "Pierre Engineer"),
        "p_auditor": (provider, Role.AUDITOR, "Pia Auditor"),
        "a_manager": (victim, Role.CLIENT_MANAGER, f"Alice {MARKER}"),
        "a_user": (victim, Role.CLIENT_USER, f"Arthur {MARKER}"),
        "a_auditor": (victim, Role.AUDITOR, f"Agnes {MARKER}"),
        "b_manager": (neighbour, Role.CLIENT_MANAGER, "Bob Manager"),
        "b_user": (neighbour, Role.CLIENT_USER, "Bea User"),
        "q_admin": (other, Role.PROVIDER_ADMIN, "Quentin Admin"),
    }
    users = {}
    for key, (org, role, name) in people.items():
        email = f"{key}.{MARKER.lower()}@a.example" if org == victim else f"{key}@example.org"
        membership = services.invite_member(
            actor=actor,
            organization=org,
            email=email,
            full_name=name,
            role=role,
            password=PASSWORD,
            send_invitation=False,
        )
        users[key] = membership.user
    return World(provider, victim, neighbour, other, users)


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


@pytest.fixture
def login(client: Any) -> Any:
    """Log the test client in as a world user (no second factor)."""

    def do(user: Any) -> Any:
        client.force_login(user)
        return client

    return do


@pytest.fixture
def api_token() -> Any:
    """A write token for a user, as the raw secret."""
    from infogerance.accounts.services import create_token

    def make(user: Any, scope: str = "write") -> str:
        _row, secret = create_token(actor=user, name="test", scope=scope)
        return secret

    return make


@pytest.fixture(autouse=True)
def _audit_triggers_allow_flush(request: Any) -> Any:
    """Let Django flush the append-only audit table after a transactional test on SQLite.

    Flushing deletes rows, which the trigger refuses (PostgreSQL truncates, which row
    triggers do not see). The trigger is dropped just before the flush and put back before
    the next test.
    """
    marker = request.node.get_closest_marker("django_db")
    fixtures = set(request.fixturenames)
    transactional = bool(
        {"transactional_db", "live_server"} & fixtures
        or (marker and marker.kwargs.get("transaction"))
    )
    if not (transactional or marker or "db" in fixtures):
        yield
        return
    import importlib

    from django.db import connection

    request.getfixturevalue("transactional_db" if transactional else "db")
    triggers = importlib.import_module("infogerance.audit.migrations.0002_append_only")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for statement in triggers.SQLITE:
                cursor.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS"))
    yield
    if transactional and connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for statement in triggers.SQLITE_DOWN:
                cursor.execute(statement)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> None:
    """PBKDF2's 10^6 rounds cost a third of a second per user: tests use a fast hasher."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Any:
    """Messages built outside a request (services, CLI) follow the active language, French
    by default: tests read them in English unless they ask for French explicitly."""
    from django.utils import translation

    with translation.override("en"):
        yield
