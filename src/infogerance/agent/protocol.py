"""Reports as the protocol defines them, and the fingerprint of an inventory."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from infogerance.agent import AGENT_VERSION, FORMAT

Kind = Literal["heartbeat", "inventory", "performance", "backup_run", "restore_drill"]
KINDS: tuple[Kind, ...] = ("heartbeat", "inventory", "performance", "backup_run", "restore_drill")

# Facts that change without anything having changed on the machine: they are reported but
# left out of the fingerprint, so that a new inventory is sent only when something real moved.
VOLATILE_TOP_LEVEL = ("uptime_seconds", "boot_time", "notes")
VOLATILE_DISK = ("used_bytes", "free_bytes")


def utc_timestamp(epoch: float) -> str:
    """RFC 3339 UTC with a ``Z``, to the second."""
    moment = datetime.fromtimestamp(int(epoch), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_instant(epoch: float) -> str:
    """RFC 3339 UTC with a ``Z``, to the microsecond (backup runs and drills are timed)."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_report(
    kind: Kind, sequence: int, data: dict[str, Any], collected_at: float
) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    return {
        "format": FORMAT,
        "report_id": str(uuid.uuid4()),
        "kind": kind,
        "sequence": sequence,
        "collected_at": utc_timestamp(collected_at),
        "agent_version": AGENT_VERSION,
        "data": data,
    }


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def inventory_fingerprint(inventory: dict[str, Any]) -> str:
    """SHA-256 of the inventory without its volatile facts (see docs/formats/agent.md)."""
    stable = {k: v for k, v in inventory.items() if k not in VOLATILE_TOP_LEVEL}
    if isinstance(stable.get("disks"), list):
        stable["disks"] = [
            {k: v for k, v in disk.items() if k not in VOLATILE_DISK} for disk in stable["disks"]
        ]
    return hashlib.sha256(canonical_json(stable)).hexdigest()
