"""Recording and verifying audit events."""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Model
from django.utils import timezone

from infogerance.audit.models import GENESIS_HASH, AuditEvent
from infogerance.core import context
from infogerance.core.actors import actor_id, actor_label
from infogerance.core.models import NO_TENANT, TenantRef
from infogerance.core.snapshots import jsonable

logger = logging.getLogger(__name__)

# Key of the PostgreSQL advisory lock that serialises appends to the chain.
CHAIN_LOCK_KEY = 0x1AF0_6E4A


def _lock_chain(using: str) -> tuple[int, str] | None:
    """Hold the chain until the transaction ends, and read its head (seq, hash; None while
    the chain is empty)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The lock and the read in one round trip (audit migration 0003).
            cursor.execute("SELECT seq, hash FROM audit_chain_head(%s)", [CHAIN_LOCK_KEY])
        else:
            # SQLite: every transaction begins IMMEDIATE (see config.py), so the writer
            # already holds the database's single write lock.
            table = connection.ops.quote_name(AuditEvent._meta.db_table)  # not input
            cursor.execute(f"SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1")  # noqa: S608
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _normal_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def record(
    *,
    actor: object,
    action: str,
    target: Model | None = None,
    tenant: TenantRef = NO_TENANT,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    target_type: str = "",
    target_id: str = "",
    target_repr: str = "",
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction (or its own)."""
    ctx = context.current()
    using = router.db_for_write(AuditEvent)
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
        target_repr = target_repr or str(target)
    # No savepoint: an audit append that fails must fail the caller's whole transaction
    # anyway (saves two round trips per write).
    with transaction.atomic(using=using, savepoint=False):
        head = _lock_chain(using)
        event = AuditEvent(
            seq=head[0] + 1 if head else 1,
            prev_hash=head[1] if head else GENESIS_HASH,
            created_at=timezone.now(),
            actor_id=actor_id(actor),
            actor_label=actor_label(actor)[:254],
            organization_id=tenant.organization_id,
            provider_id=tenant.provider_id,
            action=action,
            target_type=target_type[:100],
            target_id=target_id[:64],
            target_repr=target_repr[:200],
            before=jsonable(before) if before is not None else None,
            after=jsonable(after) if after is not None else None,
            request_id=ctx.request_id,
            ip_address=_normal_ip(ctx.ip_address),
        )
        event.hash = event.compute_hash()
        _insert(event, using)
    return event


@functools.cache
def _insert_sql(vendor: str, using: str) -> tuple[str, list[Any]]:
    connection = connections[using]
    quote, meta = connection.ops.quote_name, AuditEvent._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(str(f.column)) for f in fields)
    returning = (
        f" RETURNING {quote(str(meta.pk.column))}"
        if connection.features.can_return_columns_from_insert
        else ""
    )
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns})"  # noqa: S608 (the model's names)
        f" VALUES ({', '.join(['%s'] * len(fields))}){returning}"
    )
    return sql, fields


def _insert(event: AuditEvent, using: str) -> None:
    """Insert a new event with one raw statement, its values prepared by its fields as the
    ORM prepares them: every write of the platform appends one while holding the chain's
    lock, and the ORM's insert compiler cost more CPU than the statement."""
    connection = connections[using]
    sql, fields = _insert_sql(connection.vendor, using)
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        event.pk = (
            cursor.fetchone()[0]
            if connection.features.can_return_columns_from_insert
            else cursor.lastrowid
        )
    event._state.adding = False
    event._state.db = using


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"event #{self.seq}: {self.reason}"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_seq: int
    head_hash: str
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _events(chunk: int) -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk)


def verify_chain(*, chunk: int = 2000) -> ChainReport:
    """Walk the whole chain in order and stop at the first broken link."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for event in _events(chunk):
        problem: ChainProblem | None = None
        if event.seq != expected_seq:
            missing = (
                f"#{expected_seq}"
                if event.seq == expected_seq + 1
                else f"#{expected_seq} to #{event.seq - 1}"
            )
            problem = ChainProblem(
                event.seq, f"event {missing} is missing (deleted), the chain breaks before it"
            )
        elif event.prev_hash != prev_hash:
            problem = ChainProblem(
                event.seq,
                "its link to the previous event is broken (previous event altered or replaced)",
            )
        elif event.compute_hash() != event.hash:
            problem = ChainProblem(event.seq, "its content was altered after it was recorded")
        if problem is not None:
            return ChainReport(checked, expected_seq - 1, prev_hash, problem)
        checked += 1
        expected_seq += 1
        prev_hash = event.hash
    return ChainReport(checked, expected_seq - 1, prev_hash, None)
