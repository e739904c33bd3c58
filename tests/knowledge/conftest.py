"""Fixtures of the knowledge base tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)


@pytest.fixture
def login(client: Any) -> Any:
    """Log the test client in as a world user, its pages in English (the source strings)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def do(user: Any) -> Any:
        client.force_login(user)
        return client

    return do


@pytest.fixture
def contracts(world: Any) -> dict[str, Any]:
    """The test contract, for the victim client and for the neighbour."""
    from infogerance.contracts.services import import_contract

    admin = world.user("p_admin")
    return {
        "victim": import_contract(actor=admin, client=world.victim, text=MINIMAL).contract,
        "neighbour": import_contract(actor=admin, client=world.neighbour, text=MINIMAL).contract,
    }


@pytest.fixture
def tickets(world: Any, contracts: dict[str, Any]) -> dict[str, Any]:
    """One ticket of each client, opened by its client user."""
    from infogerance.helpdesk.services import open_ticket

    def one(client: Any, who: str, title: str) -> Any:
        return open_ticket(
            actor=world.user(who),
            client=client,
            contract=contracts["victim" if client == world.victim else "neighbour"],
            service_code="HD",
            title=title,
            impact="low",
            urgency="low",
        )

    return {
        "victim": one(world.victim, "a_user", "Imprimante du 2e étage"),
        "neighbour": one(world.neighbour, "b_user", "Messagerie lente"),
    }


@pytest.fixture
def write(world: Any) -> Any:
    """Write an article through the service: ``write(owner, title, body, **options)``."""
    from infogerance.knowledge.services import create_article

    def make(
        organization: Any, title: str, body: str = "Texte.", who: str = "p_engineer", **extra: Any
    ) -> Any:
        return create_article(
            actor=world.user(who), organization=organization, title=title, body=body, **extra
        )

    return make
