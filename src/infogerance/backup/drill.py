"""Restore drills: prove that a snapshot can be given back, and how long it takes.

A drill restores a snapshot (or a path of it) into an empty scratch directory with every
blob re-hashed, records the SHA-256 of each file's content as read from the repository,
then reads every restored file back from disk and compares. The report gives the time
the restore took (the achieved RTO), the age of the snapshot when the drill started (the
achieved RPO), the files missing or different, and the SHA-256 of a manifest (one line per
file: digest, size, path) that an audit record can carry as evidence. A restore that fails
(a damaged or missing pack) gives a failed report with the reason, not an exception. The
scratch copy is removed afterwards unless asked to keep it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import BackupError, InvalidInput
from .formats import Snapshot, format_time
from .repository import Repository
from .restorer import ProgressCallback, Restorer

_READ = 1024 * 1024


@dataclass
class DrillReport:
    snapshot_id: str
    snapshot_time: str
    started_at: str
    restore_seconds: float  # the achieved RTO for this data
    check_seconds: float
    snapshot_age_seconds: float  # the achieved RPO when the drill started
    files: int
    bytes: int
    manifest_sha256: str
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.mismatched or self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _file_sha256(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(_READ):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def restore_drill(
    repo: Repository,
    snapshot: Snapshot,
    scratch: str,
    *,
    include: str | None = None,
    keep: bool = False,
    progress: ProgressCallback | None = None,
) -> DrillReport:
    scratch = os.path.abspath(scratch)
    if os.path.lexists(scratch) and (not os.path.isdir(scratch) or os.listdir(scratch)):
        raise InvalidInput(f"the drill's scratch directory {scratch} must be empty or absent")
    started_ns = time.time_ns()
    restorer = Restorer(repo, verify=True, progress=progress, record_digests=True)
    try:
        started = time.monotonic()
        errors: list[str] = []
        try:
            errors += restorer.restore(snapshot, scratch, include=include).errors
        except BackupError as exc:  # a damaged repository is a failed drill, with its reason
            errors.append(str(exc))
        restore_seconds = time.monotonic() - started
        started = time.monotonic()
        expected = restorer.digests or {}
        missing: list[str] = []
        mismatched: list[str] = []
        lines = []
        for path in sorted(expected):
            digest, size = expected[path]
            shown = "/" + os.path.relpath(path, scratch)
            lines.append(f"{digest}  {size}  {shown}\n")
            try:
                if _file_sha256(path) != (digest, size):
                    mismatched.append(shown)
            except FileNotFoundError:
                missing.append(shown)
        check_seconds = time.monotonic() - started
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return DrillReport(
        snapshot_id=snapshot.id.hex(),
        snapshot_time=format_time(snapshot.time),
        started_at=format_time(started_ns),
        restore_seconds=round(restore_seconds, 3),
        check_seconds=round(check_seconds, 3),
        snapshot_age_seconds=round((started_ns - snapshot.time) / 1e9, 3),
        files=len(expected),
        bytes=sum(size for _digest, size in expected.values()),
        manifest_sha256=hashlib.sha256("".join(lines).encode()).hexdigest(),
        missing=missing,
        mismatched=mismatched,
        errors=errors,
    )
