"""`infogerance sla evaluate` at scale: one month of 1,000,000 tickets from a JSON Lines file.

Generates (once, then reused from `benchmarks/.data/`) the events of a month under the
example contract `examples/contrat-infogerance-globale.yaml`: tickets of every service and
priority, about 6 events each (created, assigned, intervention started, sometimes a wait for
the client and a resumption, restored, resolved, closed; a few reopened), opened over March
2026, plus outages, maintenance windows, backup runs, restore tests, satisfaction answers,
evolution requests and patches. Then runs `infogerance sla evaluate --format json` on it in a
child process pinned to one core, and reports its wall time, CPU time and peak memory
(targets: ≤ 20 s on one core, ≤ 2 GB), and where the time goes (reading, measuring, the
penalty statement, the JSON output) measured in-process on the same file.

Usage: .venv/bin/python benchmarks/bench_sla.py [--tickets 1000000] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import orjson  # noqa: E402

CONTRACT = ROOT / "examples" / "contrat-infogerance-globale.yaml"
DATA = ROOT / "benchmarks" / ".data"
TARGET_SECONDS = 20.0
TARGET_BYTES = 2 * 1024**3
SEED = 20260301
START = datetime(2026, 3, 1, tzinfo=UTC) - timedelta(hours=1)  # 1 March 00:00 in Paris
SERVICES = ("CDS", "EXPL", "SAUV", "PARC", "TMA", "PROX")
PRIORITIES = (("P1", 0.03), ("P2", 0.17), ("P3", 0.5), ("P4", 0.3))
MINUTE = 60.0


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(round(seconds, 3), UTC).isoformat()


def generate(path: Path, tickets: int) -> tuple[int, float]:
    """Write the events file; returns (lines, seconds)."""
    rng = random.Random(SEED)
    begin = START.timestamp()
    month = 31 * 86_400 - 3600
    started = time.perf_counter()
    lines = 0
    weights = [w for _p, w in PRIORITIES]
    names = [p for p, _w in PRIORITIES]
    dumps = orjson.dumps
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        write = out.write
        for n in range(1, tickets + 1):
            ref = f"T{n}"
            t = begin + rng.random() * month
            priority = rng.choices(names, weights)[0]
            events: list[dict[str, object]] = [
                {
                    "kind": "created",
                    "status": "new",
                    "priority": priority,
                    "service": SERVICES[n % len(SERVICES)],
                }
            ]
            times = [t]
            t += rng.uniform(1, 60) * MINUTE
            events.append({"kind": "assigned"})
            times.append(t)
            t += rng.expovariate(1 / (90 * MINUTE))
            events.append({"kind": "status", "status": "intervention_started"})
            times.append(t)
            if rng.random() < 0.2:
                t += rng.uniform(30, 600) * MINUTE
                events.append({"kind": "status", "status": "waiting_client"})
                times.append(t)
                t += rng.uniform(60, 2880) * MINUTE
                events.append({"kind": "status", "status": "intervention_started"})
                times.append(t)
            t += rng.expovariate(1 / (600 * MINUTE))
            events.append({"kind": "status", "status": "restored"})
            times.append(t)
            t += rng.uniform(10, 120) * MINUTE
            resolved = {"kind": "status", "status": "resolved"}
            if rng.random() < 0.05:
                resolved["cause"] = "client"
            events.append(resolved)
            times.append(t)
            if rng.random() < 0.02:
                t += rng.uniform(60, 1440) * MINUTE
                events.append({"kind": "reopened", "status": "intervention_started"})
                times.append(t)
                t += rng.uniform(60, 600) * MINUTE
                events.append({"kind": "status", "status": "resolved"})
                times.append(t)
            elif rng.random() < 0.5:
                t += 86_400
                events.append({"kind": "status", "status": "closed"})
                times.append(t)
            for seq, (event, at) in enumerate(zip(events, times, strict=True), start=1):
                event["type"] = "ticket_event"
                event["ticket"] = ref
                event["seq"] = seq
                event["at"] = iso(at)
                write(dumps(event))
                write(b"\n")
            lines += len(events)
        other = list(other_records(rng, begin, month))
        for record in other:
            write(dumps(record))
            write(b"\n")
        lines += len(other)
    tmp.replace(path)
    return lines, time.perf_counter() - started


def other_records(rng: random.Random, begin: float, month: float) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for n in range(40):
        start = begin + rng.random() * month
        records.append(
            {
                "type": "outage",
                "id": f"O{n}",
                "service": "EXPL",
                "start": iso(start),
                "end": iso(start + rng.uniform(5, 120) * MINUTE),
                "cause": "client" if n % 10 == 0 else "provider",
            }
        )
    for n in range(8):
        start = begin + (n + 0.5) * month / 8
        records.append(
            {
                "type": "maintenance",
                "id": f"M{n}",
                "service": "EXPL",
                "start": iso(start),
                "end": iso(start + 2 * 3600),
                "notified_at": iso(start - 7 * 86_400),
            }
        )
    for day in range(31):
        for scope in range(50):
            at = begin + day * 86_400 + 3600
            status = "success" if rng.random() < 0.995 else "failed"
            records.append(
                {
                    "type": "backup_run",
                    "id": f"B{day}-{scope}",
                    "service": "SAUV",
                    "scope": f"srv-{scope}",
                    "scheduled_at": iso(at),
                    "status": status,
                }
            )
    for n in range(4):
        at = begin + (n + 1) * month / 5
        records.append(
            {
                "type": "restore_test",
                "id": f"R{n}",
                "service": "SAUV",
                "at": iso(at),
                "passed": n != 3,
                "declared_at": iso(at),
                "restored_at": iso(at + rng.uniform(1, 6) * 3600),
            }
        )
    for n in range(20_000):
        records.append(
            {
                "type": "satisfaction",
                "ticket": f"T{n + 1}",
                "service": "CDS",
                "at": iso(begin + rng.random() * month),
                "score": rng.choice((3, 4, 4, 5, 5)),
            }
        )
    for n in range(30):
        asked = begin + rng.random() * month * 0.6
        records.append(
            {
                "type": "evolution",
                "id": f"E{n}",
                "service": "TMA",
                "requested_at": iso(asked),
                "quoted_at": iso(asked + rng.uniform(1, 6) * 86_400),
                "due_at": iso(asked + 10 * 86_400),
                "delivered_at": iso(asked + rng.uniform(5, 14) * 86_400),
            }
        )
    return records


def run_child(events: Path) -> tuple[float, float, float, int, dict[str, object]]:
    """`infogerance sla evaluate` in a child process pinned to one core: wall seconds, CPU
    seconds (user and system), peak RSS in bytes, the JSON it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [
        str(ROOT / ".venv" / "bin" / "infogerance"),
        "sla",
        "evaluate",
        "--contract",
        str(CONTRACT),
        "--events",
        str(events),
        "--period",
        "2026-03",
        "--format",
        "json",
    ]
    core = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    if (
        core is not None
        and subprocess.run(["which", "taskset"], capture_output=True).returncode == 0
    ):
        command = ["taskset", "-c", str(core), *command]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"sla evaluate failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return wall, user, system, after.ru_maxrss * 1024, json.loads(done.stdout)


