"""The SLA clocks of a ticket: its events, the contract terms in force when it was opened,
and the one calendar engine."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from infogerance.contracts.models import ContractVersion
from infogerance.core.db import value_rows
from infogerance.helpdesk import clocks
from infogerance.helpdesk.clockspecs import clock_groups
from infogerance.helpdesk.models import Ticket, TicketEvent

# The events that can move a clock (attachments and the like cannot).
CLOCK_KINDS = ("created", "status", "priority", "reopened", "comment", "assigned")


@dataclass(frozen=True)
class TicketClock:
    name: str  # the service levels behind this clock, for people
    result: clocks.ClockResult


def ticket_clocks(
    ticket: Ticket, now: dt.datetime | None = None, *, explain: bool = True
) -> list[TicketClock]:
    """One ticket's clocks, explained interval by interval unless ``explain=False``."""
    return clocks_for([ticket], now, explain=explain)[ticket.pk]


def clocks_for(
    tickets: Sequence[Ticket], now: dt.datetime | None = None, *, explain: bool = False
) -> dict[int, list[TicketClock]]:
    """The clocks of several tickets: one query for all their events, one for the contract
    versions, each contract's clock specifications built once, each ticket's log replayed
    once for all its clocks. No explanation intervals unless ``explain``."""
    now = now or timezone.now()
    logs = _logs([t.pk for t in tickets])
    specs = _Specs({t.contract_id for t in tickets})
    return {
        ticket.pk: [
            TicketClock(name, clocks.compute_clock(spec, logs[ticket.pk], now, explain=explain))
            for name, spec in specs.of(ticket.contract_id, ticket.created_at, ticket.service_code)
        ]
        for ticket in tickets
    }


def stream_clocks(
    tickets: QuerySet[Ticket], now: dt.datetime | None = None, *, batch: int = 5_000
) -> Iterator[tuple[int, list[clocks.ClockResult]]]:
    """Every clock of every ticket of ``tickets``, in primary-key order, without explanation:
    what a recomputation of the whole help desk or a monthly measurement needs. Read in
    batches (two queries per ``batch`` tickets), so memory does not grow with the count."""
    now = now or timezone.now()
    specs = _Specs(None)
    last = 0
    while True:
        rows = list(
            value_rows(
                tickets.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "contract_id", "service_code", "created_at")[:batch]
            )
        )
        if not rows:
            return
        logs = _logs([row[0] for row in rows])
        for pk, contract_id, service_code, created_at in rows:
            log = logs[pk]
            yield (
                pk,
                [
                    clocks.compute_clock(spec, log, now, explain=False)
                    for _name, spec in specs.of(contract_id, created_at, service_code)
                ],
            )
        last = rows[-1][0]


_NO_EVENTS = clocks.TicketLog.from_rows(())


def _logs(ids: list[int]) -> defaultdict[int, clocks.TicketLog]:
    """The clock events of these tickets, one query, as logs (an empty log for none)."""
    rows: defaultdict[int, list[tuple[dt.datetime, int, str, str, str]]] = defaultdict(list)
    for ticket_id, at, seq, kind, status, priority in value_rows(
        TicketEvent.objects.filter(ticket_id__in=ids, kind__in=CLOCK_KINDS)
        .order_by()
        .values_list("ticket_id", "at", "seq", "kind", "status", "priority")
    ):
        rows[ticket_id].append((at, seq, kind, status, priority))
    logs: defaultdict[int, clocks.TicketLog] = defaultdict(lambda: _NO_EVENTS)
    for ticket_id, events in rows.items():
        logs[ticket_id] = clocks.TicketLog.from_rows(events)
    return logs


class _Specs:
    """The clock specifications of tickets: the contract version in force on the day a
    ticket was opened, each (version, service) built once."""

    def __init__(self, contract_ids: set[int] | None) -> None:
        queryset = ContractVersion.objects.order_by("contract_id", "effective_from", "number")
        if contract_ids is not None:
            queryset = queryset.filter(contract_id__in=contract_ids)
        self.versions: defaultdict[int, list[ContractVersion]] = defaultdict(list)
        for version in queryset:
            self.versions[version.contract_id].append(version)
        self.built: dict[tuple[int, str], list[tuple[str, clocks.ClockSpec]]] = {}

    def of(
        self, contract_id: int, created_at: dt.datetime, service_code: str
    ) -> list[tuple[str, clocks.ClockSpec]]:
        version = _in_force(self.versions[contract_id], timezone.localdate(created_at))
        if version is None:
            return []
        key = (version.pk, service_code)
        if key not in self.built:
            self.built[key] = _specs(version, service_code)
        return self.built[key]


def _in_force(versions: list[ContractVersion], day: dt.date) -> ContractVersion | None:
    """The latest version effective on ``day`` (versions sorted by date), else the first."""
    chosen: ContractVersion | None = None
    for version in versions:
        if version.effective_from <= day:
            chosen = version
    return chosen or (versions[0] if versions else None)


def _specs(version: ContractVersion, service_code: str) -> list[tuple[str, clocks.ClockSpec]]:
    return [(group.name, group.spec) for group in clock_groups(version.parsed(), service_code)]
