"""Non-ticket service levels (availability, backups, continuity, satisfaction, delays), by hand.

No database: :mod:`infogerance.sla.metrics` is plain Python. Europe/Paris, presets HO
(Mon–Fri 08:00–18:00, French holidays closed) and 24x7. Dates used below (checked weekdays):
June 2026 has 30 days and no DST change; 2026-03-29 is the Sunday the clocks go forward
(02:00 → 03:00); November 2026: 1st is a Sunday, 11th (Armistice) a Wednesday, so HO has
21 weekdays − 1 holiday = 20 open days × 10 h = 200 h = 12,000 min; 13th is a Friday, 16th a
Monday, 27th a Friday, 30th a Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infogerance.calendars import H24X7, HO, compile_calendar
from infogerance.contracts.format import ServiceLevel
from infogerance.sla import metrics
from infogerance.sla.metrics import OtherData, measure_level
from infogerance.sla.records import (
    BackupRun,
    Evolution,
    Maintenance,
    Outage,
    PatchRecord,
    RestoreTest,
    Satisfaction,
)
from infogerance.sla.results import Exclusion, Item

PARIS = ZoneInfo("Europe/Paris")
ho = compile_calendar(HO)
h24 = compile_calendar(H24X7)
MIN = 60
HOUR = 3600
DAY = 86_400
H = timedelta(hours=1)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


JUNE = (paris(2026, 6, 1), paris(2026, 7, 1))
NOVEMBER = (paris(2026, 11, 1), paris(2026, 12, 1))
MARCH = (paris(2026, 3, 1), paris(2026, 4, 1))


def level(
    metric: str,
    value: str | int,
    unit: str,
    *,
    calendar: str = "24x7",
    services: tuple[str, ...] = ("app",),
    compliance: str | None = None,
    causes: tuple[str, ...] = (),
    notice: int | None = None,
    **extra: Any,
) -> ServiceLevel:
    return ServiceLevel.model_validate(
        {
            "id": f"SL-{metric}",
            "metric": metric,
            "services": list(services),
            "target": {"value": str(value), "unit": unit},
            "calendar": calendar,
            "compliance": compliance,
            "exclusions": {"causes": list(causes), "maintenance_notice_hours": notice},
            **extra,
        }
    )


def d(text: str | int) -> Decimal:
    return Decimal(text)


def refs(result: Any) -> dict[str, Item]:
    return {item.ref: item for item in result.items}


# --------------------------------------------------------------------------------------------
# Availability


def test_availability_24x7_month_with_a_maintenance_overlapping_an_outage() -> None:
    sl = level("availability", "99.9", "percent", notice=48)
    maintenances = [
        Maintenance(
            "MNT-1",
            "app",
            paris(2026, 6, 10, 2),
            paris(2026, 6, 10, 4),
            notified_at=paris(2026, 6, 1, 9),
        )
    ]
    outages = [
        Outage("O-1", "app", paris(2026, 6, 10, 3, 30), paris(2026, 6, 10, 4, 15)),
        Outage("O-2", "app", paris(2026, 6, 20, 14), paris(2026, 6, 20, 14, 30)),
        Outage("O-other", "mail", paris(2026, 6, 5, 10), paris(2026, 6, 5, 12)),  # not the level's
        Outage("O-may", "app", paris(2026, 5, 20, 10), paris(2026, 5, 20, 12)),  # out of period
    ]
    result = metrics.availability(sl, h24, *JUNE, outages, maintenances)
    # T = 30 days × 24 h = 43,200 min; M = 02:00–04:00 = 120 min;
    # D = O-1 04:00–04:15 (its 03:30–04:00 is maintenance, counted once, as M) + O-2 30 = 45 min
    # A = (43200 − 120 − 45) / (43200 − 120) = 43035 / 43080 = 99.89554… → 99.8955 %
    assert result.value == d("99.8955")
    assert result.met is False
    assert (result.sample, result.within, result.breaches) == (1, 0, 1)
    assert result.details == {
        "T": d(43_200 * MIN),
        "M": d(120 * MIN),
        "D": d(45 * MIN),
        # allowed = 0.1 % × 43,080 min = 43.08 min = 2,584.8 s
        "allowed_downtime": d("2584.8"),
    }
    # overrun = 2,700 − 2,584.8 = 115.2 s
    assert result.overrun == d("115.2")
    assert [(i.ref, i.value, i.met) for i in result.items] == [
        ("O-1", d(15 * MIN), False),
        ("O-2", d(30 * MIN), False),
    ]
    assert result.items[0].note == "partly during maintenance"
    assert result.excluded == ()
    assert result.name == "SL-availability"
    assert result.services == ("app",)
    assert result.target == d("99.9")
    assert result.unit == "percent"
    assert result.target_seconds is None


def test_availability_office_hours_month_with_a_public_holiday() -> None:
    sl = level("availability", 99, "percent", calendar="HO")
    # Tue 10 Nov 17:00 → Thu 12 Nov 08:30: Tue 17:00–18:00 = 60 min, Wed 11 (holiday) 0,
    # Thu 08:00–08:30 = 30 min → D = 90 min
    outages = [Outage("O-1", "app", paris(2026, 11, 10, 17), paris(2026, 11, 12, 8, 30))]
    result = metrics.availability(sl, ho, *NOVEMBER, outages, [])
    # T = 20 open days × 600 min = 12,000 min (= the engine's figure); M = 0
    assert result.details["T"] == d(12_000 * MIN)
    assert ho.business_duration(*NOVEMBER) == timedelta(minutes=12_000)
    # A = (12000 − 90) / 12000 = 99.25 %; allowed = 1 % × 12,000 min = 120 min
    assert result.value == d("99.2500")
    assert result.met is True
    assert (result.sample, result.within, result.breaches) == (1, 1, 0)
    assert result.details["D"] == d(90 * MIN)
    assert result.details["allowed_downtime"] == d(120 * MIN)
    assert result.overrun == 0


def test_availability_outage_over_a_night_and_a_weekend_counts_business_time_only() -> None:
    sl = level("availability", 99, "percent", calendar="HO")
    outages = [
        # Fri 13 Nov 17:00 → Mon 16 Nov 09:30: Fri 17:00–18:00 = 60 min + Mon 08:00–09:30 = 90
        Outage("O-1", "app", paris(2026, 11, 13, 17), paris(2026, 11, 16, 9, 30)),
        # Saturday only: no business time at all
        Outage("O-sat", "app", paris(2026, 11, 14, 10), paris(2026, 11, 14, 12)),
    ]
    result = metrics.availability(sl, ho, *NOVEMBER, outages, [])
    # D = 150 min; A = (12000 − 150) / 12000 = 98.75 % < 99 %
    assert result.value == d("98.7500")
    assert result.met is False
    assert result.details["D"] == d(150 * MIN)
    # allowed 120 min → overrun 30 min
    assert result.overrun == d(30 * MIN)
    assert [(i.ref, i.value) for i in result.items] == [("O-1", d(150 * MIN))]
    assert result.excluded == (Exclusion("O-sat", "outside_service_hours"),)


def test_availability_overlapping_outages_count_once() -> None:
    sl = level("availability", "99.5", "percent", services=("app", "db"))
    outages = [
        Outage("O-A", "app", paris(2026, 6, 15, 10), paris(2026, 6, 15, 11)),
        Outage("O-B", "db", paris(2026, 6, 15, 10, 30), paris(2026, 6, 15, 11, 30)),
        Outage("O-C", "app", paris(2026, 6, 15, 10, 40), paris(2026, 6, 15, 10, 50)),
        # over the period's end: only 23:30–24:00 is June
        Outage("O-D", "app", paris(2026, 6, 30, 23, 30), paris(2026, 7, 1, 0, 30)),
        # the same record twice counts once
        Outage("O-D", "app", paris(2026, 6, 30, 23, 30), paris(2026, 7, 1, 0, 30)),
    ]
    result = metrics.availability(sl, h24, *JUNE, outages, [])
    # union 10:00–11:30 = 90 min (not 60 + 60 + 10), + O-D 30 min → D = 120 min
    # A = (43200 − 120) / 43200 = 99.7222… → 99.7222 % ≥ 99.5 %
    assert result.details["D"] == d(120 * MIN)
    assert result.value == d("99.7222")
    assert result.met is True
    # shared time goes to the earliest outage: the items add up to D
    assert [(i.ref, i.value) for i in result.items] == [
        ("O-A", d(60 * MIN)),
        ("O-B", d(30 * MIN)),
        ("O-C", d(0)),
        ("O-D", d(30 * MIN)),
    ]
    assert sum(i.value for i in result.items) == result.details["D"]
    assert refs(result)["O-C"].note == "overlaps O-A, O-B: shared time counted once"


def test_availability_maintenance_without_enough_notice_is_not_maintenance() -> None:
    sl = level("availability", "99.9", "percent", notice=48)
    maintenances = [
        # notified 24 h before, 48 h required: not maintenance, the outage in it is downtime
        Maintenance(
            "MNT-LATE",
            "app",
            paris(2026, 6, 5, 22),
            paris(2026, 6, 5, 23),
            notified_at=paris(2026, 6, 4, 22),
        ),
        # not approved, no outage in it: neither M nor D
        Maintenance(
            "MNT-NA",
            "app",
            paris(2026, 6, 8, 1),
            paris(2026, 6, 8, 2),
            approved=False,
            notified_at=paris(2026, 6, 1),
        ),
        Maintenance("MNT-NN", "app", paris(2026, 6, 9, 1), paris(2026, 6, 9, 2)),
        # notified exactly 48 h before: enough
        Maintenance(
            "MNT-OK",
            "app",
            paris(2026, 6, 12, 1),
            paris(2026, 6, 12, 3),
            notified_at=paris(2026, 6, 10, 1),
        ),
    ]
    outages = [Outage("O-1", "app", paris(2026, 6, 5, 22), paris(2026, 6, 5, 22, 40))]
    result = metrics.availability(sl, h24, *JUNE, outages, maintenances)
    # M = MNT-OK 120 min; D = 40 min
    # A = (43200 − 120 − 40) / (43200 − 120) = 43040 / 43080 = 99.90714… → 99.9071 %
    assert result.details["M"] == d(120 * MIN)
    assert result.details["D"] == d(40 * MIN)
    assert result.value == d("99.9071")
    assert result.met is True  # 40 min ≤ 43.08 min allowed
    assert result.excluded == (
        Exclusion("MNT-LATE", "maintenance:late_notice"),
        Exclusion("MNT-NA", "maintenance:not_approved"),
        Exclusion("MNT-NN", "maintenance:not_notified"),
    )
    # without a notice rule, an approved maintenance counts whatever its notification
    relaxed = metrics.availability(
        level("availability", "99.9", "percent"), h24, *JUNE, outages, maintenances
    )
    # M = 60 (LATE) + 60 (NN) + 120 (OK) = 240 min; D = 0 (O-1 is inside MNT-LATE)
    assert relaxed.details["M"] == d(240 * MIN)
    assert relaxed.details["D"] == 0
    assert relaxed.value == d("100.0000")
    assert relaxed.excluded == (
        Exclusion("MNT-NA", "maintenance:not_approved"),
        Exclusion("O-1", "during_maintenance"),
    )


def test_availability_excluded_cause() -> None:
    sl = level("availability", "99.9", "percent", causes=("client",))
    outages = [
        Outage("O-client", "app", paris(2026, 6, 3, 10), paris(2026, 6, 3, 12), cause="client"),
        Outage("O-ours", "app", paris(2026, 6, 4, 10), paris(2026, 6, 4, 10, 30)),
        Outage(
            "O-third", "app", paris(2026, 6, 5, 10), paris(2026, 6, 5, 10, 10), cause="third_party"
        ),
    ]
    # bad data: an outage that ends when it starts is listed, not counted
    outages.append(Outage("O-empty", "app", paris(2026, 6, 6, 10), paris(2026, 6, 6, 10)))
    result = metrics.availability(sl, h24, *JUNE, outages, [])
    # D = 30 + 10 = 40 min (the client's 2 h are excluded; third_party is not excluded here)
    # A = (43200 − 40) / 43200 = 99.90740… → 99.9074 %
    assert result.details["D"] == d(40 * MIN)
    assert result.value == d("99.9074")
    assert result.met is True
    assert result.excluded == (
        Exclusion("O-client", "cause:client"),
        Exclusion("O-empty", "invalid:interval"),
    )
    assert [i.ref for i in result.items] == ["O-ours", "O-third"]


def test_availability_over_the_dst_month() -> None:
    sl = level("availability", "99.9", "percent")
    # 01:30 → 03:30 on 2026-03-29: 02:00–03:00 does not exist, so 1 h of real time
    outages = [Outage("O-1", "app", paris(2026, 3, 29, 1, 30), paris(2026, 3, 29, 3, 30))]
    result = metrics.availability(sl, h24, *MARCH, outages, [])
    # T = 31 × 24 − 1 = 743 h = 44,580 min; D = 60 min
    # A = (44580 − 60) / 44580 = 99.86541… → 99.8654 %; allowed 44.58 min → overrun 15.42 min
    assert result.details["T"] == d(743 * HOUR)
    assert result.details["D"] == d(HOUR)
    assert result.value == d("99.8654")
    assert result.met is False
    assert result.details["allowed_downtime"] == d("2674.8")
    assert result.overrun == d("925.2")  # 3,600 − 2,674.8


def test_availability_without_business_time_is_no_data() -> None:
    sl = level("availability", 99, "percent", calendar="HO")
    weekend = (paris(2026, 11, 14), paris(2026, 11, 16))  # Saturday 00:00 → Monday 00:00
    outages = [Outage("O-sat", "app", paris(2026, 11, 14, 10), paris(2026, 11, 14, 12))]
    result = metrics.availability(sl, ho, *weekend, outages, [])
    # T − M = 0: nothing to measure
    assert (result.value, result.met, result.sample, result.breaches) == (None, None, 0, 0)
    assert result.excluded == (Exclusion("O-sat", "outside_service_hours"),)
    # T − M = 0 too when maintenance covers the whole period
    night = (paris(2026, 6, 1, 1), paris(2026, 6, 1, 3))
    covered = metrics.availability(
        level("availability", 99, "percent"),
        h24,
        *night,
        [],
        [Maintenance("MNT", "app", paris(2026, 6, 1), paris(2026, 6, 1, 4))],
    )
    assert (covered.value, covered.met) == (None, None)
    assert covered.details["M"] == d(2 * HOUR)


# --------------------------------------------------------------------------------------------
# Backups and continuity


def daily_runs(scope: str, first: datetime, days: int, statuses: dict[int, str]) -> list[BackupRun]:
    """One run a day at ``first``'s time; day ``n`` (0-based) has ``statuses.get(n, 'success')``."""
    return [
        BackupRun(
            f"{scope}-{n}", "app", scope, first + timedelta(days=n), statuses.get(n, "success")
        )
        for n in range(days)
    ]


