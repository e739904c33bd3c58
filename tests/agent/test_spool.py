"""The on-disk queue: order, bounds and the drop policy, crash leftovers, the sequence."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from infogerance.agent import AgentError
from infogerance.agent.protocol import Kind
from infogerance.agent.spool import Spool, SpoolBusy, encode, write_atomic

T0 = 1_800_000_000.0


def data_for(kind: Kind) -> dict[str, Any]:
    if kind == "heartbeat":
        return {"uptime_seconds": 1, "cpu_percent": 1.0, "memory_percent": 1.0}
    if kind == "performance":
        return {"window_start": "2027-01-15T08:00:00Z", "window_end": "2027-01-15T08:15:00Z",
                "samples": 1}  # fmt: skip
    return {"hostname": "h", "os": {"family": "linux", "name": "Debian", "version": "12"}}


def add(spool: Spool, kinds: str) -> None:
    """Add reports by letter: h heartbeat, p performance, i inventory."""
    names: dict[str, Kind] = {"h": "heartbeat", "p": "performance", "i": "inventory"}
    for letter in kinds:
        spool.add(names[letter], data_for(names[letter]), T0)


def queued(spool: Spool) -> list[str]:
    return [f"{e.kind[0]}{e.sequence}" for e in spool.entries()]


def test_reports_leave_in_sequence_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    add(spool, "hipph")
    batch = spool.batch(max_reports=3)
    assert [r["sequence"] for _, r in batch] == [1, 2, 3]
    assert [r["kind"] for _, r in batch] == ["heartbeat", "inventory", "performance"]
    spool.remove([e for e, _ in batch])
    assert queued(spool) == ["p4", "h5"]
    assert queued(Spool(tmp_path)) == ["p4", "h5"]  # the order survives a restart
    mode = stat.S_IMODE(spool.entries()[0].path.stat().st_mode)
    assert mode == 0o600


def test_batch_respects_the_byte_limit_but_always_sends_one(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    add(spool, "hhh")
    size = spool.entries()[0].size
    envelope = len(b'{"reports":[]}')
    assert len(spool.batch(max_bytes=envelope + 2 * (size + 1))) == 2
    assert len(spool.batch(max_bytes=10)) == 1  # too big alone: sent alone, the server says 413


def test_count_bound_drops_heartbeats_then_performance_then_old_inventories(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_count=5)
    add(spool, "hpihph")  # 6 > 5: the oldest heartbeat goes
    assert queued(spool) == ["p2", "i3", "h4", "p5", "h6"]
    add(spool, "i")  # the oldest heartbeat left is h4
    assert queued(spool) == ["p2", "i3", "p5", "h6", "i7"]
    add(spool, "h")  # h6 is older than the new one
    assert queued(spool) == ["p2", "i3", "p5", "i7", "h8"]
    add(spool, "ii")  # h8 then, no heartbeat left, the oldest performance summary p2
    assert queued(spool) == ["i3", "p5", "i7", "i9", "i10"]
    add(spool, "i")
    assert queued(spool) == ["i3", "i7", "i9", "i10", "i11"]
    add(spool, "i")  # only inventories: the oldest goes, never the newest
    assert queued(spool) == ["i7", "i9", "i10", "i11", "i12"]
    assert spool.state["dropped"] == {"heartbeat": 4, "performance": 2, "inventory": 1}
    assert len(list((tmp_path / "queue").iterdir())) == 5


def test_byte_bound_with_exact_arithmetic(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    add(spool, "ih")
    inventory, heartbeat = (e.size for e in spool.entries())
    assert inventory == len(encode(json.loads(spool.entries()[0].path.read_bytes())))
    # Room for the inventory and two heartbeats and a half: the third heartbeat overflows.
    spool = Spool(tmp_path / "bounded", max_bytes=inventory + 2 * heartbeat + heartbeat // 2)
    add(spool, "ihh")
    assert queued(spool) == ["i1", "h2", "h3"]
    assert spool.total_bytes == inventory + 2 * heartbeat
    add(spool, "h")
    assert queued(spool) == ["i1", "h3", "h4"]
    assert spool.total_bytes == inventory + 2 * heartbeat
    on_disk = sum(p.stat().st_size for p in (tmp_path / "bounded" / "queue").iterdir())
    assert on_disk == spool.total_bytes
    assert Spool(tmp_path / "bounded").total_bytes == spool.total_bytes


def test_the_newest_inventory_stays_even_alone_over_the_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10)
    add(spool, "hpi")
    assert queued(spool) == ["i3"]
    assert spool.total_bytes > 10


def test_crash_leftovers_are_cleaned(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    add(spool, "hi")
    (tmp_path / "queue" / ".tmp-3f2a").write_bytes(b'{"format": "infogerance-agen')  # half-written
    (tmp_path / ".tmp-state").write_bytes(b"{")
    (tmp_path / "queue" / "README").write_text("not a report")  # unknown names are left alone
    reopened = Spool(tmp_path)
    assert queued(reopened) == ["h1", "i2"]
    assert len(list(tmp_path.rglob(".tmp-*"))) == 2  # only the holder of the spool cleans
    with reopened.lock():
        assert not list(tmp_path.rglob(".tmp-*"))
    assert queued(reopened) == ["h1", "i2"]
    assert (tmp_path / "queue" / "README").exists()


def test_a_spool_held_elsewhere_keeps_its_writes_in_progress(tmp_path: Path) -> None:
    """`agent status` (or any reader) while `agent run` writes: the half-written file is the
    running agent's, not a leftover; the reader sees the queue and removes nothing."""
    holder = Spool(tmp_path)
    add(holder, "h")
    with holder.lock():
        writing = tmp_path / "queue" / ".tmp-in-progress"
        writing.write_bytes(b'{"format": "infogerance-agen')
        reader = Spool(tmp_path)
        assert queued(reader) == ["h1"] and reader.summary()["reports"] == 1
        with pytest.raises(SpoolBusy), reader.lock():
            pass
        assert writing.exists()
        add(holder, "i")
    # Taken again later: what the holder added meanwhile is read, the leftover removed.
    with reader.lock():
        assert queued(reader) == ["h1", "i2"] and not writing.exists()


