"""SLA warnings at 75 % and 100 % of a target: told once, whatever the number of workers."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections

from infogerance.contracts.services import import_contract
from infogerance.helpdesk import services
from infogerance.helpdesk.escalation import check_clocks
from infogerance.helpdesk.models import ClockAlert, Notification, TicketEvent

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
OPENED = dt.datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


def p1_ticket(world: Any) -> Any:
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
    TicketEvent.objects.filter(ticket=ticket).update(at=OPENED)
    return ticket


@pytest.mark.django_db
def test_warnings_once_per_threshold(
    world: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = p1_ticket(world)
    # GTI P1: 30 min on 24x7. At 10:20, 20/30 = 67 %: nothing yet.
    assert check_clocks(OPENED + dt.timedelta(minutes=20)) == 0
    # At 10:25, 25/30 = 83 % ≥ 75 %: one warning, to the provider's staff (nobody is
    # assigned) and the client's IT manager.
    with django_capture_on_commit_callbacks(execute=True):
        assert check_clocks(OPENED + dt.timedelta(minutes=25)) == 1
    told = set(Notification.objects.values_list("user__email", flat=True))
    assert told == {world.user(k).email for k in ("p_admin", "p_engineer", "a_manager")}
    assert len(mailoutbox) == 3
    assert "75" in Notification.objects.filter(user=world.user("a_manager")).get().message
    # Checking again at 10:26 sends nothing new.
    assert check_clocks(OPENED + dt.timedelta(minutes=26)) == 0
    # At 10:31 the target is exceeded: the 100 % warning, once.
    assert check_clocks(OPENED + dt.timedelta(minutes=31)) == 1
    assert sorted(ClockAlert.objects.values_list("threshold", flat=True)) == [75, 100]
    assert check_clocks(OPENED + dt.timedelta(minutes=45)) == 0
    # Once the intervention starts the GTI clock stops: no further warning for it.
    services.transition(ticket, actor=world.user("p_engineer"), status="intervention_started")
    assert check_clocks(OPENED + dt.timedelta(hours=5)) == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_warn_twice(world: Any) -> None:
    p1_ticket(world)
    now = OPENED + dt.timedelta(minutes=31)  # both thresholds due at once
    counts: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            counts.append(check_clocks(now))
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(counts) == 2  # 75 % and 100 %, each by exactly one of the two workers
    assert ClockAlert.objects.count() == 2
    assert Notification.objects.count() == 2 * 3  # two warnings × three people


@pytest.mark.django_db
def test_notifications_page(world: Any, login: Any) -> None:
    ticket = p1_ticket(world)
    check_clocks(OPENED + dt.timedelta(minutes=25))
    manager = login(world.user("a_manager"))
    page = manager.get("/tickets/notifications/")
    assert page.status_code == 200
    assert f"/tickets/{ticket.pk}/".encode() in page.content
    assert not Notification.objects.filter(user=world.user("a_manager"), read_at=None).exists()
    # Someone else's notifications are not shown.
    other = login(world.user("b_manager")).get("/tickets/notifications/")
    assert f"/tickets/{ticket.pk}/".encode() not in other.content
