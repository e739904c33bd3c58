"""Performance sampling: a point every few seconds, a summary (mean, p95, max) per window.

Rates (disk and network bytes per second) come from the difference of the system's
cumulative counters between two samples; a counter that goes backwards (a reset, a removed
device) gives no rate for that step rather than a negative one.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from infogerance.agent.protocol import utc_timestamp

METRICS = (
    "cpu_percent",
    "memory_percent",
    "disk_read_bytes_per_s",
    "disk_write_bytes_per_s",
    "net_recv_bytes_per_s",
    "net_sent_bytes_per_s",
    "load1",
)


@dataclass
class Counters:
    at: float  # monotonic seconds
    disk_read: int | None
    disk_write: int | None
    net_recv: int | None
    net_sent: int | None


def read_counters(monotonic: Callable[[], float] = time.monotonic) -> Counters:
    try:
        disk = psutil.disk_io_counters()
    except (OSError, RuntimeError):
        disk = None
    try:
        net = psutil.net_io_counters()
    except (OSError, RuntimeError):
        net = None
    return Counters(
        at=monotonic(),
        disk_read=int(disk.read_bytes) if disk else None,
        disk_write=int(disk.write_bytes) if disk else None,
        net_recv=int(net.bytes_recv) if net else None,
        net_sent=int(net.bytes_sent) if net else None,
    )


def load1() -> float | None:
    try:
        return float(os.getloadavg()[0])
    except (OSError, AttributeError):
        try:
            return float(psutil.getloadavg()[0])
        except (OSError, AttributeError, RuntimeError):
            return None


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: a value that was really observed."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarise(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(sum(values) / len(values), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
    }


def _rate(new: int | None, old: int | None, seconds: float) -> float | None:
    if new is None or old is None or seconds <= 0 or new < old:
        return None
    return (new - old) / seconds


@dataclass
class PerformanceSampler:
    """Keeps the points of the current window; ``summary()`` closes the window."""

    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    points: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    samples: int = 0
    window_start: float = 0.0
    last: dict[str, float] = field(default_factory=dict)
    _previous: Counters | None = None

    def __post_init__(self) -> None:
        self.window_start = self.clock()
        psutil.cpu_percent(interval=None)  # the first call only sets the reference point
        self._previous = read_counters(self.monotonic)

    def sample(self) -> dict[str, float]:
        """Take one point (CPU is measured since the previous point)."""
        counters = read_counters(self.monotonic)
        previous = self._previous
        self._previous = counters
        point: dict[str, float | None] = {
            "cpu_percent": float(psutil.cpu_percent(interval=None)),
            "memory_percent": float(psutil.virtual_memory().percent),
            "load1": load1(),
        }
        if previous is not None:
            elapsed = counters.at - previous.at
            point["disk_read_bytes_per_s"] = _rate(counters.disk_read, previous.disk_read, elapsed)
            point["disk_write_bytes_per_s"] = _rate(
                counters.disk_write, previous.disk_write, elapsed
            )
            point["net_recv_bytes_per_s"] = _rate(counters.net_recv, previous.net_recv, elapsed)
            point["net_sent_bytes_per_s"] = _rate(counters.net_sent, previous.net_sent, elapsed)
        kept = {k: v for k, v in point.items() if v is not None}
        self.add(kept)
        return kept

    def add(self, point: dict[str, float]) -> None:
        for metric, value in point.items():
            if metric in self.points:
                self.points[metric].append(float(value))
        self.samples += 1
        self.last = dict(point)

    def summary(self) -> dict[str, Any] | None:
        """The ``data`` of a performance report for the window so far, or None without samples."""
        end = self.clock()
        if self.samples == 0:
            self.window_start = end
            return None
        data: dict[str, Any] = {
            "window_start": utc_timestamp(self.window_start),
            "window_end": utc_timestamp(end),
            "samples": self.samples,
        }
        for metric in METRICS:
            if self.points[metric]:
                data[metric] = summarise(self.points[metric])
        self.points = {m: [] for m in METRICS}
        self.samples = 0
        self.window_start = end
        return data


def short_sample(
    seconds: float = 2.0, interval: float = 0.5, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any] | None:
    """A few points over ``seconds``: the performance part of ``agent once``."""
    sampler = PerformanceSampler()
    steps = max(1, round(seconds / interval))
    for _ in range(steps):
        sleep(interval)
        sampler.sample()
    return sampler.summary()
