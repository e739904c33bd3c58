"""SLA clocks computed from ticket event logs: hand-computed cases, then properties.

No database: ``infogerance.helpdesk.clocks`` is plain Python. Europe/Paris, presets HO
(Mon–Fri 08:00–18:00, French holidays closed) and 24x7. Dates used below (checked weekdays):
2026-03-06 Friday, 2026-03-09 Monday, 2026-03-10 Tuesday, 2026-03-11 Wednesday,
2026-05-14 Thursday (Ascension), 2026-05-15 Friday, 2026-03-29 Sunday (clocks go forward
02:00 → 03:00, CET UTC+1 → CEST UTC+2), 2026-10-25 Sunday (back 03:00 → 02:00).
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from infogerance.calendars import H24X7, HO, Calendar, compile_calendar
from infogerance.helpdesk.clocks import (
    CLOCK_STATES,
    MILESTONES,
    ClockInterval,
    ClockResult,
    ClockSpec,
    TicketEvent,
    TicketLog,
    TicketLogs,
    clock_figures,
    compute_clock,
    explain,
    target_duration,
    typical_open_day,
)

PARIS = ZoneInfo("Europe/Paris")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
ho = compile_calendar(HO)
h24 = compile_calendar(H24X7)
PAUSES = frozenset({"waiting_client", "access_refused", "third_party"})


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def utc(value: datetime | None) -> datetime | None:
    """Compare instants in UTC: Python compares same-zone datetimes by wall clock (fold
    ignored) and cross-zone ones in an ambiguous hour as unequal (PEP 495)."""
    return None if value is None else value.astimezone(UTC)


def real(a: datetime, b: datetime) -> timedelta:
    """Real time between two instants (same-tzinfo subtraction is by wall clock in Python)."""
    return b.astimezone(UTC) - a.astimezone(UTC)


def spec(
    calendar: Calendar,
    targets: dict[str, timedelta],
    *,
    metric: str = "gtr",
    start: str = "created",
    stop: str = "restored",
    rule: str = "keep_elapsed",
    pauses: frozenset[str] = PAUSES,
) -> ClockSpec:
    return ClockSpec(
        level_id=f"{metric}-test",
        metric=metric,
        start=start,
        stop=stop,
        pause_statuses=pauses,
        on_priority_change=rule,
        targets=targets,
        calendar=calendar,
    )


class Log:
    """Builds an event log with increasing seq."""

    def __init__(self) -> None:
        self.events: list[TicketEvent] = []

    def add(
        self, at: datetime, kind: str, status: str | None = None, priority: str | None = None
    ) -> Log:
        self.events.append(TicketEvent(at, len(self.events) + 1, kind, status, priority))
        return self

    def created(self, at: datetime, priority: str, status: str = "new") -> Log:
        return self.add(at, "created", status, priority)

    def status(self, at: datetime, status: str) -> Log:
        return self.add(at, "status", status)

    def priority(self, at: datetime, priority: str) -> Log:
        return self.add(at, "priority", priority=priority)


def shape(result: ClockResult) -> list[tuple[datetime, datetime, bool, str]]:
    return [(i.start, i.end, i.counted, i.reason) for i in result.intervals]


# --------------------------------------------------------------------------------------------
# Hand-computed cases


def test_gti_met_on_24x7() -> None:
    # GTI P1 30 min, 24x7: 10:00 → 10:20 is 20 min of business time, within 30 min.
    gti = spec(h24, {"P1": 30 * MIN}, metric="gti", stop="intervention_started")
    log = (
        Log()
        .created(paris(2026, 3, 10, 10), "P1")
        .status(paris(2026, 3, 10, 10, 20), "intervention_started")
    )
    result = compute_clock(gti, log.events, paris(2026, 3, 10, 12))
    assert result.state == "met"
    assert result.elapsed == 20 * MIN
    assert result.target == 30 * MIN
    assert result.remaining == 10 * MIN
    assert result.deadline is None and result.breached_at is None
    assert result.started_at == paris(2026, 3, 10, 10)
    assert result.stopped_at == paris(2026, 3, 10, 10, 20)
    assert shape(result) == [(paris(2026, 3, 10, 10), paris(2026, 3, 10, 10, 20), True, "counted")]


def test_gtr_paused_over_a_weekend_in_office_hours() -> None:
    # GTR P3 4 h, HO. Created Fri 16:00; waiting_client Fri 17:00 → Mon 09:00; restored
    # Mon 11:00. The pause covers Fri 17:00–Mon 09:00, but only Fri 17:00–18:00 and
    # Mon 08:00–09:00 were business time anyway (2 h lost to the pause).
    # Counted: Fri 16:00–17:00 (1 h) + Mon 09:00–11:00 (2 h) = 3 h ≤ 4 h → met, 1 h to spare.
    gtr = spec(ho, {"P3": 4 * H})
    log = (
        Log()
        .created(paris(2026, 3, 6, 16), "P3")
        .status(paris(2026, 3, 6, 17), "waiting_client")
        .status(paris(2026, 3, 9, 9), "intervention_started")
        .status(paris(2026, 3, 9, 11), "restored")
    )
    result = compute_clock(gtr, log.events, paris(2026, 3, 9, 15))
    assert result.state == "met"
    assert result.elapsed == 3 * H
    assert result.remaining == H
    assert result.stopped_at == paris(2026, 3, 9, 11)
    assert shape(result) == [
        (paris(2026, 3, 6, 16), paris(2026, 3, 6, 17), True, "counted"),
        (paris(2026, 3, 6, 17), paris(2026, 3, 6, 18), False, "paused:waiting_client"),
        (paris(2026, 3, 6, 18), paris(2026, 3, 9, 8), False, "outside_service_hours"),
        (paris(2026, 3, 9, 8), paris(2026, 3, 9, 9), False, "paused:waiting_client"),
        (paris(2026, 3, 9, 9), paris(2026, 3, 9, 11), True, "counted"),
    ]
    # Without the pause: Fri 16:00–18:00 (2 h) + Mon 08:00–11:00 (3 h) = 5 h > 4 h, breached
    # when the 4th hour was reached: 2 h on Friday + 2 h on Monday → Mon 10:00.
    unpaused = [e for e in log.events if e.status != "waiting_client"]
    result = compute_clock(gtr, unpaused, paris(2026, 3, 9, 15))
    assert (result.state, result.elapsed) == ("breached", 5 * H)
    assert result.breached_at == paris(2026, 3, 9, 10)


def test_pause_over_a_night_and_a_weekend_on_24x7() -> None:
    # GTR P1 4 h, 24x7. Created Fri 20:00; waiting_client Fri 21:00 → Mon 08:00; restored
    # Mon 10:00. Counted: Fri 20:00–21:00 (1 h) + Mon 08:00–10:00 (2 h) = 3 h → met.
    # The pause Fri 21:00 → Mon 08:00 (3 h + 48 h + 8 h = 59 h) is all business time on 24x7.
    gtr = spec(h24, {"P1": 4 * H})
    log = (
        Log()
        .created(paris(2026, 3, 6, 20), "P1")
        .status(paris(2026, 3, 6, 21), "waiting_client")
        .status(paris(2026, 3, 9, 8), "intervention_started")
        .status(paris(2026, 3, 9, 10), "restored")
    )
    result = compute_clock(gtr, log.events, paris(2026, 3, 9, 12))
    assert (result.state, result.elapsed) == ("met", 3 * H)
    assert shape(result) == [
        (paris(2026, 3, 6, 20), paris(2026, 3, 6, 21), True, "counted"),
        (paris(2026, 3, 6, 21), paris(2026, 3, 9, 8), False, "paused:waiting_client"),
        (paris(2026, 3, 9, 8), paris(2026, 3, 9, 10), True, "counted"),
    ]
    assert result.intervals[1].duration == 59 * H
    # Without the pause the same ticket counts 62 h and breached at Sat 00:00 (20:00 + 4 h).
    unpaused = [e for e in log.events if e.status != "waiting_client"]
    result = compute_clock(gtr, unpaused, paris(2026, 3, 9, 12))
    assert (result.state, result.elapsed) == ("breached", 62 * H)
    assert result.breached_at == paris(2026, 3, 7, 0)


def test_public_holiday_ascension() -> None:
    # GTR P3 4 h, HO. Ascension 2026 is Thursday 14 May (Easter 5 April + 39 days): HO is
    # closed all day. Created Thu 17:00 → nothing counts until Fri 15 May 08:00; 4 h of
    # business time → deadline Fri 12:00.
    gtr = spec(ho, {"P3": 4 * H})
    log = Log().created(paris(2026, 5, 14, 17), "P3")
    # At Fri 10:00: elapsed 08:00–10:00 = 2 h, remaining 2 h, deadline 10:00 + 2 h = 12:00.
    running = compute_clock(gtr, log.events, paris(2026, 5, 15, 10))
    assert running.state == "running"
    assert (running.elapsed, running.remaining) == (2 * H, 2 * H)
    assert running.deadline == paris(2026, 5, 15, 12)
    # At Thu 17:30, on the holiday itself: nothing counted, the deadline is the same.
    early = compute_clock(gtr, log.events, paris(2026, 5, 14, 17, 30))
    assert (early.state, early.elapsed, early.deadline) == (
        "running",
        timedelta(0),
        paris(2026, 5, 15, 12),
    )
    # Restored Fri 11:00: 3 h → met.
    log.status(paris(2026, 5, 15, 11), "restored")
    result = compute_clock(gtr, log.events, paris(2026, 5, 15, 18))
    assert (result.state, result.elapsed) == ("met", 3 * H)
    assert shape(result) == [
        (paris(2026, 5, 14, 17), paris(2026, 5, 15, 8), False, "outside_service_hours"),
        (paris(2026, 5, 15, 8), paris(2026, 5, 15, 11), True, "counted"),
    ]


def test_dst_spring_forward_on_24x7() -> None:
    # 24x7, created Sat 2026-03-28 22:00 CET (21:00 UTC), restored Sun 04:00 CEST (02:00 UTC):
    # 5 h of real time, not the 6 h the wall clock suggests (02:00 → 03:00 is skipped).
    # GTR P1 4 h → breached at 21:00 UTC + 4 h = 01:00 UTC = 03:00 CEST.
    gtr = spec(h24, {"P1": 4 * H})
    log = Log().created(paris(2026, 3, 28, 22), "P1").status(paris(2026, 3, 29, 4), "restored")
    result = compute_clock(gtr, log.events, paris(2026, 3, 29, 12))
    assert result.elapsed == 5 * H
    assert result.state == "breached"
    assert result.remaining == -H
    assert result.breached_at == paris(2026, 3, 29, 3)
    assert result.breached_at == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert len(result.intervals) == 1 and result.intervals[0].duration == 5 * H


def test_dst_fall_back_on_24x7() -> None:
    # 24x7, created Sat 2026-10-24 22:00 CEST (20:00 UTC), restored Sun 04:00 CET (03:00 UTC):
    # 7 h of real time (02:00 → 03:00 happens twice). P1 4 h → breached at 00:00 UTC = 02:00
    # CEST, the first 02:00 of the night.
    gtr = spec(h24, {"P1": 4 * H})
    log = Log().created(paris(2026, 10, 24, 22), "P1").status(paris(2026, 10, 25, 4), "restored")
    result = compute_clock(gtr, log.events, paris(2026, 10, 25, 12))
    assert (result.state, result.elapsed) == ("breached", 7 * H)
    assert result.breached_at is not None
    assert utc(result.breached_at) == datetime(2026, 10, 25, 0, tzinfo=UTC)
    assert (result.breached_at.hour, result.breached_at.fold) == (2, 0)
    assert result.breached_at.utcoffset() == 2 * H


# Priority changes. HO, GTR, P1 2 h, P2 8 h, P3 4 h. Created Tue 2026-03-10 09:00 as P3:
# deadline 09:00 + 4 h = 13:00. At 10:00 (1 h counted) the priority changes.
PRIORITY_TARGETS = {"P1": 2 * H, "P2": 8 * H, "P3": 4 * H}
T0 = paris(2026, 3, 10, 9)


def changed(to: str) -> Log:
    return Log().created(T0, "P3").priority(paris(2026, 3, 10, 10), to)


@pytest.mark.parametrize("rule", ["keep_elapsed", "restart", "strictest"])
def test_deadline_before_any_priority_change(rule: str) -> None:
    result = compute_clock(
        spec(ho, PRIORITY_TARGETS, rule=rule), changed("P2").events, paris(2026, 3, 10, 9, 30)
    )
    assert (result.state, result.target, result.elapsed) == ("running", 4 * H, 30 * MIN)
    assert result.deadline == paris(2026, 3, 10, 13)


@pytest.mark.parametrize(
    ("rule", "to", "target", "elapsed", "deadline"),
    [
        # keep_elapsed: P2's 8 h apply to all time since 09:00 → 09:00 + 8 h = 17:00.
        ("keep_elapsed", "P2", 8 * H, 90 * MIN, paris(2026, 3, 10, 17)),
        # restart: 8 h from 10:00 → 18:00; at 10:30 only 30 min count.
        ("restart", "P2", 8 * H, 30 * MIN, paris(2026, 3, 10, 18)),
        # strictest: min(4 h, 8 h) = 4 h → still 13:00.
        ("strictest", "P2", 4 * H, 90 * MIN, paris(2026, 3, 10, 13)),
        # Upgrade to P1 (2 h). keep_elapsed: 09:00 + 2 h = 11:00.
        ("keep_elapsed", "P1", 2 * H, 90 * MIN, paris(2026, 3, 10, 11)),
        # restart: 10:00 + 2 h = 12:00.
        ("restart", "P1", 2 * H, 30 * MIN, paris(2026, 3, 10, 12)),
        # strictest: min(4 h, 2 h) = 2 h → 11:00.
        ("strictest", "P1", 2 * H, 90 * MIN, paris(2026, 3, 10, 11)),
    ],
)
def test_deadline_after_a_priority_change(
    rule: str, to: str, target: timedelta, elapsed: timedelta, deadline: datetime
) -> None:
    clock = spec(ho, PRIORITY_TARGETS, rule=rule)
    result = compute_clock(clock, changed(to).events, paris(2026, 3, 10, 10, 30))
    assert (result.state, result.target, result.elapsed) == ("running", target, elapsed)
    assert result.deadline == deadline
    # The deadline does not drift while the clock runs.
    later = compute_clock(clock, changed(to).events, paris(2026, 3, 10, 10, 59))
    assert later.deadline == deadline


def test_restart_marks_earlier_time_before_restart() -> None:
    result = compute_clock(
        spec(ho, PRIORITY_TARGETS, rule="restart"), changed("P2").events, paris(2026, 3, 10, 10, 30)
    )
    assert result.restarted_at == paris(2026, 3, 10, 10)
    assert result.priority == "P2"
    assert shape(result) == [
        (T0, paris(2026, 3, 10, 10), False, "before_restart"),
        (paris(2026, 3, 10, 10), paris(2026, 3, 10, 10, 30), True, "counted"),
    ]


@pytest.mark.parametrize(
    ("rule", "deadline"),
    [
        # Same changes as above (P3 → P2 at 10:00), plus waiting_client 11:00–12:00 (1 h of
        # business time): every deadline moves by exactly that hour.
        ("keep_elapsed", paris(2026, 3, 10, 18)),  # 17:00 + 1 h
        ("restart", paris(2026, 3, 11, 9)),  # 18:00 + 1 h: Tue 18:00 closes, Wed 08:00 + 1 h
        ("strictest", paris(2026, 3, 10, 14)),  # 13:00 + 1 h
    ],
)
def test_a_pause_moves_the_deadline_by_the_paused_business_time(
    rule: str, deadline: datetime
) -> None:
    clock = spec(ho, PRIORITY_TARGETS, rule=rule)
    log = changed("P2").status(paris(2026, 3, 10, 11), "waiting_client")
    paused = compute_clock(clock, log.events, paris(2026, 3, 10, 11, 30))
    assert paused.state == "paused"
    assert paused.deadline is None
    log.status(paris(2026, 3, 10, 12), "intervention_started")
    for now in (paris(2026, 3, 10, 12), paris(2026, 3, 10, 12, 30), paris(2026, 3, 10, 13, 45)):
        result = compute_clock(clock, log.events, now)
        assert result.state == "running"
        assert result.deadline == deadline
    # A pause outside business hours (Tue 18:30 → Wed 07:30) moves nothing.
    if rule == "restart":
        log.status(paris(2026, 3, 10, 18, 30), "third_party").status(
            paris(2026, 3, 11, 7, 30), "intervention_started"
        )
        result = compute_clock(clock, log.events, paris(2026, 3, 11, 8))
        assert result.deadline == deadline
        assert "paused:third_party" not in {i.reason for i in result.intervals}


def test_strictest_breach_instant_is_exact_across_a_pause() -> None:
    # strictest P3 (4 h) → P2: target 4 h. Counted 09:00–11:00 (2 h), paused 11:00–12:00,
    # counted from 12:00: the 4 h are reached at 14:00; at 15:00 elapsed is 5 h.
    log = changed("P2").status(paris(2026, 3, 10, 11), "waiting_client")
    log.status(paris(2026, 3, 10, 12), "intervention_started")
    result = compute_clock(
        spec(ho, PRIORITY_TARGETS, rule="strictest"), log.events, paris(2026, 3, 10, 15)
    )
    assert (result.state, result.elapsed, result.remaining) == ("breached", 5 * H, -H)
    assert result.breached_at == paris(2026, 3, 10, 14)
    assert result.deadline == result.breached_at
    assert result.priority == "P3"


def test_priority_without_target_keeps_the_last_applicable_one() -> None:
    # P3 (4 h) → P9 (no target) at 10:00: the 4 h still apply, and restart does not restart.
    for rule in ("keep_elapsed", "restart", "strictest"):
        result = compute_clock(
            spec(ho, PRIORITY_TARGETS, rule=rule), changed("P9").events, paris(2026, 3, 10, 10, 30)
        )
        assert (result.target, result.elapsed, result.priority) == (4 * H, 90 * MIN, "P3")
        assert result.deadline == paris(2026, 3, 10, 13)
        assert result.restarted_at is None


def test_not_applicable_and_not_started() -> None:
    # P9 has no target at all: the clock does not apply (its time is still explained).
    clock = spec(ho, PRIORITY_TARGETS)
    result = compute_clock(clock, Log().created(T0, "P9").events, paris(2026, 3, 10, 10))
    assert (result.state, result.target, result.deadline) == ("not_applicable", None, None)
    assert result.elapsed == H
    # Started on assignment: not started before it.
    assigned = spec(ho, PRIORITY_TARGETS, start="assigned")
    log = Log().created(T0, "P3")
    result = compute_clock(assigned, log.events, paris(2026, 3, 10, 10))
    assert (result.state, result.target, result.started_at, result.intervals) == (
        "not_started",
        4 * H,
        None,
        [],
    )
    log.add(paris(2026, 3, 10, 10), "assigned")
    result = compute_clock(assigned, log.events, paris(2026, 3, 10, 11))
    assert (result.state, result.elapsed, result.started_at) == (
        "running",
        H,
        paris(2026, 3, 10, 10),
    )
    # No event at all yet: not started.
    assert compute_clock(clock, [], T0).state == "not_started"


def test_stop_before_start_is_met_with_zero_elapsed() -> None:
    # start=created, but a stray "restored" comes before the creation (odd data).
    log = Log().status(paris(2026, 3, 10, 8), "restored").created(T0, "P3")
    result = compute_clock(spec(ho, PRIORITY_TARGETS), log.events, paris(2026, 3, 10, 12))
    assert (result.state, result.elapsed, result.intervals) == ("met", timedelta(0), [])
    assert result.started_at == result.stopped_at == T0
    # start=assigned, restored before anybody was assigned: started and stopped at once.
    log = Log().created(T0, "P3").status(paris(2026, 3, 10, 9, 30), "restored")
    log.add(paris(2026, 3, 10, 10), "assigned")
    result = compute_clock(
        spec(ho, PRIORITY_TARGETS, start="assigned"), log.events, paris(2026, 3, 10, 12)
    )
    assert (result.state, result.elapsed) == ("met", timedelta(0))
    assert result.started_at == result.stopped_at == paris(2026, 3, 10, 9, 30)


def test_reopen_after_resolution() -> None:
    # Resolution clock, HO, P3 2 business days (20 h). Created Tue 09:00, resolved 12:00
    # (3 h), reopened Wed 10:00, resolved again Wed 15:00 (5 h): 8 h, met, elapsed kept.
    clock = spec(ho, {"P3": 20 * H}, metric="resolution", stop="resolved")
    log = Log().created(T0, "P3").status(paris(2026, 3, 10, 12), "resolved")
    first = compute_clock(clock, log.events, paris(2026, 3, 11, 9))
    assert (first.state, first.elapsed, first.stopped_at) == ("met", 3 * H, paris(2026, 3, 10, 12))
    log.add(paris(2026, 3, 11, 10), "reopened", "intervention_started")
    reopened = compute_clock(clock, log.events, paris(2026, 3, 11, 11))
    assert (reopened.state, reopened.elapsed, reopened.stopped_at) == ("running", 4 * H, None)
    # remaining 16 h from Wed 11:00: Wed 7 h, Thu 10 h → Thu 08:00 + (16 − 7) h = Thu 17:00.
    assert reopened.deadline == paris(2026, 3, 12, 17)
    log.status(paris(2026, 3, 11, 15), "resolved")
    result = compute_clock(clock, log.events, paris(2026, 3, 12, 9))
    assert (result.state, result.elapsed) == ("met", 8 * H)
    assert result.stopped_at == paris(2026, 3, 11, 15)
    assert shape(result) == [
        (T0, paris(2026, 3, 10, 12), True, "counted"),
        (paris(2026, 3, 10, 12), paris(2026, 3, 10, 18), False, "stopped:resolved"),
        (paris(2026, 3, 10, 18), paris(2026, 3, 11, 8), False, "outside_service_hours"),
        (paris(2026, 3, 11, 8), paris(2026, 3, 11, 10), False, "stopped:resolved"),
        (paris(2026, 3, 11, 10), paris(2026, 3, 11, 15), True, "counted"),
    ]


def test_reopen_resumes_gtr_but_not_gti() -> None:
    # Resolved without a "restored" event: restored at resolution (GTR stops at 12:00). The
    # help desk reopens into intervention_started: GTR resumes, GTI (intervention already
    # started) stays stopped.
    log = (
        Log()
        .created(T0, "P3")
        .status(paris(2026, 3, 10, 9, 10), "intervention_started")
        .status(paris(2026, 3, 10, 12), "resolved")
        .add(paris(2026, 3, 10, 14), "reopened", "intervention_started")
    )
    now = paris(2026, 3, 10, 15)
    gtr = compute_clock(spec(ho, PRIORITY_TARGETS), log.events, now)
    assert (gtr.state, gtr.elapsed) == ("running", 4 * H)  # 09:00–12:00 + 14:00–15:00
    gti = compute_clock(
        spec(ho, {"P3": H}, metric="gti", stop="intervention_started"), log.events, now
    )
    assert (gti.state, gti.elapsed, gti.stopped_at) == ("met", 10 * MIN, paris(2026, 3, 10, 9, 10))
    # A status event taking a resolved ticket back to work reopens it too; going back from
    # restored to intervention_started does not (work on the final fix after a workaround).
    implicit = Log().created(T0, "P3").status(paris(2026, 3, 10, 12), "resolved")
    implicit.status(paris(2026, 3, 10, 14), "intervention_started")
    assert compute_clock(spec(ho, PRIORITY_TARGETS), implicit.events, now).elapsed == 4 * H
    workaround = Log().created(T0, "P3").status(paris(2026, 3, 10, 12), "restored")
    workaround.status(paris(2026, 3, 10, 14), "intervention_started")
    result = compute_clock(spec(ho, PRIORITY_TARGETS), workaround.events, now)
    assert (result.state, result.elapsed) == ("met", 3 * H)


def test_running_clock_remaining_deadline_and_breach() -> None:
    # GTI P2 2 h, HO, created Tue 17:00.
    gti = spec(ho, {"P2": 2 * H}, metric="gti", stop="intervention_started")
    log = Log().created(paris(2026, 3, 10, 17), "P2")
    # Tue 17:30: 30 min counted, 1 h 30 left: 17:30–18:00 (30 min) + Wed 08:00–09:00 → Wed 09:00.
    result = compute_clock(gti, log.events, paris(2026, 3, 10, 17, 30))
    assert (result.state, result.elapsed, result.remaining) == ("running", 30 * MIN, 90 * MIN)
    assert result.deadline == paris(2026, 3, 11, 9)
    assert result.breached_at is None
    # Wed 10:15: Tue 17:00–18:00 (1 h) + Wed 08:00–10:15 (2 h 15) = 3 h 15 > 2 h, breached at
    # 1 h + 1 h → Wed 09:00; remaining −1 h 15; the deadline is that instant.
    result = compute_clock(gti, log.events, paris(2026, 3, 11, 10, 15))
    assert (result.state, result.elapsed, result.remaining) == ("breached", 195 * MIN, -75 * MIN)
    assert result.breached_at == result.deadline == paris(2026, 3, 11, 9)
    # Exactly on target (Wed 09:00) is not a breach yet.
    result = compute_clock(gti, log.events, paris(2026, 3, 11, 9))
    assert (result.state, result.remaining, result.deadline) == (
        "running",
        timedelta(0),
        paris(2026, 3, 11, 9),
    )
    # Events after "now" are ignored: the clock as it stood then.
    log.status(paris(2026, 3, 11, 8, 30), "intervention_started")
    assert compute_clock(gti, log.events, paris(2026, 3, 10, 17, 30)).deadline == paris(
        2026, 3, 11, 9
    )
    assert compute_clock(gti, log.events, paris(2026, 3, 11, 12)).state == "met"


def test_business_days_targets() -> None:
    assert typical_open_day(ho) == 10 * H  # 50 h over 5 open days
    assert typical_open_day(h24) == 24 * H  # 168 h over 7 days
    assert target_duration(Decimal(1), "business_days", ho) == 10 * H
    assert target_duration(Decimal("0.5"), "business_days", ho) == 5 * H
    assert target_duration(Decimal(5), "business_days", h24) == 120 * H
    assert target_duration(Decimal(30), "minutes", ho) == 30 * MIN
    assert target_duration(Decimal("1.5"), "hours", ho) == 90 * MIN
    assert target_duration(2, "days", ho) == 48 * H
    assert target_duration(Decimal("0.0001"), "minutes", ho) == timedelta(microseconds=6000)
    with pytest.raises(ValueError, match="not a duration unit"):
        target_duration(Decimal(1), "percent", ho)
    with pytest.raises(ValueError, match=">= 0"):
        target_duration(Decimal(-1), "hours", ho)


def test_business_day_target_on_a_real_clock() -> None:
    # P3 "next business day" = 1 business day = 10 h in HO. Created Fri 2026-03-06 15:00:
    # Fri 15:00–18:00 (3 h) + Mon 08:00–15:00 (7 h) → deadline Mon 15:00.
    clock = spec(ho, {"P3": target_duration(Decimal(1), "business_days", ho)})
    result = compute_clock(
        clock, Log().created(paris(2026, 3, 6, 15), "P3").events, paris(2026, 3, 6, 15)
    )
    assert result.deadline == paris(2026, 3, 9, 15)


def test_explain_rows_are_json_ready() -> None:
    log = (
        Log()
        .created(paris(2026, 3, 6, 16), "P3")
        .status(paris(2026, 3, 6, 17), "waiting_client")
        .status(paris(2026, 3, 9, 9), "intervention_started")
        .status(paris(2026, 3, 9, 11), "restored")
    )
    rows = explain(compute_clock(spec(ho, {"P3": 4 * H}), log.events, paris(2026, 3, 9, 15)))
    assert json.loads(json.dumps(rows)) == rows
    assert rows[0] == {
        "start": "2026-03-06T16:00:00+01:00",
        "end": "2026-03-06T17:00:00+01:00",
        "counted": True,
        "reason": "counted",
        "duration_seconds": 3600.0,
        "elapsed_seconds": 3600.0,
    }
    assert [r["reason"] for r in rows] == [
        "counted",
        "paused:waiting_client",
        "outside_service_hours",
        "paused:waiting_client",
        "counted",
    ]
    assert rows[-1]["elapsed_seconds"] == 3 * 3600.0


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="aware"):
        TicketEvent(datetime(2026, 3, 10, 9), 1, "created", "new", "P3")
    with pytest.raises(ValueError, match="unknown event kind"):
        TicketEvent(T0, 1, "escalated")
    with pytest.raises(ValueError, match="needs a status"):
        TicketEvent(T0, 1, "status", "")
    with pytest.raises(ValueError, match="milestone"):
        spec(ho, {}, stop="assigned")
    with pytest.raises(ValueError, match="priority rule"):
        spec(ho, {}, rule="average")
    with pytest.raises(ValueError, match="aware"):
        compute_clock(spec(ho, {}), [], datetime(2026, 3, 10, 9))
    # The database stores "" for "no priority": read as None.
    assert TicketEvent(T0, 1, "status", "new", "").priority is None


# --------------------------------------------------------------------------------------------
# Properties

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = [
    "new",
    "assigned",
    "in_progress",
    "waiting_client",
    "access_refused",
    "third_party",
    "intervention_started",
    "restored",
    "resolved",
    "closed",
]
PRIORITIES = ["P1", "P2", "P3", "P1", "P2", "P3", "P4", "P9"]  # P4, P9: no target


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ClockSpec, list[TicketEvent], datetime]:
    calendar = draw(st.sampled_from([ho, h24]))
    targets = {
        "P1": draw(st.integers(1, 8 * 60)) * MIN,
        "P2": draw(st.integers(1, 24 * 60)) * MIN,
        "P3": draw(st.integers(1, 72 * 60)) * MIN,
    }
    clock = spec(
        calendar,
        targets,
        start=draw(st.sampled_from(["created", "assigned"])),
        stop=draw(st.sampled_from(["intervention_started", "restored", "resolved", "closed"])),
        rule=draw(st.sampled_from(["keep_elapsed", "restart", "strictest"])),
    )
    at = YEAR_START + timedelta(seconds=draw(st.integers(0, 330 * 86_400)))
    events = [
        TicketEvent(
            at, 1, "created", draw(st.sampled_from(STATUSES[:3])), draw(st.sampled_from(PRIORITIES))
        )
    ]
    for seq in range(2, draw(st.integers(1, 12)) + 2):
        # Some events share an instant (gap 0), most are minutes to days apart.
        at += timedelta(seconds=draw(st.one_of(st.just(0), st.integers(1, 4 * 86_400))))
        kind = draw(
            st.sampled_from(
                ["status", "status", "status", "priority", "reopened", "comment", "assigned"]
            )
        )
        status = draw(st.sampled_from(STATUSES)) if kind == "status" else None
        if kind == "reopened":
            status = draw(st.sampled_from([None, "intervention_started", "in_progress"]))
        priority = draw(st.sampled_from(PRIORITIES)) if kind == "priority" else None
        events.append(TicketEvent(at, seq, kind, status, priority))
    now = at + timedelta(seconds=draw(st.integers(0, 5 * 86_400)))
    return clock, events, now


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def end_of(result: ClockResult) -> datetime:
    assert result.as_of is not None
    return result.stopped_at or result.as_of


def check_invariants(clock: ClockSpec, result: ClockResult) -> None:
    intervals = result.intervals
    if result.started_at is None:
        assert result.state in ("not_started", "not_applicable")
        assert intervals == [] and result.elapsed == timedelta(0)
        return
    end = end_of(result)
    # Counted intervals sum to elapsed.
    assert sum((i.duration for i in intervals if i.counted), timedelta(0)) == result.elapsed
    # Contiguous, ordered, non-empty, covering [started_at, end).
    if intervals:
        assert intervals[0].start == result.started_at
        assert intervals[-1].end == end
    else:
        assert result.started_at == end
    for interval in intervals:
        assert interval.duration > timedelta(0)
        assert interval.counted == (interval.reason == "counted")
    for a, b in itertools.pairwise(intervals):
        assert a.end == b.start
        assert (a.counted, a.reason) != (b.counted, b.reason)  # neighbours are merged
    # Elapsed is at most the business time, and every excluded business second has a cause.
    business = clock.calendar.business_duration(result.started_at, end)
    assert result.elapsed <= business
    outside = [i for i in intervals if i.reason == "outside_service_hours"]
    assert all(clock.calendar.business_duration(i.start, i.end) == timedelta(0) for i in outside)
    assert sum((i.duration for i in intervals if i not in outside), timedelta(0)) == business
    # State against elapsed and target.
    if result.target is None:
        assert result.state == "not_applicable"
        assert result.remaining is None and result.deadline is None and result.breached_at is None
        return
    assert result.remaining == result.target - result.elapsed
    assert (result.state == "breached") == (result.elapsed > result.target)
    assert (result.breached_at is not None) == (result.state == "breached")
    if result.state == "met":
        assert result.stopped_at is not None
    if result.stopped_at is not None:
        assert result.state in ("met", "breached") and result.deadline is None
    if result.state == "running":
        assert result.deadline is not None
    if result.state == "paused":
        assert result.deadline is None
    if result.breached_at is not None:
        # breached_at is where the counted time reached the target.
        counted_before = sum(
            (
                real(i.start, min(i.end, result.breached_at, key=lambda d: d.astimezone(UTC)))
                for i in intervals
                if i.counted and i.start.astimezone(UTC) < result.breached_at.astimezone(UTC)
            ),
            timedelta(0),
        )
        assert counted_before == result.target


@PROPERTY_SETTINGS
@given(scenarios())
def test_invariants(scenario: tuple[ClockSpec, list[TicketEvent], datetime]) -> None:
    clock, events, now = scenario
    result = compute_clock(clock, events, now)
    check_invariants(clock, result)
    # Determinism: the same events give the same result, whatever their zone.
    assert compute_clock(clock, events, now) == result
    in_utc = [replace(e, at=e.at.astimezone(UTC)) for e in events]
    assert compute_clock(clock, in_utc, now.astimezone(PARIS)) == result


@PROPERTY_SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_order_of_the_list_does_not_matter_only_seq_does(
    scenario: tuple[ClockSpec, list[TicketEvent], datetime], rnd: random.Random
) -> None:
    # Simultaneous events are ordered by seq, so shuffling the list changes nothing.
    clock, events, now = scenario
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert compute_clock(clock, shuffled, now) == compute_clock(clock, events, now)


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_adding_a_pause_never_increases_elapsed(
    scenario: tuple[ClockSpec, list[TicketEvent], datetime], data: st.DataObject
) -> None:
    clock, events, now = scenario
    result = compute_clock(clock, events, now)
    # 1. More pause statuses.
    extra = data.draw(
        st.sets(st.sampled_from(["new", "assigned", "in_progress", "intervention_started"]))
    )
    wider = replace(clock, pause_statuses=clock.pause_statuses | extra)
    assert compute_clock(wider, events, now).elapsed <= result.elapsed
    # 2. A pause inserted between two events where the status is a plain work status:
    # waiting_client at t1, back to that status at t2.
    replayed = sorted(events, key=lambda e: (e.at, e.seq))
    bounds = [e.at for e in replayed[1:]] + [now]
    status = None
    gaps = []
    for event, following in zip(replayed, bounds, strict=True):
        if event.kind == "reopened":
            status = event.status or "reopened"
        elif event.status is not None:
            status = event.status
        if status in ("new", "assigned", "in_progress") and following > event.at:
            gaps.append((event.at, following, status))
    assume(gaps)
    a, b, status = data.draw(st.sampled_from(gaps))
    span = int((b - a).total_seconds())
    assume(span >= 2)
    t1 = a + timedelta(seconds=data.draw(st.integers(1, span - 1)))
    t2 = t1 + timedelta(seconds=data.draw(st.integers(0, int((b - t1).total_seconds()) - 1)))
    paused = [
        *events,
        TicketEvent(t1, 1000, "status", "waiting_client"),
        TicketEvent(t2, 1001, "status", status),
    ]
    with_pause = compute_clock(clock, paused, now)
    assert with_pause.elapsed <= result.elapsed
    check_invariants(clock, with_pause)


@PROPERTY_SETTINGS
@given(scenarios(), st.floats(0, 1))
def test_a_running_deadline_does_not_drift(
    scenario: tuple[ClockSpec, list[TicketEvent], datetime], fraction: float
) -> None:
    clock, events, now = scenario
    result = compute_clock(clock, events, now)
    deadline = result.deadline
    assume(result.state == "running" and deadline is not None)
    assert deadline is not None
    later = now + (deadline.astimezone(UTC) - now.astimezone(UTC)) * fraction
    again = compute_clock(clock, events, later)
    assert utc(again.deadline) == utc(deadline)
    assert again.state == "running"
    # A microsecond of business time past the deadline is a breach, at the deadline.
    past = clock.calendar.add_business_time(deadline, timedelta(microseconds=1))
    breached = compute_clock(clock, events, past)
    assert breached.state == "breached"
    assert utc(breached.breached_at) == utc(deadline)


@PROPERTY_SETTINGS
@given(scenarios(), st.floats(0, 1))
def test_events_after_now_are_ignored(
    scenario: tuple[ClockSpec, list[TicketEvent], datetime], fraction: float
) -> None:
    clock, events, now = scenario
    start = events[0].at
    earlier = start + (now - start) * fraction
    kept = [e for e in events if e.at <= earlier]
    assert compute_clock(clock, events, earlier) == compute_clock(clock, kept, earlier)


def test_intervals_are_clock_intervals() -> None:
    result = compute_clock(
        spec(h24, {"P1": H}), Log().created(T0, "P1").events, paris(2026, 3, 10, 9, 5)
    )
    assert result.intervals == [ClockInterval(T0, paris(2026, 3, 10, 9, 5), True, "counted")]


@PROPERTY_SETTINGS
@given(scenarios())
def test_the_batch_path_gives_the_same_clock_without_intervals(
    scenario: tuple[ClockSpec, list[TicketEvent], datetime],
) -> None:
    # Batch recomputations skip the explanation and work from a log shared by the clocks of
    # a ticket, built from database rows ("" for none): every other field must be the same.
    clock, events, now = scenario
    explained = compute_clock(clock, events, now)
    rows = [(e.at, e.seq, e.kind, e.status or "", e.priority or "") for e in reversed(events)]
    fast = compute_clock(clock, TicketLog.from_rows(rows), now, explain=False)
    assert fast.intervals == []
    assert replace(explained, intervals=[]) == fast


@PROPERTY_SETTINGS
@given(
    st.lists(scenarios(), min_size=1, max_size=6),
    st.sampled_from(["created", "assigned", "intervention_started", "restored"]),
)
def test_clock_figures_are_compute_clocks_verdict(
    scenarios_: list[tuple[ClockSpec, list[TicketEvent], datetime]], start: str
) -> None:
    # The measurements' path, over columns: every ticket at once gives each ticket's verdict,
    # whatever the clock's start (a milestone start must come before its stop).
    clock, _events, now = scenarios_[0]
    if MILESTONES.index(clock.stop) > (MILESTONES.index(start) if start in MILESTONES else -1):
        clock = replace(clock, start=start)
    histories = {f"T{n}": events for n, (_clock, events, _now) in enumerate(scenarios_)}
    histories["T-"] = []  # a ticket without events (the database may have some)
    rows = {
        ref: [(e.at, e.seq, e.kind, e.status or "", e.priority or "") for e in reversed(events)]
        for ref, events in histories.items()
    }
    logs = TicketLogs.from_rows(rows)
    figures = clock_figures(clock, logs, (now - EPOCH) // US)

    def micros(value: datetime | None) -> int | None:
        return None if value is None else (value - EPOCH) // US

    for i, ref in enumerate(logs.refs):
        assert logs.log(i) == TicketLog.from_rows(rows[ref])
        result = compute_clock(clock, histories[ref], now, explain=False)
        assert CLOCK_STATES[figures.state[i]] == result.state
        assert figures.elapsed[i] == result.elapsed // US
        assert logs.priority_names[figures.priority[i]] == result.priority
        target = int(figures.target[i]) if figures.targeted[i] else None
        assert target == (None if result.target is None else result.target // US)
        stopped = int(figures.stopped[i]) if figures.is_stopped[i] else None
        assert stopped == micros(result.stopped_at)
        breached = int(figures.breached[i]) if figures.is_breached[i] else None
        assert breached == micros(result.breached_at)


def test_clock_figures_of_tickets_without_events() -> None:
    clock = spec(h24, {"P1": H})
    figures = clock_figures(clock, TicketLogs.from_rows({"T1": [], "T2": []}), 0)
    assert [CLOCK_STATES[s] for s in figures.state] == ["not_started", "not_started"]
    assert not figures.targeted.any() and not figures.is_stopped.any()


def test_selected_logs_are_the_same_logs() -> None:
    rows = {
        "A": [(T0, 1, "created", "new", "P1"), (T0 + H, 2, "status", "restored", "")],
        "B": [(T0, 1, "created", "new", "P2")],
        "C": [],
    }
    logs = TicketLogs.from_rows(rows)
    picked = logs.select(np.array([2, 0], dtype=np.int64))
    assert picked.refs == ("C", "A")
    assert picked.log(1) == TicketLog.from_rows(rows["A"]) == logs.log(0)
    assert picked.log(0) == TicketLog.from_rows([])
    assert picked != logs and logs == TicketLogs.from_rows(rows)
