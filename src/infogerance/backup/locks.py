"""Repository locks, compatible with restic's.

A lock is an unpacked file in ``locks/`` holding ``{"time", "exclusive", "hostname",
"username", "pid", "uid", "gid"}``. Many non-exclusive locks may coexist; an exclusive
lock excludes every other lock. A lock is stale when it is older than 30 minutes, or when
it was made on this host by a process that no longer exists. A live lock is refreshed
(rewritten with a new time, the old file removed) every 5 minutes by a background thread.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

from .backend import FileKind
from .errors import BackupError, FileNotFound, RepositoryLocked
from .formats import format_time, parse_time
from .repository import Repository, current_user

STALE_AFTER_NS = 30 * 60 * 1_000_000_000
REFRESH_EVERY_S = 5 * 60
# After writing its lock a process waits this long, then looks again for conflicting locks
# (two processes may have checked at the same moment).
RECHECK_AFTER_S = 0.05


@dataclass(frozen=True)
class LockInfo:
    id: str
    time: int
    exclusive: bool
    hostname: str
    username: str
    pid: int
    started: int | None = None  # our locks keep the first time across refreshes

    def is_stale(self, now_ns: int | None = None) -> bool:
        now_ns = time.time_ns() if now_ns is None else now_ns
        if now_ns - self.time > STALE_AFTER_NS:
            return True
        if self.hostname != socket.gethostname():
            return False
        return not _process_alive(self.pid)

    def describe(self) -> str:
        kind = "exclusive" if self.exclusive else "non-exclusive"
        return (
            f"{kind} lock {self.id[:8]} by PID {self.pid} on {self.hostname}"
            f" ({self.username or 'unknown user'}) since {format_time(self.time)}"
        )


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_locks(repo: Repository) -> list[LockInfo]:
    locks = []
    for name, _size in repo.backend.list(FileKind.LOCKS):
        try:
            doc = repo.load_unpacked(FileKind.LOCKS, name)
            locks.append(
                LockInfo(
                    id=name,
                    time=parse_time(doc["time"]),
                    exclusive=bool(doc.get("exclusive")),
                    hostname=str(doc.get("hostname") or ""),
                    username=str(doc.get("username") or ""),
                    pid=int(doc.get("pid") or 0),
                    started=parse_time(doc["started"]) if doc.get("started") else None,
                )
            )
        except FileNotFound:
            continue  # released meanwhile
        except (BackupError, KeyError, TypeError, ValueError, AttributeError):
            # An unreadable lock counts as a live exclusive one: safer than ignoring it.
            locks.append(LockInfo(name, time.time_ns(), True, "?", "?", 0))
    return locks


def remove_stale_locks(repo: Repository, *, remove_all: bool = False) -> list[LockInfo]:
    """Remove stale locks (or every lock); return what was removed."""
    removed = []
    for info in list_locks(repo):
        if remove_all or info.is_stale():
            repo.backend.delete(FileKind.LOCKS, info.id)
            removed.append(info)
    return removed


class Lock:
    """A held lock; use as a context manager (`acquire_lock`)."""

    def __init__(self, repo: Repository, exclusive: bool) -> None:
        self.repo = repo
        self.exclusive = exclusive
        self.id = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swap = threading.Lock()
        self.started = time.time_ns()
        self._written_at = 0.0  # time.monotonic() when our lock file was written
        self.confirmed = False

    def _document(self) -> dict[str, object]:
        return {
            "time": format_time(time.time_ns()),
            "exclusive": self.exclusive,
            "hostname": socket.gethostname(),
            "username": current_user(),
            "pid": os.getpid(),
            "uid": os.getuid(),
            "gid": os.getgid(),
            "started": format_time(self.started),
        }

    def _conflicts(self) -> list[LockInfo]:
        return [
            info
            for info in list_locks(self.repo)
            if info.id != self.id and (self.exclusive or info.exclusive) and not info.is_stale()
        ]

    def acquire(self, *, confirm: bool = True) -> None:
        """Write the lock file; with ``confirm=False`` the second look is left to `confirm`.

        A caller may then do read-only work (load the index) during the wait before the
        second look, as long as it calls `confirm` before writing anything.
        """
        conflicts = self._conflicts()
        if conflicts:
            raise _locked_error(conflicts)
        self.id = self.repo.save_unpacked(FileKind.LOCKS, self._document()).hex()
        self._written_at = time.monotonic()
        self._thread = threading.Thread(target=self._refresh_loop, daemon=True)
        self._thread.start()
        if confirm:
            self.confirm()

    def confirm(self) -> None:
        """Look again for conflicting locks once ours has existed for `RECHECK_AFTER_S`.

        Two processes may have checked at the same moment: each sees the other's lock
        now. On a conflict our lock is removed and `RepositoryLocked` raised.
        """
        if self.confirmed:
            return
        remaining = self._written_at + RECHECK_AFTER_S - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        conflicts = self._conflicts()
        if conflicts:
            self.release()
            raise _locked_error(conflicts)
        self.confirmed = True

    def _refresh_loop(self) -> None:
        while not self._stop.wait(REFRESH_EVERY_S):
            with self._swap:
                old = self.id
                try:
                    self.id = self.repo.save_unpacked(FileKind.LOCKS, self._document()).hex()
                except (BackupError, OSError):
                    continue
                with contextlib.suppress(BackupError, OSError):
                    self.repo.backend.delete(FileKind.LOCKS, old)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._swap:
            if self.id:
                self.repo.backend.delete(FileKind.LOCKS, self.id)
                self.id = ""

    def __enter__(self) -> Lock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _locked_error(conflicts: list[LockInfo]) -> RepositoryLocked:
    return RepositoryLocked(
        "the repository is locked: "
        + "; ".join(c.describe() for c in conflicts)
        + ". If that process is gone, run `backup unlock`."
    )


def acquire_lock(repo: Repository, *, exclusive: bool = False, confirm: bool = True) -> Lock:
    lock = Lock(repo, exclusive)
    lock.acquire(confirm=confirm)
    return lock


@contextlib.contextmanager
def locked(repo: Repository, *, exclusive: bool = False, confirm: bool = True) -> Iterator[Lock]:
    """Hold a lock; with ``confirm=False`` the caller must call `Lock.confirm` before
    writing anything (see `Lock.acquire`)."""
    lock = acquire_lock(repo, exclusive=exclusive, confirm=confirm)
    try:
        yield lock
    finally:
        lock.release()
