"""Writing blobs into packs, packs into the backend, and index files after them.

`BlobWriter` keeps one open pack per blob type (data and tree blobs never share a pack),
writes a pack when it reaches the target size, adds it to the in-memory index, and
writes an index file every few packs so that a killed run leaves indexed packs the next
run can reuse. The order of the format is kept: packs, then the index naming them, and
only then (by the caller) the snapshot.

Finished packs are hashed, written and fsynced by one background thread (one pack
queued while one is filled: a second queued pack bought no speed and cost 16 MiB), so
that the pipeline does not stop for the disk. A pack's blobs are kept as they came and
written with one ``writev`` where the backend can (see `PackBuilder`).
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .backend import FileKind
from .pack import BlobType, PackBuilder, PackedBlob
from .repository import Repository

DEFAULT_PACK_SIZE = 16 * 1024 * 1024
# With deferred durability, packs are made durable this many packs late (their data is on
# the disk by then), and all of them before an index file is written.
SETTLE_LAG = 2
INDEX_EVERY_BLOBS = 20_000  # keeps index files well below the format's 8 MiB advice
INDEX_EVERY_PACKS = 64


@dataclass
class WriteStats:
    blobs_added: int = 0
    blob_bytes_added: int = 0  # plaintext bytes of new blobs
    packs_written: int = 0
    pack_bytes_written: int = 0
    index_files_written: int = 0


class BlobWriter:
    """Deduplicating blob sink. `want` is thread-safe; `add` and `flush` are not."""

    def __init__(
        self, repo: Repository, pack_size: int = DEFAULT_PACK_SIZE, *, defer_sync: bool = False
    ) -> None:
        """With `defer_sync`, packs are made durable by `write_index` (and a few packs
        late meanwhile) rather than one by one, where the backend can (`settle`)."""
        self.repo = repo
        self.pack_size = pack_size
        self._settle = getattr(repo.backend, "settle", None) if defer_sync else None
        self.builders = {t: PackBuilder(t) for t in BlobType}
        self._reserved: dict[BlobType, set[bytes]] = {t: set() for t in BlobType}
        self._lock = threading.Lock()
        self._unindexed: list[tuple[bytes, list[PackedBlob]]] = []
        self._unindexed_blobs = 0
        self.stats = WriteStats()
        self._io: ThreadPoolExecutor | None = None
        self._queued: deque[Future[None]] = deque()
        # Settling (fsync, rename) waits for the disk's journal, ~15 ms a pack here: in a
        # thread of its own, so that the next packs are hashed and written meanwhile.
        self._settler: ThreadPoolExecutor | None = None
        self._settling: deque[Future[None]] = deque()

    def want(self, blob_type: BlobType, blob_id: bytes) -> bool:
        """True (once) when the blob is neither in the index nor already on its way."""
        with self._lock:
            reserved = self._reserved[blob_type]
            if blob_id in reserved:
                return False
            if self.repo.index.has(blob_type, blob_id):
                return False
            reserved.add(blob_id)
            return True

    def add(
        self,
        blob_type: BlobType,
        blob_id: bytes,
        sealed: bytes | bytearray,
        uncompressed_length: int,
    ) -> None:
        builder = self.builders[blob_type]
        builder.add(blob_id, sealed, uncompressed_length)
        self.stats.blobs_added += 1
        self.stats.blob_bytes_added += uncompressed_length or len(sealed) - 32
        if builder.size >= self.pack_size:
            self._write_pack(blob_type)

    def save(self, blob_type: BlobType, blob_id: bytes, plaintext: bytes) -> None:
        """Seal and add a blob unless the repository already has it."""
        if self.want(blob_type, blob_id):
            sealed, ulen = self.repo.seal_blob(plaintext)
            self.add(blob_type, blob_id, sealed, ulen)

    def _write_pack(self, blob_type: BlobType) -> None:
        builder = self.builders[blob_type]
        if not len(builder):
            return
        parts, blobs, pack_id = builder.finish_parts(self.repo.key)
        # Object storage is latency-bound: its backend asks for several uploads at once.
        writers = max(1, self.repo.backend.write_concurrency)
        if self._io is None:
            self._io = ThreadPoolExecutor(writers, thread_name_prefix="pack-writer")
        self._queued.append(self._io.submit(self._store_pack, blob_type, pack_id, parts, blobs))
        while len(self._queued) > writers:
            self._queued.popleft().result()
        with self._lock:
            due = (
                self._unindexed_blobs >= INDEX_EVERY_BLOBS
                or len(self._unindexed) >= INDEX_EVERY_PACKS
            )
        if due:
            self.write_index()

    def _store_pack(
        self,
        blob_type: BlobType,
        pack_id: bytes,
        parts: list[bytes | bytearray],
        blobs: list[PackedBlob],
    ) -> None:
        backend = self.repo.backend
        write_parts = getattr(backend, "write_parts", None)
        if write_parts is not None and self._settle is not None:
            write_parts(FileKind.DATA, pack_id.hex(), parts, defer_sync=True)
            with self._lock:
                if self._settler is None:
                    self._settler = ThreadPoolExecutor(1, thread_name_prefix="pack-settler")
                self._settling.append(self._settler.submit(self._settle, keep=SETTLE_LAG))
                while self._settling and self._settling[0].done():
                    self._settling.popleft().result()  # raises what settling raised
        elif write_parts is not None:
            write_parts(FileKind.DATA, pack_id.hex(), parts)
        else:
            backend.write(FileKind.DATA, pack_id.hex(), b"".join(parts))
        self.repo.index.add_pack(pack_id, blobs)
        with self._lock:
            for b in blobs:
                self._reserved[blob_type].discard(b.id)
            self.stats.packs_written += 1
            self.stats.pack_bytes_written += sum(map(len, parts))
            self._unindexed.append((pack_id, blobs))
            self._unindexed_blobs += len(blobs)

    def _wait(self) -> None:
        while self._queued:
            self._queued.popleft().result()
        while self._settling:
            self._settling.popleft().result()

    def write_index(self) -> None:
        self._wait()
        if self._settle is not None:
            self._settle()  # every pack the index names is durable before it
        with self._lock:
            unindexed = self._unindexed
            self._unindexed = []
            self._unindexed_blobs = 0
        if not unindexed:
            return
        from .index import encode_index  # not at the top: see repository.py (NumPy)

        self.repo.save_unpacked(FileKind.INDEX, encode_index(unindexed, []))
        self.stats.index_files_written += 1

    def flush(self) -> None:
        """Write the open packs and the index naming them; afterwards every blob is durable."""
        try:
            for blob_type in BlobType:
                self._write_pack(blob_type)
            self.write_index()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the writer threads (after the queued packs); also on failure paths."""
        try:
            if self._io is not None:
                try:
                    self._wait()
                finally:
                    self._io.shutdown()
                    self._io = None
        finally:
            if self._settler is not None:
                self._settler.shutdown()
                self._settler = None
