"""Verifying a repository, in tiers.

* ``structure`` (always): every index file decrypts; every pack the index names exists
  and its header (read from the end of the pack) matches the index; every snapshot's
  trees are indexed and decode, and every file's data blobs are indexed with sizes that
  add up to the file's size. Packs that no index names are reported as warnings.
* ``subset``: additionally, a subset of the packs is read whole: the pack's SHA-256 must be
  its name and every blob must authenticate, decrypt and hash to its ID. ``(n, m)`` reads
  the packs whose first ID byte modulo ``m`` is ``n - 1``, so ``m`` runs with ``n`` going
  from 1 to ``m`` read everything once (a rolling verification).
* ``all``: every pack is read.

Every damaged or missing blob is traced to the files (and snapshots) that need it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from .backend import FileKind
from .errors import BackupError, IntegrityError
from .formats import Node, Snapshot
from .index import Index
from .pack import BlobType, PackedBlob, decode_pack_header, split_pack_trailer
from .repository import Repository

_TAIL = 16 * 1024


@dataclass
class VerifyReport:
    snapshots: int = 0
    index_files: int = 0
    packs: int = 0
    packs_read: int = 0
    blobs_read: int = 0
    bytes_read: int = 0
    trees: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    damaged_packs: set[str] = field(default_factory=set)
    affected_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


ProgressCallback = Callable[[str, int, int], None]


def read_pack_header(repo: Repository, pack_name: str, size: int) -> list[PackedBlob]:
    tail = repo.backend.read(FileKind.DATA, pack_name, max(0, size - _TAIL), min(size, _TAIL))
    header_length = split_pack_trailer(tail, size)
    if header_length + 4 <= len(tail):
        encrypted = tail[len(tail) - 4 - header_length : len(tail) - 4]
    else:
        encrypted = repo.backend.read(
            FileKind.DATA, pack_name, size - 4 - header_length, header_length
        )
    return decode_pack_header(repo.key, encrypted, size)


def select_packs(names: list[str], subset: tuple[int, int]) -> list[str]:
    n, m = subset
    if not 1 <= n <= m <= 256:
        raise ValueError("the subset must be n/m with 1 <= n <= m <= 256")
    return [name for name in names if int(name[:2], 16) % m == n - 1]


class Checker:
    def __init__(self, repo: Repository, progress: ProgressCallback | None = None) -> None:
        self.repo = repo
        self.progress = progress
        self.report = VerifyReport()
        self.damaged_blobs: set[tuple[BlobType, bytes]] = set()
        self._clean_trees: set[bytes] = set()
        self._bad_trees: dict[bytes, list[str]] = {}

    def run(
        self, *, read: str = "structure", subset: tuple[int, int] | None = None
    ) -> VerifyReport:
        if read not in ("structure", "subset", "all"):
            raise ValueError(f"unknown verification tier {read!r}")
        report = self.report
        snapshots = self.repo.list_snapshots()  # before the index: see the format's ordering rule
        report.snapshots = len(snapshots)
        expected = self._load_index()
        on_disk = dict(self.repo.backend.list(FileKind.DATA))
        report.packs = len(on_disk)
        for name in sorted(set(on_disk) - set(expected)):
            report.warnings.append(f"pack {name[:16]} is not referenced by any index")
        names = sorted(expected)
        for i, name in enumerate(names):
            if self.progress:
                self.progress("headers", i, len(names))
            if name not in on_disk:
                self._pack_error(name, expected[name], "is missing")
                continue
            try:
                header = read_pack_header(self.repo, name, on_disk[name])
            except (IntegrityError, BackupError) as exc:
                self._pack_error(name, expected[name], f"has an unreadable header: {exc}")
                continue
            self._compare(name, header, expected[name])
        if read != "structure":
            to_read = [n for n in names if n in on_disk]
            if read == "subset":
                to_read = select_packs(to_read, subset or (1, 10))
            for i, name in enumerate(to_read):
                if self.progress:
                    self.progress("data", i, len(to_read))
                self._read_pack(name, expected[name])
        for snapshot in snapshots:
            self._check_snapshot(snapshot)
        return report

    def _load_index(self) -> dict[str, list[PackedBlob]]:
        expected: dict[str, list[PackedBlob]] = defaultdict(list)
        seen: set[tuple[str, BlobType, bytes, int]] = set()
        index = Index()
        for name, _size in self.repo.backend.list(FileKind.INDEX):
            self.report.index_files += 1
            try:
                doc = self.repo.load_unpacked(FileKind.INDEX, name)
                index.add_index_document(doc)
                for pack in doc["packs"]:
                    for blob in pack.get("blobs") or []:
                        entry = PackedBlob(
                            bytes.fromhex(blob["id"]),
                            BlobType.from_label(blob["type"]),
                            int(blob["offset"]),
                            int(blob["length"]),
                            int(blob.get("uncompressed_length") or 0),
                        )
                        key = (pack["id"], entry.type, entry.id, entry.offset)
                        if key not in seen:
                            seen.add(key)
                            expected[pack["id"]].append(entry)
            except (BackupError, KeyError, TypeError, ValueError) as exc:
                self.report.errors.append(f"index file {name[:16]}: {exc}")
        self.repo.use_index(index)  # what was just read, not a second read of the files
        return expected

    def _pack_error(self, name: str, blobs: list[PackedBlob], problem: str) -> None:
        self.report.errors.append(f"pack {name[:16]} {problem}")
        self.report.damaged_packs.add(name)
        self.damaged_blobs.update((b.type, b.id) for b in blobs)

    def _compare(self, name: str, header: list[PackedBlob], expected: list[PackedBlob]) -> None:
        in_header = {(b.type, b.id, b.offset, b.length, b.uncompressed_length) for b in header}
        for b in expected:
            if (b.type, b.id, b.offset, b.length, b.uncompressed_length) not in in_header:
                self.report.errors.append(
                    f"pack {name[:16]}: {b.type.label} blob {b.id.hex()[:16]} of the index "
                    "is not in the pack header"
                )
                self.report.damaged_packs.add(name)
                self.damaged_blobs.add((b.type, b.id))

    def _read_pack(self, name: str, expected: list[PackedBlob]) -> None:
        try:
            data = self.repo.backend.read(FileKind.DATA, name)
        except BackupError as exc:
            self._pack_error(name, expected, f"cannot be read: {exc}")
            return
        self.report.packs_read += 1
        self.report.bytes_read += len(data)
        if hashlib.sha256(data).hexdigest() != name:
            self.report.errors.append(f"pack {name[:16]}: content does not match its ID")
            self.report.damaged_packs.add(name)
        for blob in expected:
            encrypted = data[blob.offset : blob.offset + blob.length]
            try:
                self.repo.open_blob(encrypted, blob, verify=True)
            except IntegrityError as exc:
                self.report.errors.append(f"pack {name[:16]}: {exc}")
                self.report.damaged_packs.add(name)
                self.damaged_blobs.add((blob.type, blob.id))
            self.report.blobs_read += 1

    # -- snapshots and trees ----------------------------------------------------------
    def _check_snapshot(self, snapshot: Snapshot) -> None:
        for path in self._check_tree(snapshot.tree):
            self.report.affected_files.append(f"snapshot {snapshot.short_id}: /{path}")

    def _check_tree(self, tree_id: bytes) -> list[str]:
        """Paths (relative to this tree) that cannot be restored intact; "" for the tree."""
        if tree_id in self._clean_trees:
            return []
        if tree_id in self._bad_trees:
            return self._bad_trees[tree_id]
        self.report.trees += 1
        affected: list[str] = []
        if (BlobType.TREE, tree_id) in self.damaged_blobs:
            affected = [""]
        else:
            try:
                nodes = self.repo.load_tree(tree_id)
            except BackupError as exc:
                self.report.errors.append(f"tree {tree_id.hex()[:16]}: {exc}")
                nodes = None
                affected = [""]
            for node in nodes or []:
                if node.type == "dir":
                    if node.subtree is None:
                        self.report.errors.append(
                            f"tree {tree_id.hex()[:16]}: dir {node.name!r} has no subtree"
                        )
                        affected.append(node.name)
                        continue
                    affected.extend(
                        f"{node.name}/{p}" if p else node.name
                        for p in self._check_tree(node.subtree)
                    )
                elif node.type == "file" and self._file_damaged(tree_id, node, node.content):
                    affected.append(node.name)
        if affected:
            self._bad_trees[tree_id] = affected
        else:
            self._clean_trees.add(tree_id)
        return affected

    def _file_damaged(self, tree_id: bytes, node: Node, content: list[bytes] | None) -> bool:
        where = f"tree {tree_id.hex()[:16]}: file {node.name!r}"
        if content is None:
            self.report.errors.append(f"{where} has no content list")
            return True
        damaged = False
        total = 0
        for blob_id in content:
            if (BlobType.DATA, blob_id) in self.damaged_blobs:
                damaged = True
            found = self.repo.index.lookup(BlobType.DATA, blob_id)
            if found is None:
                self.report.errors.append(f"{where}: blob {blob_id.hex()[:16]} is not indexed")
                return True
            total += found[1].plaintext_length
        if total != node.size:
            self.report.errors.append(f"{where}: size {node.size} but blobs hold {total} bytes")
            return True
        return damaged


def verify(
    repo: Repository,
    *,
    read: str = "structure",
    subset: tuple[int, int] | None = None,
    progress: ProgressCallback | None = None,
) -> VerifyReport:
    return Checker(repo, progress).run(read=read, subset=subset)