def test_backup_success_counts_a_missed_run_as_failed() -> None:
    sl = level("backup_success", 95, "percent")
    june_1 = datetime(2026, 6, 1, 1, tzinfo=UTC)
    runs = [
        *daily_runs("db", june_1, 30, {9: "failed", 19: "missed"}),
        BackupRun("db-may", "app", "db", june_1 - timedelta(days=1), "failed"),  # May: ignored
        BackupRun("mail-1", "mail", "mx", june_1, "failed"),  # other service: ignored
        BackupRun("db-0", "app", "db", june_1, "success"),  # the same run again: once
        BackupRun("db-odd", "app", "db", june_1 + timedelta(hours=1), "aborted"),
    ]
    result = metrics.backup_success(sl, *JUNE, runs)
    # 30 scheduled runs, 28 successful: 28 / 30 = 93.333… → 93.3333 % < 95 %
    assert result.value == d("93.3333")
    assert result.met is False
    # a percentage target judges the month: one breach, whatever the failed runs
    assert (result.sample, result.within, result.breaches) == (30, 28, 1)
    assert [(i.ref, i.note) for i in result.items if not i.met] == [
        ("db-9", "failed"),
        ("db-19", "missed"),
    ]
    assert result.excluded == (Exclusion("db-odd", "invalid:status"),)
    empty = metrics.backup_success(sl, *JUNE, [])
    assert (empty.value, empty.met, empty.sample) == (None, None, 0)


