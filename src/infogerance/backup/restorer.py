"""Restoring snapshots (or a part of one) to a directory.

Files that were hard links of one another (same device and inode, more than one link) are
restored as hard links again, as restic does.

Files are restored by a pool of threads, several files and packs in flight: each blob is
read with a ranged read of its pack, authenticated, decrypted, decompressed and (with
``verify``) hashed again before it is written. The thread walking the trees creates the
files and hands their descriptors to the pool (a bounded number at a time): creating a file
locks its directory, and threads creating files side by side in one directory spent a
quarter of a restore's CPU spinning on that lock. Modes, ownership (when running as root),
times and symlinks are restored; directories get their metadata after their content.
Node names from the repository are checked, so a hostile snapshot cannot write outside
the target (no ``/``, ``.`` or ``..`` in names).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ._malloc import tune_allocator
from .errors import IntegrityError, InvalidInput
from .formats import Node, Snapshot, unix_permissions
from .pack import BlobType
from .repository import Repository


@dataclass
class RestoreStats:
    files: int = 0
    dirs: int = 0
    others: int = 0
    bytes_written: int = 0
    blobs_verified: int = 0
    duration_s: float = 0.0
    errors: list[str] = field(default_factory=list)


ProgressCallback = Callable[[RestoreStats, str], None]

_OPEN_FILES = 128
_BATCH_FILES = 32  # well below _OPEN_FILES: the walk goes on while batches are written
_BATCH_BYTES = 1024 * 1024
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise IntegrityError(f"refusing to restore an entry named {name!r}")


def find_node(repo: Repository, tree_id: bytes, path: str) -> tuple[list[str], Node | None]:
    """The node at an absolute path inside a snapshot (None for the root itself)."""
    parts = [p for p in path.split("/") if p]
    node: Node | None = None
    current = tree_id
    for i, part in enumerate(parts):
        nodes = {n.name: n for n in repo.load_tree(current)}
        node = nodes.get(part)
        if node is None:
            raise InvalidInput(f"{path} is not in the snapshot")
        if i < len(parts) - 1:
            if node.type != "dir" or node.subtree is None:
                raise InvalidInput(f"{'/'.join(parts[: i + 1])} is not a directory")
            current = node.subtree
    return parts, node


class Restorer:
    def __init__(
        self,
        repo: Repository,
        *,
        verify: bool = False,
        workers: int | None = None,
        progress: ProgressCallback | None = None,
        record_digests: bool = False,
    ) -> None:
        self.repo = repo
        self.verify = verify
        # path → (SHA-256 of the content as read from the repository, size), for drills
        self.digests: dict[str, tuple[str, int]] | None = {} if record_digests else None
        # More threads than cores only added contention in our measurements.
        self.workers = max(1, workers or max(2, min(8, os.cpu_count() or 2)))
        self.progress = progress
        self.stats = RestoreStats()
        self._as_root = os.geteuid() == 0
        self._lock = threading.Lock()
        self._dirs: list[tuple[str, Node]] = []
        self._futures: list[Future[None]] = []
        # Small files go to the pool in batches: one task (one thread wake-up) per file cost
        # a tenth of a restore's CPU in context switches.
        self._batch: list[tuple[Node, str, int]] = []
        self._batch_bytes = 0
        # Hard links: the first path restored for a (device, inode), and the later ones.
        self._link_sources: dict[tuple[int, int], str] = {}
        self._links: list[tuple[str, str]] = []
        self._pool: ThreadPoolExecutor | None = None
        # Files created and not yet written: each holds a descriptor until its worker is done.
        self._open_files = threading.BoundedSemaphore(_OPEN_FILES)
        tune_allocator()

    def restore(
        self, snapshot: Snapshot, target: str, *, include: str | None = None
    ) -> RestoreStats:
        started = time.monotonic()
        target = os.path.abspath(target)
        fresh = not os.path.lexists(target)
        os.makedirs(target, exist_ok=True)
        self.repo.index  # noqa: B018 - load the index once, before the threads start
        with ThreadPoolExecutor(self.workers, thread_name_prefix="restore") as pool:
            self._pool = pool
            try:
                self._walk(snapshot, target, include, fresh)
            finally:
                self._submit_batch()  # written (and closed) even when the walk failed
            for future in self._futures:
                future.result()
        for source, path in self._links:
            _remove_existing(path)
            os.link(source, path)
            if self.digests is not None and source in self.digests:
                self.digests[path] = self.digests[source]
        for path, node in reversed(self._dirs):
            self._apply_metadata(path, node)
        self.stats.duration_s = time.monotonic() - started
        return self.stats

    def _walk(self, snapshot: Snapshot, target: str, include: str | None, fresh: bool) -> None:
        if not include:
            self._restore_tree(snapshot.tree, target, fresh)
            return
        parts, node = find_node(self.repo, snapshot.tree, include)
        if node is None:
            self._restore_tree(snapshot.tree, target, fresh)
            return
        # Parent directories are created plainly; the chosen entry gets its metadata.
        base = target
        for part in parts[:-1]:
            _check_name(part)
            base = os.path.join(base, part)
            os.makedirs(base, exist_ok=True)
        self._restore_node(node, base)

    def _restore_tree(self, tree_id: bytes, directory: str, fresh: bool = False) -> None:
        """Restore a tree's entries into a directory (``fresh``: we just created it empty)."""
        nodes = self.repo.load_tree(tree_id)
        if len({n.name for n in nodes}) != len(nodes):
            raise IntegrityError(f"tree {tree_id.hex()[:16]} has duplicate names")
        for node in nodes:
            self._restore_node(node, directory, fresh)

    def _restore_node(self, node: Node, directory: str, fresh: bool = False) -> None:
        _check_name(node.name)
        path = os.path.join(directory, node.name)
        if node.type == "dir":
            created = False
            if fresh:
                os.mkdir(path)
                created = True
            else:
                # Never follow a symlink already there: the directory would land elsewhere.
                if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
                    os.unlink(path)
                if not os.path.lexists(path):
                    os.mkdir(path)
                    created = True
            self.stats.dirs += 1
            self._dirs.append((path, node))
            if node.subtree is None:
                raise IntegrityError(f"directory {path} has no subtree")
            self._restore_tree(node.subtree, path, created)
            return
        if not fresh:
            _remove_existing(path)
        if node.type == "file":
            if node.links > 1 and node.inode:
                key = (node.device_id, node.inode)
                source = self._link_sources.setdefault(key, path)
                if source != path:
                    self._links.append((source, path))
                    self.stats.files += 1
                    return
            assert self._pool is not None
            self._open_files.acquire()
            try:
                fd = os.open(path, _CREATE_FLAGS, 0o600)
            except BaseException:
                self._open_files.release()
                raise
            self._batch.append((node, path, fd))
            self._batch_bytes += node.size
            if len(self._batch) >= _BATCH_FILES or self._batch_bytes >= _BATCH_BYTES:
                self._submit_batch()
            return
        self.stats.others += 1
        try:
            if node.type == "symlink":
                os.symlink(node.linktarget, path)
            elif node.type == "fifo":
                os.mkfifo(path)
            elif node.type in ("dev", "chardev") and self._as_root:
                kind = stat.S_IFCHR if node.type == "chardev" else stat.S_IFBLK
                os.mknod(path, kind | 0o600, node.device)
            else:
                return  # sockets cannot be restored; devices need root
        except OSError as exc:
            self.stats.errors.append(f"{path}: {exc.strerror}")
            return
        self._apply_metadata(path, node)

    def _submit_batch(self) -> None:
        if self._batch:
            assert self._pool is not None
            self._futures.append(self._pool.submit(self._restore_files, self._batch))
            self._batch, self._batch_bytes = [], 0

    def _restore_files(self, batch: list[tuple[Node, str, int]]) -> None:
        done = 0
        try:
            for node, path, fd in batch:
                done += 1
                self._restore_file(node, path, fd)
        finally:
            for _node, _path, fd in batch[done:]:  # after a failure: the files not written
                os.close(fd)
                self._open_files.release()

    def _restore_file(self, node: Node, path: str, fd: int) -> None:
        """Write a created file's content and metadata, then close it."""
        try:
            written, content_hash = self._write_content(node, fd)
            if self.verify and written != node.size:
                raise IntegrityError(
                    f"{path}: restored {written} bytes, the snapshot says {node.size}"
                )
            # By descriptor, after the last write (a write would change the times).
            if self._as_root:
                with contextlib.suppress(OSError):
                    os.fchown(fd, node.uid, node.gid)
            os.fchmod(fd, unix_permissions(node.mode))
            with contextlib.suppress(OSError):
                os.utime(fd, ns=(node.atime, node.mtime))
        finally:
            os.close(fd)
            self._open_files.release()
        with self._lock:
            if self.digests is not None and content_hash is not None:
                self.digests[path] = (content_hash.hexdigest(), written)
            self.stats.files += 1
            self.stats.bytes_written += written
            if self.verify:
                self.stats.blobs_verified += len(node.content or [])
            if self.progress is not None:
                self.progress(self.stats, path)

    def _write_content(self, node: Node, fd: int) -> tuple[int, hashlib._Hash | None]:
        written = 0
        content_hash = hashlib.sha256() if self.digests is not None else None
        for blob_id in node.content or []:
            data = self.repo.read_blob(BlobType.DATA, blob_id, verify=self.verify)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            written += len(data)
            if content_hash is not None:
                content_hash.update(data)
        return written, content_hash

    def _apply_metadata(self, path: str, node: Node) -> None:
        symlink = node.type == "symlink"
        if self._as_root:
            with contextlib.suppress(OSError):
                os.lchown(path, node.uid, node.gid)
        if not symlink:
            os.chmod(path, unix_permissions(node.mode))
        with contextlib.suppress(OSError, NotImplementedError):
            os.utime(path, ns=(node.atime, node.mtime), follow_symlinks=not symlink)


def _remove_existing(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        raise InvalidInput(f"{path} is a directory; the snapshot has a file there")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def restore(
    repo: Repository,
    snapshot: Snapshot,
    target: str,
    *,
    include: str | None = None,
    verify: bool = False,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
) -> RestoreStats:
    return Restorer(repo, verify=verify, progress=progress, workers=workers).restore(
        snapshot, target, include=include
    )


def file_digest(repo: Repository, node: Node) -> str:
    """SHA-256 of a file's content as stored (for restore drills)."""
    h = hashlib.sha256()
    for blob_id in node.content or []:
        h.update(repo.read_blob(BlobType.DATA, blob_id))
    return h.hexdigest()
