"""Backing up and restoring with our engine alone: fidelity, incremental runs, options."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from infogerance.backup.archiver import backup
from infogerance.backup.errors import InvalidInput
from infogerance.backup.formats import format_time, parse_time
from infogerance.backup.pack import BlobType
from infogerance.backup.repository import Repository
from infogerance.backup.restorer import restore

from .conftest import assert_same_tree


def test_round_trip_is_byte_identical(tmp_path: Path, dataset: Path, repo: Repository) -> None:
    snapshot, stats = backup(repo, [str(dataset)], tags=["nightly"])
    assert stats.errors == []
    assert stats.files_new == stats.files_read > 200
    target = tmp_path / "restored"
    result = restore(repo, snapshot, str(target), verify=True)
    assert result.errors == []
    assert result.blobs_verified > 0
    restored = target / dataset.relative_to("/")
    assert_same_tree(dataset, restored)
    private = (restored / "private.txt").stat()
    assert (restored / "small" / "hard-link-to-private.txt").stat().st_ino == private.st_ino
    assert private.st_nlink == 2
    [listed] = repo.list_snapshots()
    assert listed.tags == ["nightly"]
    assert listed.paths == [str(dataset)]


def test_compression_is_used_only_when_it_helps(dataset: Path, repo: Repository) -> None:
    _, stats = backup(repo, [str(dataset)])
    compressed = stored = 0
    for _pack, blob in repo.index.entries():
        if blob.type is BlobType.DATA:
            if blob.uncompressed_length:
                compressed += 1
            else:
                stored += 1
    assert compressed and stored  # text compresses, random bytes are stored as they are
    assert stats.pack_bytes_written < stats.bytes_read


def test_deduplication(tmp_path: Path, dataset: Path, repo: Repository) -> None:
    backup(repo, [str(dataset)])
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy, symlinks=True)
    _, stats = backup(repo, [str(copy)])
    assert stats.files_new > 0
    # Only trees are new: every data blob was already in the repository.
    assert stats.bytes_added < 200_000


def test_incremental_run_does_not_read_unchanged_files(tmp_path: Path, repo: Repository) -> None:
    source = tmp_path / "src"
    source.mkdir()
    unchanged = source / "unchanged.txt"
    changed = source / "changed.txt"
    unchanged.write_bytes(b"original content A\n" * 1000)
    changed.write_bytes(b"original content B\n" * 1000)
    first, _ = backup(repo, [str(source)])

    # Rewrite the "unchanged" file in place with other bytes of the same size, and put its
    # mtime back: size, mtime and inode are as before. If the engine read it, the next
    # snapshot would hold the new bytes; skipping it, the snapshot keeps the old ones.
    st = unchanged.stat()
    with open(unchanged, "r+b") as f:
        f.write(b"X" * st.st_size)
    os.utime(unchanged, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert unchanged.stat().st_ino == st.st_ino
    changed.write_bytes(b"new content B\n" * 1000)

    second, stats = backup(repo, [str(source)])
    assert second.parent == first.id
    assert stats.files_unmodified == 1
    assert stats.files_changed == 1
    assert stats.files_read == 1
    target = tmp_path / "out"
    restore(repo, second, str(target))
    restored = target / source.relative_to("/")
    assert (restored / "unchanged.txt").read_bytes() == b"original content A\n" * 1000
    assert (restored / "changed.txt").read_bytes() == b"new content B\n" * 1000

    # Without a parent every file is read again.
    third, stats = backup(repo, [str(source)], parent=None)
    assert stats.files_read == 2
    assert third.parent is None


def test_restore_of_a_sub_path(tmp_path: Path, dataset: Path, repo: Repository) -> None:
    snapshot, _ = backup(repo, [str(dataset)])
    target = tmp_path / "part"
    include = str(dataset / "small" / "d1")
    restore(repo, snapshot, str(target), include=include)
    restored = target / dataset.relative_to("/") / "small"
    assert [p.name for p in restored.iterdir()] == ["d1"]
    assert_same_tree(dataset / "small" / "d1", restored / "d1")
    with pytest.raises(InvalidInput):
        restore(repo, snapshot, str(target), include=str(dataset / "nope"))


def test_several_paths_and_excludes(tmp_path: Path, dataset: Path, repo: Repository) -> None:
    snapshot, _ = backup(
        repo, [str(dataset / "logs"), str(dataset / "small")], excludes=["f1*.txt"]
    )
    assert snapshot.paths == sorted([str(dataset / "logs"), str(dataset / "small")])
    target = tmp_path / "out"
    restore(repo, snapshot, str(target))
    base = target / dataset.relative_to("/")
    assert sorted(p.name for p in base.iterdir()) == ["logs", "small"]
    names = {p.name for p in (base / "small").rglob("*.txt")}
    assert "f2.txt" in names
    assert not any(n.startswith("f1") for n in names)


def test_missing_path_is_refused(tmp_path: Path, repo: Repository) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        backup(repo, [str(tmp_path / "missing")])
    assert repo.list_snapshots() == []


def test_times_round_trip() -> None:
    for ns in (0, 1_500_000_000_987_654_321, 1_700_000_000_000_000_000, -5_000_000_123):
        assert parse_time(format_time(ns)) == ns
        assert parse_time(format_time(ns, utc=True)) == ns
    assert parse_time("2014-12-22T14:47:59.912418701+01:00") == 1419256079_912418701
    assert parse_time("0001-01-01T00:00:00Z") < 0


def test_restore_over_an_existing_tree_never_follows_its_symlinks(
    tmp_path: Path, dataset: Path, repo: Repository
) -> None:
    snapshot, _ = backup(repo, [str(dataset / "logs")])
    target = tmp_path / "t"
    outside = tmp_path / "outside"
    outside.mkdir()
    parent = target / dataset.relative_to("/")
    parent.mkdir(parents=True)
    (parent / "logs").symlink_to(outside)  # where the snapshot has a directory
    restore(repo, snapshot, str(target))
    assert list(outside.iterdir()) == []
    assert (parent / "logs").is_dir() and not (parent / "logs").is_symlink()
    # A second restore into the same place replaces files and gives the same tree.
    (parent / "logs" / "app.log").write_text("stale")
    restore(repo, snapshot, str(target))
    assert_same_tree(dataset / "logs", parent / "logs")
