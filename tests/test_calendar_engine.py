"""The business-time engine: hand-computed cases, bad input, properties and a slow reference.

No database: the engine is plain Python. Dates used below (checked weekdays):
2026-06-05 Friday, 2026-07-14 Tuesday, 2026-05-01 Friday, 2026-05-14 Thursday (Ascension),
2026-04-03 Good Friday, 2025-12-26 Friday, 2026-03-29 and 2026-10-25 Sundays (DST changes).
"""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infogerance.calendars import (
    H24X7,
    HNO,
    HO,
    MAX_CACHED_BLOCKS,
    Calendar,
    CalendarError,
    CalendarSpec,
    DateOverride,
    Window,
    compile_calendar,
    engine,
    holidays_in,
    office_hours,
    outside_office_hours,
)

PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def elapsed(a: datetime, b: datetime) -> timedelta:
    """Real time between two instants (Python subtracts same-tzinfo datetimes by wall clock)."""
    return b.astimezone(UTC) - a.astimezone(UTC)


ho = compile_calendar(HO)
hno = compile_calendar(HNO)
h24 = compile_calendar(H24X7)
AM_HO = office_hours(holiday_sets=("FR-ALSACE-MOSELLE",))
AM_HNO = outside_office_hours(holiday_sets=("FR-ALSACE-MOSELLE",))
am = compile_calendar(AM_HO)
NIGHTS = CalendarSpec("Europe/Paris", tuple(Window(d, time(1), time(4)) for d in range(7)))
FRIDAY_NIGHT = CalendarSpec("Europe/Paris", (Window(4, time(20), time(2)),), ("FR",))
OVERRIDDEN = office_hours(
    overrides=(
        DateOverride(date(2026, 6, 10)),  # Wednesday closed
        DateOverride(date(2026, 6, 13), ((time(9), time(12)),)),  # Saturday morning open
    )
)


# --------------------------------------------------------------------------------------------
# Hand-computed cases


def test_friday_afternoon_to_monday_morning_in_ho() -> None:
    # Fri 16:00→18:00 = 2 h, weekend closed, Mon 08:00→10:00 = 2 h: 4 h
    assert ho.business_duration(paris(2026, 6, 5, 16), paris(2026, 6, 8, 10)) == 4 * H


def test_a_full_week_of_ho_is_fifty_hours() -> None:
    # 5 days × 10 h
    assert ho.business_duration(paris(2026, 6, 8), paris(2026, 6, 15)) == 50 * H


def test_14_july_is_closed() -> None:
    # Mon 13 17:00→18:00 = 1 h, Tue 14 July closed, Wed 15 08:00→09:00 = 1 h: 2 h
    assert ho.business_duration(paris(2026, 7, 13, 17), paris(2026, 7, 15, 9)) == 2 * H


def test_1_may_is_closed() -> None:
    # Thu 30 April 17:00→18:00 = 1 h, Fri 1 May closed, weekend, Mon 4 May 08:00→09:00: 2 h
    assert ho.business_duration(paris(2026, 4, 30, 17), paris(2026, 5, 4, 9)) == 2 * H


def test_ascension_thursday_is_closed() -> None:
    # Wed 13 May 17:00→18:00 = 1 h, Thu 14 (Ascension) closed, Fri 15 08:00→09:00 = 1 h: 2 h
    assert ho.business_duration(paris(2026, 5, 13, 17), paris(2026, 5, 15, 9)) == 2 * H


def test_good_friday_only_in_alsace_moselle() -> None:
    start, end = paris(2026, 4, 2, 17), paris(2026, 4, 7, 9)
    # FR: Thu 1 h + Good Friday 10 h + (Easter Monday closed) + Tue 1 h = 12 h
    assert ho.business_duration(start, end) == 12 * H
    # Alsace-Moselle: Thu 1 h + Tue 1 h = 2 h
    assert am.business_duration(start, end) == 2 * H


def test_26_december_only_in_alsace_moselle() -> None:
    start, end = paris(2025, 12, 24, 17), paris(2025, 12, 29, 9)
    # FR: Wed 24 1 h + (Christmas closed) + Fri 26 10 h + Mon 29 1 h = 12 h
    assert ho.business_duration(start, end) == 12 * H
    # Alsace-Moselle: Wed 24 1 h + Mon 29 1 h = 2 h
    assert am.business_duration(start, end) == 2 * H


def test_holiday_sets_are_the_expected_dates() -> None:
    fr = holidays_in("FR", 2026)
    assert len(fr) == 11
    assert date(2026, 4, 3) not in fr and date(2026, 12, 26) not in fr
    assert holidays_in("FR-ALSACE-MOSELLE", 2026) == fr | {date(2026, 4, 3), date(2026, 12, 26)}