def test_rpo_gaps_include_the_one_from_before_the_period_and_to_its_end() -> None:
    sl = level("rpo", 48, "hours")
    june_1 = datetime(2026, 6, 1, 1, tzinfo=UTC)
    runs = [
        # db: last success before June on May 31 01:00; June 10 and 11 fail (days 9, 10)
        BackupRun("db-may31", "app", "db", june_1 - timedelta(days=1), "success"),
        *daily_runs("db", june_1, 30, {9: "failed", 10: "failed"}),
        # files: May 31 01:00 success, June 1 fails: the gap May 31 → June 2 crosses the start
        BackupRun("files-may31", "app", "files", june_1 - timedelta(days=1), "success"),
        *daily_runs("files", june_1, 30, {0: "failed"}),
    ]
    result = metrics.rpo(sl, h24, *JUNE, runs)
    # db: May 31 → Jun 1 24 h; Jun 9 01:00 → Jun 12 01:00 = 72 h (worst); Jun 30 01:00 → end
    #     (Jul 1 00:00 Paris = Jun 30 22:00 UTC) = 21 h → 72 h > 48 h, overrun 24 h
    # files: May 31 01:00 → Jun 2 01:00 = 48 h = target: met
    assert result.target_seconds == d(48 * HOUR)
    items = refs(result)
    assert items["app/db"] == Item(
        "app/db",
        d(72 * HOUR),
        False,
        d(24 * HOUR),
        "2026-06-09T01:00:00+00:00 → 2026-06-12T01:00:00+00:00",
    )
    assert (items["app/files"].value, items["app/files"].met) == (d(48 * HOUR), True)
    assert items["app/files"].note.startswith("2026-05-31T01:00:00+00:00")
    # no compliance: value = worst gap, met iff every scope met
    assert result.value == d(72 * HOUR)
    assert result.met is False
    assert (result.sample, result.within, result.breaches) == (2, 1, 1)
    assert result.overrun == d(24 * HOUR)


