"""Backing up directory trees into a repository.

The walk runs in the calling thread: it stats entries, reads files and cuts them with
FastCDC (512 KiB minimum, about 1 MiB on average, 8 MiB maximum). Each chunk goes to a
thread pool that hashes it (SHA-256, its blob ID), asks the `BlobWriter` whether the
repository lacks it, and if so compresses (zstd, kept only when smaller) and encrypts it;
hashlib, zstandard and the AES/Poly1305 code release the GIL, so these overlap with
reading. The number of chunks in flight is bounded, so memory stays bounded whatever the
file sizes.

A directory becomes a tree blob once its entries are known. A snapshot's root tree
mirrors the absolute paths backed up (``/srv/data`` gives a tree with ``srv``, whose
subtree holds ``data``), as restic does, so that either program restores the other's
snapshots to the same places.

With a parent snapshot, a regular file whose size, modification time and inode are
unchanged takes the parent's content list without being read. The parent's trees are
used as JSON objects (only the fields compared are decoded), the index is asked once per
directory whether the parent's blobs are all still there, and the entries of a directory
are stat'ed relative to it: an unchanged run is mostly ``lstat`` and encoding the new
trees, whose bytes (and so IDs) are those of the parent when nothing changed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import grp
import hashlib
import os
import pwd
import socket
import stat
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infogerance import __version__

from ._malloc import tune_allocator
from .errors import IntegrityError, InvalidInput
from .formats import (
    Node,
    Snapshot,
    decode_tree_documents,
    encode_tree,
    go_mode,
    parse_id,
    parse_time,
)
from .locks import Lock, locked
from .pack import BlobType
from .repository import Repository, current_user
from .writer import DEFAULT_PACK_SIZE, BlobWriter

if TYPE_CHECKING:
    from pyfastcdc import FastCDC

# Listing a directory by descriptor and stat'ing names relative to it (see `_list_dir`).
_STAT_AT = (
    os.listdir in os.supports_fd
    and os.stat in os.supports_dir_fd
    and os.stat in os.supports_follow_symlinks
    and hasattr(os, "O_DIRECTORY")
)

MIN_CHUNK = 512 * 1024
AVG_CHUNK = 1024 * 1024
MAX_CHUNK = 8 * 1024 * 1024
READ_SIZE = 4 * 1024 * 1024


@dataclass
class BackupStats:
    files_new: int = 0
    files_changed: int = 0
    files_unmodified: int = 0
    dirs: int = 0
    others: int = 0
    files_read: int = 0
    bytes_read: int = 0
    bytes_processed: int = 0  # sizes of all files seen, read or not
    blobs_added: int = 0
    bytes_added: int = 0  # plaintext bytes of new blobs
    pack_bytes_written: int = 0
    duration_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def files(self) -> int:
        return self.files_new + self.files_changed + self.files_unmodified


ProgressCallback = Callable[[BackupStats, str], None]


@dataclass(slots=True)
class _Chunk:
    id: bytes
    sealed: bytes | None
    uncompressed_length: int


class _PendingFile:
    """Content IDs of a file whose chunks are still being processed."""

    __slots__ = ("futures", "node")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.futures: list[Future[_Chunk]] = []


class _ParentDir:
    """A directory of the parent snapshot: its tree's nodes as JSON objects, by name.

    Only what the comparison needs is decoded (size, inode, mtime, content IDs, subtree):
    decoding every field of every node into a `Node` (three times each) was a third of
    the CPU time of an unchanged run of 20,000 files. ``contents`` holds the content IDs
    of the files whose blobs are all in the index, checked with one index search per
    directory.
    """

    __slots__ = ("contents", "nodes")

    def __init__(self, nodes: dict[str, dict[str, Any]], contents: dict[str, list[bytes]]) -> None:
        self.nodes = nodes
        self.contents = contents

    def subtree(self, name: str) -> bytes | None:
        doc = self.nodes.get(name)
        if doc is None or doc.get("type") != "dir":
            return None
        try:
            return parse_id(doc.get("subtree"))
        except IntegrityError:
            return None

    def unchanged_content(self, name: str, st: os.stat_result) -> list[bytes] | None:
        """The parent's content list when size, mtime (ns) and inode are unchanged."""
        content = self.contents.get(name)
        if content is None:
            return None
        doc = self.nodes[name]
        if (doc.get("size") or 0) != st.st_size or (doc.get("inode") or 0) != st.st_ino:
            return None
        mtime = doc.get("mtime")
        if not isinstance(mtime, str):
            return None
        try:
            if parse_time(mtime) != st.st_mtime_ns:
                return None
        except IntegrityError:
            return None
        return list(content)


