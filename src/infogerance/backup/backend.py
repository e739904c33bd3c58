"""Storage of repository files: the `Backend` protocol and the local filesystem backend.

A repository is a set of immutable files of a few kinds (`FileKind`). Each file but
``config`` is named by the lower-case hex SHA-256 of its content. The backend only moves
bytes: it knows nothing about encryption or formats, so an object-storage backend only
has to implement the same six operations.

The local backend lays files out as restic does (``data/00`` … ``data/ff`` below
``data``, one directory per other kind) and writes atomically: a temporary file in the
destination directory, ``fsync``, ``rename``, then ``fsync`` of the directory, so that a
crash leaves either the whole file or nothing but a temporary file that listings ignore.
Lock files alone skip the fsyncs: losing one in a crash is the same as it going stale.
A backup's packs take the same steps in two goes (`LocalBackend.settle`): written with
their writeback started, then made durable and named a little later, always before an
index names them.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import errno
import os
import re
import secrets
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from .errors import BackupError, FileNotFound, RepositoryExists, RepositoryNotFound

ID_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class FileKind(enum.StrEnum):
    CONFIG = "config"
    KEYS = "keys"
    DATA = "data"
    INDEX = "index"
    SNAPSHOTS = "snapshots"
    LOCKS = "locks"
    # Ours, ignored by restic: records of packs that `prune` will delete after a delay.
    PENDING = "infogerance-pending"


class Backend(Protocol):
    """What the engine needs from a storage place."""

    # How many pack writes a backup keeps in flight (each holds a 16 MiB pack in memory).
    write_concurrency: int

    @property
    def location(self) -> str: ...

    def create(self) -> None:
        """Prepare an empty repository; `RepositoryExists` when a config is there."""
        ...

    def exists(self) -> bool:
        """Whether a repository config is present."""
        ...

    def read(self, kind: FileKind, name: str, offset: int = 0, length: int | None = None) -> bytes:
        """The file's bytes (or a range of them); `FileNotFound` when it is missing."""
        ...

    def write(self, kind: FileKind, name: str, data: bytes | bytearray | memoryview) -> None:
        """Store a file atomically (all or nothing), durably."""
        ...

    def list(self, kind: FileKind) -> Iterator[tuple[str, int]]:
        """Names and sizes of the files of a kind (temporary files left out)."""
        ...

    def stat(self, kind: FileKind, name: str) -> int:
        """The size of a file; `FileNotFound` when it is missing."""
        ...

    def delete(self, kind: FileKind, name: str) -> None:
        """Remove a file; removing a missing file is not an error."""
        ...