def test_alsace_moselle_fallback_matches_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # When the installed `holidays` has no such subdivision, Easter − 2 days and 26 December
    # are added by hand: the result must be the same.
    for year in range(2000, 2041):
        expected = engine._alsace_moselle(year)
        assert engine._alsace_moselle_fallback(year) == expected
    monkeypatch.setattr(engine, "_ALSACE_MOSELLE_SUBDIVS", ("no-such-code",))
    assert engine._alsace_moselle(2026) == holidays_in("FR-ALSACE-MOSELLE", 2026)


def test_easter_matches_the_holidays_package() -> None:
    for year in range(1900, 2101):
        easter_monday = {
            day for day, name in holidays.France(years=year).items() if "Easter" in name
        }
        assert easter_monday == {engine._easter(year) + timedelta(days=1)}


def test_24x7_sundays_of_23_and_25_hours() -> None:
    # Clocks go from 02:00 to 03:00 on 2026-03-29: that Sunday lasts 23 h
    assert h24.business_duration(paris(2026, 3, 29), paris(2026, 3, 30)) == 23 * H
    # Clocks go from 03:00 back to 02:00 on 2026-10-25: that Sunday lasts 25 h
    assert h24.business_duration(paris(2026, 10, 25), paris(2026, 10, 26)) == 25 * H
    # An ordinary Sunday lasts 24 h, and 24x7 ignores holidays (14 July)
    assert h24.business_duration(paris(2026, 6, 7), paris(2026, 6, 8)) == 24 * H
    assert h24.business_duration(paris(2026, 7, 14), paris(2026, 7, 15)) == 24 * H


def test_night_window_across_dst_changes() -> None:
    nights = compile_calendar(NIGHTS)
    # 01:00 CET (00:00 UTC) → 04:00 CEST (02:00 UTC): 2 h
    assert nights.business_duration(paris(2026, 3, 29), paris(2026, 3, 30)) == 2 * H
    # 01:00 CEST (23:00 UTC the day before) → 04:00 CET (03:00 UTC): 4 h
    assert nights.business_duration(paris(2026, 10, 25), paris(2026, 10, 26)) == 4 * H
    # Any other night: 3 h
    assert nights.business_duration(paris(2026, 6, 7), paris(2026, 6, 8)) == 3 * H
    [(start, end)] = nights.intervals(paris(2026, 10, 25), paris(2026, 10, 26))
    assert start.astimezone(UTC) == datetime(2026, 10, 24, 23, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 10, 25, 3, tzinfo=UTC)


def test_non_existent_and_ambiguous_window_boundaries() -> None:
    def cal(*pairs: tuple[time, time]) -> Calendar:
        return Calendar(
            CalendarSpec("Europe/Paris", tuple(Window(6, s, e) for s, e in pairs))  # Sundays
        )

    spring = (paris(2026, 3, 29), paris(2026, 3, 30))
    # 02:30 does not exist on 2026-03-29: it means the jump, 01:00 UTC (= 03:00 CEST).
    # 02:30→03:30 is then 03:00→03:30 CEST: 30 min
    assert cal((time(2, 30), time(3, 30))).business_duration(*spring) == 30 * MIN
    # 01:00→02:30 (00:00→01:00 UTC) and 03:00→04:00 (01:00→02:00 UTC) touch, never overlap:
    # 1 h + 1 h = 2 h, one merged interval
    both = cal((time(1), time(2, 30)), (time(3), time(4)))
    assert both.business_duration(*spring) == 2 * H
    assert len(both.intervals(*spring)) == 1
    # 02:30 happens twice on 2026-10-25: the first one (CEST, 00:30 UTC) counts.
    # 02:30 CEST → 03:30 CET (02:30 UTC): 2 h
    autumn = (paris(2026, 10, 25), paris(2026, 10, 26))
    assert cal((time(2, 30), time(3, 30))).business_duration(*autumn) == 2 * H


def test_window_crossing_midnight() -> None:
    night = compile_calendar(FRIDAY_NIGHT)
    # Fri 21:00→Sat 02:00 inside the Fri 20:00–02:00 window, stop at Sat 01:00: 4 h
    assert night.business_duration(paris(2026, 6, 5, 21), paris(2026, 6, 6, 1)) == 4 * H
    # a whole week holds one such window: 6 h
    assert night.business_duration(paris(2026, 6, 1), paris(2026, 6, 8)) == 6 * H
    assert night.is_open(paris(2026, 6, 6, 1, 30))
    assert not night.is_open(paris(2026, 6, 6, 2))  # the end instant is closed
    assert night.is_open(paris(2026, 6, 5, 20))  # the start instant is open
    assert night.intervals(paris(2026, 6, 5), paris(2026, 6, 7)) == [
        (paris(2026, 6, 5, 20), paris(2026, 6, 6, 2))
    ]


