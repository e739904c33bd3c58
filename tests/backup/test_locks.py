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
