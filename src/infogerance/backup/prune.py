"""Reclaiming space in two phases, so that backups never have to stop for it.

Phase 1 (condemnation): with a non-exclusive lock, find the blobs still used by some
snapshot; packs holding no used blob are condemned; packs whose unused part is larger
than ``max_unused`` are repacked (their used blobs, still encrypted, are copied into new
packs) and condemned too. New index files without the condemned packs replace the old
ones (``supersedes``), and a record listing the condemned packs with the time is written
to ``infogerance-pending/``. Nothing is deleted yet: a backup that loaded the old index may
still refer to those blobs.

Phase 2 (deletion), at a later prune: for each record older than the safety delay, and only
if no live lock started before the record (a backup that might have seen the old index),
the snapshots are read again; a condemned pack holding a blob that some snapshot now uses
is put back into the index, the others are deleted. Then the record is removed.

A pack that no index names and no record condemns (left by a killed backup, or being
written by a running one) is condemned the same way, so it is deleted only after the delay.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .backend import FileKind
from .check import read_pack_header
from .errors import BackupError, FileNotFound
from .formats import Node, decode_tree, format_time, parse_id, parse_time
from .index import encode_index
from .locks import list_locks, locked
from .pack import BlobType, PackedBlob
from .repository import Repository
from .writer import INDEX_EVERY_BLOBS, BlobWriter

DEFAULT_DELAY_NS = 24 * 3600 * 1_000_000_000


@dataclass
class PruneReport:
    packs_condemned: int = 0
    packs_repacked: int = 0
    packs_deleted: int = 0
    packs_resurrected: int = 0
    bytes_deleted: int = 0
    records_postponed: int = 0
    index_files_replaced: int = 0
    notes: list[str] = field(default_factory=list)


def used_blobs(
    repo: Repository, condemned_trees: dict[bytes, tuple[str, PackedBlob]] | None = None
) -> set[tuple[BlobType, bytes]]:
    """Every blob some snapshot needs. Raises if a tree cannot be read (never guess).

    ``condemned_trees`` locates the tree blobs of condemned packs (no longer indexed): a
    snapshot written by a backup that loaded the index before the condemnation may need
    them, and its trees must be read to know which data blobs it needs.
    """
    used: set[tuple[BlobType, bytes]] = set()
    stack = [s.tree for s in repo.list_snapshots()]
    while stack:
        tree_id = stack.pop()
        if (BlobType.TREE, tree_id) in used:
            continue
        used.add((BlobType.TREE, tree_id))
        for node in _load_tree(repo, tree_id, condemned_trees or {}):
            if node.subtree is not None:
                stack.append(node.subtree)
            for blob_id in node.content or []:
                used.add((BlobType.DATA, blob_id))
    return used


def _load_tree(
    repo: Repository, tree_id: bytes, condemned_trees: dict[bytes, tuple[str, PackedBlob]]
) -> list[Node]:
    try:
        return repo.load_tree(tree_id)
    except FileNotFound:
        if tree_id not in condemned_trees:
            raise
    pack, blob = condemned_trees[tree_id]
    encrypted = repo.backend.read(FileKind.DATA, pack, blob.offset, blob.length)
    return decode_tree(repo.open_blob(encrypted, blob, verify=True))


class Pruner:
    def __init__(
        self,
        repo: Repository,
        *,
        delay_ns: int = DEFAULT_DELAY_NS,
        max_unused: float = 0.1,
        dry_run: bool = False,
    ) -> None:
        self.repo = repo
        self.delay_ns = delay_ns
        self.max_unused = max_unused
        self.dry_run = dry_run
        self.report = PruneReport()

    def run(self) -> PruneReport:
        with locked(self.repo) as lock:
            self._delete_due(lock.id)
            self._condemn()
        return self.report

    # -- phase 2 ---------------------------------------------------------------------
    def _records(self) -> list[tuple[str, int, list[str]]]:
        records = []
        for name, _size in self.repo.backend.list(FileKind.PENDING):
            doc = self.repo.load_unpacked(FileKind.PENDING, name)
            records.append((name, parse_time(doc["time"]), [str(p) for p in doc["packs"]]))
        return records

    def _delete_due(self, own_lock: str) -> None:
        now = time.time_ns()
        due = [r for r in self._records() if r[1] + self.delay_ns <= now]
        if not due:
            return
        locks = [lk for lk in list_locks(self.repo) if lk.id != own_lock and not lk.is_stale()]
        ready = []
        for name, when, packs in due:
            blockers = [lk for lk in locks if lk.started is None or lk.started <= when]
            if blockers:
                self.report.records_postponed += 1
                self.report.notes.append(
                    f"deletion of {len(packs)} packs postponed: {blockers[0].describe()}"
                )
            else:
                ready.append((name, packs))
        if not ready:
            return
        on_disk = dict(self.repo.backend.list(FileKind.DATA))
        # The tree blobs of the condemned packs (only those: headers are read again below,
        # one at a time, so that memory does not grow with the number of packs).
        condemned_trees: dict[bytes, tuple[str, PackedBlob]] = {}
        for _name, packs in ready:
            for pack in packs:
                if pack in on_disk:
                    for b in read_pack_header(self.repo, pack, on_disk[pack]):
                        if b.type is BlobType.TREE:
                            condemned_trees[b.id] = (pack, b)
        # Snapshots read now, after every older backup ended.
        used = used_blobs(self.repo, condemned_trees)
        index = self.repo.reload_index()
        resurrect: list[tuple[bytes, list[PackedBlob]]] = []
        for name, packs in ready:
            for pack in packs:
                if pack not in on_disk:
                    continue
                header = read_pack_header(self.repo, pack, on_disk[pack])
                needed = [
                    b for b in header if (b.type, b.id) in used and not index.has(b.type, b.id)
                ]
                if needed:
                    resurrect.append((bytes.fromhex(pack), header))
                    self.report.packs_resurrected += 1
                    continue
                if any(index.lookup(b.type, b.id) == (bytes.fromhex(pack), b) for b in header):
                    continue  # indexed again meanwhile (e.g. restic's repair): keep it
                if not self.dry_run:
                    self.repo.backend.delete(FileKind.DATA, pack)
                self.report.packs_deleted += 1
                self.report.bytes_deleted += on_disk[pack]
            if not self.dry_run:
                if resurrect:
                    self.repo.save_unpacked(FileKind.INDEX, encode_index(resurrect, []))
                    for pack_id, blobs in resurrect:
                        index.add_pack(pack_id, blobs)
                    resurrect = []
                self.repo.backend.delete(FileKind.PENDING, name)

    # -- phase 1 ---------------------------------------------------------------------
    def _condemn(self) -> None:
        already = {p for _name, _when, packs in self._records() for p in packs}
        index_files = [name for name, _ in self.repo.backend.list(FileKind.INDEX)]
        packs: dict[str, list[PackedBlob]] = {}
        for name in index_files:
            doc = self.repo.load_unpacked(FileKind.INDEX, name)
            for pack in doc["packs"]:
                entries = packs.setdefault(str(pack["id"]), [])
                if entries:
                    continue  # the same pack in two index files
                for blob in pack.get("blobs") or []:
                    entries.append(
                        PackedBlob(
                            parse_id(blob["id"]),
                            BlobType.from_label(blob["type"]),
                            int(blob["offset"]),
                            int(blob["length"]),
                            int(blob.get("uncompressed_length") or 0),
                        )
                    )
        used = used_blobs(self.repo)
        on_disk = dict(self.repo.backend.list(FileKind.DATA))
        kept_blobs: set[tuple[BlobType, bytes]] = set()
        keep: list[tuple[bytes, list[PackedBlob]]] = []
        condemned: list[str] = []
        repack: list[tuple[str, list[PackedBlob]]] = []
        for pack, blobs in sorted(packs.items()):
            if pack not in on_disk:
                self.report.notes.append(f"pack {pack[:16]} of the index is missing; dropped")
                continue
            wanted = [
                b for b in blobs if (b.type, b.id) in used and (b.type, b.id) not in kept_blobs
            ]
            kept_blobs.update((b.type, b.id) for b in wanted)
            if not wanted:
                condemned.append(pack)
                continue
            unused = sum(b.length for b in blobs if b not in wanted)
            if unused > self.max_unused * on_disk[pack]:
                repack.append((pack, wanted))
            else:
                keep.append((bytes.fromhex(pack), blobs))
        for pack in sorted(set(on_disk) - set(packs) - already):
            condemned.append(pack)  # unindexed: deleted after the delay unless needed then
        self.report.packs_condemned = len(condemned)
        self.report.packs_repacked = len(repack)
        if self.dry_run or not (condemned or repack):
            return
        if repack:
            writer = BlobWriter(self.repo)
            for pack, wanted in repack:
                data = self.repo.backend.read(FileKind.DATA, pack)
                for b in wanted:
                    encrypted = data[b.offset : b.offset + b.length]
                    self.repo.open_blob(encrypted, b, verify=True)  # never copy damage
                    writer.add(b.type, b.id, encrypted, b.uncompressed_length)
            writer.flush()  # new packs, then their own index file
        # The new index (kept packs) before the old files go, then the record.
        superseded = [bytes.fromhex(n) for n in index_files]
        step = max(1, INDEX_EVERY_BLOBS // 100)
        for start in range(0, len(keep), step):
            self.repo.save_unpacked(
                FileKind.INDEX, encode_index(keep[start : start + step], superseded)
            )
        for name in index_files:
            self.repo.backend.delete(FileKind.INDEX, name)
        self.report.index_files_replaced = len(index_files)
        self.repo.save_unpacked(
            FileKind.PENDING,
            {
                "time": format_time(time.time_ns()),
                "packs": condemned + [p for p, _ in repack],
            },
        )
        self.repo.reload_index()


def prune(
    repo: Repository,
    *,
    delay_ns: int = DEFAULT_DELAY_NS,
    max_unused: float = 0.1,
    dry_run: bool = False,
) -> PruneReport:
    try:
        return Pruner(repo, delay_ns=delay_ns, max_unused=max_unused, dry_run=dry_run).run()
    except KeyError as exc:
        raise BackupError(f"malformed repository file: {exc}") from exc
