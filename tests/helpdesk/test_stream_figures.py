"""Every clock of every ticket over columns (``stream_clock_figures``): the same verdict as
each ticket's replay (``compute_clock``, through ``clocks_for``), batch after batch."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infogerance.contracts.services import import_contract
from infogerance.helpdesk import services
from infogerance.helpdesk.clocks import CLOCK_STATES
from infogerance.helpdesk.models import Ticket, TicketEvent
from infogerance.helpdesk.sla import ClockBatch, clocks_for, stream_clock_figures

PARIS = ZoneInfo("Europe/Paris")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)
MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
# GTI P1/P2 share one clock (24x7, strictest), GTR one target for every priority (24x7,
# keep_elapsed), resolution only on INFRA (office hours, from the assignment, restart).
LEVELS = """service_levels:
  - id: gti-p1
    name: GTI P1
    metric: gti
    services: [HD, INFRA]
    priority: P1
    target: {value: 30, unit: minutes}
    compliance: 95
    calendar: 24x7
    clock:
      stop: intervention_started
      pause_statuses: [waiting_client]
      on_priority_change: strictest
  - id: gti-p2
    name: GTI P2
    metric: gti
    services: [HD, INFRA]
    priority: P2
    target: {value: 2, unit: hours}
    compliance: 95
    calendar: 24x7
    clock:
      stop: intervention_started
      pause_statuses: [waiting_client]
      on_priority_change: strictest
  - id: gtr
    name: GTR
    metric: gtr
    services: [HD, INFRA]
    target: {value: 4, unit: hours}
    compliance: 95
    calendar: 24x7
    clock:
      stop: restored
      pause_statuses: [waiting_client]
      on_priority_change: keep_elapsed
  - id: resolution
    name: Resolution
    metric: resolution
    services: [INFRA]
    target: {value: 1, unit: business_days}
    compliance: 90
    calendar: HO-ext
    clock:
      start: assigned
      stop: resolved
      pause_statuses: [waiting_client, third_party]
      on_priority_change: restart
  - id: dispo-infra
"""
V1 = re.sub(r"service_levels:\n.*?  - id: dispo-infra\n", LEVELS, MINIMAL, flags=re.S)
# The amendment of June 2026 gives P1 an hour before the intervention.
V2 = V1.replace("target: {value: 30, unit: minutes}", "target: {value: 60, unit: minutes}")
GTI = "GTI P1 / GTI P2"
LATE = dt.datetime(2026, 9, 1, 12, 0, tzinfo=PARIS)  # after every event
MIDWAY = dt.datetime(2026, 3, 5, 15, 0, tzinfo=PARIS)  # within some histories
WAITING = dt.datetime(2026, 3, 3, 10, 30, tzinfo=PARIS)  # two tickets wait for their client
pytestmark = pytest.mark.django_db


def micros(at: dt.datetime) -> int:
    return (at - EPOCH) // US


def worked(
    world: Any,
    contract: Any,
    *,
    service: str,
    impact: str,
    urgency: str,
    opened: dt.datetime,
    steps: list[tuple[int, str, str]],
    client: str = "victim",
) -> Ticket:
    """A ticket opened and worked through the services, its log then put at ``opened`` and
    each step's minutes after it (events are immutable through the ORM: the test writes them
    as they would have been written at those times). A step: (minutes, action, argument)."""
    org = getattr(world, client)
    requester = world.user("a_user" if client == "victim" else "b_user")
    engineer = world.user("p_engineer")
    ticket = services.open_ticket(
        actor=requester,
        client=org,
        contract=contract,
        service_code=service,
        title="Panne",
        impact=impact,
        urgency=urgency,
    )
    for _minutes, action, argument in steps:
        if action == "status":
            cause = "provider" if argument == "closed" else ""
            ticket = services.transition(ticket, actor=engineer, status=argument, cause=cause)
        elif action == "assign":
            ticket = services.assign(ticket, actor=engineer, assignee=engineer)
        elif action == "priority":
            impact, urgency = argument.split("/")
            ticket = services.change_priority(
                ticket, actor=engineer, impact=impact, urgency=urgency, reason="re-rated"
            )
        elif action == "reopen":
            ticket = services.reopen(ticket, actor=requester, reason="again")
        elif action == "comment":
            services.comment(ticket, actor=engineer, text="on it")
        else:
            raise AssertionError(action)
    times = [opened] + [opened + dt.timedelta(minutes=m) for m, _action, _arg in steps]
    assert TicketEvent.objects.filter(ticket=ticket).count() == len(times)
    for seq, at in enumerate(times, start=1):
        TicketEvent.objects.filter(ticket=ticket, seq=seq).update(at=at)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=opened)
    return Ticket.objects.get(pk=ticket.pk)


def helpdesk(world: Any) -> dict[str, Ticket]:
    """Tickets with varied histories, under two versions of one contract and another
    client's contract of the same terms. 2026-03-03 is a Tuesday."""
    admin = world.user("p_admin")
    contract = import_contract(actor=admin, client=world.victim, text=V1).contract
    import_contract(actor=admin, client=world.victim, text=V2, effective_from=dt.date(2026, 6, 1))
    other = import_contract(actor=admin, client=world.neighbour, text=V1).contract

    def at(day: int, hour: int, month: int = 3) -> dt.datetime:
        return dt.datetime(2026, month, day, hour, 0, tzinfo=PARIS)

    def ticket(service: str, priority: str, opened: dt.datetime, *steps: Any, **kw: Any) -> Any:
        impact, urgency = priority.split("/")
        target = kw.pop("contract", contract)
        return worked(
            world,
            target,
            service=service,
            impact=impact,
            urgency=urgency,
            opened=opened,
            steps=list(steps),
            **kw,
        )

    return {
        "intervened": ticket("HD", "high/high", at(3, 10), (25, "status", "intervention_started")),
        "paused": ticket(
            "INFRA",
            "high/high",
            at(3, 10),
            (5, "assign", ""),
            (10, "status", "intervention_started"),
            (20, "status", "waiting_client"),
            (80, "status", "intervention_started"),
            (200, "status", "restored"),
            (300, "status", "resolved"),
            (400, "status", "closed"),
        ),
        "reprioritised": ticket(
            "INFRA",
            "high/medium",
            at(4, 9),
            (30, "comment", ""),
            (60, "priority", "high/high"),
            (100, "status", "intervention_started"),
            (150, "status", "restored"),
        ),
        "reopened": ticket(
            "INFRA",
            "high/high",
            at(5, 14),
            (10, "status", "intervention_started"),
            (30, "status", "restored"),
            (120, "reopen", ""),
            (180, "status", "restored"),
            (200, "status", "resolved"),
        ),
        "untargeted": ticket("HD", "high/low", at(6, 8)),  # P3: no GTI target
        "untouched": ticket("HD", "high/high", at(6, 9)),
        "weekend": ticket(
            "INFRA",
            "low/low",
            at(6, 18),  # a Friday, an hour before the office closes
            (30, "assign", ""),
            (60, "status", "third_party"),
            (3000, "status", "intervention_started"),
            (3100, "status", "restored"),
            (3200, "status", "resolved"),
            (3300, "status", "closed"),
        ),
        "amended": ticket("HD", "high/high", at(1, 10, 7), (45, "status", "intervention_started")),
        "neighbour": ticket(
            "HD",
            "high/high",
            at(3, 10),
            (5, "assign", ""),
            (20, "status", "waiting_client"),
            (50, "status", "intervention_started"),
            client="neighbour",
            contract=other,
        ),
    }


