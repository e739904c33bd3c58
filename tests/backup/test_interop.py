"""Interoperability with Debian's restic, both ways: restic is the independent judge."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infogerance.backup.archiver import backup
from infogerance.backup.backend import LocalBackend
from infogerance.backup.repository import Repository
from infogerance.backup.restorer import restore

from .conftest import FAST_SCRYPT, PASSWORD, assert_same_tree

Restic = Callable[..., Any]


def test_restic_checks_and_restores_what_we_write(
    tmp_path: Path, dataset: Path, repo: Repository, restic: Restic
) -> None:
    first, _ = backup(repo, [str(dataset)], tags=["first"])
    # A second, incremental snapshot over changed data, so that parents and dedup are exercised.
    source = tmp_path / "copy"
    shutil.copytree(dataset, source, symlinks=True)
    (source / "logs" / "app.log").write_text("changed\n" * 1000)
    backup(repo, [str(source)])
    backup(repo, [str(source)])

    check = restic(tmp_path / "repo", "check", "--read-data")
    assert "no errors were found" in check.stdout

    target = tmp_path / "restic-restore"
    restic(tmp_path / "repo", "restore", first.id.hex(), "--target", str(target))
    assert_same_tree(dataset, target / dataset.relative_to("/"))
    target2 = tmp_path / "restic-restore-latest"
    restic(tmp_path / "repo", "restore", "latest", "--target", str(target2))
    assert_same_tree(source, target2 / source.relative_to("/"))

    listed = restic(tmp_path / "repo", "snapshots", "--json").stdout
    assert first.id.hex() in listed


def test_we_restore_what_restic_writes(tmp_path: Path, dataset: Path, restic: Restic) -> None:
    repo_path = tmp_path / "restic-repo"
    restic(repo_path, "init", "--repository-version", "2")
    restic(repo_path, "backup", str(dataset))
    repo = Repository.open(LocalBackend(repo_path), PASSWORD)
    assert repo.version == 2
    snapshot = repo.find_snapshot("latest")
    assert snapshot.paths == [str(dataset)]
    target = tmp_path / "ours"
    stats = restore(repo, snapshot, str(target), verify=True)
    assert stats.errors == []
    assert_same_tree(dataset, target / dataset.relative_to("/"))


def test_restic_backs_up_into_our_repository(tmp_path: Path, dataset: Path, restic: Restic) -> None:
    """Our config (chunker polynomial included) and key file satisfy restic when it writes."""
    repo = Repository.init(LocalBackend(tmp_path / "repo"), PASSWORD, scrypt_params=FAST_SCRYPT)
    backup(repo, [str(dataset / "logs")])
    restic(tmp_path / "repo", "backup", str(dataset))
    reopened = Repository.open(LocalBackend(tmp_path / "repo"), PASSWORD)
    snapshots = reopened.list_snapshots()
    assert len(snapshots) == 2
    target = tmp_path / "out"
    restore(reopened, snapshots[-1], str(target), verify=True)
    assert_same_tree(dataset, target / dataset.relative_to("/"))
    assert "no errors were found" in restic(tmp_path / "repo", "check", "--read-data").stdout


def test_we_restore_a_version_1_repository(tmp_path: Path, dataset: Path, restic: Restic) -> None:
    """Version 1 (no compression, plain JSON files) is read too."""
    repo_path = tmp_path / "restic-repo-v1"
    restic(repo_path, "init", "--repository-version", "1")
    restic(repo_path, "backup", str(dataset / "small"), str(dataset / "logs"))
    repo = Repository.open(LocalBackend(repo_path), PASSWORD)
    assert repo.version == 1
    target = tmp_path / "ours"
    restore(repo, repo.find_snapshot("latest"), str(target), verify=True)
    for part in ("small", "logs"):
        assert_same_tree(dataset / part, target / dataset.relative_to("/") / part)


def test_incremental_runs_over_a_restic_parent(
    tmp_path: Path, dataset: Path, restic: Restic
) -> None:
    """restic's trees serve as our parent (no file read again); restic checks every byte of
    the unchanged runs' result and restores it."""
    repo_path = tmp_path / "repo"
    Repository.init(LocalBackend(repo_path), PASSWORD, scrypt_params=FAST_SCRYPT)
    source = tmp_path / "src"
    shutil.copytree(dataset, source, symlinks=True)
    restic(repo_path, "backup", str(source))
    repo = Repository.open(LocalBackend(repo_path), PASSWORD)
    parent = repo.find_snapshot("latest")

    ours, stats = backup(repo, [str(source)], parent=parent)
    assert ours.parent == parent.id
    assert stats.files_read == 0 and stats.files_unmodified == stats.files > 200
    again, stats = backup(repo, [str(source)])  # unchanged, over our own snapshot
    assert again.parent == ours.id and stats.files_read == 0

    assert "no errors were found" in restic(repo_path, "check", "--read-data").stdout
    target = tmp_path / "restic-restore"
    restic(repo_path, "restore", again.id.hex(), "--target", str(target))
    assert_same_tree(source, target / source.relative_to("/"))
