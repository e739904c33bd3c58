"""Tickets: opened on a contracted service, worked through the workflow, every change an
immutable event; bad transitions, stale versions and closed tickets change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from infogerance.contracts.services import import_contract
from infogerance.core.testing.audit import audit_expected
from infogerance.helpdesk import services
from infogerance.helpdesk.models import Ticket, TicketEvent
from infogerance.helpdesk.workflow import Status

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(world: Any) -> Any:
    return import_contract(actor=world.user("p_admin"), client=world.victim, text=MINIMAL).contract


def open_one(world: Any, contract: Any, who: str = "a_user", **extra: Any) -> Ticket:
    values = {
        "service_code": "HD",
        "title": "Imprimante en panne",
        "impact": "high",
        "urgency": "medium",
        **extra,
    }
    return services.open_ticket(
        actor=world.user(who), client=world.victim, contract=contract, **values
    )


def test_open_a_ticket(world: Any, contract: Any) -> None:
    with audit_expected("ticket.create", organization_id=world.victim.pk):
        ticket = open_one(world, contract)
    # impact high × urgency medium → P2 in the contract's matrix.
    assert (ticket.number, ticket.priority, ticket.status) == (1, "P2", "new")
    assert ticket.requester == world.user("a_user")
    (event,) = ticket.events.all()
    assert (event.seq, event.kind, event.status, event.priority) == (1, "created", "new", "P2")
    assert open_one(world, contract).number == 2


def test_a_service_outside_the_contract_is_refused(world: Any, contract: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        open_one(world, contract, service_code="PAIE")
    assert "service_code" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        open_one(world, contract, impact="cosmic")
    assert "impact" in caught.value.message_dict
    assert not Ticket.objects.exists()


def test_work_a_ticket_to_closure(world: Any, contract: Any) -> None:
    engineer = world.user("p_engineer")
    ticket = open_one(world, contract)
    services.assign(ticket, actor=engineer, assignee=engineer)
    for status in ("intervention_started", "waiting_client", "intervention_started", "restored"):
        ticket = services.transition(ticket, actor=engineer, status=status)
    # The client confirms the restoration…
    ticket = services.transition(ticket, actor=world.user("a_user"), status="resolved")
    # …and the provider closes with the cause.
    with pytest.raises(ValidationError) as caught:
        services.transition(ticket, actor=engineer, status="closed")
    assert "cause" in caught.value.message_dict
    ticket = services.transition(ticket, actor=engineer, status="closed", cause="provider")
    kinds = list(ticket.events.values_list("kind", "status"))
    assert kinds == [
        ("created", "new"),
        ("assigned", ""),
        ("status", "intervention_started"),
        ("status", "waiting_client"),
        ("status", "intervention_started"),
        ("status", "restored"),
        ("status", "resolved"),
        ("status", "closed"),
    ]
    assert ticket.version == 8  # one more per event after creation


def test_a_forbidden_transition_changes_nothing(world: Any, contract: Any) -> None:
    ticket = open_one(world, contract)
    with pytest.raises(ValidationError) as caught:
        services.transition(
            ticket, actor=world.user("p_engineer"), status="closed", cause="provider"
        )
    assert caught.value.message_dict["status"] == ["A ticket cannot go from New to Closed."]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version, ticket.events.count()) == ("new", 1, 1)


def test_clients_do_not_work_tickets(world: Any, contract: Any) -> None:
    ticket = open_one(world, contract)
    with pytest.raises(PermissionDenied):
        services.transition(ticket, actor=world.user("a_manager"), status="intervention_started")
    with pytest.raises(PermissionDenied):
        services.comment(ticket, actor=world.user("a_user"), text="note", internal=True)
    with pytest.raises(PermissionDenied):
        open_one(world, contract, who="b_manager")


def test_a_closed_ticket_takes_no_comment(world: Any, contract: Any) -> None:
    engineer = world.user("p_engineer")
    ticket = open_one(world, contract)
    ticket = services.transition(ticket, actor=engineer, status="resolved")
    ticket = services.transition(ticket, actor=engineer, status="closed", cause="client")
    with pytest.raises(ValidationError) as caught:
        services.comment(ticket, actor=world.user("a_user"), text="encore ?")
    assert "text" in caught.value.message_dict
    reopened = services.reopen(ticket, actor=world.user("a_user"), reason="pas réparé")
    assert reopened.status == Status.INTERVENTION_STARTED
    assert reopened.cause == ""
    services.comment(reopened, actor=world.user("a_user"), text="merci")


def test_two_editors_no_lost_update(world: Any, contract: Any) -> None:
    engineer = world.user("p_engineer")
    ticket = open_one(world, contract)
    seen = ticket.version
    services.transition(
        ticket, actor=engineer, status="intervention_started", expected_version=seen
    )
    with pytest.raises(ValidationError) as caught:
        services.change_priority(
            ticket,
            actor=world.user("p_admin"),
            impact="low",
            urgency="low",
            reason="moins grave",
            expected_version=seen,
        )
    assert "version" in caught.value.message_dict
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.version) == ("P2", 2)


def test_priority_change_is_an_event(world: Any, contract: Any) -> None:
    ticket = open_one(world, contract)
    ticket = services.change_priority(
        ticket,
        actor=world.user("p_engineer"),
        impact="high",
        urgency="high",
        reason="production arrêtée",
    )
    assert ticket.priority == "P1"
    event = ticket.events.get(kind="priority")
    assert (event.priority, event.reason) == ("P1", "production arrêtée")


def test_events_are_immutable(world: Any, contract: Any) -> None:
    event = open_one(world, contract).events.get()
    event.kind = "forged"
    with pytest.raises(ValueError, match="immutable"):
        event.save()
    with pytest.raises(ValueError, match="immutable"):
        event.delete()
    assert TicketEvent.objects.get(pk=event.pk).kind == "created"


def test_who_sees_which_ticket(world: Any, contract: Any) -> None:
    mine = open_one(world, contract, who="a_user")
    theirs = open_one(world, contract, who="a_manager")
    ids = lambda who: set(services.visible_tickets(world.user(who)).values_list("pk", flat=True))  # noqa: E731
    assert ids("a_user") == {mine.pk}  # a client user sees their own requests
    assert ids("a_manager") == {mine.pk, theirs.pk}  # the IT manager sees them all
    assert ids("p_engineer") == {mine.pk, theirs.pk}
    assert ids("b_manager") == set()
    assert ids("q_admin") == set()
