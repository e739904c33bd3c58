"""The SLA clocks of a ticket: its events, the contract terms in force when it was opened,
and the one calendar engine.

One ticket or a page of them: :func:`ticket_clocks` and :func:`clocks_for` replay each log
with :func:`~infogerance.helpdesk.clocks.compute_clock` (explained if asked). Every ticket of
the help desk: :func:`stream_clock_figures` reads them in batches as columns and judges each
clock of a whole batch at once with :func:`~infogerance.helpdesk.clocks.clock_figures` (the
same verdict, without the explanation); :func:`stream_clocks` gives the same recomputation
as :class:`~infogerance.helpdesk.clocks.ClockResult` objects, ticket by ticket.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
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
    for rows in _ticket_batches(tickets, batch):
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


def _ticket_batches(
    tickets: QuerySet[Ticket], batch: int
) -> Iterator[list[tuple[int, int, str, dt.datetime]]]:
    """``(pk, contract_id, service_code, created_at)`` of every ticket of ``tickets``, in
    primary-key order, ``batch`` at a time (keyset pages; no query to learn that nothing
    follows a short batch)."""
    last = 0
    while True:
        rows = list(
            value_rows(
                tickets.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "contract_id", "service_code", "created_at")[:batch]
            )
        )
        if rows:
            yield rows
        if len(rows) < batch:
            return
        last = rows[-1][0]


class ClockBatch(NamedTuple):
    """One clock of some tickets of a batch of :func:`stream_clock_figures`, judged at once.

    ``tickets`` are the tickets' primary keys, in increasing order; element ``i`` of each
    array of ``figures`` is ticket ``tickets[i]``'s (see
    :class:`~infogerance.helpdesk.clocks.ClockFigures`: states index
    :data:`~infogerance.helpdesk.clocks.CLOCK_STATES`, durations are microseconds, instants
    epoch microseconds). ``figures.priority`` is a code of ``priority_names`` (0: none).
    """

    tickets: npt.NDArray[np.int64]
    name: str  # the service levels behind this clock, for people
    spec: clocks.ClockSpec
    figures: clocks.ClockFigures
    priority_names: tuple[str | None, ...]


def stream_clock_figures(
    tickets: QuerySet[Ticket], now: dt.datetime | None = None, *, batch: int = 20_000
) -> Iterator[ClockBatch]:
    """Every clock of every ticket of ``tickets`` as of ``now``, judged over columns: what
    :func:`stream_clocks` computes, without the objects, many times faster.

    Read in batches of ``batch`` tickets in primary-key order, two queries each after one
    for the contract versions (none to learn that nothing follows a short batch): the
    tickets, then their clock events, turned into the columns of a
    :class:`~infogerance.helpdesk.clocks.TicketLogs` without an object per event. The
    tickets of a batch are grouped by clock (the contract version in force on the day each
    was opened and its service give its clocks; tickets of several contracts or services
    whose clock is the same share it), and each clock is one
    :func:`~infogerance.helpdesk.clocks.clock_figures` call over its tickets: one
    :class:`ClockBatch` each, batch after batch, so memory does not grow with the count. A
    ticket whose contract has no version has no clock, as in :func:`stream_clocks`.
    """
    now_us = _micros(now or timezone.now())
    specs = _Specs(None)
    for rows in _ticket_batches(tickets, batch):
        pks = np.array([row[0] for row in rows], dtype=np.int64)  # increasing
        batch_tickets = tickets.filter(pk__gte=int(pks[0]), pk__lte=int(pks[-1]))
        logs = _columns(_event_rows(batch_tickets, pks), pks)
        groups = specs.groups(
            np.array([row[1] for row in rows], dtype=np.int64),
            np.array([_micros(row[3]) for row in rows], dtype=np.int64),
            [row[2] for row in rows],
        )
        del rows
        for name, spec, members in groups:
            figures = clocks.clock_figures(spec, logs.select(members), now_us)
            yield ClockBatch(pks[members], name, spec, figures, logs.priority_names)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_KIND_CODES = {name: code for code, name in enumerate(clocks.KIND_NAMES)}


def _micros(at: dt.datetime) -> int:
    """Epoch microseconds of an aware datetime (exact)."""
    return (at - _EPOCH) // _US


def _event_rows(tickets: QuerySet[Ticket], pks: npt.NDArray[np.int64]) -> list[tuple[Any, ...]]:
    """The clock events of ``tickets`` (whose primary keys are ``pks``, in increasing order,
    at least one) in one query: ``(ticket_id, at, seq, kind, status, priority)`` rows. The
    query names the key range of ``pks`` and the tickets' subquery rather than thousands of
    parameters."""
    return list(
        value_rows(
            TicketEvent.objects.using(tickets.db)
            .filter(
                ticket_id__gte=int(pks[0]),
                ticket_id__lte=int(pks[-1]),
                ticket_id__in=tickets.order_by().values("pk"),
                kind__in=CLOCK_KINDS,
            )
            .order_by()
            .values_list("ticket_id", "at", "seq", "kind", "status", "priority")
        )
    )


def _columns(rows: list[tuple[Any, ...]], pks: npt.NDArray[np.int64]) -> clocks.TicketLogs:
    """:func:`_event_rows` as columns, without an object per event: kinds, statuses and
    priorities coded through dictionaries, instants in epoch microseconds. Ticket ``i`` of
    the logs is ``pks[i]`` (its ref the key's digits)."""
    statuses = [row[4] for row in rows]
    priorities = [row[5] for row in rows]
    status_names = clocks.vocabulary(set(statuses))
    priority_names = clocks.vocabulary(set(priorities))
    status_code = {name or "": code for code, name in enumerate(status_names)}
    priority_code = {name or "": code for code, name in enumerate(priority_names)}
    kind_code, epoch, us = _KIND_CODES, _EPOCH, _US
    return clocks.TicketLogs.from_columns(
        tuple(str(pk) for pk in pks.tolist()),
        ticket=np.searchsorted(pks, np.array([row[0] for row in rows], dtype=np.int64)),
        at=np.array([(row[1] - epoch) // us for row in rows], dtype=np.int64),
        seq=np.array([row[2] for row in rows], dtype=np.int64),
        kind=np.array([kind_code[row[3]] for row in rows], dtype=np.int8),
        status=np.array([status_code[s] for s in statuses], dtype=np.int16),
        priority=np.array([priority_code[p] for p in priorities], dtype=np.int32),
        status_names=status_names,
        priority_names=priority_names,
    )


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
        self.by_pk = {v.pk: v for versions in self.versions.values() for v in versions}
        self.starts: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = {}
        self.identified: dict[tuple[int, str], list[tuple[Hashable, str, clocks.ClockSpec]]] = {}

    def in_force(
        self, contracts: npt.NDArray[np.int64], opened: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """:meth:`of`'s version for many tickets (their contracts, and their opening instants
        in epoch microseconds): its primary key, -1 for a contract without versions. A
        version is in force from the first instant of its day in the current time zone, so
        comparing instants is comparing local dates, without a date per ticket."""
        result = np.full(contracts.size, -1, dtype=np.int64)
        order = np.argsort(contracts, kind="stable")
        ordered = contracts[order]
        cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        for part in np.split(order, cuts) if order.size else []:
            contract = int(contracts[part[0]])
            if contract not in self.starts:
                tz = timezone.get_current_timezone()
                versions = self.versions[contract]
                self.starts[contract] = (
                    np.array(
                        [
                            _micros(dt.datetime.combine(v.effective_from, dt.time(0), tzinfo=tz))
                            for v in versions
                        ],
                        dtype=np.int64,
                    ),
                    np.array([v.pk for v in versions], dtype=np.int64),
                )
            starts, pks = self.starts[contract]
            if pks.size:  # the latest effective, else the first
                chosen = np.searchsorted(starts, opened[part], side="right") - 1
                result[part] = pks[np.maximum(chosen, 0)]
        return result

    def groups(
        self,
        contracts: npt.NDArray[np.int64],
        opened: npt.NDArray[np.int64],
        services: list[str],
    ) -> list[tuple[str, clocks.ClockSpec, npt.NDArray[np.int64]]]:
        """The clocks of many tickets (their contracts, opening instants in epoch
        microseconds and services), each with the indices of the tickets that have it, in
        increasing order. Equal clocks of several versions or services are one."""
        codes: dict[str, int] = {}
        service_codes = np.array([codes.setdefault(s, len(codes)) for s in services], np.int64)
        names = list(codes)
        versions = self.in_force(contracts, opened)
        keys, inverse = np.unique(versions * len(names) + service_codes, return_inverse=True)
        inverse = inverse.reshape(-1)
        members: dict[Hashable, list[int]] = {}
        clocks_of: dict[Hashable, tuple[str, clocks.ClockSpec]] = {}
        for k, key in enumerate(keys.tolist()):
            version, service = divmod(key, len(names))
            if version < 0:
                continue  # a contract without versions: no clock
            for identity, name, spec in self._identified(version, names[service]):
                clocks_of.setdefault(identity, (name, spec))
                members.setdefault(identity, []).append(k)
        return [
            (*clocks_of[identity], np.flatnonzero(np.isin(inverse, chosen)))
            for identity, chosen in members.items()
        ]

    def _identified(
        self, pk: int, service_code: str
    ) -> list[tuple[Hashable, str, clocks.ClockSpec]]:
        """The clocks of a version's service, each with what makes it the same as another."""
        key = (pk, service_code)
        if key not in self.identified:
            if key not in self.built:
                self.built[key] = _specs(self.by_pk[pk], service_code)
            self.identified[key] = [
                (_identity(name, spec), name, spec) for name, spec in self.built[key]
            ]
        return self.identified[key]

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


def _identity(name: str, spec: clocks.ClockSpec) -> Hashable:
    """What makes two clocks the same (a spec's targets are a mapping, so it is no key)."""
    return (
        name,
        spec.level_id,
        spec.metric,
        spec.start,
        spec.stop,
        spec.pause_statuses,
        spec.on_priority_change,
        tuple(sorted(spec.targets.items())),
        spec.calendar.spec,
    )
