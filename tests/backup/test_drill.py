"""Restore drills: every file compared, times measured, failures reported."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from infogerance.backup import restorer as restorer_module
from infogerance.backup.archiver import backup
from infogerance.backup.backend import FileKind
from infogerance.backup.drill import restore_drill
from infogerance.backup.errors import InvalidInput
from infogerance.backup.formats import Node
from infogerance.backup.pack import BlobType
from infogerance.backup.repository import Repository


def test_successful_drill(tmp_path: Path, dataset: Path, repo: Repository) -> None:
    snapshot, stats = backup(repo, [str(dataset)])
    report = restore_drill(repo, snapshot, str(tmp_path / "scratch"))
    assert report.ok, report
    assert report.files == stats.files
    assert report.bytes == stats.bytes_read
    assert report.snapshot_age_seconds >= 0 and report.restore_seconds > 0
    assert len(report.manifest_sha256) == 64
    assert not (tmp_path / "scratch").exists()  # removed afterwards
    again = restore_drill(repo, snapshot, str(tmp_path / "scratch2"), keep=True)
    assert again.manifest_sha256 == report.manifest_sha256
    assert (tmp_path / "scratch2").is_dir()
    with pytest.raises(InvalidInput, match="must be empty"):
        restore_drill(repo, snapshot, str(tmp_path / "scratch2"))


def test_drill_finds_a_file_that_differs_on_disk(
    tmp_path: Path, dataset: Path, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot, _ = backup(repo, [str(dataset)])
    original = restorer_module.Restorer._write_content

    def tamper(self: restorer_module.Restorer, node: Node, fd: int) -> tuple[int, Any]:
        written, digest = original(self, node, fd)
        if node.name == "app.log":
            os.write(fd, b"!")  # as a faulty disk or a bug in the restore would
        return written, digest

    monkeypatch.setattr(restorer_module.Restorer, "_write_content", tamper)
    report = restore_drill(repo, snapshot, str(tmp_path / "scratch"))
    assert not report.ok
    assert report.mismatched == [f"{dataset}/logs/app.log"]


def test_drill_on_a_damaged_repository_fails_with_the_reason(
    tmp_path: Path, dataset: Path, repo: Repository
) -> None:
    snapshot, _ = backup(repo, [str(dataset / "logs")])
    pack_id = next(pack for pack, blob in repo.index.entries() if blob.type is BlobType.DATA)
    repo.backend.delete(FileKind.DATA, pack_id.hex())
    report = restore_drill(repo, snapshot, str(tmp_path / "scratch"))
    assert not report.ok
    assert report.errors and "does not exist" in report.errors[0]
