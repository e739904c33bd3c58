"""Verification tiers: damage is found and traced to the files it affects."""

from __future__ import annotations

from pathlib import Path

from infogerance.backup.archiver import backup
from infogerance.backup.backend import FileKind
from infogerance.backup.check import select_packs, verify
from infogerance.backup.pack import BlobType
from infogerance.backup.repository import Repository

from .conftest import PASSWORD


def _pack_of(repo: Repository, dataset: Path, name: str) -> tuple[str, int]:
    """The pack holding the first blob of a file, and that blob's offset."""
    snapshot = repo.find_snapshot("latest")
    tree = snapshot.tree
    for part in [*dataset.parts[1:], name]:
        node = next(n for n in repo.load_tree(tree) if n.name == part)
        tree = node.subtree or b""
    assert node.content
    found = repo.index.lookup(BlobType.DATA, node.content[0])
    assert found is not None
    return found[0].hex(), found[1].offset


def test_clean_repository_passes_every_tier(dataset: Path, repo: Repository) -> None:
    backup(repo, [str(dataset)])
    for tier in ("structure", "subset", "all"):
        report = verify(repo, read=tier, subset=(1, 1))
        assert report.ok, report.errors
        assert report.affected_files == []
    assert verify(repo, read="all").packs_read == len(list(repo.backend.list(FileKind.DATA)))


def test_flipped_byte_is_detected_with_the_files_it_affects(
    tmp_path: Path, dataset: Path, repo: Repository
) -> None:
    backup(repo, [str(dataset)])
    pack, offset = _pack_of(repo, dataset, "random-2.bin")
    path = tmp_path / "repo" / "data" / pack[:2] / pack
    data = bytearray(path.read_bytes())
    data[offset + 100] ^= 0x01
    path.write_bytes(bytes(data))

    assert verify(repo, read="structure").ok  # headers are intact: only reading finds it
    report = verify(Repository.open(repo.backend, PASSWORD), read="all")
    assert not report.ok
    assert pack in report.damaged_packs
    assert any("does not match its ID" in e for e in report.errors)
    assert any("verification failed" in e for e in report.errors)
    affected = "\n".join(report.affected_files)
    assert f"{dataset}/random-2.bin" in affected
    assert f"{dataset}/empty\n" not in affected + "\n"  # no blob, cannot be affected


def test_missing_pack_is_reported_by_the_structure_check(
    tmp_path: Path, dataset: Path, repo: Repository
) -> None:
    backup(repo, [str(dataset)])
    pack, _ = _pack_of(repo, dataset, "big.bin")
    repo.backend.delete(FileKind.DATA, pack)
    report = verify(Repository.open(repo.backend, PASSWORD), read="structure")
    assert any(e.startswith(f"pack {pack[:16]} is missing") for e in report.errors)
    assert any(a.endswith(f"{dataset}/big.bin") for a in report.affected_files)


def test_rolling_subsets_cover_every_pack_once() -> None:
    names = [f"{i:02x}" + "0" * 62 for i in range(256)]
    seen: list[str] = []
    for n in range(1, 8):
        seen += select_packs(names, (n, 7))
    assert sorted(seen) == names


def test_truncated_pack_is_reported(tmp_path: Path, dataset: Path, repo: Repository) -> None:
    backup(repo, [str(dataset)])
    pack, _ = _pack_of(repo, dataset, "random-1.bin")
    path = tmp_path / "repo" / "data" / pack[:2] / pack
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    report = verify(Repository.open(repo.backend, PASSWORD), read="structure")
    assert any(e.startswith(f"pack {pack[:16]} has an unreadable header") for e in report.errors)
    assert any(a.endswith(f"{dataset}/random-1.bin") for a in report.affected_files)