def test_rpo_with_compliance_a_scope_without_success_and_snapshot_points() -> None:
    sl = level("rpo", 26, "hours", compliance="50")
    june_1 = datetime(2026, 6, 1, 1, tzinfo=UTC)
    runs = [
        # db: every day; the snapshot point is 2 h before the run (23:00 UTC the day before)
        *(
            BackupRun(r.id, r.service, r.scope, r.scheduled_at, r.status, r.scheduled_at - 2 * H)
            for r in daily_runs("db", june_1, 30, {})
        ),
        # logs: runs in June, never a success: gap = the whole period
        *daily_runs("logs", june_1, 30, {n: "failed" for n in range(30)}),
        # old: runs before June only: not measured in June
        BackupRun("old-1", "app", "old", june_1 - timedelta(days=3), "success"),
    ]
    result = metrics.rpo(sl, h24, *JUNE, runs)
    items = refs(result)
    # db: no point before June 1 00:00 Paris (= May 31 22:00 UTC), first point May 31 23:00 UTC
    #     → start → first point 1 h, then 24 h gaps, last point Jun 29 23:00 UTC → end
    #     Jun 30 22:00 UTC = 23 h: worst 24 h ≤ 26 h
    assert (items["app/db"].value, items["app/db"].met) == (d(24 * HOUR), True)
    # logs: June = 30 days = 720 h > 26 h, overrun 694 h
    assert items["app/logs"] == Item(
        "app/logs",
        d(30 * DAY),
        False,
        d(694 * HOUR),
        "2026-05-31T22:00:00+00:00 → 2026-06-30T22:00:00+00:00",
    )
    assert "app/old" not in items
    # compliance: 1 of 2 scopes met = 50 % ≥ 50 %
    assert result.value == d("50.0000")
    assert result.met is True
    assert (result.sample, result.within) == (2, 1)