def phases(events: Path) -> dict[str, float]:
    """The same evaluation in this process, in CPU seconds by phase (the machine may be
    shared): reading the file (its tickets' events into columns), measuring, the penalty
    statement, the JSON output."""
    from infogerance.cli import setup_django

    setup_django()
    from infogerance.contracts.loader import load_contract
    from infogerance.sla.collector import collector_paused
    from infogerance.sla.evaluate import Evaluation, evaluation_to_json
    from infogerance.sla.eventsfile import read_events
    from infogerance.sla.measure import measure
    from infogerance.sla.penalties import compute_statement

    document = load_contract(CONTRACT.read_bytes())
    t0 = time.process_time()
    data = read_events(events)
    t1 = time.process_time()
    with collector_paused():  # as sla.evaluate.evaluate does
        measurement = measure(
            document, "2026-03", tickets=data.tickets, logs=data.logs, other=data.other
        )
        t2 = time.process_time()
        statement = compute_statement(
            document.penalties,
            measurement.results,
            monthly_fee=document.fees.monthly_fee,
            currency=document.fees.currency,
        )
    t3 = time.process_time()
    evaluation = Evaluation(document, measurement, statement, data.problems)
    orjson.dumps(evaluation_to_json(evaluation, for_indent_2=True), option=orjson.OPT_INDENT_2)
    t4 = time.process_time()
    return {"read": t1 - t0, "measure": t2 - t1, "penalties": t3 - t2, "json": t4 - t3}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    events = DATA / f"sla-events-{args.tickets}.jsonl"
    if events.exists():
        lines = sum(1 for _ in events.open("rb"))
        print(f"Reusing {events} ({lines:,} lines)", flush=True)
        generated = None
    else:
        print(f"Generating {args.tickets:,} tickets…", flush=True)
        lines, generated = generate(events, args.tickets)
        print(f"  {lines:,} lines in {generated:.1f} s", flush=True)
    size = events.stat().st_size
    load = os.getloadavg()
    wall, user, system, rss, output = run_child(events)
    cpu = user + system
    print(
        f"sla evaluate: {wall:.1f} s wall, {cpu:.1f} s CPU ({user:.1f} user, {system:.1f} "
        f"system), peak {rss / 1024**2:,.0f} MiB"
    )
    split = phases(events)
    print("  in-process CPU: " + ", ".join(f"{k} {v:.1f} s" for k, v in split.items()))
    results = output["results"]
    measured = sum(r["sample"] for r in results if r["metric"] in ("gti", "gtr", "resolution"))
    lines_out = [
        f"### SLA evaluation ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, run on one)",
        "",
        f"`infogerance sla evaluate --format json` on `{CONTRACT.name}` and one month of "
        f"{args.tickets:,} tickets ({lines:,} lines, {size / 1024**2:,.0f} MiB of JSON "
        f"Lines; {measured:,} ticket clocks measured in the month), in a child process pinned "
        "to one core; the file is generated by `benchmarks/bench_sla.py`.",
        "",
        "| measure | target | figure | |",
        "|---|---|---|---|",
        f"| wall time | ≤ {TARGET_SECONDS:.0f} s | {wall:.1f} s ({cpu:.1f} s CPU) | "
        f"{'met' if wall <= TARGET_SECONDS else '**missed**'} |",
        f"| peak memory (RSS) | ≤ 2 GB | {rss / 1024**3:.2f} GiB | "
        f"{'met' if rss <= TARGET_BYTES else '**missed**'} |",
        "",
        "Where the time goes (CPU time in-process, same file): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in split.items())
        + ".",
        "",
        "The load average (1, 5, 15 min) was "
        + " / ".join(f"{x:.2f}" for x in load)
        + " when the run started: on a machine shared with other work, the wall time of a "
        "process pinned to one core includes the time others held that core, and CPU times "
        "grow too (shared caches and cores); compare CPU times of runs under similar load.",
        "",
    ]
    print("\n".join(lines_out))
    if args.write:
        write_section("### SLA evaluation ", lines_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
