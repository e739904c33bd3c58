"""The help desk API: open, work, comment; errors name the field; internal notes stay inside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from infogerance.contracts.services import import_contract
from infogerance.helpdesk.models import Ticket

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
pytestmark = pytest.mark.django_db


def bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def setup(world: Any, api_token: Any) -> dict[str, Any]:
    contract = import_contract(
        actor=world.user("p_admin"), client=world.victim, text=MINIMAL
    ).contract
    return {
        "contract": contract,
        "user": bearer(api_token(world.user("a_user"))),
        "manager": bearer(api_token(world.user("a_manager"))),
        "engineer": bearer(api_token(world.user("p_engineer"))),
        "outsider": bearer(api_token(world.user("b_manager"))),
    }


def open_ticket(world: Any, setup: dict[str, Any], who: str = "user") -> Any:
    return post(
        setup[who],
        "/api/v1/tickets",
        {
            "client_id": world.victim.pk,
            "contract_id": setup["contract"].pk,
            "service_code": "INFRA",
            "title": "Serveur de fichiers inaccessible",
            "impact": "high",
            "urgency": "high",
        },
    )


def test_open_and_work_through_the_api(world: Any, setup: dict[str, Any]) -> None:
    created = open_ticket(world, setup)
    assert created.status_code == 201, created.content
    ticket = created.json()
    assert (ticket["priority"], ticket["status"], ticket["channel"]) == ("P1", "new", "api")
    url = f"/api/v1/tickets/{ticket['id']}"
    engineer = setup["engineer"]
    moved = post(
        engineer, f"{url}/transition", {"status": "intervention_started", "expected_version": 1}
    )
    assert moved.status_code == 200
    assert moved.json()["version"] == 2
    stale = post(engineer, f"{url}/transition", {"status": "restored", "expected_version": 1})
    assert stale.status_code == 400
    assert "version" in stale.json()["errors"]
    wrong = post(engineer, f"{url}/transition", {"status": "closed", "cause": "provider"})
    assert wrong.status_code == 400
    assert wrong.json()["errors"]["status"] == [
        "A ticket cannot go from Intervention started to Closed."
    ]
    post(engineer, f"{url}/comments", {"text": "Disque plein, purge en cours", "internal": True})
    post(engineer, f"{url}/comments", {"text": "Nous intervenons."})
    seen_by_client = setup["user"].get(f"{url}/events").json()
    assert [e["kind"] for e in seen_by_client] == ["created", "status", "comment"]
    seen_by_engineer = engineer.get(f"{url}/events").json()
    assert [e["internal"] for e in seen_by_engineer if e["kind"] == "comment"] == [True, False]


def test_who_sees_what(world: Any, setup: dict[str, Any]) -> None:
    by_user = open_ticket(world, setup, "user").json()["id"]
    by_manager = open_ticket(world, setup, "manager").json()["id"]
    assert {t["id"] for t in setup["user"].get("/api/v1/tickets").json()["items"]} == {by_user}
    assert {t["id"] for t in setup["manager"].get("/api/v1/tickets").json()["items"]} == {
        by_user,
        by_manager,
    }
    assert setup["user"].get(f"/api/v1/tickets/{by_manager}").status_code == 404
    assert setup["outsider"].get(f"/api/v1/tickets/{by_user}").status_code == 404
    assert setup["outsider"].get("/api/v1/tickets").json()["items"] == []


def test_bad_input_changes_nothing(world: Any, setup: dict[str, Any]) -> None:
    bad = post(
        setup["user"],
        "/api/v1/tickets",
        {
            "client_id": world.victim.pk,
            "contract_id": setup["contract"].pk,
            "service_code": "PAIE",
            "title": "x",
            "impact": "high",
            "urgency": "soon",
        },
    )
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"service_code"}
    worse = post(
        setup["user"],
        "/api/v1/tickets",
        {
            "client_id": world.victim.pk,
            "contract_id": setup["contract"].pk,
            "service_code": "HD",
            "title": "x",
            "impact": "high",
            "urgency": "soon",
        },
    )
    assert set(worse.json()["errors"]) == {"urgency"}
    assert not Ticket.objects.exists()
    not_mine = post(
        setup["outsider"],
        "/api/v1/tickets",
        {
            "client_id": world.victim.pk,
            "contract_id": setup["contract"].pk,
            "service_code": "HD",
            "title": "x",
            "impact": "high",
            "urgency": "high",
        },
    )
    assert not_mine.status_code == 404


def test_a_contract_of_another_client(world: Any, setup: dict[str, Any]) -> None:
    body = {
        "client_id": world.neighbour.pk,
        "contract_id": setup["contract"].pk,  # the victim's contract
        "service_code": "INFRA",
        "title": "Mauvais contrat",
        "impact": "high",
        "urgency": "high",
    }
    # The provider's engineer sees both clients: the mismatch is a bad request (the
    # service's validation; 422 is for bodies the schema refuses).
    mismatch = post(setup["engineer"], "/api/v1/tickets", body)
    assert mismatch.status_code == 400
    assert "contract" in mismatch.json()["errors"]
    # The victim's user does not see the neighbour: 404, as for any invisible object.
    assert post(setup["user"], "/api/v1/tickets", body).status_code == 404
    assert not Ticket.objects.exists()
