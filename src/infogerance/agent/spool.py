"""The on-disk queue: reports wait here until the server has acknowledged them.

Layout of the spool directory::

    state.json                  the sequence counter, the last delivery, drop counts
    queue/000000000042-inventory.json   one file per report, named by sequence
    rejected/…                  reports the server refused (400, 413), with the reason
    incoming/…                  reports made by another command (``agent backup``, ``agent
                                drill``) while the spool was held by ``agent run``: given
                                their sequence and queued by whoever holds it

Every file is written to a temporary name (``.tmp-…``), flushed to disk, then renamed: a
crash at any moment leaves either the old state or the new one, plus perhaps a temporary file
that the next start removes. A report is deleted only after the server acknowledged it; a
crash between both replays it, which the server answers as ``duplicate``.

The sequence counter never goes back: at start it is the larger of the saved counter and the
newest queued report, and the counter is saved before any report leaves the queue (delivered,
rejected or dropped), so a number that may have reached the server is never given again.

Only the process that holds the spool's lock numbers reports. Another command writes its
report to ``incoming/`` (:func:`submit`, no lock needed); the holder moves it into the queue
(:meth:`Spool.adopt_incoming`): ``agent run`` at every turn of its loop, ``agent once``,
``agent backup`` and ``agent drill`` when the lock is free.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infogerance.agent import AgentError
from infogerance.agent.protocol import KINDS, Kind, make_report

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_MAX_COUNT = 50_000  # a month of heartbeats
DEFAULT_MAX_BYTES = 128 * MiB
DEFAULT_MAX_REJECTED = 1_000
TMP_PREFIX = ".tmp-"
_KIND_NAMES = "|".join(KINDS)
ENTRY_NAME = re.compile(rf"^(?P<sequence>\d{{12}})-(?P<kind>{_KIND_NAMES})\.json$")
# incoming/<nanoseconds since the epoch>-<12 random hex digits>-<kind>.json
INCOMING_NAME = re.compile(rf"^\d{{20}}-[0-9a-f]{{12}}-(?P<kind>{_KIND_NAMES})\.json$")
INCOMING_TMP_MAX_AGE = 3600.0  # a temporary file in incoming/ this old was left by a crash
# The order in which kinds are sacrificed past the bound; inventories come last, and the
# newest inventory is never dropped. Backup runs and restore drills are never dropped: they
# are the evidence the service levels are measured from, and a few a day weigh nothing.
DROP_ORDER: tuple[Kind, ...] = ("heartbeat", "performance", "inventory")


class SpoolBusy(AgentError):
    """Another process holds the spool (usually ``agent run``, the service)."""


@dataclass(frozen=True)
class Entry:
    sequence: int
    kind: str
    size: int
    path: Path


def fsync_directory(directory: Path, sync: bool = True) -> None:
    if sys.platform == "win32" or not sync:
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600, sync: bool = True) -> None:
    """Write ``path`` so that it holds either its old content or ``data``, never a mix."""
    tmp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_directory(path.parent, sync)


def encode(report: dict[str, Any]) -> bytes:
    return json.dumps(report, separators=(",", ":"), ensure_ascii=False).encode()


@contextlib.contextmanager
def hold(directory: Path) -> Iterator[None]:
    """Hold the spool at ``directory`` for this process, or raise SpoolBusy at once. The lock
    is the operating system's on the file ``lock`` (released when the process ends, however
    it ends): ``flock`` on POSIX systems, ``msvcrt.locking`` of its first byte on Windows."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise AgentError(f"cannot open the spool {directory}: {exc.strerror or exc}") from None
    try:
        if not _lock_at_once(fd):
            raise SpoolBusy(f"another agent is already using the spool {directory}")
        yield
    finally:
        os.close(fd)


def _lock_at_once(fd: int) -> bool:
    """Lock the open file ``fd`` for this process; False if another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:  # another process holds the byte
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def submit(
    directory: Path, kind: Kind, data: dict[str, Any], collected_at: float, sync: bool = True
) -> Path:
    """Leave a report for whichever process holds the spool, without taking its lock.

    The file holds the kind, the data and the collection time; its sequence number and
    report id are given when it is adopted (:meth:`Spool.adopt_incoming`). Written
    atomically: the holder sees the whole file or nothing."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    incoming = directory / "incoming"
    try:
        incoming.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = incoming / f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}-{kind}.json"
        item = {"kind": kind, "collected_at": collected_at, "data": data}
        write_atomic(path, encode(item), sync=sync)
    except OSError as exc:
        raise AgentError(
            f"cannot write the report into the spool {directory}: {exc.strerror or exc}"
        ) from None
    return path


