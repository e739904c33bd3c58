"""Locks: a live lock is refused, a stale one is cleaned by unlock."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infogerance.backup.archiver import backup
from infogerance.backup.backend import FileKind
from infogerance.backup.errors import RepositoryLocked
from infogerance.backup.formats import format_time
from infogerance.backup.locks import acquire_lock, list_locks, remove_stale_locks
from infogerance.backup.repository import Repository


def _write_lock(
    repo: Repository, *, pid: int, exclusive: bool, age_s: float = 0, host: str = ""
) -> str:
    doc = {
        "time": format_time(time.time_ns() - int(age_s * 1e9)),
        "exclusive": exclusive,
        "hostname": host or socket.gethostname(),
        "username": "someone",
        "pid": pid,
        "uid": 0,
        "gid": 0,
    }
    return repo.save_unpacked(FileKind.LOCKS, doc).hex()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_backup_takes_and_releases_a_lock(tmp_path: Path, repo: Repository) -> None:
    (tmp_path / "f").write_text("x")
    seen: list[int] = []
    backup(repo, [str(tmp_path / "f")], progress=lambda s, p: seen.append(len(list_locks(repo))))
    assert seen == [1]
    assert list_locks(repo) == []


def test_live_exclusive_lock_is_refused(tmp_path: Path, repo: Repository) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _write_lock(repo, pid=sleeper.pid, exclusive=True)
        (tmp_path / "f").write_text("x")
        with pytest.raises(RepositoryLocked, match=f"PID {sleeper.pid}"):
            backup(repo, [str(tmp_path / "f")])
        assert repo.list_snapshots() == []
        # unlock without --remove-all leaves a live lock alone
        assert remove_stale_locks(repo) == []
        assert len(list_locks(repo)) == 1
    finally:
        sleeper.kill()
        sleeper.wait()


def test_non_exclusive_locks_coexist_but_exclude_an_exclusive_one(repo: Repository) -> None:
    with acquire_lock(repo), acquire_lock(repo):
        assert len(list_locks(repo)) == 2
        with pytest.raises(RepositoryLocked):
            acquire_lock(repo, exclusive=True)
    with acquire_lock(repo, exclusive=True), pytest.raises(RepositoryLocked):
        acquire_lock(repo)


def test_stale_locks_are_cleaned_by_unlock(tmp_path: Path, repo: Repository) -> None:
    dead = _write_lock(repo, pid=_dead_pid(), exclusive=True)
    old = _write_lock(repo, pid=1, exclusive=True, age_s=31 * 60, host="elsewhere")
    recent_elsewhere = _write_lock(repo, pid=1, exclusive=False, host="elsewhere")
    removed = {info.id for info in remove_stale_locks(repo)}
    assert removed == {dead, old}
    assert [info.id for info in list_locks(repo)] == [recent_elsewhere]
    (tmp_path / "f").write_text("x")
    backup(repo, [str(tmp_path / "f")])  # a non-exclusive lock elsewhere does not block
    assert len(remove_stale_locks(repo, remove_all=True)) == 1


def test_stale_lock_does_not_block(tmp_path: Path, repo: Repository) -> None:
    _write_lock(repo, pid=_dead_pid(), exclusive=True)
    (tmp_path / "f").write_text("x")
    backup(repo, [str(tmp_path / "f")])
    assert os.path.exists(tmp_path / "repo" / "locks")


def test_second_look_after_read_only_work(repo: Repository) -> None:
    """A backup writes its lock, loads the index, then looks again (`confirm`): an exclusive
    lock that appeared meanwhile makes it withdraw, its own lock removed."""
    lock = acquire_lock(repo, confirm=False)
    try:
        other = _write_lock(repo, pid=os.getpid(), exclusive=True)
        with pytest.raises(RepositoryLocked):
            lock.confirm()
        assert [info.id for info in list_locks(repo)] == [other]
    finally:
        lock.release()
    repo.backend.delete(FileKind.LOCKS, other)

    with acquire_lock(repo, confirm=False) as lock:
        time.sleep(0.06)  # read-only work longer than the wait
        started = time.monotonic()
        lock.confirm()
        lock.confirm()
        assert time.monotonic() - started < 0.05  # no sleep: the wait is already over
        assert lock.confirmed and len(list_locks(repo)) == 1
    assert list_locks(repo) == []


def test_backup_withdraws_when_an_exclusive_lock_appears(
    tmp_path: Path, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "f").write_text("x")
    # An exclusive locker (restic prune) that checked at the same moment as the backup.
    original = Repository._load_index

    def load_index_then_conflict(self: Repository) -> object:
        _write_lock(self, pid=os.getpid(), exclusive=True)
        return original(self)

    monkeypatch.setattr(Repository, "_load_index", load_index_then_conflict)
    packs = set(repo.backend.list(FileKind.DATA))
    with pytest.raises(RepositoryLocked):
        backup(repo, [str(tmp_path / "f")])
    assert repo.list_snapshots() == []
    assert set(repo.backend.list(FileKind.DATA)) == packs
    assert len(list_locks(repo)) == 1