def test_restore_test_pass_rate() -> None:
    sl = level("restore_test", 100, "percent")
    tests = [
        RestoreTest("T-1", "app", paris(2026, 6, 3, 10), passed=True),
        RestoreTest("T-2", "app", paris(2026, 6, 10, 10), passed=False),
        RestoreTest("T-3", "app", paris(2026, 6, 17, 10), passed=True),
        RestoreTest("T-may", "app", paris(2026, 5, 17, 10), passed=False),  # ignored
    ]
    result = metrics.restore_test(sl, *JUNE, tests)
    # 2 passed of 3: 66.666… → 66.6667 % < 100 %
    assert result.value == d("66.6667")
    assert result.met is False
    assert [(i.ref, i.met) for i in result.items] == [("T-1", True), ("T-2", False), ("T-3", True)]
    assert result.breaches == 1


def test_rto_test_worst_or_compliance() -> None:
    tests = [
        # 09:00 → 12:30 = 3.5 h ≤ 4 h
        RestoreTest(
            "T-1",
            "app",
            paris(2026, 6, 3, 9),
            True,
            declared_at=paris(2026, 6, 3, 9),
            restored_at=paris(2026, 6, 3, 12, 30),
        ),
        # 09:00 → 14:00 = 5 h: 1 h over
        RestoreTest(
            "T-2",
            "app",
            paris(2026, 6, 10, 9),
            True,
            declared_at=paris(2026, 6, 10, 9),
            restored_at=paris(2026, 6, 10, 14),
        ),
        RestoreTest("T-3", "app", paris(2026, 6, 17, 9), True, declared_at=paris(2026, 6, 17, 9)),
    ]
    worst = metrics.rto_test(level("rto_test", 4, "hours"), h24, *JUNE, tests)
    assert [(i.ref, i.value, i.met, i.overrun) for i in worst.items] == [
        ("T-1", d(int(3.5 * HOUR)), True, d(0)),
        ("T-2", d(5 * HOUR), False, d(HOUR)),
    ]
    assert worst.excluded == (Exclusion("T-3", "missing:rto"),)
    # no compliance: value = worst RTO = 5 h, met iff all within
    assert (worst.value, worst.met, worst.target_seconds) == (d(5 * HOUR), False, d(4 * HOUR))
    assert worst.overrun == d(HOUR)
    # compliance 50 %: 1 of 2 within = 50 % → met
    rate = metrics.rto_test(level("rto_test", 4, "hours", compliance="50"), h24, *JUNE, tests)
    assert (rate.value, rate.met) == (d("50.0000"), True)