def test_holiday_closes_windows_that_start_on_it() -> None:
    night = compile_calendar(FRIDAY_NIGHT)
    # Friday 1 May 2026 is a holiday: its 20:00–02:00 window does not open
    assert night.business_duration(paris(2026, 5, 1), paris(2026, 5, 3)) == timedelta(0)
    thursday = compile_calendar(
        CalendarSpec("Europe/Paris", (Window(3, time(20), time(2)),), ("FR",))
    )
    # Thu 30 April 20:00 → Fri 1 May 02:00 starts on a working day: 6 h, holiday or not
    assert thursday.business_duration(paris(2026, 4, 30), paris(2026, 5, 2)) == 6 * H
    # open_on_holidays keeps the holiday's own windows
    spec = CalendarSpec(FRIDAY_NIGHT.timezone, FRIDAY_NIGHT.windows, ("FR",), (), True)
    assert Calendar(spec).business_duration(paris(2026, 5, 1), paris(2026, 5, 3)) == 6 * H


def test_override_closing_a_weekday() -> None:
    cal = compile_calendar(OVERRIDDEN)
    # Mon, Tue, Thu, Fri 10 h each, Wed 10 June closed: 40 h
    assert cal.business_duration(paris(2026, 6, 8), paris(2026, 6, 13)) == 40 * H
    assert not cal.is_open(paris(2026, 6, 10, 12))


def test_override_opening_a_saturday_morning() -> None:
    cal = compile_calendar(OVERRIDDEN)
    # Fri 17:00→18:00 = 1 h, Sat 13 June 09:00→12:00 = 3 h, Mon 08:00→09:00 = 1 h: 5 h
    assert cal.business_duration(paris(2026, 6, 12, 17), paris(2026, 6, 15, 9)) == 5 * H
    # Fri 17:00 + 2 h: 1 h on Friday, then Saturday 09:00 + 1 h = 10:00
    assert cal.add_business_time(paris(2026, 6, 12, 17), 2 * H) == paris(2026, 6, 13, 10)


def test_override_applies_on_a_holiday() -> None:
    spec = office_hours(overrides=(DateOverride(date(2026, 7, 14), ((time(9), time(11)),)),))
    # Mon 13 July 18:00 → Wed 15 July 08:00: only the override's 09:00–11:00 on the 14th: 2 h
    assert Calendar(spec).business_duration(paris(2026, 7, 13, 18), paris(2026, 7, 15, 8)) == 2 * H


def test_add_business_time_from_friday_afternoon() -> None:
    # Fri 17:00→18:00 = 1 h, 3 h left: Mon 08:00 + 3 h = 11:00
    assert ho.add_business_time(paris(2026, 6, 5, 17), 4 * H) == paris(2026, 6, 8, 11)


def test_add_business_time_from_a_closed_period() -> None:
    # Saturday: the clock starts Monday 08:00, + 1 h = 09:00
    assert ho.add_business_time(paris(2026, 6, 6, 12), H) == paris(2026, 6, 8, 9)


def test_add_business_time_stops_at_a_window_end() -> None:
    # Fri 08:00 + 10 h reaches 18:00 that very Friday, not Monday 08:00 (earliest instant)
    assert ho.add_business_time(paris(2026, 6, 5, 8), 10 * H) == paris(2026, 6, 5, 18)


def test_add_zero_is_start_itself() -> None:
    start = datetime(2026, 6, 6, 10, tzinfo=UTC)  # a Saturday: closed, still itself
    result = ho.add_business_time(start, timedelta(0))
    assert result == start and result.tzinfo is ho.tz


def test_gtr_next_business_day() -> None:
    day = 10 * H  # one business day of HO
    # Tue 15:00 + 1 day: Tue 3 h + Wed 7 h → Wed 15:00
    assert ho.add_business_time(paris(2026, 6, 9, 15), day) == paris(2026, 6, 10, 15)
    # Fri 17:30 + 1 day: Fri 0.5 h + Mon 9.5 h → Mon 17:30
    assert ho.add_business_time(paris(2026, 6, 5, 17, 30), day) == paris(2026, 6, 8, 17, 30)
    # Wed 13 May 15:00 + 1 day: Wed 3 h, Ascension closed, Fri 7 h → Fri 15 May 15:00
    assert ho.add_business_time(paris(2026, 5, 13, 15), day) == paris(2026, 5, 15, 15)
    # opened Saturday: Mon 08:00 + 10 h → Mon 18:00
    assert ho.add_business_time(paris(2026, 6, 6, 11), day) == paris(2026, 6, 8, 18)


def test_gtr_five_business_days_over_14_july() -> None:
    # Mon 13 July 10:00 + 50 h: Mon 8 h, Tue 14 closed, Wed/Thu/Fri 30 h, Mon 20 10 h (48 h),
    # Tue 21 2 h → Tue 21 July 10:00
    assert ho.add_business_time(paris(2026, 7, 13, 10), 50 * H) == paris(2026, 7, 21, 10)


