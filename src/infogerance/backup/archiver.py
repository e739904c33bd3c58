"""Backing up directory trees into a repository.

The walk runs in the calling thread: it lists directories and stats their entries, and
reads files. A large file is read in blocks of `READ_SIZE` and cut with FastCDC (512 KiB
minimum, about 1 MiB on average, 8 MiB maximum; see `final_cuts`); its chunks, views of
the blocks rather than copies, go in batches to a thread pool that hashes them (SHA-256,
the blob ID), asks the `BlobWriter` whether the repository lacks them, and if so
compresses (zstd, kept only when smaller) and encrypts them. hashlib, zstandard and AES
release the GIL, so the threads overlap. A small file (under 512 KiB, one chunk) is hashed
and deduplicated by the walk and sealed by a process of `sealer.SealerPool`: thousands of
tiny tasks made threads spend their time passing the GIL around (see there). The chunks
and batches in flight are bounded, so memory stays bounded whatever the file sizes.

A directory becomes a tree blob once its entries are known and its files' chunks are
sealed: trees wait in a queue (children before parents) rather than stopping the walk. A
snapshot's root tree mirrors the absolute paths backed up (``/srv/data`` gives a tree with
``srv``, whose subtree holds ``data``), as restic does, so that either program restores
the other's snapshots to the same places.

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
import sys
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
from .sealer import SealedBlob, SealerPool, usable_cpus
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
# A large file is read in blocks of this size (at least MAX_CHUNK); each block starts at
# the first byte whose chunk is not cut yet (see `final_cuts`).
READ_SIZE = 8 * 1024 * 1024
# Chunks are handed to the workers in batches of about this many bytes: sealing a small
# file takes less time than handing it to a thread and back.
BATCH_BYTES = 1024 * 1024
BATCH_CHUNKS = 256
# Trees whose files are still being processed wait to be encoded (see `_queue_tree`); past
# these numbers the oldest is encoded anyway, waiting for its files if it must.
MAX_PENDING_TREES = 1024
MAX_PENDING_NODES = 65536
# (getattr: the module still imports where a flag is missing; the engine needs POSIX to run)
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
)


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
    sealed: bytearray | None
    uncompressed_length: int


class _Batch:
    """Chunks handed to a worker together; ``future`` is set once it is submitted."""

    __slots__ = ("chunks", "future", "nbytes")

    def __init__(self) -> None:
        self.chunks: list[bytes | memoryview] = []
        self.nbytes = 0
        self.future: Future[list[_Chunk]] | None = None


class _PendingFile:
    """A file whose chunks are still being processed: (batch, position in it) for each."""

    __slots__ = ("node", "parts")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.parts: list[tuple[_Batch, int] | bytes] = []  # bytes: a blob ID already known


class _PendingTree:
    """A directory's entries, encoded once its files' chunks are processed; the tree's ID
    then goes to ``owner.subtree``."""

    __slots__ = ("items", "owner")

    def __init__(self, items: list[Node | _PendingFile], owner: Node) -> None:
        self.items = items
        self.owner = owner


def final_cuts(chunker: FastCDC, data: memoryview, eof: bool) -> list[int]:
    """The lengths of the chunks at the start of `data` that more data could not change.

    FastCDC decides a cut from at most ``max_size`` bytes. A cut found before the end of
    the data is final once ``avg_size`` bytes were available (the normalised chunking
    switches masks there); a chunk ended by the end of the data is final only at the end
    of the file or at ``max_size``. The rest is cut again with the next block: the result
    is the chunking of the whole file at once, whatever the block size.
    """
    lengths: list[int] = []
    remaining = len(data)
    max_size, avg_size = chunker.max_size, chunker.avg_size
    for chunk in chunker.cut_buf(data):
        length: int = chunk.length
        if not eof and remaining < max_size and (length == remaining or remaining < avg_size):
            break
        lengths.append(length)
        remaining -= length
    return lengths


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
        processes: int | None = None,
        pack_size: int = DEFAULT_PACK_SIZE,
        progress: ProgressCallback | None = None,
        excludes: list[str] | None = None,
    ) -> None:
        """`workers` threads seal large files' chunks (default: one per usable CPU);
        `processes` processes seal small files (0: the threads do). The walk, which reads
        and hashes small files, keeps one CPU busy and one process keeps up with it
        (measured: two were no faster on 2 CPUs, and cost 30 MiB and 0.3 s of CPU more), so
        the default is one process per CPU beyond the first, at most two, none on one CPU."""
        self.repo = repo
        cpus = usable_cpus()
        self.workers = max(1, workers or cpus)
        if processes is None:
            # A frozen program has no interpreter to start the sealing processes with.
            configured = os.environ.get("INFOGERANCE_BACKUP_PROCESSES", "")
            if configured.strip().isdigit():
                processes = int(configured)
            elif getattr(sys, "frozen", False):
                processes = 0
            else:
                processes = min(2, cpus - 1)
        self.processes = max(0, processes)
        self.writer = BlobWriter(repo, pack_size=pack_size, defer_sync=True)
        self.progress = progress
        self.excludes = list(excludes or [])
        self.stats = BackupStats()
        self._names = _Names()
        self._modes: dict[int, int] = {}  # st_mode -> Go mode
        self._chunker: FastCDC | None = None  # made on first use: unchanged runs never need it
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: deque[Future[list[_Chunk]] | Future[list[SealedBlob]]] = deque()
        self._max_inflight = 2 * self.workers + 2
        self._batch = _Batch()
        self._sealers: SealerPool | None = None  # started with the first small file
        self._small: list[tuple[bytes, bytes]] = []  # (blob ID, plaintext) for the processes
        self._small_bytes = 0
        self._trees: deque[_PendingTree] = deque()
        self._pending_nodes = 0
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
        root = Node("", "dir")  # receives the root tree's ID
        with ThreadPoolExecutor(self.workers, thread_name_prefix="backup") as pool:
            self._pool = pool
            try:
                if "" in structure:  # the root directory itself
                    self._save_dir("/", parent.tree if parent else None, root)
                else:
                    self._save_virtual("", structure, parent.tree if parent else None, root)
                self._submit_batch()
                self._submit_small()
                self._resolve_trees(final=True)
                while self._inflight:
                    self._drain_one()
            except BaseException:
                for future in self._inflight:
                    future.cancel()
                # Store and index what was sealed, so that the next run reuses it rather
                # than uploading it again; the snapshot is not written.
                with contextlib.suppress(Exception):
                    pool.shutdown(wait=True, cancel_futures=True)
                if self._sealers is not None:
                    with contextlib.suppress(Exception):
                        self._sealers.shutdown(cancel=True)
                while self._inflight:
                    future = self._inflight[0]
                    if future.cancelled() or future.exception() is not None:
                        self._inflight.popleft()
                        continue
                    with contextlib.suppress(Exception):
                        self._drain_one()
                with contextlib.suppress(Exception):
                    self.writer.flush()
                self.writer.close()
                raise
            finally:
                self._pool = None
                if self._sealers is not None:
                    self._sealers.shutdown()
                    self._sealers = None
        self.writer.flush()
        assert root.subtree is not None
        root_tree = root.subtree
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

    def _queue_tree(self, items: list[Node | _PendingFile], owner: Node) -> None:
        """Encode a directory's tree once its files are processed, without waiting for them.

        Waiting at the end of each directory left a core idle while the last files were
        sealed. Trees are queued in the order their directories end, children before
        parents, and encoded from the front, so a subtree's ID is known before its parent is
        encoded. Past `MAX_PENDING_TREES` or `MAX_PENDING_NODES` the front is encoded anyway.
        """
        self._trees.append(_PendingTree(items, owner))
        self._pending_nodes += len(items)
        self._resolve_trees()

    def _resolve_trees(self, *, final: bool = False) -> None:
        trees = self._trees
        while trees:
            tree = trees[0]
            crowded = len(trees) > MAX_PENDING_TREES or self._pending_nodes > MAX_PENDING_NODES
            if not (final or crowded or self._tree_ready(tree)):
                return
            trees.popleft()
            self._pending_nodes -= len(tree.items)
            tree.owner.subtree = self._save_tree(tree.items)

    @staticmethod
    def _tree_ready(tree: _PendingTree) -> bool:
        for item in tree.items:
            if isinstance(item, _PendingFile):
                for part in item.parts:
                    if isinstance(part, bytes):
                        continue
                    future = part[0].future
                    if future is None or not future.done():
                        return False
        return True

    def _save_tree(self, items: list[Node | _PendingFile]) -> bytes:
        nodes = []
        for item in items:
            if isinstance(item, _PendingFile):
                content = []
                for part in item.parts:
                    if isinstance(part, bytes):
                        content.append(part)
                        continue
                    batch, position = part
                    if batch.future is None:  # still being filled: hand it over now
                        self._submit_batch()
                    assert batch.future is not None
                    content.append(batch.future.result()[position].id)
                item.node.content = content
                nodes.append(item.node)
            else:
                nodes.append(item)
        data = encode_tree(nodes)
        tree_id = hashlib.sha256(data).digest()
        self.writer.save(BlobType.TREE, tree_id, data)
        return tree_id

    def _save_virtual(
        self, prefix: str, children: dict[str, object], parent_tree: bytes | None, owner: Node
    ) -> None:
        parent = self._parent_dir(parent_tree)
        items: list[Node | _PendingFile] = []
        for name, sub in sorted(children.items()):
            full = f"{prefix}/{name}"
            if sub is None:
                item = self._save_path(full, name, parent)
                if item is not None:
                    items.append(item)
                continue
            assert isinstance(sub, dict)
            try:
                st = os.lstat(full)
            except OSError as exc:
                self.stats.errors.append(f"{full}: {exc.strerror}")
                continue
            node = self._make_node(_safe_name(name), st)
            self._save_virtual(full, sub, parent.subtree(node.name), node)
            items.append(node)
        self._queue_tree(items, owner)

    def _save_dir(self, path: str, parent_tree: bytes | None, owner: Node) -> None:
        parent = self._parent_dir(parent_tree)
        items: list[Node | _PendingFile] = []
        base = path.rstrip("/")
        for name, st in self._list_dir(path):
            full = f"{base}/{name}"
            if self.excludes and self._excluded(full, name):
                continue
            item: Node | _PendingFile | None
            if st is not None and stat.S_ISREG(st.st_mode):
                item = self._unchanged_file(full, name, st, parent)
                if item is None:
                    item = self._read_new_file(full, name, parent)
            else:
                item = self._save_path(full, name, parent)
            if item is not None:
                items.append(item)
        self.stats.dirs += 1
        self._queue_tree(items, owner)

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
                self._save_dir(full, parent.subtree(node.name), node)
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
    def _read_new_file(
        self, full: str, name: str, parent: _ParentDir
    ) -> Node | _PendingFile | None:
        """Back up a file that the listing saw as a regular file (as `_save_path` does).

        Opened first and stat'ed through its descriptor: the node describes exactly what is
        read, with several system calls fewer than `lstat`, then `open` and its checks.
        What cannot be opened (without following a link or blocking), or is no longer a
        regular file, goes to `_save_path`, which stores or reports it.
        """
        try:
            fd = os.open(full, _OPEN_FLAGS)
        except OSError:
            return self._save_path(full, name, parent)
        try:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode):
                node = self._make_node(_safe_name(name), st)
                node.type = "file"
                node.size = st.st_size
                node.links = st.st_nlink
                self.stats.bytes_processed += st.st_size
                return self._read_content(fd, full, node, st, parent)
        except OSError as exc:
            self.stats.errors.append(f"{full}: {exc.strerror}")
            return None
        finally:
            os.close(fd)
        return self._save_path(full, name, parent)

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
        fd = os.open(full, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            return self._read_content(fd, full, node, st, parent)
        finally:
            os.close(fd)

    def _read_content(
        self, fd: int, full: str, node: Node, st: os.stat_result, parent: _ParentDir
    ) -> _PendingFile:
        pending = _PendingFile(node)
        self.stats.files_read += 1
        if st.st_size < MIN_CHUNK:
            # One read of the size stat gave, plus one byte to notice growth. Shorter than
            # the stat said: read on to the end (a short read is not always the end).
            data = os.pread(fd, st.st_size + 1, 0)
            if len(data) == st.st_size:
                size = len(data)
                if data and self.processes:
                    self._add_small(data, pending)
                elif data:
                    self._add_chunk(data, pending)
            else:
                size = self._chunk_content(fd, pending, data)
        else:
            with contextlib.suppress(OSError, AttributeError):  # advice only
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            size = self._chunk_content(fd, pending, b"")
        self.stats.bytes_read += size
        node.size = size
        if node.name not in parent.nodes:
            self.stats.files_new += 1
        else:
            self.stats.files_changed += 1
        if self.progress is not None:
            self._report(full)
        return pending

    def _chunk_content(self, fd: int, pending: _PendingFile, first: bytes) -> int:
        """Cut a file into chunks, reading it in blocks; the file's size as read.

        Each block is read at the first byte not yet in a chunk, so the unfinished end of
        a block is read again rather than copied; the chunks are views of the blocks, handed
        to the workers without a copy. `first` is what was already read from offset 0.
        """
        if self._chunker is None:
            import pyfastcdc

            self._chunker = pyfastcdc.FastCDC(
                AVG_CHUNK - MIN_CHUNK, min_size=MIN_CHUNK, max_size=MAX_CHUNK
            )
        chunker = self._chunker
        offset = 0
        data = first
        while True:
            if not data:
                data = os.pread(fd, READ_SIZE, offset)
            eof = False
            if len(data) < READ_SIZE:  # the end of the file, unless a read on says otherwise
                parts = [data]
                got = len(data)
                while got < READ_SIZE:
                    more = os.pread(fd, READ_SIZE - got, offset + got)
                    if not more:
                        eof = True
                        break
                    parts.append(more)
                    got += len(more)
                if len(parts) > 1:
                    data = b"".join(parts)
            view = memoryview(data)
            position = 0
            for length in final_cuts(chunker, view, eof):
                self._add_chunk(view[position : position + length], pending)
                position += length
            offset += position
            if eof:
                return offset
            data = b""

    def _add_small(self, data: bytes, pending: _PendingFile) -> None:
        """A small file's content for the sealing processes: hashed and deduplicated
        here (its ID is known at once), sealed there."""
        blob_id = hashlib.sha256(data).digest()
        pending.parts.append(blob_id)
        if self.writer.want(BlobType.DATA, blob_id):
            self._small.append((blob_id, data))
            self._small_bytes += len(data)
            if self._small_bytes >= BATCH_BYTES or len(self._small) >= BATCH_CHUNKS:
                self._submit_small()

    def _submit_small(self) -> None:
        if not self._small:
            return
        if self._sealers is None and self.processes:
            try:
                self._sealers = SealerPool(
                    self.repo.key, compress=self.repo.compression, processes=self.processes
                )
            except OSError:  # no process to be had (limits, memory): threads seal them
                self.processes = 0
        if self._sealers is not None:
            self._inflight.append(self._sealers.submit(self._small))
        else:
            assert self._pool is not None
            self._inflight.append(self._pool.submit(self._seal_reserved, self._small))
        self._small = []
        self._small_bytes = 0
        while len(self._inflight) > self._max_inflight:
            self._drain_one()

    def _add_chunk(self, data: bytes | memoryview, pending: _PendingFile) -> None:
        batch = self._batch
        pending.parts.append((batch, len(batch.chunks)))
        batch.chunks.append(data)
        batch.nbytes += len(data)
        if batch.nbytes >= BATCH_BYTES or len(batch.chunks) >= BATCH_CHUNKS:
            self._submit_batch()

    def _submit_batch(self) -> None:
        batch = self._batch
        if not batch.chunks:
            return
        assert self._pool is not None
        batch.future = self._pool.submit(self._process_batch, batch.chunks)
        batch.chunks = []  # the worker holds them until they are sealed
        self._batch = _Batch()
        self._inflight.append(batch.future)
        while len(self._inflight) > self._max_inflight:
            self._drain_one()

    def _seal_reserved(self, blobs: list[tuple[bytes, bytes]]) -> list[SealedBlob]:
        """What a sealing process does, in a thread."""
        return [(blob_id, *self.repo.seal_blob(data)) for blob_id, data in blobs]

    def _process_batch(self, chunks: list[bytes | memoryview]) -> list[_Chunk]:
        return [self._process_chunk(data) for data in chunks]

    def _process_chunk(self, data: bytes | memoryview) -> _Chunk:
        blob_id = hashlib.sha256(data).digest()
        if self.writer.want(BlobType.DATA, blob_id):
            sealed, ulen = self.repo.seal_blob(data)
            return _Chunk(blob_id, sealed, ulen)
        return _Chunk(blob_id, None, 0)

    def _drain_one(self) -> None:
        for item in self._inflight.popleft().result():
            if isinstance(item, _Chunk):
                if item.sealed is not None:
                    self.writer.add(BlobType.DATA, item.id, item.sealed, item.uncompressed_length)
                    item.sealed = None  # the pending file keeps the chunk: drop the bytes
            else:  # from a sealing process: only wanted blobs went there
                blob_id, sealed, uncompressed_length = item
                self.writer.add(BlobType.DATA, blob_id, sealed, uncompressed_length)

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
    processes: int | None = None,
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
        repo,
        workers=workers,
        processes=processes,
        pack_size=pack_size,
        progress=progress,
        excludes=excludes,
    )
    snapshot = archiver.run(paths, tags=tags, hostname=host, parent=parent_snapshot)
    return snapshot, archiver.stats
