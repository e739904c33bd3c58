"""`agent run`'s loop on a fake clock: hours of schedule in a fraction of a second."""

from __future__ import annotations

import itertools
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from infogerance.agent.client import AuthError, TransientError
from infogerance.agent.perf import PerformanceSampler
from infogerance.agent.protocol import inventory_fingerprint
from infogerance.agent.runner import Intervals, Runner
from infogerance.agent.spool import Spool

T0 = 1_800_000_000.0
HOUR = 3600.0


class FakeTime:
    def __init__(self, stop: threading.Event, end: float) -> None:
        self.now = T0
        self.stop = stop
        self.end = end

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += max(seconds, 0.001)
        if self.now >= self.end:
            self.stop.set()


class SteadySampler(PerformanceSampler):
    """The real sampler reads the kernel's counters (2 ms); 3,600 points need to be cheap."""

    def sample(self) -> dict[str, float]:
        point = {"cpu_percent": 10.0, "memory_percent": 40.0, "load1": 0.5}
        self.add(point)
        return point


class FakeDelivery:
    """Fails until ``up_at``, then takes everything; records what it took, in order."""

    def __init__(self, spool: Spool, clock: FakeTime, up_at: float) -> None:
        self.spool, self.time, self.up_at = spool, clock, up_at
        self.delivered: list[dict[str, Any]] = []
        self.attempts: list[float] = []
        self.auth_error_at: float | None = None

    def flush(self) -> int:
        self.attempts.append(self.time.now)
        if self.auth_error_at is not None and self.time.now >= self.auth_error_at:
            raise AuthError("revoked: enrol again")
        if self.time.now < self.up_at:
            raise TransientError("connection refused")
        batch = self.spool.batch(max_reports=10_000)
        self.delivered.extend(report for _, report in batch)
        self.spool.remove([entry for entry, _ in batch])
        return len(batch)


def machine(software: list[str]) -> dict[str, Any]:
    return {
        "hostname": "web-01",
        "os": {"family": "linux", "name": "Debian GNU/Linux", "version": "12"},
        "uptime_seconds": 0,  # volatile: does not count as a change
        "software": [{"name": s, "version": "1", "source": "dpkg"} for s in software],
    }


def run_for(tmp_path: Path, hours: float, **kwargs: Any) -> tuple[Runner, FakeDelivery, FakeTime]:
    stop = threading.Event()
    fake = FakeTime(stop, T0 + hours * HOUR)
    spool = Spool(tmp_path, sync=False)
    delivery = FakeDelivery(spool, fake, kwargs.pop("up_at", T0))
    collects: list[float] = []

    def collect() -> dict[str, Any]:
        collects.append(fake.now)
        installed = ["bash", "openssl"] + (["nginx"] if fake.now >= T0 + 2 * HOUR else [])
        data = machine(installed)
        data["uptime_seconds"] = int(fake.now - T0)
        return data

    runner = Runner(
        spool,
        delivery,
        intervals=Intervals(),
        clock=fake.clock,
        sleep=fake.sleep,
        stop=stop,
        rng=random.Random(7),
        collect=collect,
        sampler=SteadySampler(clock=fake.clock, monotonic=fake.clock),
        **kwargs,
    )
    runner.collects = collects  # type: ignore[attr-defined]
    runner.run()
    return runner, delivery, fake


def test_ten_hours_of_schedule(tmp_path: Path) -> None:
    runner, delivery, _fake = run_for(tmp_path, 10, up_at=T0 + 10 * 60)
    reports = delivery.delivered
    assert [r["sequence"] for r in reports] == list(range(1, len(reports) + 1))  # in order, no gap
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in reports:
        by_kind.setdefault(r["kind"], []).append(r)

    beats = [r for r in by_kind["heartbeat"]]
    times = [_epoch(r["collected_at"]) for r in beats]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(53 <= g <= 67 for g in gaps), (min(gaps), max(gaps))  # 60 s ± 10 %, whole seconds
    assert 540 <= len(beats) <= 670

    inventories = by_kind["inventory"]
    at = [_epoch(r["collected_at"]) - T0 for r in inventories]
    assert at[0] == 0  # at start
    assert 2 * HOUR <= at[1] <= 2 * HOUR + 16.5 * 60  # the change (nginx), seen at the next check
    assert [s["name"] for s in inventories[1]["data"]["software"]] == ["bash", "openssl", "nginx"]
    assert len(inventories) == 3  # and the full one, 6 h ± 10 % after the change
    assert at[1] + 5.4 * HOUR <= at[2] <= at[1] + 6.6 * HOUR + 16.5 * 60
    checks = runner.collects  # type: ignore[attr-defined]
    assert 36 <= len(checks) <= 46  # every 15 min ± 10 %: cheap checks, most not sent

    summaries = by_kind["performance"]
    assert 36 <= len(summaries) <= 46
    assert all(80 <= s["data"]["samples"] <= 100 for s in summaries[1:])
    assert set(summaries[0]["data"]) >= {"cpu_percent", "memory_percent", "window_start"}

    latest = inventory_fingerprint(inventories[-1]["data"])
    assert beats[-1]["data"]["inventory_sha256"] == latest
    assert beats[0]["data"]["inventory_sha256"] == inventory_fingerprint(inventories[0]["data"])

    # The outage of the first ten minutes: attempts backed off, then everything went, in order.
    early = [a - T0 for a in delivery.attempts if a < delivery.up_at]
    assert len(early) >= 3 and early[0] == 0
    assert len(runner.spool) <= 1  # at most what the last iteration made


def test_stop_ends_the_loop(tmp_path: Path) -> None:
    runner, _delivery, fake = run_for(tmp_path, 0.1)
    assert runner.stop.is_set() and fake.now >= T0 + 0.1 * HOUR


def test_auth_error_stops_the_agent(tmp_path: Path) -> None:
    stop = threading.Event()
    fake = FakeTime(stop, T0 + HOUR)
    spool = Spool(tmp_path, sync=False)
    delivery = FakeDelivery(spool, fake, T0)
    delivery.auth_error_at = T0 + 300
    runner = Runner(
        spool, delivery, clock=fake.clock, sleep=fake.sleep, stop=stop,
        collect=lambda: machine(["bash"]),
        sampler=SteadySampler(clock=fake.clock, monotonic=fake.clock),
    )  # fmt: skip
    with pytest.raises(AuthError, match="enrol again"):
        runner.run()
    assert T0 + 300 <= fake.now < T0 + 400
    assert len(spool) >= 1  # what was not delivered stays queued


def _epoch(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
