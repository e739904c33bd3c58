"""Ticket pages: the list per role, the opening form, actions with a version check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from infogerance.contracts.services import import_contract
from infogerance.helpdesk import services
from infogerance.helpdesk.models import Ticket

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(world: Any) -> Any:
    return import_contract(actor=world.user("p_admin"), client=world.victim, text=MINIMAL).contract


def test_open_from_the_form(world: Any, contract: Any, login: Any) -> None:
    client = login(world.user("a_user"))
    form = client.get(reverse("helpdesk:ticket_create"))
    assert form.status_code == 200
    choices = dict(form.context["form"].fields["service"].choices)
    assert set(choices) == {f"{contract.pk}:HD", f"{contract.pk}:INFRA"}
    bad = client.post(
        reverse("helpdesk:ticket_create"),
        {
            "service": f"{contract.pk}:PAIE",
            "kind": "incident",
            "title": "x",
            "impact": "high",
            "urgency": "low",
        },
    )
    assert bad.status_code == 200
    assert "service" in bad.context["form"].errors
    ok = client.post(
        reverse("helpdesk:ticket_create"),
        {
            "service": f"{contract.pk}:HD",
            "kind": "request",
            "title": "Nouvel accès VPN",
            "impact": "low",
            "urgency": "low",
            "description": "",
        },
    )
    ticket = Ticket.objects.get()
    assert ok.status_code == 302
    assert ok["Location"] == reverse("helpdesk:ticket", kwargs={"ticket_id": ticket.pk})
    assert (ticket.kind, ticket.priority) == ("request", "P4")


def test_stale_form_is_refused(world: Any, contract: Any, login: Any) -> None:
    ticket = services.open_ticket(
        actor=world.user("a_user"),
        client=world.victim,
        contract=contract,
        service_code="HD",
        title="x",
        impact="low",
        urgency="low",
    )
    engineer = login(world.user("p_engineer"))
    url = reverse("helpdesk:ticket_transition", kwargs={"ticket_id": ticket.pk})
    engineer.post(url, {"status": "intervention_started", "version": 1})
    engineer.post(url, {"status": "waiting_client", "version": 1})  # seen before the change
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version) == ("intervention_started", 2)


def test_lists_per_role(world: Any, contract: Any, login: Any) -> None:
    mine = services.open_ticket(
        actor=world.user("a_user"),
        client=world.victim,
        contract=contract,
        service_code="HD",
        title="Mon poste",
        impact="low",
        urgency="low",
    )
    services.open_ticket(
        actor=world.user("a_manager"),
        client=world.victim,
        contract=contract,
        service_code="HD",
        title="Salle de réunion",
        impact="low",
        urgency="low",
    )
    listed = login(world.user("a_user")).get(reverse("helpdesk:tickets"))
    assert [t.pk for t, _sla in listed.context["rows"]] == [mine.pk]
    listed = login(world.user("p_engineer")).get(reverse("helpdesk:tickets") + "?priority=P4")
    assert len(listed.context["rows"]) == 2
    page = login(world.user("a_manager")).get(
        reverse("helpdesk:ticket", kwargs={"ticket_id": mine.pk})
    )
    assert page.status_code == 200
    assert b"transition-form" not in page.content
    assert (
        login(world.user("b_manager"))
        .get(reverse("helpdesk:ticket", kwargs={"ticket_id": mine.pk}))
        .status_code
        == 404
    )


def test_satisfaction_survey(world: Any, contract: Any, login: Any) -> None:
    ticket = services.open_ticket(
        actor=world.user("a_user"),
        client=world.victim,
        contract=contract,
        service_code="HD",
        title="x",
        impact="low",
        urgency="low",
    )
    url = reverse("helpdesk:ticket_survey", kwargs={"ticket_id": ticket.pk})
    requester = login(world.user("a_user"))
    requester.post(url, {"score": "5"})
    assert not hasattr(Ticket.objects.get(pk=ticket.pk), "satisfaction")  # not resolved yet
    services.transition(ticket, actor=world.user("p_engineer"), status="resolved")
    page = requester.get(reverse("helpdesk:ticket", kwargs={"ticket_id": ticket.pk}))
    assert b"survey-form" in page.content
    requester.post(url, {"score": "9"})
    requester.post(url, {"score": "4", "comment": "Rapide"})
    requester.post(url, {"score": "1"})  # once only
    answer = Ticket.objects.get(pk=ticket.pk).satisfaction
    assert (answer.score, answer.comment) == (4, "Rapide")
    # Only the requester answers.
    other = Ticket.objects.get(pk=ticket.pk)
    with pytest.raises(Exception, match="requester"):
        services.answer_survey(other, actor=world.user("a_manager"), score=3)


def test_bulk_assignment(world: Any, contract: Any, login: Any) -> None:
    tickets = [
        services.open_ticket(
            actor=world.user("a_user"),
            client=world.victim,
            contract=contract,
            service_code="HD",
            title=f"T{i}",
            impact="low",
            urgency="low",
        )
        for i in range(3)
    ]
    engineer = world.user("p_engineer")
    admin = login(world.user("p_admin"))
    listing = admin.get(reverse("helpdesk:tickets"))
    assert engineer in listing.context["engineers"]
    response = admin.post(
        reverse("helpdesk:ticket_bulk_assign"),
        {"ticket": [tickets[0].pk, tickets[2].pk], "assignee": engineer.pk},
    )
    assert response.status_code == 302
    assigned = set(Ticket.objects.filter(assignee=engineer).values_list("pk", flat=True))
    assert assigned == {tickets[0].pk, tickets[2].pk}
    # A client manager cannot assign (nothing changes).
    login(world.user("a_manager")).post(
        reverse("helpdesk:ticket_bulk_assign"), {"ticket": [tickets[1].pk], "assignee": engineer.pk}
    )
    assert Ticket.objects.get(pk=tickets[1].pk).assignee is None


def test_sla_filter(world: Any, contract: Any, login: Any) -> None:
    services.open_ticket(
        actor=world.user("a_user"),
        client=world.victim,
        contract=contract,
        service_code="HD",
        title="P1",
        impact="high",
        urgency="high",
    )
    listing = login(world.user("p_engineer")).get(reverse("helpdesk:tickets") + "?sla=running")
    assert [state for _t, state in listing.context["rows"]] == ["running"]
    none = login(world.user("p_engineer")).get(reverse("helpdesk:tickets") + "?sla=breached")
    assert none.context["rows"] == []
