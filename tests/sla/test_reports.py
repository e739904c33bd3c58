"""Monthly reports on the platform: recording operations, computing a month from the help
desk and the records, review and freezing, disputes. PostgreSQL and SQLite.

The contract is ``tests/contracts/minimal.yaml``: GTI P1 30 min (95 % within) on 24x7 for
HD and INFRA; INFRA available 99.9 % on 24x7; penalties 150 per GTI breach and 5 / 15 / 20 %
of the 12,500 monthly fee below 99.9 / 99.5 / 99 %; franchise 200; cap 10 % of the fee.
March 2026 in Europe/Paris has 743 h (clocks go forward on the 29th).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from infogerance.contracts.services import import_contract
from infogerance.helpdesk import services as helpdesk
from infogerance.helpdesk.models import Ticket, TicketEvent
from infogerance.sla import services
from infogerance.sla.models import (
    DisputeState,
    MonthlyReport,
    ReportRevision,
    ReportState,
    ServiceRecord,
)

MINIMAL = (Path(__file__).resolve().parents[1] / "contracts" / "minimal.yaml").read_text(
    encoding="utf-8"
)
PARIS = ZoneInfo("Europe/Paris")
pytestmark = pytest.mark.django_db
MAY = dt.datetime(2026, 5, 1, tzinfo=PARIS)


def paris(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


def jsonl(*lines: dict[str, Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


OUTAGE = {
    "type": "outage",
    "id": "INC-7",
    "service": "INFRA",
    "start": "2026-03-10T10:00:00+01:00",
    "end": "2026-03-10T10:45:00+01:00",
}


@pytest.fixture
def contract(world: Any) -> Any:
    return import_contract(actor=world.user("p_admin"), client=world.victim, text=MINIMAL).contract


def p1_ticket(world: Any, contract: Any, opened: dt.datetime, minutes: int) -> Ticket:
    """A P1 ticket opened at ``opened``, intervention started ``minutes`` later."""
    ticket = helpdesk.open_ticket(
        actor=world.user("a_user"),
        client=world.victim,
        contract=contract,
        service_code="INFRA",
        title="Serveur arrêté",
        impact="high",
        urgency="high",
    )
    helpdesk.transition(ticket, actor=world.user("p_engineer"), status="intervention_started")
    # Put the log at known instants (events are immutable through the ORM, so the test
    # writes them as they would have been written then).
    TicketEvent.objects.filter(ticket=ticket, seq=1).update(at=opened)
    TicketEvent.objects.filter(ticket=ticket, seq=2).update(
        at=opened + dt.timedelta(minutes=minutes)
    )
    Ticket.objects.filter(pk=ticket.pk).update(created_at=opened, updated_at=opened)
    return ticket


def results(revision: ReportRevision) -> dict[str, Any]:
    return {r["level"]: r for r in revision.evaluation["results"]}


def test_a_month_from_the_help_desk_and_the_records(world: Any, contract: Any) -> None:
    admin = world.user("p_admin")
    fast = p1_ticket(world, contract, paris(2, 10), 20)
    slow = p1_ticket(world, contract, paris(29, 1, 30), 45)  # across the DST change
    created, already = services.record_operations(
        actor=world.user("p_engineer"), contract=contract, text=jsonl(OUTAGE)
    )
    assert (len(created), already) == (1, 0)

    revision = services.compute_report(actor=admin, contract=contract, period="2026-03", now=MAY)
    figures = results(revision)
    # GTI P1: 20 min met, 45 min (01:30 CET → 03:15 CEST is 45 min of real time) breached:
    # 1 of 2 = 50 % < 95 %.
    gti = figures["gti-p1"]
    assert [(i["ref"], i["value"], i["met"]) for i in gti["items"]] == [
        (str(fast.number), "1200", True),
        (str(slow.number), "2700", False),
    ]
    assert (gti["value"], gti["met"]) == ("50.0000", False)
    # Availability: (2,674,800 − 2,700) / 2,674,800 = 99.8991 % < 99.9 %.
    assert figures["dispo-infra"]["value"] == "99.8991"
    # 1 breach × 150 + 5 % × 12,500 = 150 + 625 = 775; − franchise 200 = 575, under the
    # cap of 1,250.
    penalties = revision.evaluation["penalties"]
    assert [(line["rule_id"], line["amount"]) for line in penalties["lines"]] == [
        ("pen-gti", "150.00"),
        ("pen-dispo", "625.00"),
    ]
    assert penalties["due"] == "575.00"
    assert revision.inputs == {
        "tickets": 2,
        "ticket_events": 4,
        "satisfaction_answers": 0,
        "records": 1,
        "backup_records": 0,
    }
    report = revision.report
    assert (report.state, report.revision, report.frozen_revision) == (ReportState.DRAFT, 1, None)

    # The same inputs give the same hash and the same figures.
    again = services.compute_report(actor=admin, contract=contract, period="2026-03", now=MAY)
    assert again.number == 2
    assert again.inputs_sha256 == revision.inputs_sha256
    assert again.evaluation["results"] == revision.evaluation["results"]
    # A revision is never edited.
    with pytest.raises(ValueError, match="immutable"):
        again.save()


def test_review_freeze_and_a_new_revision(world: Any, contract: Any) -> None:
    admin = world.user("p_admin")
    revision = services.compute_report(actor=admin, contract=contract, period="2026-03", now=MAY)
    report = revision.report
    with pytest.raises(ValidationError) as error:
        services.freeze_report(actor=admin, report=report)
    assert "state" in error.value.message_dict
    report = services.submit_report(actor=admin, report=report)
    report = services.freeze_report(actor=admin, report=report)
    assert (report.state, report.frozen_revision) == (ReportState.FROZEN, 1)
    # Recomputing a frozen month makes a new revision, to review; the frozen one stays.
    services.compute_report(actor=admin, contract=contract, period="2026-03", now=MAY)
    report.refresh_from_db()
    assert (report.state, report.revision, report.frozen_revision) == (ReportState.REVIEW, 2, 1)
    # Freezing what someone reviewed: revision 3 computed meanwhile, revision 2 is not frozen.
    services.compute_report(actor=admin, contract=contract, period="2026-03 ", now=MAY)
    with pytest.raises(ValidationError) as error:
        services.freeze_report(actor=admin, report=report, expected_revision=2)
    assert "revision" in error.value.message_dict
    report = services.freeze_report(actor=admin, report=report, expected_revision=3)
    assert (report.state, report.frozen_revision) == (ReportState.FROZEN, 3)
    assert MonthlyReport.objects.count() == 1  # "2026-03 " is the same month


def test_a_dispute_holds_then_the_committee_waives(world: Any, contract: Any) -> None:
    admin, manager = world.user("p_admin"), world.user("a_manager")
    p1_ticket(world, contract, paris(2, 10), 45)  # 1 breach: 150
    services.record_operations(actor=admin, contract=contract, text=jsonl(OUTAGE))  # 625
    report = services.compute_report(
        actor=admin, contract=contract, period="2026-03", now=MAY
    ).report
    dispute = services.open_dispute(
        actor=manager, report=report, level_id="dispo-infra", reason="Coupure électrique du site."
    )
    with pytest.raises(ValidationError) as error:
        services.open_dispute(actor=manager, report=report, level_id="dispo-infra", reason="x")
    assert "level_id" in error.value.message_dict
    held = services.compute_report(actor=admin, contract=contract, period="2026-03", now=MAY)
    penalties = held.evaluation["penalties"]
    # 625 held; 150 − franchise 200 → 0 due.
    assert (penalties["held_total"], penalties["due"]) == ("625.00", "0.00")
    services.decide_dispute(
        actor=admin, dispute=dispute, outcome="waived", decision="Force majeure reconnue."
    )
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.WAIVED
    waived = services.compute_report(actor=admin, contract=contract, period="2026-03", now=MAY)
    lines = waived.evaluation["penalties"]["lines"]
    assert [(line["rule_id"], line["held"], line["waived"]) for line in lines] == [
        ("pen-gti", False, False),
        ("pen-dispo", False, True),
    ]
    assert waived.evaluation["penalties"]["held_total"] == "0.00"
    with pytest.raises(ValidationError):
        services.decide_dispute(actor=admin, dispute=dispute, outcome="upheld", decision="Non.")


def test_who_may_do_what(world: Any, contract: Any) -> None:
    for who in ("p_engineer", "a_manager", "p_auditor", "q_admin"):
        with pytest.raises(PermissionDenied):
            services.compute_report(
                actor=world.user(who), contract=contract, period="2026-03", now=MAY
            )
    report = services.compute_report(
        actor=world.user("p_admin"), contract=contract, period="2026-03", now=MAY
    ).report
    for who in ("p_admin", "p_engineer", "a_user", "neighbour_manager"):
        user = world.user(who) if who != "neighbour_manager" else world.user("q_admin")
        with pytest.raises(PermissionDenied):
            services.open_dispute(actor=user, report=report, level_id="gti-p1", reason="Non.")
    for who in ("a_manager", "a_user", "p_auditor"):
        with pytest.raises(PermissionDenied):
            services.record_operations(actor=world.user(who), contract=contract, text=jsonl(OUTAGE))


def test_recording_is_all_or_nothing_and_names_the_line(world: Any, contract: Any) -> None:
    engineer = world.user("p_engineer")
    bad = jsonl(
        OUTAGE,
        {**OUTAGE, "id": "INC-8", "end": "2026-03-10T09:00:00+01:00"},  # ends before it starts
        {**OUTAGE, "id": "INC-9", "service": "NOPE"},
        {"type": "ticket_event", "ticket": "T1", "seq": 1, "at": "2026-03-10T09:00:00Z",
         "kind": "created", "status": "new", "priority": "P1", "service": "HD"},
    )  # fmt: skip
    with pytest.raises(ValidationError) as error:
        services.record_operations(actor=engineer, contract=contract, text=bad)
    messages = error.value.message_dict["lines"]
    assert [m.split(":")[0] for m in messages] == ["line 2", "line 3", "line 4"]
    assert "end" in messages[0] and "'NOPE'" in messages[1] and "help desk" in messages[2]
    assert not ServiceRecord.objects.exists()  # nothing written

    services.record_operations(actor=engineer, contract=contract, text=jsonl(OUTAGE))
    # Replaying the same import records nothing twice…
    created, already = services.record_operations(
        actor=engineer, contract=contract, text=jsonl(OUTAGE)
    )
    assert (created, already) == ([], 1)
    # …and a recorded fact is never changed.
    with pytest.raises(ValidationError) as error:
        services.record_operations(
            actor=engineer,
            contract=contract,
            text=jsonl({**OUTAGE, "end": "2026-03-10T11:00:00+01:00"}),
        )
    assert "already recorded with other content" in error.value.message_dict["lines"][0]
    assert ServiceRecord.objects.count() == 1


def test_a_month_not_begun_and_a_bad_period(world: Any, contract: Any) -> None:
    admin = world.user("p_admin")
    for period, field in (("2026-13", "period"), ("2026-06", "period")):
        with pytest.raises(ValidationError) as error:
            services.compute_report(actor=admin, contract=contract, period=period, now=MAY)
        assert field in error.value.message_dict
