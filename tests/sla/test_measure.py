"""A contract's month measured from ticket events and records: hand-computed cases.

March 2026, Europe/Paris. HO: Mon–Fri 08:00–18:00, French holidays closed (none in March).
Dates (checked weekdays): Fri 27 Feb, Mon 2, Fri 6, Mon 9, Tue 10, Thu 12, Sat 14, Wed 25,
Fri 27, Sun 29 (clocks go forward 02:00 → 03:00: the month has 31 × 24 − 1 = 743 h),
Mon 30, Tue 31 March; Wed 1 April.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from infogerance.contracts.loader import load_contract
from infogerance.helpdesk.clocks import TicketLogs
from infogerance.sla.measure import PeriodError, measure, month_bounds, parse_month, result_to_json
from infogerance.sla.metrics import OtherData
from infogerance.sla.records import Outage, TicketInfo
from infogerance.sla.results import Exclusion

Row = tuple[datetime, int, str, str | None, str | None]

PARIS = ZoneInfo("Europe/Paris")
H = 3600
D = Decimal

CONTRACT = """
reference: MESURE-1
title: Contrat de mesure
parties:
  provider: {legal_name: Prestataire SAS}
  client: {legal_name: Client SAS}
object: Centre de services et hébergement.
types: [helpdesk, hosting]
term: {start: 2026-01-01, end: 2028-12-31}
fees: {monthly_fee: "10000.00"}
catalogue:
  - {code: HD, name: Centre de services, calendar: HO}
  - {code: INFRA, name: Hébergement, calendar: 24x7}
priority_matrix:
  impacts: [high, low]
  urgencies: [high, low]
  matrix:
    high: {high: P1, low: P2}
    low: {high: P3, low: P4}
service_levels:
  - id: gti-p1
    metric: gti
    services: [HD, INFRA]
    priority: P1
    target: {value: 30, unit: minutes}
    compliance: 95
    calendar: 24x7
    clock: {stop: intervention_started, pause_statuses: [waiting_client],
            on_priority_change: strictest}
  - id: gtr-p2
    metric: gtr
    services: [HD]
    priority: P2
    target: {value: 8, unit: hours}
    compliance: 90
    calendar: HO
    clock: {stop: restored, pause_statuses: [waiting_client]}
    exclusions: {causes: [client]}
  - id: gtr-other
    metric: gtr
    services: [HD]
    target: {value: 2, unit: business_days}
    calendar: HO
    clock: {stop: restored, pause_statuses: [waiting_client]}
    exclusions: {causes: [client]}
  - id: fcr
    metric: first_contact_resolution
    services: [HD]
    target: {value: 70, unit: percent}
    calendar: HO
  - id: dispo
    metric: availability
    services: [INFRA]
    target: {value: "99.9", unit: percent}
    calendar: 24x7
