"""Retention policies, as restic applies them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from infogerance.backup.archiver import backup
from infogerance.backup.errors import InvalidInput
from infogerance.backup.formats import Snapshot
from infogerance.backup.repository import Repository
from infogerance.backup.retention import Duration, RetentionPolicy, apply_policy, forget


def _snapshots(times: list[dt.datetime], tags: list[list[str]] | None = None) -> list[Snapshot]:
    return [
        Snapshot(
            time=int(t.timestamp() * 1e9),
            tree=b"\0" * 32,
            paths=["/data"],
            tags=(tags or [[]] * len(times))[i],
            id=bytes([i]) * 32,
        )
        for i, t in enumerate(times)
    ]


def _kept(snapshots: list[Snapshot], policy: RetentionPolicy) -> list[int]:
    return sorted(s.id[0] for s, _ in apply_policy(snapshots, policy).keep)


def _local(*args: int) -> dt.datetime:
    return dt.datetime(*args).astimezone()  # type: ignore[arg-type]


def test_keep_last_and_daily() -> None:
    # Two snapshots a day for 10 days (index 2*d at 01:00, 2*d+1 at 13:00).
    times = [_local(2026, 1, 1 + d, h) for d in range(10) for h in (1, 13)]
    snaps = _snapshots(times)
    assert _kept(snaps, RetentionPolicy(last=3)) == [17, 18, 19]
    assert _kept(snaps, RetentionPolicy(daily=3)) == [15, 17, 19]  # the newest of each day
    assert _kept(snaps, RetentionPolicy(last=1, daily=2)) == [17, 19]


def test_weekly_monthly_yearly() -> None:
    times = [_local(2024, 1, 1) + dt.timedelta(days=7 * i) for i in range(110)]
    snaps = _snapshots(times)
    assert len(_kept(snaps, RetentionPolicy(weekly=5))) == 5
    monthly = _kept(snaps, RetentionPolicy(monthly=3))
    assert len(monthly) == 3 and max(monthly) == 109
    yearly = _kept(snaps, RetentionPolicy(yearly=10))
    assert len(yearly) == 3  # 2024, 2025, 2026


def test_within_and_tags() -> None:
    times = [_local(2026, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    snaps = _snapshots(times, [["keep"] if i == 0 else [] for i in range(40)])
    kept = _kept(snaps, RetentionPolicy(within=Duration.parse("1m"), keep_tags=("keep",)))
    assert 0 in kept and 39 in kept and 1 not in kept
    assert len(kept) == 1 + 32  # 2026-01-09 … 2026-02-09 inclusive


def test_durations() -> None:
    assert Duration.parse("1y2m3d4h") == Duration(1, 2, 3, 4)
    moment = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    assert Duration(months=1).before(moment) == dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
    with pytest.raises(InvalidInput):
        Duration.parse("3 weeks")


def test_empty_policy_is_refused() -> None:
    with pytest.raises(InvalidInput, match="refusing"):
        apply_policy(_snapshots([_local(2026, 1, 1)]), RetentionPolicy())


def test_forget_groups_by_host_and_paths(tmp_path: Path, repo: Repository) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    for host in ("h1", "h1", "h2"):
        backup(repo, [str(tmp_path / "a")], hostname=host)
    results = forget(repo, RetentionPolicy(last=1), dry_run=True)
    assert [len(d.remove) for _, d in results] == [1, 0]
    assert len(repo.list_snapshots()) == 3
    forget(repo, RetentionPolicy(last=1))
    assert sorted(s.hostname for s in repo.list_snapshots()) == ["h1", "h2"]