# --------------------------------------------------------------------------------------------
# Satisfaction


ANSWERS = [
    Satisfaction(f"TK-{n}", "app", paris(2026, 6, n + 1, 12), score)
    for n, score in enumerate([5, 4, 3, 4, 5, 2])
] + [
    Satisfaction("TK-may", "app", paris(2026, 5, 30, 12), 1),  # out of period
    Satisfaction("TK-bad", "app", paris(2026, 6, 20, 12), 7),  # not a score
]


def test_satisfaction_mean_score() -> None:
    result = metrics.satisfaction(level("satisfaction", 4, "score"), *JUNE, ANSWERS)
    # (5 + 4 + 3 + 4 + 5 + 2) / 6 = 23 / 6 = 3.8333… → 3.83 < 4
    assert result.value == d("3.83")
    assert result.met is False
    assert result.sample == 6
    assert result.within == 4  # answers at or above the target score
    assert result.excluded == (Exclusion("TK-bad", "invalid:score"),)
    assert refs(result)["TK-2"].value == d(3)
    met = metrics.satisfaction(level("satisfaction", "3.8", "score"), *JUNE, ANSWERS)
    assert met.met is True  # 3.8333… ≥ 3.8


def test_satisfaction_percent_satisfied() -> None:
    result = metrics.satisfaction(level("satisfaction", 80, "percent"), *JUNE, ANSWERS)
    # satisfied (score ≥ 4): 5, 4, 4, 5 = 4 of 6 = 66.666… → 66.6667 % < 80 %
    assert result.value == d("66.6667")
    assert result.met is False
    assert (result.sample, result.within, result.breaches) == (6, 4, 1)  # the month missed
    none = metrics.satisfaction(level("satisfaction", 80, "percent"), *NOVEMBER, ANSWERS)
    assert (none.value, none.met, none.sample) == (None, None, 0)


# --------------------------------------------------------------------------------------------
# Delays