"""


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def ticket(
    ref: str, service: str, priority: str, *steps: tuple[datetime, str, str], cause: str = ""
) -> tuple[TicketInfo, list[Row]]:
    """``steps``: (instant, kind, status or priority) after the ``created`` event."""
    created, *rest = steps
    rows: list[Row] = [(created[0], 1, "created", "new", priority)]
    for seq, (at, kind, value) in enumerate(rest, start=2):
        if kind == "priority":
            rows.append((at, seq, kind, "", value))
        else:
            rows.append((at, seq, kind, value, ""))
    return TicketInfo(ref, service, cause=cause), rows


NEW = "new"
TICKETS = [
    # HD P2, 6 h of HO: met; resolved at first contact (one assignment, no wait).
    ticket(
        "T1",
        "HD",
        "P2",
        (paris(3, 2, 9), "created", NEW),
        (paris(3, 2, 9, 5), "assigned", ""),
        (paris(3, 2, 9, 10), "status", "intervention_started"),
        (paris(3, 2, 15), "status", "restored"),
        (paris(3, 2, 16), "status", "resolved"),
    ),
    # HD P2 paused over a weekend: Fri 16:00–17:00 = 1 h, waiting until Mon 10:00, then
    # 10:00–18:00 = 8 h: 9 h > 8 h, 1 h over. The target was reached Mon 17:00, restored
    # 18:00: 1 h late → 1 started day.
    ticket(
        "T2",
        "HD",
        "P2",
        (paris(3, 6, 16), "created", NEW),
        (paris(3, 6, 17), "status", "waiting_client"),
        (paris(3, 9, 10), "status", "intervention_started"),
        (paris(3, 9, 18), "status", "restored"),
        (paris(3, 9, 18, 30), "status", "resolved"),
    ),
    # HD P2 late (Tue 9 h + Wed 10 h + Thu 1 h = 20 h) but caused by the client: excluded.
    ticket(
        "T3",
        "HD",
        "P2",
        (paris(3, 10, 9), "created", NEW),
        (paris(3, 12, 9), "status", "restored"),
        cause="client",
    ),
    # HD P2 opened Tue 31 09:00, not restored: 9 h at the end of March > 8 h: open:late.
    ticket("T4", "HD", "P2", (paris(3, 31, 9), "created", NEW)),
    # HD P3 (the catch-all level, 2 business days = 20 h): Wed 10:00–18:00 8 h + Thu 10 h
    # + Fri 08:00–10:00 2 h = 20 h, exactly on target: met.
    ticket(
        "T5",
        "HD",
        "P3",
        (paris(3, 25, 10), "created", NEW),
        (paris(3, 27, 10), "status", "restored"),
    ),
    # Opened in February (Fri 27 17:00), restored Mon 2 March 10:00: 1 h + 2 h = 3 h, met,
    # measured in March, the month it stopped.
    ticket(
        "T6",
        "HD",
        "P2",
        (paris(2, 27, 17), "created", NEW),
        (paris(3, 2, 10), "status", "restored"),
    ),
    # Restored in April: judged as of the end of March (Mon 9 h + Tue 10 h = 19 h > 8 h,
    # still open): open:late; the April event is ignored.
    ticket(
        "T7",
        "HD",
        "P2",
        (paris(3, 30, 9), "created", NEW),
        (paris(4, 1, 10), "status", "restored"),
    ),
    # INFRA P1 across the DST change: 01:30 CET (00:30 UTC) → 03:10 CEST (01:10 UTC) is
    # 40 min of real time > 30 min: 10 min over, target reached 01:00 UTC → 1 started day.
    ticket(
        "T8",
        "INFRA",
        "P1",
        (paris(3, 29, 1, 30), "created", NEW),
        (paris(3, 29, 3, 10), "status", "intervention_started"),
    ),
    # INFRA P1, 20 min: met.
    ticket(
        "T9",
        "INFRA",
        "P1",
        (paris(3, 2, 10), "created", NEW),
        (paris(3, 2, 10, 20), "status", "intervention_started"),
    ),
    # HD opened P3 on a Saturday, raised to P1 at 10:05: the GTI clock (24x7, P1 only) runs
    # from the opening, 40 min > 30: breached. GTR on HO: nothing counts on a Saturday, 0 s,
    # met (P1 falls under the catch-all level). Assigned twice: not a first-contact fix.
    ticket(
        "T10",
        "HD",
        "P3",
        (paris(3, 14, 10), "created", NEW),
        (paris(3, 14, 10, 1), "assigned", ""),
        (paris(3, 14, 10, 2), "assigned", ""),
        (paris(3, 14, 10, 5), "priority", "P1"),
        (paris(3, 14, 10, 40), "status", "intervention_started"),
        (paris(3, 14, 11), "status", "restored"),
        (paris(3, 14, 11, 30), "status", "resolved"),
    ),
]


@pytest.fixture(scope="module")
def march() -> dict[str, object]:
    document = load_contract(CONTRACT)
    outages = (Outage("O-1", "INFRA", paris(3, 10, 10), paris(3, 10, 10, 45)),)
    measurement = measure(
        document,
        "2026-03",
        tickets={info.id: info for info, _log in TICKETS},
        logs=TicketLogs.from_rows({info.id: rows for info, rows in TICKETS}),
        other=OtherData(outages=outages),
        now=paris(5, 1, 0),
    )
    return {r.level_id: r for r in measurement.results} | {"_": measurement}


def summary(result: object) -> list[tuple[str, Decimal | None, bool, Decimal, int]]:
    return [(i.ref, i.value, i.met, i.overrun, i.days_late) for i in result.items]  # type: ignore[attr-defined]


def test_gti_p1_across_dst_and_a_priority_raise(march: dict[str, object]) -> None:
    gti = march["gti-p1"]
    # In order of their stops: T9 (2 Mar), T10 (14 Mar), T8 (29 Mar).
    assert summary(gti) == [
        ("T9", D(20 * 60), True, D(0), 0),
        ("T10", D(40 * 60), False, D(10 * 60), 1),
        ("T8", D(40 * 60), False, D(10 * 60), 1),
    ]
    # 1 of 3 within = 33.333… → 33.3333 % < 95 %; two tickets out of target: 2 breaches.
    assert (gti.value, gti.met, gti.sample, gti.within, gti.breaches) == (  # type: ignore[attr-defined]
        D("33.3333"),
        False,
        3,
        1,
        2,
    )
    assert gti.target_seconds == D(30 * 60)  # type: ignore[attr-defined]


def test_gtr_p2_pauses_causes_and_open_tickets(march: dict[str, object]) -> None:
    gtr = march["gtr-p2"]
    assert summary(gtr) == [
        ("T6", D(3 * H), True, D(0), 0),
        ("T1", D(6 * H), True, D(0), 0),
        ("T2", D(9 * H), False, D(H), 1),
    ]
    assert gtr.excluded == (  # type: ignore[attr-defined]
        Exclusion("T3", "cause:client"),
        Exclusion("T4", "open:late"),
        Exclusion("T7", "open:late"),
    )
    # 2 of 3 = 66.6667 % < 90 %; overrun 1 h.
    assert (gtr.value, gtr.met, gtr.breaches, gtr.overrun) == (D("66.6667"), False, 1, D(H))  # type: ignore[attr-defined]


def test_catch_all_level_takes_the_other_priorities(march: dict[str, object]) -> None:
    other = march["gtr-other"]
    assert summary(other) == [
        ("T10", D(0), True, D(0), 0),
        ("T5", D(20 * H), True, D(0), 0),
    ]
    # No compliance threshold: every ticket must be within, and both are: 100 %.
    assert (other.value, other.met) == (D("100.0000"), True)  # type: ignore[attr-defined]
    assert other.target_seconds == D(20 * H)  # type: ignore[attr-defined]


def test_first_contact_resolution(march: dict[str, object]) -> None:
    fcr = march["fcr"]
    assert [(i.ref, i.met, i.note) for i in fcr.items] == [  # type: ignore[attr-defined]
        ("T1", True, ""),
        ("T2", False, "waited"),
        ("T10", False, "reassigned"),
    ]
    # 1 of 3 = 33.3333 % < 70 %: missed, one breach (a percentage target judges the month).
    assert (fcr.value, fcr.met, fcr.breaches) == (D("33.3333"), False, 1)  # type: ignore[attr-defined]


def test_availability_in_the_dst_month(march: dict[str, object]) -> None:
    dispo = march["dispo"]
    # T = 743 h = 2,674,800 s; D = 45 min = 2,700 s; allowed 0.1 % × 2,674,800 = 2,674.8 s.
    # A = (2,674,800 − 2,700) / 2,674,800 = 99.89905… % → 99.8991 % < 99.9 %.
    assert dispo.details["T"] == D(743 * H)  # type: ignore[attr-defined]
    assert dispo.value == D("99.8991")  # type: ignore[attr-defined]
    assert dispo.met is False  # type: ignore[attr-defined]
    assert dispo.overrun == D("25.2")  # type: ignore[attr-defined]  # 2,700 − 2,674.8


def test_measurement_keeps_the_contracts_order_and_json_is_stable(
    march: dict[str, object],
) -> None:
    measurement = march["_"]
    assert [r.level_id for r in measurement.results] == [  # type: ignore[attr-defined]
        "gti-p1",
        "gtr-p2",
        "gtr-other",
        "fcr",
        "dispo",
    ]
    assert measurement.as_of == paris(4, 1, 0)  # type: ignore[attr-defined]
    row = result_to_json(march["gtr-p2"])  # type: ignore[arg-type]
    assert row["value"] == "66.6667" and row["met"] is False and row["breaches"] == 1
    assert row["items"][2] == {
        "ref": "T2",
        "value": "32400",
        "met": False,
        "overrun_seconds": "3600",
        "days_late": 1,
        "note": "",
    }
    assert row["excluded"][0] == {"ref": "T3", "reason": "cause:client"}


def test_a_month_not_over_is_judged_as_of_now() -> None:
    document = load_contract(CONTRACT)
    info, rows = TICKETS[3]  # T4: opened Tue 31 March 09:00
    midday = paris(3, 31, 12)
    measurement = measure(
        document,
        "2026-03",
        tickets={"T4": info},
        logs=TicketLogs.from_rows({"T4": rows}),
        other=OtherData(),
        now=midday,
    )
    gtr = next(r for r in measurement.results if r.level_id == "gtr-p2")
    assert gtr.excluded == ()  # 3 h so far: within target, not listed
    assert measurement.as_of == midday
    assert set(measurement.no_data) == {"gti-p1", "gtr-p2", "gtr-other", "fcr"}


def test_periods() -> None:
    assert parse_month("2026-03") == (2026, 3)
    for bad in ("2026-13", "2026-3", "26-03", "March", "2026-00"):
        with pytest.raises(PeriodError, match="YYYY-MM"):
            parse_month(bad)
    start, end = month_bounds(2026, 12, PARIS)
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=PARIS), datetime(2027, 1, 1, tzinfo=PARIS))


def test_a_quarterly_level_sharing_a_clock_with_a_monthly_one() -> None:
    # gtr-p2 becomes quarterly: it shares its clock with the monthly gtr-other, and comes
    # first in the clock's group.
    text = CONTRACT.replace("    compliance: 90\n", "    compliance: 90\n    period: quarter\n")
    document = load_contract(text)
    tickets = {info.id: info for info, _log in TICKETS}
    logs = TicketLogs.from_rows({info.id: rows for info, rows in TICKETS})
    february = measure(
        document, "2026-02", tickets=tickets, logs=logs, other=OtherData(), now=paris(5, 1, 0)
    )
    by_id = {r.level_id: r for r in february.results}
    assert by_id["gtr-p2"].details == {"period": "quarter", "measured_in": "2026-03"}
    assert by_id["gtr-p2"].met is None
    assert by_id["gtr-other"].sample == 0  # nothing stopped in February
    march = measure(
        document, "2026-03", tickets=tickets, logs=logs, other=OtherData(), now=paris(5, 1, 0)
    )
    p2 = next(r for r in march.results if r.level_id == "gtr-p2")
    # Measured over January–March: the same tickets as in the monthly case.
    assert [i.ref for i in p2.items] == ["T6", "T1", "T2"]


def test_a_ticket_stopped_before_the_period_is_not_listed_whatever_the_as_of() -> None:
    # Judged as of 20 March, a clock of a ticket restored on 30 March is still running and
    # over its target; but the ticket's last event is before April and leaves it restored:
    # April does not list it, not even as open:late (the whole log decides that, as of any
    # instant).
    document = load_contract(CONTRACT)
    info, rows = ticket(
        "T9",
        "HD",
        "P2",
        (paris(3, 2, 9), "created", NEW),
        (paris(3, 30, 9), "status", "restored"),
    )
    logs = TicketLogs.from_rows({"T9": rows})
    april = measure(
        document,
        "2026-04",
        tickets={"T9": info},
        logs=logs,
        other=OtherData(),
        now=paris(3, 20, 12),
    )
    gtr = next(r for r in april.results if r.level_id == "gtr-p2")
    assert gtr.excluded == () and gtr.items == ()
    # In March, as of the 20th, it is late and still open.
    march = measure(
        document,
        "2026-03",
        tickets={"T9": info},
        logs=logs,
        other=OtherData(),
        now=paris(3, 20, 12),
    )
    gtr = next(r for r in march.results if r.level_id == "gtr-p2")
    assert gtr.excluded == (Exclusion("T9", "open:late"),)
