"""The raw facts a measurement is computed from, as plain values (no Django).

The platform builds them from its database; ``infogerance sla evaluate`` reads them from a JSON
Lines file (see :mod:`infogerance.sla.eventsfile` and ``docs/formats/events.md``). Either way
the measurement engine (:mod:`infogerance.sla.measure`) sees exactly these types, so the
offline evaluation and the platform compute the same numbers with the same code.

All instants are aware datetimes (any zone; compared as instants). Identifiers are strings
(the platform uses the ticket number, a file uses whatever the exporting tool used).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

__all__ = [
    "BACKUP_STATUSES",
    "CAUSES",
    "BackupRun",
    "Evolution",
    "Maintenance",
    "Outage",
    "PatchRecord",
    "RestoreTest",
    "Satisfaction",
    "TicketInfo",
]

#: Who caused an outage or an incident (the help desk's closure causes).
CAUSES: Final = ("provider", "client", "third_party", "force_majeure", "planned_maintenance")
#: A scheduled backup run ended in one of these; ``missed`` means it never ran.
BACKUP_STATUSES: Final = ("success", "failed", "missed")


@dataclass(frozen=True, slots=True)
class TicketInfo:
    """What the measurement needs to know about a ticket besides its clock events."""

    id: str
    service: str
    kind: str = "incident"  # incident | request | problem
    cause: str = ""  # closure cause, "" when not attributed (counts as the provider's)


@dataclass(frozen=True, slots=True)
class Outage:
    """Unscheduled unavailability of a service, ``[start, end)``."""

    id: str
    service: str
    start: datetime
    end: datetime
    cause: str = "provider"


@dataclass(frozen=True, slots=True)
class Maintenance:
    """A maintenance window of a service, ``[start, end)``. It counts as approved
    maintenance (M) only if ``approved`` and, when the service level asks for a notice,
    ``notified_at`` is at least that many hours before ``start``."""

    id: str
    service: str
    start: datetime
    end: datetime
    approved: bool = True
    notified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BackupRun:
    """One scheduled backup of a scope (a machine, a database…) and how it ended.

    ``point`` is the instant of the data it saved (the snapshot time), by default
    ``scheduled_at``; only successful runs have one that counts."""

    id: str
    service: str
    scope: str
    scheduled_at: datetime
    status: str  # success | failed | missed
    point: datetime | None = None


@dataclass(frozen=True, slots=True)
class RestoreTest:
    """A restore drill: ``passed`` when every file came back identical; the measured time
    to restore is ``restored_at - declared_at``, when both are known."""

    id: str
    service: str
    at: datetime
    passed: bool
    declared_at: datetime | None = None
    restored_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """A satisfaction answer, 1 (very unhappy) to 5 (very happy)."""

    ticket: str
    service: str
    at: datetime
    score: int


@dataclass(frozen=True, slots=True)
class Evolution:
    """An evolution request (TMA): asked, quoted, promised and delivered."""

    id: str
    service: str
    requested_at: datetime
    quoted_at: datetime | None = None
    due_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PatchRecord:
    """A security or vendor update: published, then applied to the client's estate."""

    id: str
    service: str
    released_at: datetime
    applied_at: datetime | None = None
