"""Tickets opened at the same time by several people: each gets its own number, in an
unbroken sequence per client, and the audit chain stays whole. Real threads and
transactions, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from infogerance.audit.models import AuditEvent
from infogerance.audit.services import verify_chain
from infogerance.contracts.services import import_contract
from infogerance.helpdesk import services
from infogerance.helpdesk.models import Ticket, TicketCounter

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
THREADS, EACH = 6, 5


def open_one(world: Any, contract: Any, client: Any, title: str = "Écran noir") -> Ticket:
    return services.open_ticket(
        actor=world.user("p_engineer"),
        client=client,
        contract=contract,
        service_code="HD",
        title=title,
        impact="high",
        urgency="medium",
        requester=world.user("a_user") if client == world.victim else world.user("b_user"),
    )


@pytest.mark.django_db(transaction=True)
def test_racing_openings_get_distinct_consecutive_numbers(world: Any) -> None:
    admin = world.user("p_admin")
    contract = import_contract(actor=admin, client=world.victim, text=MINIMAL).contract
    other = import_contract(actor=admin, client=world.neighbour, text=MINIMAL).contract
    open_one(world, other, world.neighbour)  # the neighbour's #1: numbers are per client
    events_before = AuditEvent.objects.count()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            barrier.wait()
            for _ in range(EACH):
                open_one(world, contract, world.victim)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=opener) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # 6 threads × 5 tickets = 30 tickets numbered 1 to 30, none twice, none skipped.
    numbers = sorted(
        Ticket.objects.filter(organization=world.victim).values_list("number", flat=True)
    )
    assert numbers == list(range(1, THREADS * EACH + 1))
    assert TicketCounter.objects.get(organization=world.victim).last_number == THREADS * EACH
    assert TicketCounter.objects.get(organization=world.neighbour).last_number == 1
    # One audit event per ticket, each chained to the one before.
    assert AuditEvent.objects.count() == events_before + THREADS * EACH
    report = verify_chain()
    assert report.ok, report.problem


@pytest.mark.django_db
def test_a_rolled_back_opening_gives_its_number_back(world: Any) -> None:
    contract = import_contract(actor=world.user("p_admin"), client=world.victim, text=MINIMAL)
    assert open_one(world, contract.contract, world.victim).number == 1
    with pytest.raises(ValidationError):
        open_one(world, contract.contract, world.victim, title="   ")
    taken: list[int] = []

    def open_then_fail() -> None:
        with transaction.atomic():
            taken.append(open_one(world, contract.contract, world.victim).number)
            raise RuntimeError("the caller's transaction fails after the ticket")

    with pytest.raises(RuntimeError):
        open_then_fail()
    assert taken == [2]
    # Neither the refusal nor the rolled-back ticket used a number: the next one is #2.
    assert open_one(world, contract.contract, world.victim).number == 2
    assert TicketCounter.objects.get(organization=world.victim).last_number == 2