def test_quote_delay_with_pending_and_late_pending_requests() -> None:
    # 2 business days on HO = 2 × 10 h = 20 h of business time
    sl = level("quote_delay", 2, "business_days", calendar="HO")
    evolutions = [
        # Mon 2 Nov 09:00 → Tue 3 Nov 17:00: 9 h + 9 h = 18 h ≤ 20 h
        Evolution("Q1", "app", paris(2026, 11, 2, 9), quoted_at=paris(2026, 11, 3, 17)),
        # Tue 10 Nov 10:00 → Fri 13 Nov 10:00: 8 h + 0 (Wed 11, holiday) + 10 h + 2 h = 20 h: met
        Evolution("Q2", "app", paris(2026, 11, 10, 10), quoted_at=paris(2026, 11, 13, 10)),
        # Mon 16 Nov 08:00 → Thu 19 Nov 09:00: 10 + 10 + 10 + 1 = 31 h: 11 h over
        Evolution("Q3", "app", paris(2026, 11, 16, 8), quoted_at=paris(2026, 11, 19, 9)),
        # unquoted, Wed 25 Nov 08:00 → end: Wed, Thu, Fri, Mon 30 = 40 h: late but open, it
        # counts in the month it is quoted
        Evolution("Q4", "app", paris(2026, 11, 25, 8)),
        # unquoted, Mon 30 Nov 09:00 → end: 9 h: pending
        Evolution("Q5", "app", paris(2026, 11, 30, 9)),
        # quoted in October: ignored
        Evolution("Q6", "app", paris(2026, 10, 20, 9), quoted_at=paris(2026, 10, 21, 9)),
        # quoted in December, Fri 27 Nov 17:00 → end: 1 h + 10 h = 11 h: pending at the end
        Evolution("Q7", "app", paris(2026, 11, 27, 17), quoted_at=paris(2026, 12, 2, 9)),
    ]
    result = metrics.quote_delay(sl, ho, *NOVEMBER, evolutions)
    assert result.target_seconds == d(20 * HOUR)
    assert [(i.ref, i.value, i.met, i.overrun) for i in result.items] == [
        ("Q1", d(18 * HOUR), True, d(0)),
        ("Q2", d(20 * HOUR), True, d(0)),
        ("Q3", d(31 * HOUR), False, d(11 * HOUR)),
    ]
    assert result.excluded == (
        Exclusion("Q4", "open:late"),
        Exclusion("Q5", "pending"),
        Exclusion("Q7", "pending"),
    )
    # Days late (CCAG), in calendar days from the instant the target was reached: Q3 reached
    # 20 h at Tue 17 Nov 18:00 (Mon 10 h + Tue 10 h), quoted Thu 19 09:00 = 1 day 15 h → 2.
    assert [i.days_late for i in result.items] == [0, 0, 2]
    # 2 of 3 within = 66.666… → 66.6667 % < 100 % (no compliance: every item must be within)
    assert (result.value, result.met, result.breaches) == (d("66.6667"), False, 1)
    assert result.overrun == d(11 * HOUR)


def test_on_time_delivery() -> None:
    sl = level("on_time_delivery", 90, "percent")
    evolutions = [
        Evolution(
            "E1",
            "app",
            paris(2026, 10, 1),
            due_at=paris(2026, 11, 10, 18),
            delivered_at=paris(2026, 11, 10, 17),
        ),
        # delivered exactly on the due instant: on time
        Evolution(
            "E2",
            "app",
            paris(2026, 10, 1),
            due_at=paris(2026, 11, 12, 12),
            delivered_at=paris(2026, 11, 12, 12),
        ),
        # due Fri 13 12:00, delivered Mon 16 12:00: 3 days late (real time)
        Evolution(
            "E3",
            "app",
            paris(2026, 10, 1),
            due_at=paris(2026, 11, 13, 12),
            delivered_at=paris(2026, 11, 16, 12),
        ),
        # due Mon 30 12:00, undelivered at the end (Dec 1 00:00): late, counted when delivered
        Evolution("E4", "app", paris(2026, 10, 1), due_at=paris(2026, 11, 30, 12)),
        # delivered without a due date
        Evolution("E5", "app", paris(2026, 10, 1), delivered_at=paris(2026, 11, 20)),
        # due in December: not judged yet
        Evolution("E6", "app", paris(2026, 10, 1), due_at=paris(2026, 12, 5)),
        # delivered in October: ignored
        Evolution(
            "E7",
            "app",
            paris(2026, 9, 1),
            due_at=paris(2026, 10, 5),
            delivered_at=paris(2026, 10, 9),
        ),
    ]
    result = metrics.on_time_delivery(sl, *NOVEMBER, evolutions)
    assert [(i.ref, i.met, i.overrun) for i in result.items] == [
        ("E1", True, d(0)),
        ("E2", True, d(0)),
        ("E3", False, d(3 * DAY)),
    ]
    assert [i.days_late for i in result.items] == [0, 0, 3]  # E3: exactly 3 days
    # in order of their instants: E5 delivered on the 20th, E4 due on the 30th
    assert result.excluded == (Exclusion("E5", "missing:due_at"), Exclusion("E4", "open:late"))
    # 2 of 3 on time = 66.666… → 66.6667 % < 90 %
    assert (result.value, result.met) == (d("66.6667"), False)
    assert result.overrun == d(3 * DAY)


