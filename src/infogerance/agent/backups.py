"""``agent backup`` and ``agent drill``: the backup engine run by the agent, and its report.

The engine is :mod:`infogerance.backup`, called as ``infogerance backup run`` and ``backup
drill`` call it (the same parent snapshot, the same drill). What it did becomes one report,
``backup_run`` or ``restore_drill`` (docs/formats/agent.md), identified by an id made once
(a UUID 4) so that a report delivered twice is recorded once. The report goes through the
agent's spool like any other: written to disk first, delivered at once when the server
answers, kept for the next delivery when it does not.

When ``agent run`` (the service) holds the spool, the report is left in the spool's
``incoming/`` directory and the service queues it at the next turn of its loop (within
seconds); otherwise this command takes the spool, queues the report and delivers the queue.

A failed backup is reported too (status ``failed``, with the engine's message), as long as
the repository's id is known: it is read from the repository when it opens, and remembered
per location in the spool (``backup-repositories.json``), so that a repository that can no
longer be opened (storage unreachable, key changed) still gets its failure reported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import stat
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from infogerance.agent import AgentError
from infogerance.agent.client import (
    AgentConfig,
    AuthError,
    Delivery,
    TransientError,
    Transport,
    deliver_with_retries,
)
from infogerance.agent.protocol import Kind, utc_instant
from infogerance.agent.spool import Spool, SpoolBusy, submit, write_atomic

if TYPE_CHECKING:
    from infogerance.backup.repository import Repository

logger = logging.getLogger(__name__)

REPOSITORIES_FILE = "backup-repositories.json"
MAX_SCOPE = 200
MAX_TEXT = 2000
MAX_LISTED = 20  # unreadable entries, files that differ, errors: the first ones only
HANDOVER_SECONDS = 30.0  # how long to wait for the spool's holder to take the report
# mkdtemp makes a private (0700), unpredictable directory there: no shared-/tmp risk.
VAR_TMP = "/var/tmp"  # noqa: S108
DELIVERY_ATTEMPTS = 3  # tries (with backoff) before the report is left for the next delivery


def cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


# --- the repository's id, remembered per location ------------------------------------------


def _location_key(location: str) -> str:
    return location if location.startswith("s3:") else os.path.abspath(location)


def known_repositories(spool_dir: Path) -> dict[str, str]:
    """Location → repository id, for the repositories this agent has opened."""
    try:
        known = json.loads((spool_dir / REPOSITORIES_FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(known, dict):
        return {}
    return {k: v for k, v in known.items() if isinstance(k, str) and isinstance(v, str)}


def remembered_id(spool_dir: Path, location: str) -> str | None:
    return known_repositories(spool_dir).get(_location_key(location))


def remember_id(spool_dir: Path, location: str, repository_id: str) -> None:
    """Best effort: a lost entry only means a later failure to open goes unreported."""
    path = spool_dir / REPOSITORIES_FILE
    known = known_repositories(spool_dir)
    key = _location_key(location)
    if known.get(key) == repository_id:
        return
    known[key] = repository_id
    try:
        spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(path, json.dumps(known, indent=1, sort_keys=True).encode())
    except OSError as exc:
        logger.warning("cannot remember the repository's id in %s: %s", path, exc)


# --- the engine -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the engine did, as a report's data, and what to tell the person at the terminal."""

    kind: Kind
    data: dict[str, Any]
    ok: bool
    summary: str
    problems: list[str] = field(default_factory=list)


def read_password(password_file: str | None) -> str:
    """As ``infogerance backup`` reads it (the file's first line, or the environment)."""
    from infogerance.backup.cli import _read_password

    if password_file:
        with contextlib.suppress(OSError):
            mode = os.stat(password_file).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                logger.warning(
                    "the password file %s can be read by other users: chmod 600 it", password_file
                )
    return _read_password(argparse.Namespace(password_file=password_file))


def repository_location(repo: str | None) -> str:
    from infogerance.backup.cli import _location

    return _location(argparse.Namespace(repo=repo))


def parse_verification(text: str) -> tuple[str, tuple[int, int] | None]:
    """``structure``, ``all``, or a subset of the packs: ``n/m`` or ``rolling/m``."""
    from infogerance.backup.cli import _subset

    if text in ("structure", "all"):
        return text, None
    return "subset", _subset(text)


