"""``agent run``: the long-running loop.

Every report goes to the spool first, then the spool is flushed; a failed flush is retried
with exponential backoff and full jitter while the loop keeps collecting. Every interval is
drawn with ±10 % jitter so that agents started together (a site rebooted at once) spread out.
The clock and the sleep are injected, so that hours of the loop run in a test in milliseconds.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import psutil

from infogerance.agent import AgentError
from infogerance.agent.client import AuthError, Backoff, TransientError
from infogerance.agent.collect import collect_inventory
from infogerance.agent.perf import PerformanceSampler
from infogerance.agent.protocol import Kind, inventory_fingerprint
from infogerance.agent.spool import Spool

logger = logging.getLogger(__name__)


class Flusher(Protocol):
    def flush(self) -> int: ...


@dataclass
class Intervals:
    heartbeat: float = 60.0
    inventory: float = 6 * 3600.0  # a full inventory at least this often
    inventory_check: float = 15 * 60.0  # collect and compare fingerprints this often
    perf_sample: float = 10.0
    perf_window: float = 15 * 60.0
    jitter: float = 0.1


class Runner:
    def __init__(
        self,
        spool: Spool,
        delivery: Flusher,
        *,
        intervals: Intervals | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        collect: Callable[[], dict[str, Any]] | None = None,
        sampler: PerformanceSampler | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.spool = spool
        self.delivery = delivery
        self.intervals = intervals or Intervals()
        self.clock = clock
        self.stop = stop or threading.Event()
        self.sleep = sleep or self.stop.wait
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.collect = collect or collect_inventory
        self.sampler = sampler or PerformanceSampler(clock=clock)
        self.backoff = backoff or Backoff(base=5.0, cap=600.0, rng=self.rng)
        self.fingerprint: str | None = spool.state.get("inventory_sha256")
        self.iterations = 0

    def _jittered(self, seconds: float) -> float:
        j = self.intervals.jitter
        return seconds * self.rng.uniform(1 - j, 1 + j)

    def run(self, *, max_iterations: int | None = None) -> None:
        """Loop until ``stop`` is set. Raises AuthError when the server refuses the credential."""
        iv = self.intervals
        now = self.clock()
        next_inventory_check = now  # a fresh start reports what the machine is right away
        next_full_inventory = now
        next_heartbeat = now + self.rng.uniform(0, iv.heartbeat * iv.jitter)
        next_sample = now + iv.perf_sample
        next_summary = now + self._jittered(iv.perf_window)
        next_flush = now
        while not self.stop.is_set():
            if max_iterations is not None and self.iterations >= max_iterations:
                break
            self.iterations += 1
            now = self.clock()
            self._adopt_incoming()
            if now >= next_sample:
                self._guarded("performance sample", self.sampler.sample)
                next_sample = now + iv.perf_sample
            if now >= next_inventory_check:
                full_due = now >= next_full_inventory
                try:
                    queued = self._inventory(now, force=full_due)
                except Exception:  # the collectors isolate themselves; this is the last net
                    logger.exception("inventory failed")
                    queued = False
                if queued or full_due:
                    next_full_inventory = now + self._jittered(iv.inventory)
                next_inventory_check = now + self._jittered(iv.inventory_check)
            if now >= next_summary:
                summary = self.sampler.summary()
                if summary is not None:
                    self._queue("performance", summary, now)
                next_summary = now + self._jittered(iv.perf_window)
            if now >= next_heartbeat:
                self._queue("heartbeat", self._heartbeat(now), now)
                next_heartbeat = now + self._jittered(iv.heartbeat)
            if len(self.spool) and now >= next_flush:
                next_flush = self._flush(now)
            wake = min(next_sample, next_inventory_check, next_summary, next_heartbeat)
            if len(self.spool):
                wake = min(wake, next_flush)
            self.sleep(max(0.0, wake - self.clock()))

    def _queue(self, kind: Kind, data: dict[str, Any], now: float) -> bool:
        try:
            self.spool.add(kind, data, now)
        except OSError as exc:  # a full disk: keep running, the next report may fit
            logger.error("cannot queue a %s report: %s", kind, exc)
            return False
        return True

    def _adopt_incoming(self) -> None:
        """Queue what ``agent backup`` and ``agent drill`` left while this loop held the spool
        (they wake the loop no sooner than its next turn: within a performance sample)."""
        try:
            for _name, report in self.spool.adopt_incoming():
                logger.info("queued a %s report left by another command", report["kind"])
        except OSError as exc:
            logger.error("cannot queue the incoming reports: %s", exc)

    def _guarded(self, what: str, func: Callable[[], Any]) -> None:
        try:
            func()
        except Exception:  # one bad sample must not stop the agent
            logger.exception("%s failed", what)

    def _inventory(self, now: float, *, force: bool) -> bool:
        """Collect; queue an inventory when forced or when the facts changed. True if queued."""
        inventory = self.collect()
        fingerprint = inventory_fingerprint(inventory)
        if not force and fingerprint == self.fingerprint:
            return False
        if fingerprint != self.fingerprint:
            logger.info("inventory changed (%s…)", fingerprint[:12])
        if not self._queue("inventory", inventory, now):
            return False
        self.fingerprint = fingerprint
        self.spool.save_state(inventory_sha256=fingerprint)
        return True

    def _heartbeat(self, now: float) -> dict[str, Any]:
        if "cpu_percent" not in self.sampler.last:
            self._guarded("performance sample", self.sampler.sample)
        data: dict[str, Any] = {
            "uptime_seconds": max(0, int(now - psutil.boot_time())),
            "cpu_percent": round(float(self.sampler.last.get("cpu_percent", 0.0)), 2),
            "memory_percent": round(float(psutil.virtual_memory().percent), 2),
        }
        if self.fingerprint:
            data["inventory_sha256"] = self.fingerprint
        return data

    def _flush(self, now: float) -> float:
        """Try to empty the spool; returns when to try next."""
        try:
            delivered = self.delivery.flush()
        except AuthError:
            raise
        except TransientError as exc:
            delay = self.backoff.next_delay(exc.retry_after)
            logger.warning(
                "delivery postponed by %.0f s: %s (%d queued)", delay, exc, len(self.spool)
            )
            return now + delay
        except AgentError as exc:
            delay = self.backoff.next_delay()
            logger.error("delivery failed, retrying in %.0f s: %s", delay, exc)
            return now + delay
        if delivered:
            logger.debug("delivered %d reports", delivered)
        self.backoff.reset()
        return now