class Spool:
    def __init__(
        self,
        directory: Path | str,
        *,
        max_count: int = DEFAULT_MAX_COUNT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_rejected: int = DEFAULT_MAX_REJECTED,
        sync: bool = True,
    ) -> None:
        """``sync=False`` skips fsync: for tests and benchmarks only, never for an agent."""
        self.directory = Path(directory)
        self.queue_dir = self.directory / "queue"
        self.rejected_dir = self.directory / "rejected"
        self.incoming_dir = self.directory / "incoming"
        self.state_path = self.directory / "state.json"
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.max_rejected = max_rejected
        self.sync = sync
        try:
            for d in (self.directory, self.queue_dir, self.rejected_dir, self.incoming_dir):
                d.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise AgentError(
                f"cannot create the spool {self.directory}: {exc.strerror or exc}"
            ) from None
        self._load()

    # --- loading ---------------------------------------------------------------------------

    def _load(self) -> None:
        self._entries: list[Entry] = self._scan()
        self._bytes = sum(e.size for e in self._entries)
        self.state: dict[str, Any] = self._load_state()
        newest = self._entries[-1].sequence if self._entries else 0
        self._saved_sequence = int(self.state.get("sequence", 0))
        self.state["sequence"] = max(self._saved_sequence, newest)

    def _clean_temporary_files(self) -> None:
        for d in (self.directory, self.queue_dir, self.rejected_dir):
            for path in d.glob(f"{TMP_PREFIX}*"):
                logger.info("removing %s, left by an interrupted write", path)
                with contextlib.suppress(OSError):
                    path.unlink()

    def _scan(self) -> list[Entry]:
        entries = []
        for path in self.queue_dir.iterdir():
            match = ENTRY_NAME.match(path.name)
            if not match:
                continue
            try:
                size = path.stat().st_size
            except OSError:
                continue
            entries.append(Entry(int(match["sequence"]), match["kind"], size, path))
        entries.sort(key=lambda e: e.sequence)
        return entries

    def _load_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_bytes())
        except FileNotFoundError:
            return {"sequence": 0}
        except (OSError, ValueError) as exc:
            # The counter is rebuilt from the queue; a skipped number is harmless, a reuse is not.
            logger.warning("unreadable %s (%s): starting a new state", self.state_path, exc)
            return {"sequence": 0}
        return state if isinstance(state, dict) else {"sequence": 0}

    def save_state(self, **changes: Any) -> None:
        self.state.update(changes)
        data = json.dumps(self.state, indent=1, sort_keys=True).encode()
        write_atomic(self.state_path, data, sync=self.sync)
        self._saved_sequence = self.sequence

    # --- adding ----------------------------------------------------------------------------

    @property
    def sequence(self) -> int:
        """The last sequence number given to a report."""
        return int(self.state["sequence"])

    def next_sequence(self) -> int:
        # Saved lazily: until its report leaves the queue, the queue itself remembers it.
        self.state["sequence"] = self.sequence + 1
        return self.sequence

    def _save_sequence(self) -> None:
        if self._saved_sequence != self.sequence:
            self.save_state()

    def add(self, kind: Kind, data: dict[str, Any], collected_at: float) -> dict[str, Any]:
        """Make a report with the next sequence number and queue it."""
        report = make_report(kind, self.next_sequence(), data, collected_at)
        self.put(report)
        return report

    def put(self, report: dict[str, Any]) -> Entry:
        kind, sequence = report["kind"], int(report["sequence"])
        if kind not in KINDS:
            raise ValueError(f"unknown report kind {kind!r}")
        path = self.queue_dir / f"{sequence:012d}-{kind}.json"
        data = encode(report)
        write_atomic(path, data, sync=self.sync)
        entry = Entry(sequence, kind, len(data), path)
        self._entries.append(entry)
        if len(self._entries) > 1 and self._entries[-2].sequence > sequence:
            self._entries.sort(key=lambda e: e.sequence)
        self._bytes += entry.size
        self.state["sequence"] = max(self.sequence, sequence)
        self._enforce_bounds()
        return entry

    def _enforce_bounds(self) -> None:
        dropped: dict[str, int] = {}
        while len(self._entries) > self.max_count or self._bytes > self.max_bytes:
            victim = self._victim()
            if victim is None:
                break  # only the newest inventory is left: it stays, whatever its size
            self._forget(victim)
            dropped[victim.kind] = dropped.get(victim.kind, 0) + 1
        if dropped:
            counts = dict(self.state.get("dropped", {}))
            for kind, n in dropped.items():
                counts[kind] = counts.get(kind, 0) + n
            logger.warning(
                "spool full: dropped %s", ", ".join(f"{n} {k}" for k, n in dropped.items())
            )
            self.save_state(dropped=counts)

    def _victim(self) -> Entry | None:
        for kind in DROP_ORDER:
            candidates = [e for e in self._entries if e.kind == kind]
            if kind == "inventory":
                candidates = candidates[:-1]
            if candidates:
                return candidates[0]
        return None

    def _forget(self, entry: Entry) -> None:
        self._save_sequence()
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()
        self._entries.remove(entry)
        self._bytes -= entry.size

    # --- reading and acknowledging ---------------------------------------------------------

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def batch(
        self, max_reports: int = 100, max_bytes: int = 8 * MiB
    ) -> list[tuple[Entry, dict[str, Any]]]:
        """The oldest reports that fit in one request (always at least one, if any)."""
        batch: list[tuple[Entry, dict[str, Any]]] = []
        size = len(b'{"reports":[]}')
        for entry in list(self._entries):
            if len(batch) >= max_reports:
                break
            if batch and size + entry.size + 1 > max_bytes:
                break
            try:
                report = json.loads(entry.path.read_bytes())
                if not isinstance(report, dict):
                    raise ValueError("not a JSON object")
            except FileNotFoundError:
                self._entries.remove(entry)
                self._bytes -= entry.size
                continue
            except (OSError, ValueError) as exc:
                self.reject(entry, f"unreadable spool file: {exc}")
                continue
            batch.append((entry, report))
            size += entry.size + 1
        return batch

    def remove(self, entries: list[Entry]) -> None:
        """Forget reports the server acknowledged."""
        for entry in entries:
            if entry in self._entries:
                self._forget(entry)
        if entries:
            fsync_directory(self.queue_dir, self.sync)

    def reject(self, entry: Entry, reason: str) -> None:
        """Set a report aside so that it never blocks the queue again."""
        logger.error("report %s (%s) set aside: %s", entry.sequence, entry.kind, reason)
        self._save_sequence()
        target = self.rejected_dir / entry.path.name
        write_atomic(
            self.rejected_dir / f"{entry.path.stem}.reason.json",
            json.dumps({"sequence": entry.sequence, "kind": entry.kind, "reason": reason}).encode(),
            sync=self.sync,
        )
        with contextlib.suppress(FileNotFoundError):
            os.replace(entry.path, target)
        if entry in self._entries:
            self._entries.remove(entry)
            self._bytes -= entry.size
        fsync_directory(self.queue_dir, self.sync)
        self.save_state(rejected=int(self.state.get("rejected", 0)) + 1)
        reports = sorted(p for p in self.rejected_dir.iterdir() if ENTRY_NAME.match(p.name))
        for old in reports[: max(0, len(reports) - self.max_rejected)]:
            for path in (old, old.with_name(f"{old.stem}.reason.json")):
                with contextlib.suppress(OSError):
                    path.unlink()

    def rejected(self) -> list[Path]:
        return sorted(p for p in self.rejected_dir.iterdir() if ENTRY_NAME.match(p.name))

    # --- one process at a time -------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the spool for this process: two agents on one spool would send twice. Only
        the holder removes what an interrupted write left (``.tmp-…``): anyone else could
        take the file another process is writing. The queue and the state are read again
        once held."""
        with hold(self.directory):
            self._clean_temporary_files()
            self._load()
            yield

    # --- reports made by other commands ----------------------------------------------------

    def incoming(self) -> list[Path]:
        """Reports left by :func:`submit`, oldest first."""
        try:
            names = sorted(p.name for p in self.incoming_dir.iterdir())
        except FileNotFoundError:
            return []
        return [self.incoming_dir / n for n in names if INCOMING_NAME.match(n)]

    def adopt_incoming(self) -> list[tuple[str, dict[str, Any]]]:
        """Number and queue the reports left in ``incoming/``; the caller holds the lock.

        Returns ``(file name, report)`` for each. The report is queued (and flushed to disk)
        before its incoming file is deleted: a crash in between queues it twice, which the
        server recognises by the run's or drill's own id."""
        adopted: list[tuple[str, dict[str, Any]]] = []
        self._clean_old_incoming_temporary_files()
        for path in self.incoming():
            try:
                item = json.loads(path.read_bytes())
                kind, data = item["kind"], item["data"]
                collected_at = float(item["collected_at"])
                if kind not in KINDS or not isinstance(data, dict):
                    raise ValueError(f"not a report of a known kind: {kind!r}")
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.error("unreadable incoming report %s set aside: %s", path.name, exc)
                with contextlib.suppress(OSError):
                    os.replace(path, self.rejected_dir / f"incoming-{path.name}")
                continue
            report = self.add(kind, data, collected_at)
            path.unlink()
            adopted.append((path.name, report))
        if adopted:
            fsync_directory(self.incoming_dir, self.sync)
        return adopted

    def _clean_old_incoming_temporary_files(self) -> None:
        # Only old ones: another command may be writing a report there right now.
        limit = time.time() - INCOMING_TMP_MAX_AGE
        for path in self.incoming_dir.glob(f"{TMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < limit:
                    path.unlink()

    def rejection(self, report: dict[str, Any]) -> str | None:
        """Why the server refused ``report``, if it was set aside."""
        name = f"{int(report['sequence']):012d}-{report['kind']}.reason.json"
        try:
            reason = json.loads((self.rejected_dir / name).read_bytes())
        except (OSError, ValueError):
            return None
        return str(reason.get("reason", "")) if isinstance(reason, dict) else None

    def summary(self) -> dict[str, Any]:
        by_kind: dict[str, int] = {kind: 0 for kind in KINDS}
        for entry in self._entries:
            by_kind[entry.kind] += 1
        return {
            "directory": str(self.directory),
            "reports": len(self._entries),
            "bytes": self._bytes,
            "by_kind": by_kind,
            "rejected": len(self.rejected()),
            "incoming": len(self.incoming()),
            "sequence": self.sequence,
            "dropped": dict(self.state.get("dropped", {})),
        }