def _open(location: str, password: str) -> Repository:
    from infogerance.backup.backend import open_backend
    from infogerance.backup.repository import Repository

    return Repository.open(open_backend(location), password)


def run_backup(
    location: str,
    password: str,
    paths: Sequence[str],
    *,
    spool_dir: Path,
    scope: str | None = None,
    tags: Sequence[str] = (),
    excludes: Sequence[str] = (),
    hostname: str | None = None,
    verification: tuple[str, tuple[int, int] | None] | None = None,
) -> Outcome:
    """Back up ``paths``; the outcome, success or not, as a ``backup_run`` report's data.

    Raises AgentError only when nothing can be reported: the repository cannot be opened and
    its id was never seen here."""
    from infogerance.backup.archiver import BackupStats, backup

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as `infogerance backup` does
    absolute = sorted({os.path.abspath(p) for p in paths})
    data: dict[str, Any] = {
        "run_id": str(uuid.uuid4()),
        "scope": cut(scope.strip() if scope and scope.strip() else " ".join(absolute), MAX_SCOPE),
    }
    started = time.time()
    data["started_at"] = utc_instant(started)
    try:
        repo = _open(location, password)
    except Exception as exc:  # storage unreachable, wrong key, damaged config…
        known = remembered_id(spool_dir, location)
        if known is None:
            raise AgentError(
                f"cannot open the repository {location}: {_error_text(exc)}; nothing was "
                "reported (its id is learnt at the first backup that opens it)"
            ) from None
        repository_id, opened = known, False
        failure: BaseException | None = exc
    else:
        repository_id, opened, failure = repo.id, True, None
        remember_id(spool_dir, location, repo.id)
    data["repository_id"] = repository_id
    stats, snapshot = BackupStats(), None
    if opened:
        try:
            snapshot, stats = backup(
                repo,
                list(paths),
                tags=list(tags),
                hostname=hostname,
                parent="auto",
                excludes=list(excludes),
            )
        except Exception as exc:  # any failure of the engine is a failed run, reported
            failure = exc
            logger.debug("the backup failed", exc_info=True)
    problems: list[str] = []
    if failure is not None:
        message = _error_text(failure)
        data.update(status="failed", error=cut(message, 5000))
        problems.append(f"the backup failed: {message}")
    else:
        assert snapshot is not None
        data["snapshot_id"] = snapshot.id.hex()
        data["snapshot_time"] = utc_instant(snapshot.time / 1e9)
        if stats.errors:
            listed = stats.errors[:MAX_LISTED]
            more = len(stats.errors) - len(listed)
            text = "\n".join(listed) + (f"\n… and {more} more" if more else "")
            what = (
                f"{len(stats.errors)} entries could not be read; "
                "the snapshot was saved without them"
            )
            data.update(status="partial", error=cut(f"{what}:\n{text}", 5000))
            problems += [f"warning: {e}" for e in listed]
            problems.append(what)
        else:
            data["status"] = "success"
    data.update(
        files=stats.files,
        bytes_read=stats.bytes_read,
        bytes_added=stats.bytes_added,
        unreadable=len(stats.errors),
    )
    if verification is not None and snapshot is not None:
        from infogerance.backup.check import verify

        tier, subset = verification
        try:
            checked = verify(repo, read=tier, subset=subset)
            verified_ok, errors = checked.ok, checked.errors
        except Exception as exc:  # a verification that cannot run has not verified anything
            verified_ok, errors = False, [_error_text(exc)]
        data.update(verification=tier, verification_ok=verified_ok)
        problems += [f"verification: {e}" for e in errors[:MAX_LISTED]]
    data["finished_at"] = utc_instant(time.time())
    ok = data["status"] == "success" and data.get("verification_ok", True) is not False
    if snapshot is not None:
        status = data["status"]
        if "verification" in data:
            verdict = "ok" if data["verification_ok"] else "FAILED"
            status += f", verification {data['verification']}: {verdict}"
        summary = (
            f"snapshot {snapshot.short_id} saved: {stats.files} files, "
            f"{stats.bytes_read / 1048576:.1f} MiB read, {stats.bytes_added / 1048576:.1f} MiB "
            f"added in {stats.duration_s:.1f}s ({status})"
        )
    else:
        summary = f"backup of {data['scope']} failed"
    return Outcome("backup_run", data, ok, summary, problems)