def test_a_corrupt_report_is_set_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    add(spool, "hh")
    (tmp_path / "queue" / "000000000003-heartbeat.json").write_bytes(b'{"trunc')
    spool = Spool(tmp_path)
    batch = spool.batch()
    assert [r["sequence"] for _, r in batch] == [1, 2]
    assert [p.name for p in spool.rejected()] == ["000000000003-heartbeat.json"]


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        write_atomic(tmp_path / "x.json", b"{}")
    assert list(tmp_path.iterdir()) == []


def test_the_sequence_is_persisted_and_never_reused(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    add(spool, "hhh")
    assert Spool(tmp_path).sequence == 3  # from the queue, although not saved yet
    spool.remove(spool.entries())  # leaving the queue saves the counter first
    assert json.loads((tmp_path / "state.json").read_text())["sequence"] == 3
    spool = Spool(tmp_path)
    add(spool, "h")
    assert queued(spool) == ["h4"]
    (tmp_path / "state.json").write_text("garbage")  # a lost state: rebuilt from the queue
    spool = Spool(tmp_path)
    add(spool, "h")
    assert queued(spool) == ["h4", "h5"]


def test_one_process_per_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    with spool.lock(), pytest.raises(AgentError, match="already using"), Spool(tmp_path).lock():
        pass
    with Spool(tmp_path).lock():  # released
        pass


def test_summary(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    add(spool, "hhpi")
    summary = spool.summary()
    assert summary["reports"] == 4
    assert summary["by_kind"] == {
        "heartbeat": 2, "inventory": 1, "performance": 1, "backup_run": 0, "restore_drill": 0
    }  # fmt: skip
    assert summary["incoming"] == 0
    assert summary["bytes"] == spool.total_bytes