def test_results_are_in_the_calendar_zone_whatever_the_input_zone() -> None:
    start = datetime(2026, 6, 5, 15, tzinfo=UTC)  # Fri 17:00 in Paris
    result = ho.add_business_time(start, 4 * H)
    assert result == paris(2026, 6, 8, 11) and result.tzinfo is ho.tz
    new_york = ZoneInfo("America/New_York")
    assert (
        ho.business_duration(start.astimezone(new_york), paris(2026, 6, 8, 10))
        == ho.business_duration(start, paris(2026, 6, 8, 10))
        == 3 * H
    )
    assert all(a.tzinfo is ho.tz for a, _ in ho.intervals(start, start + 7 * 24 * H))


def test_hno_is_nights_weekends_and_holidays() -> None:
    # The week of 14 July 2026 (Tuesday)
    assert hno.intervals(paris(2026, 7, 13), paris(2026, 7, 20)) == [
        (paris(2026, 7, 13), paris(2026, 7, 13, 8)),
        (paris(2026, 7, 13, 18), paris(2026, 7, 15, 8)),  # Monday night + 14 July + night
        (paris(2026, 7, 15, 18), paris(2026, 7, 16, 8)),
        (paris(2026, 7, 16, 18), paris(2026, 7, 17, 8)),
        (paris(2026, 7, 17, 18), paris(2026, 7, 20)),  # the whole weekend
    ]
    # 24 × 7 = 168 h in the week, HO 4 × 10 = 40 h: HNO 128 h
    assert hno.business_duration(paris(2026, 7, 13), paris(2026, 7, 20)) == 128 * H


def test_ranges_across_table_blocks_and_many_years() -> None:
    boundary = datetime.fromtimestamp(27 * 2**26, UTC)  # Wed 2027-06-02 14:28:48 in Paris
    assert boundary.astimezone(PARIS).hour == 14
    # Wed 10:00→16:00 = 6 h, split between two blocks
    assert ho.business_duration(paris(2027, 6, 2, 10), paris(2027, 6, 2, 16)) == 6 * H
    assert ho.add_business_time(paris(2027, 6, 2, 10), 6 * H) == paris(2027, 6, 2, 16)
    assert ho.intervals(paris(2027, 6, 2), paris(2027, 6, 3)) == [
        (paris(2027, 6, 2, 8), paris(2027, 6, 2, 18))
    ]
    # 24x7 over decades is exact real time, to the microsecond
    a, b = paris(1990, 1, 1, 0, 0, 0, 1), paris(2089, 12, 31, 23, 59, 59, 999_999)
    assert h24.business_duration(a, b) == elapsed(a, b)
    assert h24.add_business_time(a, elapsed(a, b)) == b
    # HO over 2020–2035 is the sum of its years, and add() inverts it
    years = [paris(y, 1, 1) for y in range(2020, 2036)]
    total = ho.business_duration(years[0], years[-1])
    assert total == sum(
        (ho.business_duration(x, y) for x, y in itertools.pairwise(years)),
        timedelta(0),
    )
    assert ho.business_duration(years[0], ho.add_business_time(years[0], total)) == total


def test_microseconds_are_exact_in_any_year() -> None:
    # Beyond 2038 a float epoch second is coarser than a microsecond: the exact path takes over
    sparse = Calendar(CalendarSpec("Europe/Paris", (Window(0, time(0), time(0, 1)),)))
    start = paris(2020, 1, 1)
    for amount in (timedelta(days=9, microseconds=1), timedelta(days=18)):
        result = sparse.add_business_time(start, amount)
        assert sparse.business_duration(start, result) == amount
        assert sparse.business_duration(start, result.astimezone(UTC) - US) == amount - US
    # 9 days = 12,960 Monday minutes: the last one is on a Monday of 2268
    assert sparse.add_business_time(start, timedelta(days=9)).year == 2268
    for year in (1, 1850, 2040, 2500, 9998):
        a = datetime(year, 3, 1, 12, 0, 0, 1, tzinfo=UTC)
        b = a + timedelta(days=40, microseconds=3)
        assert h24.business_duration(a, b) == b - a
        assert h24.add_business_time(a, b - a) == b
        assert h24.intervals(a, b) == [(a, b)]
        assert h24.is_open(a) and h24.is_open(b)
        assert ho.business_duration(a, b) == ref_duration(HO, a, b)


def test_tables_stay_bounded() -> None:
    cal = Calendar(HO)
    cal.business_duration(paris(1950, 1, 1), paris(2080, 1, 1))
    assert len(cal._blocks) <= MAX_CACHED_BLOCKS
    # still right after evictions: 1950 and 2080 tables are rebuilt on demand
    assert cal.business_duration(paris(1950, 1, 2), paris(1950, 1, 3)) == 10 * H


def test_specs_are_hashable_and_compiled_once() -> None:
    assert office_hours() == HO and hash(office_hours()) == hash(HO)
    assert compile_calendar(office_hours()) is ho
    assert {HO, HNO, H24X7, HO} == {HO, HNO, H24X7}


