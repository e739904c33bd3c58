"""A backup killed at random moments leaves a repository restic accepts; the next run completes."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infogerance.backup.archiver import backup
from infogerance.backup.locks import remove_stale_locks
from infogerance.backup.repository import Repository
from infogerance.backup.restorer import restore

from .conftest import PASSWORD, assert_same_tree

CHILD = """
import sys
from infogerance.backup.archiver import backup
from infogerance.backup.backend import LocalBackend
from infogerance.backup.repository import Repository
repo = Repository.open(LocalBackend(sys.argv[1]), sys.argv[2])
print("started", flush=True)
backup(repo, [sys.argv[3]], pack_size=200_000, workers=2)
print("finished", flush=True)
"""


def test_sigkill_at_random_moments(
    tmp_path: Path, dataset: Path, repo: Repository, restic: Callable[..., Any]
) -> None:
    rng = random.Random(42)
    repo_path = tmp_path / "repo"
    for _ in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(repo_path), PASSWORD, str(dataset)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "started"
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        remove_stale_locks(repo)  # the killed process's lock: its PID is gone
        assert "no errors were found" in restic(repo_path, "check").stdout
    snapshot, _ = backup(repo, [str(dataset)])
    assert "no errors were found" in restic(repo_path, "check", "--read-data").stdout
    target = tmp_path / "out"
    restore(repo, snapshot, str(target), verify=True)
    assert_same_tree(dataset, target / dataset.relative_to("/"))


def test_interrupted_run_indexes_what_it_wrote(
    tmp_path: Path, dataset: Path, repo: Repository, restic: Callable[..., Any]
) -> None:
    seen: list[str] = []

    def interrupt(stats: Any, path: str) -> None:
        seen.append(path)
        if path.endswith("big.bin"):
            raise KeyboardInterrupt

    try:
        backup(repo, [str(dataset)], progress=interrupt, pack_size=200_000)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the run was not interrupted")
    assert repo.list_snapshots() == []
    reopened = Repository.open(repo.backend, PASSWORD)
    assert len(reopened.index) > 0  # the packs written before the interruption are indexed
    assert "no errors were found" in restic(tmp_path / "repo", "check", "--read-data").stdout
    _, stats = backup(reopened, [str(dataset)])
    assert stats.bytes_added < stats.bytes_read  # the second run reused the first's blobs
