"""Two-phase prune: condemned packs are deleted only after the delay and without older locks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from infogerance.backup.archiver import backup
from infogerance.backup.backend import FileKind
from infogerance.backup.check import verify
from infogerance.backup.locks import acquire_lock
from infogerance.backup.prune import prune
from infogerance.backup.repository import Repository
from infogerance.backup.restorer import restore
from infogerance.backup.retention import RetentionPolicy, forget

from .conftest import PASSWORD, assert_same_tree


def _packs(repo: Repository) -> set[str]:
    return {name for name, _ in repo.backend.list(FileKind.DATA)}


def _two_snapshots(tmp_path: Path, repo: Repository) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "keep.bin").write_bytes(b"k" * 10 + bytes(range(256)) * 2000)
    (source / "gone.bin").write_bytes(bytes(range(256))[::-1] * 4000)
    backup(repo, [str(source)], pack_size=100_000)
    (source / "gone.bin").unlink()
    backup(repo, [str(source)], pack_size=100_000)
    return source


def test_prune_deletes_only_after_the_delay(tmp_path: Path, repo: Repository) -> None:
    source = _two_snapshots(tmp_path, repo)
    forget(repo, RetentionPolicy(last=1))
    before = _packs(repo)

    first = prune(repo, delay_ns=3600 * 10**9)
    assert first.packs_condemned >= 1
    assert first.packs_deleted == 0
    assert _packs(repo) >= before  # nothing deleted yet
    assert verify(repo, read="all").ok

    second = prune(repo, delay_ns=3600 * 10**9)  # not due yet
    assert second.packs_deleted == 0

    third = prune(repo, delay_ns=0)
    assert third.packs_deleted == first.packs_condemned + first.packs_repacked
    assert len(_packs(repo)) < len(before) + first.packs_repacked
    report = verify(repo, read="all")
    assert report.ok and report.warnings == []
    target = tmp_path / "out"
    restore(repo, repo.find_snapshot("latest"), str(target), verify=True)
    assert_same_tree(source, target / source.relative_to("/"))


def test_deletion_waits_for_older_locks(tmp_path: Path, repo: Repository) -> None:
    _two_snapshots(tmp_path, repo)
    forget(repo, RetentionPolicy(last=1))
    older = acquire_lock(repo)  # a backup that started before the condemnation
    try:
        prune(repo, delay_ns=0)
        postponed = prune(repo, delay_ns=0)
        assert postponed.records_postponed == 1
        assert postponed.packs_deleted == 0
    finally:
        older.release()
    assert prune(repo, delay_ns=0).packs_deleted >= 1


def test_condemned_pack_used_again_is_put_back(tmp_path: Path, repo: Repository) -> None:
    """A backup that deduplicated against the old index keeps its data."""
    source = _two_snapshots(tmp_path, repo)
    forget(repo, RetentionPolicy(last=1))
    prune(repo, delay_ns=0)  # condemns the packs of the forgotten snapshot
    # A backup that loaded the index before the condemnation writes a snapshot that
    # refers to blobs now only in condemned packs (here: the forgotten root tree).
    doc = repo.list_snapshots()[0].to_json_dict()
    doc["tree"] = _forgotten_root_tree(repo).hex()
    repo.save_unpacked(FileKind.SNAPSHOTS, doc)
    # A fresh process: no tree read earlier (cached) may stand in for the condemned one.
    report = prune(Repository.open(repo.backend, PASSWORD), delay_ns=0)
    assert report.packs_resurrected >= 1
    reopened = Repository.open(repo.backend, PASSWORD)
    assert verify(reopened, read="all").ok
    target = tmp_path / "out"
    for snapshot in reopened.list_snapshots():
        restore(reopened, snapshot, str(target / snapshot.short_id), verify=True)
    assert (target / doc_short(reopened, doc) / source.relative_to("/") / "gone.bin").exists()


def doc_short(repo: Repository, doc: dict[str, Any]) -> str:
    return next(s.short_id for s in repo.list_snapshots() if s.tree.hex() == doc["tree"])


def _forgotten_root_tree(repo: Repository) -> bytes:
    """The root tree of the forgotten first snapshot (kept in a record's packs)."""
    from infogerance.backup.check import read_pack_header
    from infogerance.backup.formats import decode_tree
    from infogerance.backup.pack import BlobType

    repo.reload_index()
    indexed = repo.index.pack_ids()
    sizes = dict(repo.backend.list(FileKind.DATA))
    for name, size in sizes.items():
        if bytes.fromhex(name) in indexed:
            continue
        data = repo.backend.read(FileKind.DATA, name)
        for blob in read_pack_header(repo, name, size):
            if blob.type is BlobType.TREE:
                plain = repo.open_blob(data[blob.offset : blob.offset + blob.length], blob, True)
                nodes = decode_tree(plain)
                if nodes and nodes[0].name == "tmp":
                    return blob.id
    raise AssertionError("no condemned root tree found")


def test_restic_accepts_a_pruned_repository(
    tmp_path: Path, repo: Repository, restic: Callable[..., Any]
) -> None:
    _two_snapshots(tmp_path, repo)
    forget(repo, RetentionPolicy(last=1))
    prune(repo, delay_ns=3600 * 10**9)  # condemned packs still on disk, unindexed
    assert "no errors were found" in restic(tmp_path / "repo", "check", "--read-data").stdout
    prune(repo, delay_ns=0)
    assert "no errors were found" in restic(tmp_path / "repo", "check", "--read-data").stdout