_NO_PARENT = _ParentDir({}, {})


class _Names:
    def __init__(self) -> None:
        self.users: dict[int, str] = {}
        self.groups: dict[int, str] = {}

    def user(self, uid: int) -> str:
        if uid not in self.users:
            try:
                self.users[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self.users[uid] = ""
        return self.users[uid]

    def group(self, gid: int) -> str:
        if gid not in self.groups:
            try:
                self.groups[gid] = grp.getgrgid(gid).gr_name
            except KeyError:
                self.groups[gid] = ""
        return self.groups[gid]


def _safe_name(name: str) -> str:
    """A name that JSON can carry (undecodable bytes become U+FFFD, as restic does)."""
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def find_parent(repo: Repository, hostname: str, paths: list[str]) -> Snapshot | None:
    """The latest snapshot of the same host and paths, the default parent."""
    wanted = sorted(paths)
    candidates = [
        s for s in repo.list_snapshots() if s.hostname == hostname and sorted(s.paths) == wanted
    ]
    return candidates[-1] if candidates else None


class Archiver:
    def __init__(
        self,
        repo: Repository,
        *,
        workers: int | None = None,
        pack_size: int = DEFAULT_PACK_SIZE,
        progress: ProgressCallback | None = None,
        excludes: list[str] | None = None,
    ) -> None:
        self.repo = repo
        self.workers = max(1, workers or os.cpu_count() or 2)
        self.writer = BlobWriter(repo, pack_size=pack_size)
        self.progress = progress
        self.excludes = list(excludes or [])
        self.stats = BackupStats()
        self._names = _Names()
        self._modes: dict[int, int] = {}  # st_mode -> Go mode
        self._chunker: FastCDC | None = None  # made on first use: unchanged runs never need it
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: deque[Future[_Chunk]] = deque()
        self._max_inflight = 2 * self.workers + 2
        tune_allocator()

    # -- entry point ----------------------------------------------------------------
    def run(
        self,
        paths: list[str],
        *,
        tags: list[str] | None = None,
        hostname: str | None = None,
        parent: Snapshot | None = None,
        lock: bool = True,
    ) -> Snapshot:
        """Back up the paths and save a snapshot; the stats are in ``self.stats``."""
        if not paths:
            raise InvalidInput("nothing to back up: give at least one path")
        absolute = sorted({os.path.abspath(p) for p in paths})
        for path in absolute:
            if not os.path.lexists(path):
                raise InvalidInput(f"{path} does not exist")
        # A path inside another one is already covered.
        absolute = [
            p
            for p in absolute
            if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in absolute)
        ]
        started = time.monotonic()
        if lock:
            # The lock's second look for conflicting locks waits a moment after writing
            # ours: the index loads meanwhile (reading only), see `_run`.
            with locked(self.repo, confirm=False) as held:
                snapshot = self._run(absolute, tags or [], hostname, parent, held)
        else:
            snapshot = self._run(absolute, tags or [], hostname, parent, None)
        self.stats.duration_s = time.monotonic() - started
        return snapshot

    def _run(
        self,
        paths: list[str],
        tags: list[str],
        hostname: str | None,
        parent: Snapshot | None,
        lock: Lock | None,
    ) -> Snapshot:
        started_ns = time.time_ns()  # the snapshot's time: the data is as of the start
        self.repo.index  # noqa: B018 - load the index before the walk
        if lock is not None:
            lock.confirm()  # before anything is written
        structure: dict[str, object] = {}
        for path in paths:
            parts = [p for p in path.split("/") if p]
            level = structure
            for part in parts[:-1]:
                child = level.setdefault(part, {})
                assert isinstance(child, dict)
                level = child
            level[parts[-1] if parts else ""] = None  # None marks a backed-up path
        with ThreadPoolExecutor(self.workers, thread_name_prefix="backup") as pool:
            self._pool = pool
            try:
                if "" in structure:  # the root directory itself
                    root_tree = self._save_dir("/", parent.tree if parent else None)
                else:
                    root_tree = self._save_virtual("", structure, parent.tree if parent else None)
                while self._inflight:
                    self._drain_one()
            except BaseException:
                for future in self._inflight:
                    future.cancel()
                # Index what was written, so that the next run reuses it rather than
                # uploading it again; the snapshot is not written.
                with contextlib.suppress(Exception):
                    pool.shutdown(wait=True, cancel_futures=True)
                    self.writer.flush()
                self.writer.close()
                raise
            finally:
                self._pool = None
        self.writer.flush()
        self.stats.blobs_added = self.writer.stats.blobs_added
        self.stats.bytes_added = self.writer.stats.blob_bytes_added
        self.stats.pack_bytes_written = self.writer.stats.pack_bytes_written
        snapshot = Snapshot(
            time=started_ns,
            tree=root_tree,
            paths=paths,
            hostname=hostname if hostname is not None else socket.gethostname(),
            username=current_user(),
            uid=os.getuid(),
            gid=os.getgid(),
            tags=tags,
            parent=parent.id if parent else None,
            program_version=f"infogerance {__version__}",
        )
        self.repo.save_snapshot(snapshot)
        return snapshot

    # -- trees ------------------------------------------------------------------------
    def _parent_dir(self, tree_id: bytes | None) -> _ParentDir:
        if tree_id is None:
            return _NO_PARENT
        try:
            docs = decode_tree_documents(self.repo.read_blob(BlobType.TREE, tree_id))
        except Exception as exc:  # a damaged parent only costs re-reading the files
            self.stats.errors.append(f"parent tree {tree_id.hex()[:16]} unreadable: {exc}")
            return _NO_PARENT
        nodes = {doc["name"]: doc for doc in docs if isinstance(doc.get("name"), str)}
        contents: dict[str, list[bytes]] = {}
        for name, doc in nodes.items():
            content = doc.get("content")
            if doc.get("type") == "file" and isinstance(content, list):
                try:
                    contents[name] = [parse_id(c) for c in content]
                except IntegrityError:  # a bad ID: the file is read again
                    continue  # (not contextlib.suppress: it costs 1 µs for each file)
        if contents:
            missing = self.repo.index.missing(
                BlobType.DATA, [c for ids in contents.values() for c in ids]
            )
            if missing:
                contents = {n: ids for n, ids in contents.items() if missing.isdisjoint(ids)}
        return _ParentDir(nodes, contents)

    def _save_tree(self, nodes: list[Node | _PendingFile]) -> bytes:
        resolved = []
        for item in nodes:
            if isinstance(item, _PendingFile):
                item.node.content = [f.result().id for f in item.futures]
                resolved.append(item.node)
            else:
                resolved.append(item)
        data = encode_tree(resolved)
        tree_id = hashlib.sha256(data).digest()
        self.writer.save(BlobType.TREE, tree_id, data)
        return tree_id

    def _save_virtual(
        self, prefix: str, children: dict[str, object], parent_tree: bytes | None
    ) -> bytes:
        parent = self._parent_dir(parent_tree)
        nodes: list[Node | _PendingFile] = []
        for name, sub in sorted(children.items()):
            full = f"{prefix}/{name}"
            if sub is None:
                item = self._save_path(full, name, parent)
                if item is not None:
                    nodes.append(item)
                continue
            assert isinstance(sub, dict)
            try:
                st = os.lstat(full)
            except OSError as exc:
                self.stats.errors.append(f"{full}: {exc.strerror}")
                continue
            node = self._make_node(_safe_name(name), st)
            node.subtree = self._save_virtual(full, sub, parent.subtree(node.name))
            nodes.append(node)
        return self._save_tree(nodes)

    def _save_dir(self, path: str, parent_tree: bytes | None) -> bytes:
        parent = self._parent_dir(parent_tree)
        nodes: list[Node | _PendingFile] = []
        base = path.rstrip("/")
        for name, st in self._list_dir(path):
            full = f"{base}/{name}"
            if self.excludes and self._excluded(full, name):
                continue
            item: Node | _PendingFile | None = None
            if st is not None and stat.S_ISREG(st.st_mode):
                item = self._unchanged_file(full, name, st, parent)
            if item is None:
                item = self._save_path(full, name, parent)
            if item is not None:
                nodes.append(item)
        self.stats.dirs += 1
        return self._save_tree(nodes)

    def _list_dir(self, path: str) -> list[tuple[str, os.stat_result | None]]:
        """The names in a directory, sorted, with their ``lstat`` when it succeeded.

        Stat relative to the open directory (``fstatat``): the kernel resolves one name
        rather than the whole path, a third less time for an unchanged run's 20,000 files.
        These early stats only serve unchanged files; what is read is stat'ed again first.
        """
        if not _STAT_AT:
            try:
                with os.scandir(path) as it:
                    return [(name, None) for name in sorted(entry.name for entry in it)]
            except OSError as exc:
                self.stats.errors.append(f"{path}: {exc.strerror}")
                return []
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            self.stats.errors.append(f"{path}: {exc.strerror}")
            return []
        try:
            entries: list[tuple[str, os.stat_result | None]] = []
            for name in sorted(os.listdir(fd)):
                try:
                    entries.append((name, os.stat(name, dir_fd=fd, follow_symlinks=False)))
                except OSError:  # gone, or not stat'able: `_save_path` tries and reports
                    entries.append((name, None))
            return entries
        except OSError as exc:
            self.stats.errors.append(f"{path}: {exc.strerror}")
            return []
        finally:
            os.close(fd)

    def _unchanged_file(
        self, full: str, name: str, st: os.stat_result, parent: _ParentDir
    ) -> Node | None:
        """The node of a regular file whose size, mtime and inode are the parent's, or None."""
        safe = _safe_name(name)
        content = parent.unchanged_content(safe, st)
        if content is None:
            return None
        node = self._make_node(safe, st)
        node.type = "file"
        node.size = st.st_size
        node.links = st.st_nlink
        node.content = content
        self.stats.bytes_processed += st.st_size
        self.stats.files_unmodified += 1
        if self.progress is not None:
            self._report(full)
        return node

    def _excluded(self, full: str, name: str) -> bool:
        return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(full, p) for p in self.excludes)

    def _make_node(self, name: str, st: os.stat_result) -> Node:
        """A node of type ``dir`` from the stat; `name` already passed through `_safe_name`."""
        # Called for every entry: cached modes and names, positional arguments.
        mode = self._modes.get(st.st_mode)
        if mode is None:
            mode = self._modes[st.st_mode] = go_mode(st.st_mode)
        uid, gid = st.st_uid, st.st_gid
        user = self._names.users.get(uid)
        if user is None:
            user = self._names.user(uid)
        group = self._names.groups.get(gid)
        if group is None:
            group = self._names.group(gid)
        return Node(
            name,
            "dir",
            mode,
            st.st_mtime_ns,
            st.st_atime_ns,
            st.st_ctime_ns,
            uid,
            gid,
            user,
            group,
            st.st_ino,
            st.st_dev,
        )

    def _save_path(self, full: str, name: str, parent: _ParentDir) -> Node | _PendingFile | None:
        try:
            st = os.lstat(full)
        except OSError as exc:
            self.stats.errors.append(f"{full}: {exc.strerror}")
            return None
        node = self._make_node(_safe_name(name), st)
        fmt = stat.S_IFMT(st.st_mode)
        try:
            if fmt == stat.S_IFDIR:
                node.subtree = self._save_dir(full, parent.subtree(node.name))
                return node
            if fmt == stat.S_IFREG:
                node.type = "file"
                node.size = st.st_size
                node.links = st.st_nlink
                return self._save_file(full, node, st, parent)
            self.stats.others += 1
            if fmt == stat.S_IFLNK:
                node.type = "symlink"
                node.links = st.st_nlink
                node.linktarget = _safe_name(os.readlink(full))
            elif fmt == stat.S_IFIFO:
                node.type = "fifo"
            elif fmt == stat.S_IFSOCK:
                node.type = "socket"
            elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
                node.type = "chardev" if fmt == stat.S_IFCHR else "dev"
                node.device = st.st_rdev
            else:
                return None
            return node
        except OSError as exc:
            self.stats.errors.append(f"{full}: {exc.strerror}")
            return None

    # -- file content -----------------------------------------------------------------
    def _save_file(
        self, full: str, node: Node, st: os.stat_result, parent: _ParentDir
    ) -> Node | _PendingFile | None:
        self.stats.bytes_processed += st.st_size
        content = parent.unchanged_content(node.name, st)
        if content is not None:
            node.content = content
            self.stats.files_unmodified += 1
            if self.progress is not None:
                self._report(full)
            return node
        pending = _PendingFile(node)
        size = 0
        with open(full, "rb") as f:
            self.stats.files_read += 1
            if st.st_size <= MIN_CHUNK:
                data = f.read(MIN_CHUNK + 1)
                while len(data) <= MIN_CHUNK:  # grew while we read: fall back to chunking
                    more = f.read(READ_SIZE)
                    if not more:
                        break
                    data += more
                if len(data) <= MIN_CHUNK:
                    if data:
                        pending.futures.append(self._submit(data))
                    size = len(data)
                else:
                    f.seek(0)
                    size = self._chunk_stream(f, pending)
            else:
                size = self._chunk_stream(f, pending)
        self.stats.bytes_read += size
        node.size = size
        if node.name not in parent.nodes:
            self.stats.files_new += 1
        else:
            self.stats.files_changed += 1
        if self.progress is not None:
            self._report(full)
        return pending

    def _chunk_stream(self, f: object, pending: _PendingFile) -> int:
        size = 0
        if self._chunker is None:
            import pyfastcdc

            self._chunker = pyfastcdc.FastCDC(
                AVG_CHUNK - MIN_CHUNK, min_size=MIN_CHUNK, max_size=MAX_CHUNK
            )
        for chunk in self._chunker.cut_stream(f):  # type: ignore[arg-type]
            pending.futures.append(self._submit(bytes(chunk.data)))
            size += chunk.length
        return size

    def _submit(self, data: bytes) -> Future[_Chunk]:
        assert self._pool is not None
        future = self._pool.submit(self._process_chunk, data)
        self._inflight.append(future)
        while len(self._inflight) > self._max_inflight:
            self._drain_one()
        return future

    def _process_chunk(self, data: bytes) -> _Chunk:
        blob_id = hashlib.sha256(data).digest()
        if self.writer.want(BlobType.DATA, blob_id):
            sealed, ulen = self.repo.seal_blob(data)
            return _Chunk(blob_id, sealed, ulen)
        return _Chunk(blob_id, None, 0)

    def _drain_one(self) -> None:
        chunk = self._inflight.popleft().result()
        if chunk.sealed is not None:
            self.writer.add(BlobType.DATA, chunk.id, chunk.sealed, chunk.uncompressed_length)
            chunk.sealed = None  # the pending file keeps the chunk: drop the bytes

    def _report(self, path: str) -> None:
        if self.progress is not None:
            self.stats.blobs_added = self.writer.stats.blobs_added
            self.stats.bytes_added = self.writer.stats.blob_bytes_added
            self.progress(self.stats, path)


def backup(
    repo: Repository,
    paths: list[str],
    *,
    tags: list[str] | None = None,
    hostname: str | None = None,
    parent: Snapshot | str | None = "auto",
    progress: ProgressCallback | None = None,
    excludes: list[str] | None = None,
    workers: int | None = None,
    pack_size: int = DEFAULT_PACK_SIZE,
) -> tuple[Snapshot, BackupStats]:
    """Back up paths; ``parent="auto"`` takes the latest snapshot of the same host and paths."""
    host = hostname if hostname is not None else socket.gethostname()
    if parent == "auto":
        parent_snapshot = find_parent(repo, host, [os.path.abspath(p) for p in paths])
    elif isinstance(parent, str):
        parent_snapshot = repo.find_snapshot(parent)
    else:
        parent_snapshot = parent
    archiver = Archiver(
        repo, workers=workers, pack_size=pack_size, progress=progress, excludes=excludes
    )
    snapshot = archiver.run(paths, tags=tags, hostname=host, parent=parent_snapshot)
    return snapshot, archiver.stats
