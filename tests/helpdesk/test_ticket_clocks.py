"""A ticket's clocks come from its events and the contract in force when it was opened."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from infogerance.contracts.services import import_contract
from infogerance.helpdesk import services
from infogerance.helpdesk.models import TicketEvent
from infogerance.helpdesk.sla import ticket_clocks

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
PARIS = ZoneInfo("Europe/Paris")
pytestmark = pytest.mark.django_db


def test_gti_clock_of_a_p1_ticket(world: Any, api_token: Any) -> None:
    contract = import_contract(
        actor=world.user("p_admin"), client=world.victim, text=MINIMAL
    ).contract
    ticket = services.open_ticket(
        actor=world.user("a_user"),
        client=world.victim,
        contract=contract,
        service_code="HD",
        title="Panne",
        impact="high",
        urgency="high",
    )
    # Put the log at known instants (events are immutable through the ORM, so the test
    # writes them as they would have been written at those times).
    opened = dt.datetime(2026, 3, 3, 10, 0, tzinfo=PARIS)
    TicketEvent.objects.filter(ticket=ticket).update(at=opened)
    services.transition(ticket, actor=world.user("p_engineer"), status="intervention_started")
    TicketEvent.objects.filter(ticket=ticket, seq=2).update(at=opened + dt.timedelta(minutes=20))
    (gti,) = ticket_clocks(ticket, now=opened + dt.timedelta(hours=2))
    # GTI P1 is 30 min on 24x7: 10:00 → 10:20 = 20 min, within target.
    assert gti.name == "GTI P1"
    assert gti.result.state == "met"
    assert gti.result.elapsed == dt.timedelta(minutes=20)
    assert gti.result.target == dt.timedelta(minutes=30)

    token = api_token(world.user("a_manager"))
    body = (
        Client(headers={"Authorization": f"Bearer {token}"})
        .get(f"/api/v1/tickets/{ticket.pk}/clocks")
        .json()
    )
    assert [(c["metric"], c["state"], c["elapsed_seconds"]) for c in body] == [
        ("gti", "met", 1200.0)
    ]
    assert body[0]["intervals"][0]["counted"] is True


def test_the_page_shows_live_clocks(world: Any, login: Any) -> None:
    contract = import_contract(
        actor=world.user("p_admin"), client=world.victim, text=MINIMAL
    ).contract
    ticket = services.open_ticket(
        actor=world.user("a_user"),
        client=world.victim,
        contract=contract,
        service_code="HD",
        title="Panne",
        impact="high",
        urgency="high",
    )
    client = login(world.user("a_user"))
    page = client.get(
        reverse("helpdesk:ticket", kwargs={"ticket_id": ticket.pk}),
        headers={"Accept-Language": "en"},
    )
    assert page.status_code == 200
    assert b'hx-get="/tickets/' in page.content
    partial = client.get(
        reverse("helpdesk:ticket_clocks", kwargs={"ticket_id": ticket.pk}),
        headers={"Accept-Language": "en"},
    )
    assert partial.status_code == 200
    assert b'data-state="running"' in partial.content
    assert b"How it was counted" in partial.content
    assert b"<html" in partial.content  # opened directly: the clock explanation page
    refresh = client.get(
        reverse("helpdesk:ticket_clocks", kwargs={"ticket_id": ticket.pk}),
        headers={"Accept-Language": "en", "HX-Request": "true"},
    )
    assert b"<html" not in refresh.content  # HTMX refresh: the fragment only
    assert b'data-state="running"' in refresh.content


def test_batch_clocks_match_and_cost_two_queries(
    world: Any, django_assert_num_queries: Any
) -> None:
    from infogerance.helpdesk.models import Ticket
    from infogerance.helpdesk.sla import clocks_for

    contract = import_contract(
        actor=world.user("p_admin"), client=world.victim, text=MINIMAL
    ).contract
    for i in range(5):
        services.open_ticket(
            actor=world.user("a_user"),
            client=world.victim,
            contract=contract,
            service_code="HD" if i % 2 else "INFRA",
            title=f"T{i}",
            impact="high",
            urgency="high",
        )
    tickets = list(Ticket.objects.all())
    now = dt.datetime(2026, 12, 1, tzinfo=PARIS)
    with django_assert_num_queries(2):  # every ticket's events, then the contract versions
        batch = clocks_for(tickets, now)
    for ticket in tickets:
        one = ticket_clocks(ticket, now)  # explained, the batch is not: the rest is the same
        assert [(c.name, c.result) for c in batch[ticket.pk]] == [
            (c.name, replace(c.result, intervals=[])) for c in one
        ]
        assert all(c.result.intervals for c in one if c.result.started_at is not None)
