"""Performance summaries: exact statistics, rates from counters, a real short sample."""

from __future__ import annotations

from infogerance.agent.perf import METRICS, PerformanceSampler, percentile, short_sample, summarise


def test_statistics_are_exact() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert summarise(values) == {"mean": 10.5, "p95": 19.0, "max": 20.0}
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 100.0], 0.95) == 100.0  # nearest rank: an observed value


def test_a_window_summary_then_a_new_window() -> None:
    now = [1_800_000_000.0]
    sampler = PerformanceSampler(clock=lambda: now[0])
    for cpu in (10.0, 20.0, 30.0, 40.0):
        sampler.add({"cpu_percent": cpu, "memory_percent": 50.0})
        now[0] += 10
    summary = sampler.summary()
    assert summary is not None
    assert summary["samples"] == 4
    assert summary["window_start"] == "2027-01-15T08:00:00Z"
    assert summary["window_end"] == "2027-01-15T08:00:40Z"
    assert summary["cpu_percent"] == {"mean": 25.0, "p95": 40.0, "max": 40.0}
    assert "disk_read_bytes_per_s" not in summary  # no points, no statistics
    assert sampler.summary() is None  # the window was closed


def test_a_real_short_sample_has_every_metric_it_can_read() -> None:
    summary = short_sample(seconds=0.3, interval=0.1)
    assert summary is not None and summary["samples"] == 3
    for metric in ("cpu_percent", "memory_percent"):
        stats = summary[metric]
        assert 0 <= stats["mean"] <= stats["max"] <= 100 and stats["p95"] <= stats["max"]
    assert set(summary) - {"window_start", "window_end", "samples"} <= set(METRICS)