def _scratch_parent() -> str | None:
    """$TMPDIR when set, else /var/tmp: on disk, where /tmp is often memory (tmpfs)."""
    if os.environ.get("TMPDIR"):
        return None
    return VAR_TMP if os.path.isdir(VAR_TMP) and os.access(VAR_TMP, os.W_OK) else None


def run_drill(
    location: str,
    password: str,
    snapshot_ref: str,
    *,
    spool_dir: Path,
    scratch: str | None = None,
    include: str | None = None,
    keep: bool = False,
) -> Outcome:
    """Restore a snapshot to a scratch place and compare every file; a ``restore_drill``
    report's data. A damaged repository gives a failed drill, reported.

    Raises AgentError when no drill took place (the repository cannot be opened, no such
    snapshot, a scratch directory that is not empty): a drill names the snapshot it tried."""
    from infogerance.backup.drill import restore_drill
    from infogerance.backup.errors import BackupError, RepositoryLocked
    from infogerance.backup.locks import locked

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        repo = _open(location, password)
        remember_id(spool_dir, location, repo.id)
        snapshot = repo.find_snapshot(snapshot_ref)
    except (BackupError, OSError, ValueError) as exc:
        raise AgentError(f"no drill: {_error_text(exc)}; nothing was reported") from None
    own_scratch = scratch is None
    if scratch is None:
        scratch = tempfile.mkdtemp(prefix="infogerance-drill-", dir=_scratch_parent())
    elif os.path.lexists(scratch) and (not os.path.isdir(scratch) or os.listdir(scratch)):
        raise AgentError(f"the drill's scratch directory {scratch} must be empty or absent")
    data: dict[str, Any] = {
        "drill_id": str(uuid.uuid4()),
        "repository_id": repo.id,
        "snapshot_id": snapshot.id.hex(),
        "snapshot_time": utc_instant(snapshot.time / 1e9),
    }
    started = time.time()
    errors: list[str] = []
    try:
        with locked(repo):
            report = restore_drill(repo, snapshot, scratch, include=include, keep=keep)
    except RepositoryLocked as exc:  # another process's exclusive lock: try again later
        raise AgentError(f"no drill: {exc}; nothing was reported") from None
    except Exception as exc:  # the restore could not be done: a failed drill
        logger.debug("the drill failed", exc_info=True)
        errors.append(_error_text(exc))
        report = None
    finally:
        if own_scratch and not keep:
            with contextlib.suppress(OSError):
                os.rmdir(scratch)  # restore_drill removed its content
    if report is not None:
        errors = report.errors
        restore_seconds = report.restore_seconds
        # The achieved RTO is the restore's time: the comparison that follows is the drill's
        # own verification, not part of giving the data back.
        finished = started + restore_seconds
        files, size = report.files, report.bytes
        missing, mismatched = report.missing, report.mismatched
        evidence: dict[str, Any] = {
            "manifest_sha256": report.manifest_sha256,
            "restore_seconds": report.restore_seconds,
            "check_seconds": report.check_seconds,
            "snapshot_age_seconds": report.snapshot_age_seconds,
        }
    else:
        finished = time.time()
        files = size = 0
        missing, mismatched = [], []
        evidence = {}
    if include:
        evidence["include"] = cut(include)
    if missing:
        evidence["missing"] = [cut(p) for p in missing[:MAX_LISTED]]
    if mismatched:
        evidence["mismatched"] = [cut(p) for p in mismatched[:MAX_LISTED]]
    data.update(
        started_at=utc_instant(started),
        finished_at=utc_instant(finished),
        files_checked=files,
        bytes_checked=size,
        mismatches=len(missing) + len(mismatched),
        errors=[cut(e) for e in errors[:MAX_LISTED]],
        evidence=evidence,
    )
    ok = files > 0 and not (missing or mismatched or errors)
    summary = (
        f"drill of snapshot {snapshot.short_id}: {files} files, {size / 1048576:.1f} MiB, "
        f"restored in {finished - started:.1f}s (RTO), snapshot age "
        f"{started - snapshot.time / 1e9:.0f}s (RPO): " + ("OK" if ok else "FAILED")
    )
    if keep and report is not None:
        summary += f"; the restored copy is kept in {scratch}"
    problems = [f"missing: {p}" for p in missing[:MAX_LISTED]]
    problems += [f"different: {p}" for p in mismatched[:MAX_LISTED]]
    problems += [f"error: {e}" for e in errors[:MAX_LISTED]]
    if not files and not errors:
        problems.append("error: the snapshot holds no file to compare")
    return Outcome("restore_drill", data, ok, summary, problems)