def test_patch_latency_in_business_time() -> None:
    # 5 business days on HO = 50 h of business time; compliance 30 %
    sl = level("patch_latency", 5, "business_days", calendar="HO", compliance="30")
    patches = [
        # Mon 2 Nov 08:00 → Fri 6 Nov 18:00: 5 × 10 h = 50 h: met (exactly on target)
        PatchRecord("P1", "app", paris(2026, 11, 2, 8), applied_at=paris(2026, 11, 6, 18)),
        # Mon 2 Nov 08:00 → Mon 9 Nov 09:00: 50 h + 1 h = 51 h: 1 h over
        PatchRecord("P2", "app", paris(2026, 11, 2, 8), applied_at=paris(2026, 11, 9, 9)),
        # unapplied, Thu 12 Nov 08:00 → end: Thu + Fri 20 h, two full weeks 100 h, Mon 30 10 h
        # = 130 h: late but open, counted when applied
        PatchRecord("P3", "app", paris(2026, 11, 12, 8)),
        # unapplied, Fri 27 Nov 08:00 → end: 10 h + 10 h = 20 h: pending
        PatchRecord("P4", "app", paris(2026, 11, 27, 8)),
        # applied in October: ignored
        PatchRecord("P5", "app", paris(2026, 10, 20, 8), applied_at=paris(2026, 10, 30, 8)),
    ]
    result = metrics.patch_latency(sl, ho, *NOVEMBER, patches)
    assert [(i.ref, i.value, i.met, i.overrun) for i in result.items] == [
        ("P1", d(50 * HOUR), True, d(0)),
        ("P2", d(51 * HOUR), False, d(HOUR)),
    ]
    assert result.excluded == (Exclusion("P3", "open:late"), Exclusion("P4", "pending"))
    # 1 of 2 within = 50 % ≥ 30 %
    assert (result.value, result.met) == (d("50.0000"), True)
    assert result.target_seconds == d(50 * HOUR)


# --------------------------------------------------------------------------------------------
# Dispatcher and guards


def test_measure_level_routes_on_the_metric() -> None:
    data = OtherData(
        outages=(Outage("O-1", "app", paris(2026, 6, 3, 10), paris(2026, 6, 3, 10, 30)),),
        backup_runs=tuple(daily_runs("db", datetime(2026, 6, 1, 1, tzinfo=UTC), 30, {})),
    )
    availability = measure_level(level("availability", "99.9", "percent"), h24, *JUNE, data)
    # (43200 − 30) / 43200 = 99.93055… → 99.9306 %
    assert (availability.value, availability.met) == (d("99.9306"), True)
    backups = measure_level(level("backup_success", 95, "percent"), h24, *JUNE, data)
    assert (backups.value, backups.met, backups.sample) == (d("100.0000"), True, 30)
    restore = measure_level(level("restore_test", 100, "percent"), h24, *JUNE, data)
    assert (restore.value, restore.met) == (None, None)
    gti = level("gti", 30, "minutes", clock={"stop": "intervention_started"})
    with pytest.raises(ValueError, match="ticket metric"):
        measure_level(gti, h24, *JUNE, data)


def test_a_level_of_another_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="measures 'backup_success', not availability"):
        metrics.availability(level("backup_success", 95, "percent"), h24, *JUNE, [], [])
    with pytest.raises(ValueError, match="not rpo"):
        metrics.rpo(level("rto_test", 4, "hours"), h24, *JUNE, [])


def test_contradictory_records_and_bad_periods_are_errors() -> None:
    sl = level("availability", "99.9", "percent")
    twins = [
        Outage("O-1", "app", paris(2026, 6, 3, 10), paris(2026, 6, 3, 11)),
        Outage("O-1", "app", paris(2026, 6, 3, 10), paris(2026, 6, 3, 12)),
    ]
    with pytest.raises(ValueError, match="two different outage records share id 'O-1'"):
        metrics.availability(sl, h24, *JUNE, twins, [])
    with pytest.raises(ValueError, match="aware datetime"):
        metrics.backup_success(
            level("backup_success", 95, "percent"), datetime(2026, 6, 1), JUNE[1], []
        )
    with pytest.raises(ValueError, match="before its start"):
        metrics.restore_test(level("restore_test", 100, "percent"), JUNE[1], JUNE[0], [])


def test_rounding_never_turns_a_miss_into_a_hit() -> None:
    # 9,998 successes of 9,999 runs = 99.98999… % rounds to 99.9900 but is below 99.99 %
    sl = level("backup_success", "99.99", "percent")
    first = datetime(2026, 6, 1, tzinfo=UTC)
    runs = [
        BackupRun(str(n), "app", "db", first + timedelta(minutes=4 * n), "success")
        for n in range(9_998)
    ] + [BackupRun("x", "app", "db", first + timedelta(minutes=3), "failed")]
    result = metrics.backup_success(sl, first, first + timedelta(days=30), runs)
    assert result.value == d("99.9900")
    assert result.met is False