def test_empty_calendar() -> None:
    never = Calendar(CalendarSpec("UTC", ()))
    assert never.business_duration(paris(2026, 1, 1), paris(2027, 1, 1)) == timedelta(0)
    assert never.intervals(paris(2026, 1, 1), paris(2027, 1, 1)) == []
    assert not never.is_open(paris(2026, 1, 1))


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "call",
    [
        lambda: ho.business_duration(datetime(2026, 6, 5, 16), paris(2026, 6, 8, 10)),
        lambda: ho.business_duration(paris(2026, 6, 5, 16), datetime(2026, 6, 8, 10)),
        lambda: ho.add_business_time(datetime(2026, 6, 5, 16), H),
        lambda: ho.intervals(datetime(2026, 6, 5, 16), paris(2026, 6, 8, 10)),
        lambda: ho.is_open(datetime(2026, 6, 5, 16)),
    ],
)
def test_naive_datetimes_are_refused(call: object) -> None:
    with pytest.raises(CalendarError, match="naive"):
        call()  # type: ignore[operator]


def test_end_before_start_is_refused() -> None:
    with pytest.raises(CalendarError, match="before start"):
        ho.business_duration(paris(2026, 6, 8), paris(2026, 6, 5))
    with pytest.raises(CalendarError, match="before start"):
        ho.intervals(paris(2026, 6, 8), paris(2026, 6, 5))
    # compared as instants: 02:30 CET (fold=1) is after 02:40 CEST (fold=0) on 2026-10-25
    late = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS)
    early = datetime(2026, 10, 25, 2, 40, tzinfo=PARIS)
    with pytest.raises(CalendarError, match="before start"):
        h24.business_duration(late, early)
    assert h24.business_duration(early, late) == 50 * MIN


def test_negative_duration_is_refused() -> None:
    with pytest.raises(CalendarError, match="negative duration"):
        ho.add_business_time(paris(2026, 6, 5), -US)


def test_unknown_time_zone() -> None:
    with pytest.raises(CalendarError, match="unknown time zone 'Europe/Pariss'"):
        CalendarSpec("Europe/Pariss", ())
    with pytest.raises(CalendarError, match="unknown time zone"):
        CalendarSpec("../../etc/passwd", ())


def test_unknown_holiday_set() -> None:
    with pytest.raises(CalendarError, match="unknown holiday set 'FR-BZH'"):
        CalendarSpec("Europe/Paris", (), ("FR-BZH",))


@pytest.mark.parametrize("weekday", [-1, 7, True])
def test_weekday_out_of_range(weekday: int) -> None:
    with pytest.raises(CalendarError, match="weekday out of range"):
        Window(weekday, time(8), time(18))


def test_overlapping_windows_same_day() -> None:
    with pytest.raises(CalendarError, match="overlapping windows: Monday 08:00–12:00 and Monday"):
        CalendarSpec("Europe/Paris", (Window(0, time(8), time(12)), Window(0, time(11), time(14))))
    with pytest.raises(CalendarError, match="overlapping windows"):
        CalendarSpec("Europe/Paris", (Window(0, time(8), time(12)),) * 2)
    # touching is fine
    CalendarSpec("Europe/Paris", (Window(0, time(8), time(12)), Window(0, time(12), time(14))))


def test_overlapping_windows_across_midnight() -> None:
    with pytest.raises(
        CalendarError,
        match=r"overlapping windows: Friday 20:00–02:00 \(next day\) and Saturday 01:00–05:00",
    ):
        CalendarSpec("Europe/Paris", (Window(4, time(20), time(2)), Window(5, time(1), time(5))))
    # Sunday night runs into Monday morning (the week is a circle)
    with pytest.raises(CalendarError, match="overlapping windows"):
        CalendarSpec("Europe/Paris", (Window(6, time(22), time(6)), Window(0, time(5), time(9))))
    # a full-day window (start == end) overlaps anything the next day before its start
    with pytest.raises(CalendarError, match="overlapping windows"):
        CalendarSpec("UTC", (Window(0, time(10), time(10)), Window(1, time(9), time(11))))


def test_overlapping_overrides() -> None:
    night = (Window(0, time(22), time(2)),)  # Monday 22:00 → Tuesday 02:00
    tuesday = date(2026, 6, 9)
    with pytest.raises(CalendarError, match="overlapping windows"):
        CalendarSpec("Europe/Paris", night, (), (DateOverride(tuesday, ((time(1), time(3)),)),))
    with pytest.raises(CalendarError, match="overlapping windows"):
        DateOverride(tuesday, ((time(8), time(12)), (time(9), time(10))))
    with pytest.raises(CalendarError, match="two overrides for 2026-06-09"):
        CalendarSpec("Europe/Paris", (), (), (DateOverride(tuesday), DateOverride(tuesday)))
    # Monday 13 July is no holiday, Tuesday 14 is: its window does not open, no overlap
    holiday_night = (Window(1, time(22), time(2)),)
    wednesday = DateOverride(date(2026, 7, 15), ((time(0), time(3)),))
    CalendarSpec("Europe/Paris", holiday_night, ("FR",), (wednesday,))
    with pytest.raises(CalendarError, match="overlapping windows"):
        CalendarSpec("Europe/Paris", holiday_night, ("FR",), (wednesday,), open_on_holidays=True)