def by_ticket(batches: list[ClockBatch]) -> dict[int, dict[str, tuple[Any, ...]]]:
    """Each ticket's clocks by name: state, elapsed, target, stopped, breached, priority."""
    result: dict[int, dict[str, tuple[Any, ...]]] = {}
    for batch in batches:
        f = batch.figures
        for i, pk in enumerate(batch.tickets.tolist()):
            clocks = result.setdefault(pk, {})
            assert batch.name not in clocks
            clocks[batch.name] = (
                CLOCK_STATES[f.state[i]],
                int(f.elapsed[i]),
                int(f.target[i]) if f.targeted[i] else None,
                int(f.stopped[i]) if f.is_stopped[i] else None,
                int(f.breached[i]) if f.is_breached[i] else None,
                batch.priority_names[f.priority[i]],
            )
    return result


def replayed(tickets: list[Ticket], now: dt.datetime) -> dict[int, dict[str, tuple[Any, ...]]]:
    """The same from ``compute_clock``, ticket by ticket."""

    def us(value: Any) -> int | None:
        if value is None:
            return None
        return value // US if isinstance(value, dt.timedelta) else micros(value)

    return {
        pk: {
            c.name: (
                c.result.state,
                us(c.result.elapsed),
                us(c.result.target),
                us(c.result.stopped_at),
                us(c.result.breached_at),
                c.result.priority,
            )
            for c in ticket_clocks
        }
        for pk, ticket_clocks in clocks_for(tickets, now).items()
    }


@pytest.mark.parametrize(
    ("now", "states"),
    [
        (LATE, {"met", "breached", "not_applicable"}),
        (MIDWAY, {"met", "breached", "not_started", "running"}),
        (WAITING, {"met", "not_started", "running", "paused"}),
    ],
    ids=["late", "midway", "waiting"],
)
def test_every_clock_is_compute_clocks_verdict(
    world: Any, now: dt.datetime, states: set[str]
) -> None:
    helpdesk(world)
    tickets = list(Ticket.objects.order_by("pk"))
    figures = by_ticket(list(stream_clock_figures(Ticket.objects.all(), now)))
    expected = replayed(tickets, now)
    assert figures == expected
    assert sum(len(clocks) for clocks in expected.values()) == 9 * 2 + 4  # resolution: INFRA
    assert {state for clocks in expected.values() for state, *_rest in clocks.values()} == states