class _OpenPack:
    """A read-only descriptor of the pack a thread read last (packs never change)."""

    __slots__ = ("fd", "name")

    def __init__(self, name: str, fd: int) -> None:
        self.name = name
        self.fd = fd

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class LocalBackend:
    """A repository in a directory of the local filesystem."""

    write_concurrency = 1  # one writer thread keeps up with a local disk, fsync included

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._data_root = os.path.join(os.fspath(root), "data")
        # Restores read many blobs of one pack in a row: keep its descriptor per thread.
        self._last_pack = threading.local()
        self._unsettled: list[tuple[Path, Path]] = []  # (temporary file, its name to be)
        self._unsettled_lock = threading.Lock()
        self._settling = threading.Lock()

    @property
    def location(self) -> str:
        return str(self.root)

    def _path(self, kind: FileKind, name: str) -> Path:
        if kind is FileKind.CONFIG:
            return self.root / "config"
        if not ID_PATTERN.match(name):
            raise BackupError(f"invalid file name {name!r}")
        if kind is FileKind.DATA:
            return self.root / "data" / name[:2] / name
        return self.root / kind.value / name

    def create(self) -> None:
        if (self.root / "config").exists():
            raise RepositoryExists(f"a repository already exists at {self.root}")
        if self.root.exists() and not self.root.is_dir():
            raise BackupError(f"{self.root} exists and is not a directory")
        self.root.mkdir(parents=True, exist_ok=True)
        for kind in ("keys", "index", "snapshots", "locks", "data"):
            (self.root / kind).mkdir(exist_ok=True)
        for i in range(256):
            (self.root / "data" / f"{i:02x}").mkdir(exist_ok=True)
        _fsync_dir(self.root / "data")
        _fsync_dir(self.root)

    def exists(self) -> bool:
        return (self.root / "config").is_file()

    def read(self, kind: FileKind, name: str, offset: int = 0, length: int | None = None) -> bytes:
        if kind is FileKind.DATA and length is not None and offset >= 0:
            return self._read_pack_range(name, offset, length)
        path = self._path(kind, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            if kind is FileKind.CONFIG and not self.root.exists():
                raise RepositoryNotFound(f"no repository at {self.root}") from None
            raise FileNotFound(f"{kind.value}/{name} does not exist") from None
        try:
            if offset < 0 or length is None:
                size = os.fstat(fd).st_size
                if offset < 0:
                    offset = max(0, size + offset)
                if length is None:
                    length = max(0, size - offset)
            data = os.pread(fd, length, offset)
            while len(data) < length:  # short reads are allowed; loop until EOF
                more = os.pread(fd, length - len(data), offset + len(data))
                if not more:
                    break
                data += more
        finally:
            os.close(fd)
        if len(data) != length:
            raise FileNotFound(f"{kind.value}/{name} is truncated")
        return data

    def _read_pack_range(self, name: str, offset: int, length: int) -> bytes:
        cached: _OpenPack | None = getattr(self._last_pack, "pack", None)
        if cached is None or cached.name != name:
            if not ID_PATTERN.match(name):
                raise BackupError(f"invalid file name {name!r}")
            path = os.path.join(self._data_root, name[:2], name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise FileNotFound(f"data/{name} does not exist") from None
            cached = _OpenPack(name, fd)
            self._last_pack.pack = cached
        data = os.pread(cached.fd, length, offset)
        while len(data) < length:
            more = os.pread(cached.fd, length - len(data), offset + len(data))
            if not more:
                break
            data += more
        if len(data) != length:
            raise FileNotFound(f"data/{name} is truncated")
        return data

    def write(self, kind: FileKind, name: str, data: bytes | bytearray | memoryview) -> None:
        self.write_parts(kind, name, [data])

    def write_parts(
        self,
        kind: FileKind,
        name: str,
        parts: Sequence[bytes | bytearray | memoryview],
        *,
        defer_sync: bool = False,
    ) -> None:
        """`write` of the concatenation of `parts`, without making it (``writev``).

        With `defer_sync` the file is written and its writeback to the disk started, but it
        is made durable and given its name only by `settle`: until then it is a temporary
        file, which listings ignore and a crash leaves as such. Waiting for the disk after
        each pack stopped a backup of incompressible data for a third of its time.
        """
        path = self._path(kind, name)
        # Locks are ephemeral: after a crash a lost lock is as good as a stale one, so they
        # skip the fsyncs that cost most of an unchanged run on a busy disk.
        durable = kind is not FileKind.LOCKS
        directory = path.parent
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".tmp-{name[:16]}-{secrets.token_hex(6)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        deferred = durable and defer_sync
        try:
            _write_all(fd, parts)
            if deferred:
                _start_writeback(fd)
            elif durable:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        os.close(fd)
        if deferred:
            with self._unsettled_lock:
                self._unsettled.append((tmp, path))
            return
        try:
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if durable:
            _fsync_dir(directory)

    def settle(self, *, keep: int = 0) -> None:
        """Make the deferred writes durable and give them their names (``fsync``, rename,
        ``fsync`` of the directories), all but the `keep` most recent."""
        with self._settling:
            with self._unsettled_lock:
                count = max(0, len(self._unsettled) - keep)
                batch = self._unsettled[:count]
                del self._unsettled[:count]
            directories: dict[Path, None] = {}
            for tmp, path in batch:
                fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, path)
                directories[path.parent] = None
            for directory in directories:
                _fsync_dir(directory)

    def list(self, kind: FileKind) -> Iterator[tuple[str, int]]:
        if kind is FileKind.CONFIG:
            if self.exists():
                yield "config", (self.root / "config").stat().st_size
            return
        base = self.root / kind.value
        dirs = sorted(p for p in base.iterdir() if p.is_dir()) if kind is FileKind.DATA else [base]
        for directory in dirs:
            try:
                entries = list(os.scandir(directory))
            except FileNotFoundError:
                continue
            for entry in entries:
                if ID_PATTERN.match(entry.name) and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        yield entry.name, entry.stat().st_size

    def stat(self, kind: FileKind, name: str) -> int:
        try:
            return self._path(kind, name).stat().st_size
        except FileNotFoundError:
            raise FileNotFound(f"{kind.value}/{name} does not exist") from None

    def delete(self, kind: FileKind, name: str) -> None:
        path = self._path(kind, name)
        cached: _OpenPack | None = getattr(self._last_pack, "pack", None)
        if cached is not None and cached.name == name:
            self._last_pack.pack = None
        try:
            path.unlink()
        except FileNotFoundError:
            return
        if kind is not FileKind.LOCKS:
            _fsync_dir(path.parent)


def _load_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_sync_file_range = _load_sync_file_range() if sys.platform.startswith("linux") else None
_SYNC_FILE_RANGE_WRITE = 2


def _start_writeback(fd: int) -> None:
    """Have the kernel start writing the file's data now, without waiting for it (Linux)."""
    if _sync_file_range is not None:
        _sync_file_range(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)  # advice: errors left to fsync


_IOV_MAX = min(1024, os.sysconf("SC_IOV_MAX")) if hasattr(os, "sysconf") else 16


def _write_all(fd: int, parts: Sequence[bytes | bytearray | memoryview]) -> None:
    """Write the parts in order, up to `_IOV_MAX` per system call, short writes included."""
    pending = [memoryview(p) for p in parts if len(p)]
    start = 0
    while start < len(pending):
        batch = pending[start : start + _IOV_MAX]
        written = os.writev(fd, batch)
        # Skip what was written: whole parts, then a part's written head.
        for view in batch:
            if written >= len(view):
                written -= len(view)
                start += 1
            else:
                pending[start] = view[written:]
                break


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:  # some filesystems cannot open directories
        if exc.errno in (errno.EACCES, errno.EINVAL):
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EROFS):
            raise
    finally:
        os.close(fd)


def open_backend(location: str | os.PathLike[str]) -> Backend:
    """The backend for a location: a local path (optionally ``local:PATH``) or
    ``s3:http(s)://host[:port]/bucket[/prefix]`` as restic spells it."""
    text = os.fspath(location)
    if text.startswith("s3:"):
        from .s3 import S3Backend  # imported on demand: local repositories need no HTTP client

        return S3Backend(text)
    if "://" in text and not text.startswith("local:"):
        raise BackupError(
            f"unsupported repository location {text!r} (a local path or s3:http(s)://host/bucket)"
        )
    return LocalBackend(text.removeprefix("local:"))