def test_malformed_window_times() -> None:
    with pytest.raises(CalendarError, match="whole second"):
        Window(0, time(8, 0, 0, 1), time(18))
    with pytest.raises(CalendarError, match="without tzinfo"):
        Window(0, time(8, tzinfo=UTC), time(18))
    with pytest.raises(CalendarError, match=r"datetime\.date"):
        DateOverride(datetime(2026, 6, 9))


# --------------------------------------------------------------------------------------------
# A slow, obviously-correct reference: walk the local days, one by one.


def ref_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time as a UTC instant: first occurrence if ambiguous, and if it does not
    exist, the first wall-clock minute after it that does (the end of the DST gap)."""
    while True:
        aware = wall.replace(tzinfo=tz)
        instant = aware.astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall:
            return instant
        wall = (wall + MIN).replace(second=0)


@functools.lru_cache
def ref_holidays(names: tuple[str, ...], year: int) -> frozenset[date]:
    days: set[date] = set()
    for name in names:
        days |= set(holidays.France(years=year))
        if name == "FR-ALSACE-MOSELLE":
            days |= set(holidays.France(years=year, subdiv="57"))  # Moselle, not Alsace
    return frozenset(days)


def ref_intervals(spec: CalendarSpec, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
    tz = ZoneInfo(spec.timezone)
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    overrides = {o.day: o.windows for o in spec.overrides}
    spans = []
    day = a.astimezone(tz).date() - timedelta(days=2)
    while day <= b.astimezone(tz).date() + timedelta(days=1):
        if day in overrides:
            windows = overrides[day]
        elif not spec.open_on_holidays and day in ref_holidays(spec.holiday_sets, day.year):
            windows = ()
        else:
            windows = tuple((w.start, w.end) for w in spec.windows if w.weekday == day.weekday())
        for start, end in windows:
            end_day = day if end > start else day + timedelta(days=1)
            s = ref_instant(datetime.combine(day, start), tz)
            e = ref_instant(datetime.combine(end_day, end), tz)
            if e > s:  # a window inside a DST gap lasts nothing
                spans.append((s, e))
        day += timedelta(days=1)
    merged: list[list[datetime]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    if spec.complement:
        gaps, cursor = [], a
        for s, e in merged:
            if s > cursor:
                gaps.append([cursor, s])
            cursor = max(cursor, e)
        gaps.append([cursor, b])
        merged = gaps
    clipped = [(max(s, a), min(e, b)) for s, e in merged]
    return [(s, e) for s, e in clipped if e > s]


def ref_duration(spec: CalendarSpec, a: datetime, b: datetime) -> timedelta:
    return sum((e - s for s, e in ref_intervals(spec, a, b)), timedelta(0))


# --------------------------------------------------------------------------------------------
# Properties

instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(PARIS)
)
WEEK_MINUTES = 7 * 24 * 60


@st.composite
def random_specs(draw: st.DrawFn) -> CalendarSpec:
    """Valid by construction: disjoint arcs of the week, cut into windows of at most 24 h."""
    count = draw(st.integers(1, 6))
    points = sorted(
        draw(st.sets(st.integers(0, WEEK_MINUTES - 1), min_size=2 * count, max_size=2 * count))
    )
    shift = draw(st.integers(0, WEEK_MINUTES - 1))
    windows = []
    for lo, hi in zip(points[::2], points[1::2], strict=True):
        start, length = lo + shift, hi - lo
        while length > 0:
            piece = min(length, 24 * 60)
            s, e = start % WEEK_MINUTES, (start + piece) % (24 * 60)
            windows.append(
                Window(s // (24 * 60), time(s % (24 * 60) // 60, s % 60), time(e // 60, e % 60))
            )
            start, length = start + piece, length - piece
    return CalendarSpec(
        draw(
            st.sampled_from(
                [
                    "Europe/Paris",
                    "America/New_York",
                    "Australia/Lord_Howe",
                    "America/Santiago",
                    "UTC",
                ]
            )
        ),
        tuple(windows),
        draw(st.sampled_from([(), ("FR",), ("FR-ALSACE-MOSELLE",)])),
        open_on_holidays=draw(st.booleans()),
        complement=draw(st.booleans()),
    )


NAMED = [HO, HNO, H24X7, AM_HO, AM_HNO, NIGHTS, FRIDAY_NIGHT, OVERRIDDEN]
specs = st.one_of(st.sampled_from(NAMED), random_specs())
PROPERTY = settings(max_examples=200, deadline=None)


def ordered(*values: datetime) -> list[datetime]:
    return sorted(values, key=lambda v: v.timestamp())


@PROPERTY
@given(specs, instants, instants, instants)
def test_additivity(spec: CalendarSpec, x: datetime, y: datetime, z: datetime) -> None:
    cal = compile_calendar(spec)
    a, b, c = ordered(x, y, z)
    assert cal.business_duration(a, c) == cal.business_duration(a, b) + cal.business_duration(b, c)


@PROPERTY
@given(specs, instants, instants)
def test_bounded_by_elapsed_time(spec: CalendarSpec, x: datetime, y: datetime) -> None:
    a, b = ordered(x, y)
    assert timedelta(0) <= compile_calendar(spec).business_duration(a, b) <= elapsed(a, b)


def check_add(cal: Calendar, start: datetime, amount: timedelta) -> datetime:
    result = cal.add_business_time(start, amount)
    assert result.tzinfo is cal.tz
    assert result.timestamp() >= start.timestamp()
    assert cal.business_duration(start, result) == amount
    if amount:  # the earliest such instant: a microsecond or a second earlier is not enough
        for step in (US, timedelta(seconds=1)):
            earlier = result.astimezone(UTC) - step  # not result - step: wall-clock arithmetic
            if earlier.timestamp() >= start.timestamp():
                assert cal.business_duration(start, earlier) < amount
    return result


@PROPERTY
@given(st.sampled_from(NAMED), instants, st.timedeltas(timedelta(0), timedelta(days=300)))
def test_add_inverts_duration_and_is_earliest(
    spec: CalendarSpec, start: datetime, amount: timedelta
) -> None:
    check_add(compile_calendar(spec), start, amount)


@PROPERTY
@given(random_specs(), instants, st.timedeltas(timedelta(0), timedelta(days=400)))
def test_add_inverts_a_measured_duration(
    spec: CalendarSpec, start: datetime, span: timedelta
) -> None:
    # Random calendars may open one minute a week: measure an amount that exists nearby.
    cal = compile_calendar(spec)
    end = start.astimezone(UTC) + span
    result = check_add(cal, start, cal.business_duration(start, end))
    assert result <= end


@PROPERTY
@given(specs, instants, st.timedeltas(timedelta(0), timedelta(days=40)))
def test_intervals_sum_to_duration_and_gaps_are_closed(
    spec: CalendarSpec, start: datetime, length: timedelta
) -> None:
    cal = compile_calendar(spec)
    end = (start.astimezone(UTC) + length).astimezone(PARIS)
    found = cal.intervals(start, end)
    assert sum((elapsed(s, e) for s, e in found), timedelta(0)) == cal.business_duration(start, end)
    for s, e in found:
        assert s.timestamp() < e.timestamp()
        assert cal.is_open(s)
    for (_, gap_start), (gap_end, _) in itertools.pairwise(found):
        assert gap_start.timestamp() < gap_end.timestamp()  # maximal intervals: never touching
        assert cal.business_duration(gap_start, gap_end) == timedelta(0)
        assert not cal.is_open(gap_start)
        middle = gap_start.astimezone(UTC) + elapsed(gap_start, gap_end) / 2
        assert not cal.is_open(middle)


@PROPERTY
@given(
    st.sampled_from(
        [
            (HO, HNO),
            (AM_HO, AM_HNO),
            (OVERRIDDEN, outside_office_hours(overrides=OVERRIDDEN.overrides)),
        ]
    ),
    instants,
    instants,
)
def test_ho_plus_hno_is_24x7(
    pair: tuple[CalendarSpec, CalendarSpec], x: datetime, y: datetime
) -> None:
    a, b = ordered(x, y)
    office, outside = (compile_calendar(spec) for spec in pair)
    total = office.business_duration(a, b) + outside.business_duration(a, b)
    assert total == h24.business_duration(a, b) == elapsed(a, b)
    at = a
    assert office.is_open(at) != outside.is_open(at)


@PROPERTY
@given(specs, instants, st.timedeltas(timedelta(0), timedelta(days=40)))
def test_matches_the_reference(spec: CalendarSpec, start: datetime, length: timedelta) -> None:
    cal = compile_calendar(spec)
    end = (start.astimezone(UTC) + length).astimezone(PARIS)
    assert cal.business_duration(start, end) == ref_duration(spec, start, end)
    assert [
        (s.astimezone(UTC), e.astimezone(UTC)) for s, e in cal.intervals(start, end)
    ] == ref_intervals(spec, start, end)


ZONES = ["Europe/Paris", "America/Santiago", "Australia/Lord_Howe", "America/New_York"]


def transitions(zone: str) -> list[datetime]:
    """The days (as UTC noons) around which a zone changes its offset, 2020–2035."""
    tz, found = ZoneInfo(zone), []
    noon = datetime(2020, 1, 1, 12, tzinfo=UTC)
    while noon.year < 2036:
        if noon.astimezone(tz).utcoffset() != (noon + timedelta(days=1)).astimezone(tz).utcoffset():
            found.append(noon)
        noon += timedelta(days=1)
    return found


TRANSITIONS = {zone: transitions(zone) for zone in ZONES}


@st.composite
def dst_cases(draw: st.DrawFn) -> tuple[CalendarSpec, datetime, datetime]:
    """Windows starting or ending in the small hours of weekends, measured around the days
    clocks change: boundaries land in gaps and folds (Santiago even skips midnight)."""
    zone = draw(st.sampled_from(ZONES))
    small_hours = st.integers(5 * 1440 + 20 * 60, 6 * 1440 + 6 * 60)  # Sat 20:00 → Sun 06:00
    points = sorted(
        draw(st.sets(small_hours, min_size=2, max_size=6).filter(lambda p: len(p) % 2 == 0))
    )
    windows = []
    for lo, hi in zip(points[::2], points[1::2], strict=True):
        windows.append(
            Window(lo // 1440, time(lo % 1440 // 60, lo % 60), time(hi % 1440 // 60, hi % 60))
        )
    spec = CalendarSpec(zone, tuple(windows), complement=draw(st.booleans()))
    start = draw(st.sampled_from(TRANSITIONS[zone])) - draw(
        st.timedeltas(timedelta(0), timedelta(days=3))
    )
    return spec, start, start + draw(st.timedeltas(timedelta(0), timedelta(days=6)))


@PROPERTY
@given(dst_cases())
def test_matches_the_reference_around_dst_changes(
    case: tuple[CalendarSpec, datetime, datetime],
) -> None:
    spec, start, end = case
    cal = compile_calendar(spec)
    assert cal.business_duration(start, end) == ref_duration(spec, start, end)
    assert [
        (s.astimezone(UTC), e.astimezone(UTC)) for s, e in cal.intervals(start, end)
    ] == ref_intervals(spec, start, end)
    check_add(cal, start, cal.business_duration(start, end))


@PROPERTY
@given(random_specs(), instants)
def test_is_open_matches_the_reference(spec: CalendarSpec, at: datetime) -> None:
    around = ref_intervals(spec, at - timedelta(days=1), at + timedelta(days=1))
    instant = at.astimezone(UTC)
    assert compile_calendar(spec).is_open(at) == any(s <= instant < e for s, e in around)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["ho", "hno", "h24", "nights", "friday_night"]),
    # Around the block boundary of 2026-02 (block 26 starts 2026-02-26 ~) and far years too.
    st.integers(
        int(datetime(1950, 1, 1, tzinfo=UTC).timestamp()) * 10**6,
        int(datetime(2080, 1, 1, tzinfo=UTC).timestamp()) * 10**6,
    ),
    st.integers(0, 3 * 2**26 * 10**6),
)
def test_business_micros_is_business_duration_in_microseconds(
    which: str, start: int, length: int
) -> None:
    calendar = {
        "ho": ho,
        "hno": hno,
        "h24": h24,
        "nights": compile_calendar(NIGHTS),
        "friday_night": compile_calendar(FRIDAY_NIGHT),
    }[which]
    end = start + length
    a, b = EPOCH + start * US, EPOCH + end * US
    assert calendar.business_micros(start, end) == calendar.business_duration(a, b) // US
    # Within one block (the inlined path) as well as across blocks.
    near = start + length % (86_400 * 10**6 * 40)
    assert (
        calendar.business_micros(start, near)
        == calendar.business_duration(a, EPOCH + near * US) // US
    )


@settings(max_examples=200, deadline=None)
@given(
    specs,
    st.lists(
        st.integers(
            int(datetime(1990, 1, 1, tzinfo=UTC).timestamp()) * 10**6,
            int(datetime(2060, 1, 1, tzinfo=UTC).timestamp()) * 10**6,
        ),
        min_size=2,
        max_size=12,
    ),
    st.lists(st.integers(1, 400 * 86_400 * 10**6), min_size=1, max_size=6),
)
def test_the_business_table_answers_as_the_engine(
    spec: CalendarSpec, instants: list[int], amounts: list[int]
) -> None:
    # The batch path: F(b) - F(a) is business_micros(a, b) for any two instants of its span,
    # and reach(F(a) + d) is add_business_time(a, d), for all of them at once.
    calendar = compile_calendar(spec)
    instants.sort()
    start = instants[0]
    horizon = [calendar.add_business_time(EPOCH + start * US, d * US) for d in amounts]
    reached = [(h - EPOCH) // US for h in horizon]
    table = calendar.table(start, max(instants[-1], *reached))
    before = table.before(np.array(instants, dtype=np.int64))
    for a, fa in zip(instants, before, strict=True):
        for b, fb in zip(instants, before, strict=True):
            if a <= b:
                assert int(fb - fa) == calendar.business_micros(a, b)
    values = before[0] + np.array(amounts, dtype=np.int64)
    assert [int(t) for t in table.reach(values)] == reached