# --- the report -------------------------------------------------------------------------------

Fate = Literal["delivered", "waiting", "handed over", "refused"]


@dataclass
class Reported:
    fate: Fate
    message: str


def report(
    config: AgentConfig,
    spool_dir: Path,
    outcome: Outcome,
    *,
    collected_at: float | None = None,
    attempts: int | None = None,
    handover_seconds: float | None = None,
    sleep: Callable[[float], None] | None = None,
    transport: Transport | None = None,
    sync: bool = True,
) -> Reported:
    """Queue the outcome's report and deliver the queue (or hand it to the spool's holder).

    Raises AuthError when the server refuses the agent's credential (the report stays)."""
    incoming = submit(spool_dir, outcome.kind, outcome.data, collected_at or time.time(), sync=sync)
    sleep = sleep or time.sleep
    attempts = attempts or DELIVERY_ATTEMPTS
    waiting = HANDOVER_SECONDS if handover_seconds is None else handover_seconds
    deadline = time.monotonic() + waiting
    while True:
        try:
            spool = Spool(spool_dir, sync=sync)
            with spool.lock():
                return _deliver(config, spool, incoming, attempts, sleep, transport)
        except SpoolBusy:
            if not incoming.exists():
                return Reported(
                    "handed over",
                    "the report was queued by the agent that holds the spool "
                    f"({spool_dir}); it delivers it",
                )
            if time.monotonic() >= deadline:
                return Reported(
                    "waiting",
                    f"the spool {spool_dir} is held by another agent process: the report waits "
                    f"in {incoming.parent} and is queued at its next turn",
                )
            sleep(0.5)


def _deliver(
    config: AgentConfig,
    spool: Spool,
    incoming: Path,
    attempts: int,
    sleep: Callable[[float], None],
    transport: Transport | None,
) -> Reported:
    delivery = Delivery(config, spool, transport=transport)
    try:
        delivery.synchronise()  # before numbering: the server ignores numbers it has seen
    except AuthError:
        raise
    except AgentError as exc:
        logger.warning("cannot ask the server for its last sequence: %s", exc)
    try:
        adopted = spool.adopt_incoming()
    except OSError as exc:  # a full disk, say: the report stays in incoming/
        return Reported(
            "waiting",
            f"cannot queue the report ({exc.strerror or exc}); it waits in {incoming.parent}",
        )
    ours = next((r for name, r in adopted if name == incoming.name), None)
    try:
        deliver_with_retries(delivery, attempts=attempts, sleep=sleep)
    except TransientError as exc:
        return Reported(
            "waiting",
            f"{exc}; the report waits in {spool.directory} ({len(spool)} queued) and leaves "
            "with the next delivery (`agent run`, or the next agent command)",
        )
    except AuthError:
        raise
    except AgentError as exc:
        return Reported("waiting", f"{exc}; the report waits in {spool.directory}")
    if ours is None:  # queued meanwhile by another holder of the spool, and delivered by it
        return Reported("handed over", "the report was queued by another agent process")
    reason = spool.rejection(ours)
    if reason is not None:
        return Reported(
            "refused",
            f"the platform refused the report ({reason}); it was set aside in {spool.rejected_dir}",
        )
    if any(e.sequence == ours["sequence"] for e in spool.entries()):
        return Reported("waiting", f"the report waits in {spool.directory}")
    return Reported("delivered", f"reported to {config.server}")