def test_hand_computed_clocks(world: Any) -> None:
    tickets = helpdesk(world)
    figures = by_ticket(list(stream_clock_figures(Ticket.objects.all(), LATE)))
    minute = 60_000_000
    opened = micros(dt.datetime(2026, 3, 3, 10, 0, tzinfo=PARIS))
    # P1 opened at 10:00, intervention at 10:25, on the 24x7 calendar: 25 min counted =
    # 25 × 60 × 10^6 = 1,500,000,000 µs against a target of 30 min = 1,800,000,000 µs: met,
    # stopped at 10:25. Its GTR runs from 10:00 with nothing restored: breached 4 h later.
    intervened = figures[tickets["intervened"].pk]
    assert intervened[GTI] == (
        "met",
        1_500_000_000,
        1_800_000_000,
        opened + 25 * minute,
        None,
        "P1",
    )
    gtr = intervened["GTR"]
    assert gtr[0] == "breached" and gtr[2] == 14_400_000_000
    assert gtr[4] == opened + 240 * minute  # 4 h = 14,400,000,000 µs after 10:00
    # INFRA P1 opened at 10:00: assigned 10:05, intervention 10:10, waiting for the client
    # 10:20 to 11:20, intervention again 11:20, restored 13:20, resolved 15:00, closed 16:40.
    # GTI: 10:00 → 10:10 = 600,000,000 µs, met.
    # GTR (24x7, paused while waiting): 10:00 → 10:20 (20 min) + 11:20 → 13:20 (120 min)
    # = 140 min = 8,400,000,000 µs against 4 h = 14,400,000,000 µs: met, stopped at 13:20.
    # Resolution (office hours 07:30–19:00 on weekdays, from the assignment, paused while
    # waiting): 10:05 → 10:20 (15 min) + 11:20 → 15:00 (220 min) = 235 min =
    # 14,100,000,000 µs; the target is one business day of the calendar, 11 h 30 =
    # 41,400,000,000 µs: met, stopped at 15:00.
    paused = figures[tickets["paused"].pk]
    assert paused[GTI] == ("met", 600_000_000, 1_800_000_000, opened + 10 * minute, None, "P1")
    assert paused["GTR"] == (
        "met",
        8_400_000_000,
        14_400_000_000,
        opened + 200 * minute,
        None,
        "P1",
    )
    assert paused["Resolution"] == (
        "met",
        14_100_000_000,
        41_400_000_000,
        opened + 300 * minute,
        None,
        "P1",
    )
    # Opened on 2026-07-01, under the amendment: 45 min to the intervention is within its
    # hour (3,600,000,000 µs); the first version's 30 min would have been missed.
    amended = figures[tickets["amended"].pk][GTI]
    assert amended[:3] == ("met", 2_700_000_000, 3_600_000_000)
    # P3 has no GTI target: not applicable, no target.
    assert figures[tickets["untargeted"].pk][GTI][0] == "not_applicable"
    assert figures[tickets["untargeted"].pk][GTI][2] is None


@pytest.mark.parametrize("batch", [1, 2, 4, 1000])
def test_batches_give_the_same_figures(
    world: Any, batch: int, django_assert_num_queries: Any
) -> None:
    tickets = helpdesk(world)
    everything = by_ticket(list(stream_clock_figures(Ticket.objects.all(), LATE)))
    # The contract versions, then two queries per batch (9 tickets), none after a short one.
    count = -(-len(tickets) // batch)
    with django_assert_num_queries(1 + 2 * count + (len(tickets) % batch == 0)):
        batches = list(stream_clock_figures(Ticket.objects.all(), LATE, batch=batch))
    assert by_ticket(batches) == everything
    for one in batches:
        assert one.tickets.tolist() == sorted(one.tickets.tolist())
        assert len(one.figures.state) == len(one.tickets)
    # Only the tickets asked for, whatever the batch.
    victim = Ticket.objects.filter(organization=world.victim)
    some = by_ticket(list(stream_clock_figures(victim, LATE, batch=batch)))
    assert some == {pk: everything[pk] for pk in victim.values_list("pk", flat=True)}
    assert tickets["neighbour"].pk not in some


def test_one_clock_for_equal_terms(world: Any) -> None:
    # The same clock under two contracts of the same terms, two services, or two versions
    # that did not change it is judged once per batch; an amended one apart.
    tickets = helpdesk(world)
    batches = list(stream_clock_figures(Ticket.objects.all(), LATE))
    gti = [b for b in batches if b.name == GTI]
    assert sorted(len(b.tickets) for b in gti) == [1, 8]
    assert [b.tickets.tolist() for b in gti if len(b.tickets) == 1] == [[tickets["amended"].pk]]
    (gtr,) = [b for b in batches if b.name == "GTR"]
    assert gtr.tickets.tolist() == sorted(t.pk for t in tickets.values())


def test_no_tickets_no_batches(world: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(2):  # the contract versions, the (empty) tickets
        assert list(stream_clock_figures(Ticket.objects.all(), LATE)) == []
