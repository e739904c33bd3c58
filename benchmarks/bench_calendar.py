"""Calendar engine throughput: business_duration and add_business_time calls per second.

Every SLA clock (GTI, GTR, availability) is one of these calls, and a monthly report replays
thousands of them, so this is the ceiling on SLA computations per second. One process, pinned
to one core when the OS allows; random ranges of up to 31 days across 2026–2027, measured
after a warm-up (the tables of those years are built once, then reused). Durations are fed
with UTC-aware datetimes (what the database returns) and with Europe/Paris-aware ones.

Usage: .venv/bin/python benchmarks/bench_calendar.py [--calls 200000] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from infogerance.calendars import H24X7, HNO, HO, Calendar, CalendarSpec  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
Other = TypeVar("Other")
TARGET = 500_000
REPEATS = 5


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned"


def ranges(count: int, seed: int) -> list[tuple[datetime, datetime]]:
    """Random [start, end) of 0–31 days in 2026–2027, to the microsecond, as UTC datetimes."""
    rng = random.Random(seed)
    low = datetime(2026, 1, 1, tzinfo=PARIS).timestamp()
    high = datetime(2028, 1, 1, tzinfo=PARIS).timestamp() - 31 * 86_400
    out = []
    for _ in range(count):
        start = datetime.fromtimestamp(rng.uniform(low, high), UTC)
        out.append((start, start + timedelta(seconds=rng.uniform(0, 31 * 86_400))))
    return out


def rate(
    call: Callable[[datetime, Other], object], args: Sequence[tuple[datetime, Other]]
) -> float:
    """Calls per second: the median of a few timed passes over the same arguments."""
    for start, other in args[: len(args) // 10]:  # warm-up
        call(start, other)
    rates = []
    for _ in range(REPEATS):
        begin = time.perf_counter()
        for start, other in args:
            call(start, other)
        rates.append(len(args) / (time.perf_counter() - begin))
    return statistics.median(rates)


def cold_build(spec: CalendarSpec) -> float:
    """Milliseconds for the first call of a fresh calendar (it builds one table block)."""
    begin = time.perf_counter()
    Calendar(spec).business_duration(
        datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    )
    return (time.perf_counter() - begin) * 1000


def check(calendars: dict[str, Calendar], sample: Sequence[tuple[datetime, datetime]]) -> None:
    """Refuse to report speed for wrong answers: HO + HNO must be exactly 24x7."""
    ho, hno, h24 = calendars["HO"], calendars["HNO"], calendars["24x7"]
    for start, end in sample:
        total = ho.business_duration(start, end) + hno.business_duration(start, end)
        if not total == h24.business_duration(start, end) == end - start:
            raise SystemExit(f"HO + HNO != 24x7 on [{start}, {end})")
        later = ho.add_business_time(start, end - start)
        if ho.business_duration(start, later) != end - start:
            raise SystemExit(f"add_business_time does not invert business_duration at {start}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000, help="calls per timed pass")
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    pinning = pin_to_one_core()
    calendars = {"HO": Calendar(HO), "HNO": Calendar(HNO), "24x7": Calendar(H24X7)}
    utc_ranges = ranges(args.calls, seed=2026)
    paris_ranges = [(a.astimezone(PARIS), b.astimezone(PARIS)) for a, b in utc_ranges]
    rng = random.Random(7)
    additions = [(start, timedelta(seconds=rng.randrange(0, 50 * 3600))) for start, _ in utc_ranges]
    check(calendars, utc_ranges[:2000])
    rows = []
    for name, calendar in calendars.items():
        spec = calendar.spec
        rows.append(
            (
                name,
                rate(calendar.business_duration, utc_ranges),
                rate(calendar.business_duration, paris_ranges),
                rate(calendar.add_business_time, additions),
                cold_build(spec),
            )
        )
    lines = [
        f"### Calendar engine ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, run on one)",
        "",
        "Calls per second on one core (median of 5 passes of "
        f"{args.calls:,} calls, after warm-up), random ranges of 0–31 days across 2026–2027; "
        "`add_business_time` adds 0–50 h. Target: "
        f"{TARGET:,} `business_duration` calls/s.",
        "",
        "| calendar | business_duration, UTC datetimes | business_duration, Europe/Paris "
        "datetimes | add_business_time | first call (builds a 777-day table) |",
        "|---|---|---|---|---|",
    ]
    for name, utc, paris, add, cold in rows:
        lines.append(f"| {name} | {utc:,.0f}/s | {paris:,.0f}/s | {add:,.0f}/s | {cold:.1f} ms |")
    lines.append("")
    print(f"({pinning})")
    print("\n".join(lines))
    if args.write:
        write_section("### Calendar engine ", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
