"""What a measurement gives back: one :class:`LevelResult` per service level and period.

A result keeps everything needed to check it by hand and to contest it: the measured value
against the target, whether it is met, the sample, every eligible item with its own value
(the evidence), every item left out with the reason, and metric-specific figures
(``details``). Plain values, no Django: the JSON output of ``sla evaluate`` is a direct
rendering of these classes (:func:`infogerance.sla.measure.result_to_json`).

Units of ``value``: a percentage (``Decimal``, 0–100) for rate levels and for item levels
judged by a compliance threshold; seconds of (business) time for duration levels judged
without a threshold (achieved RPO); a score for satisfaction in ``score`` units.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, overload

import numpy as np
import numpy.typing as npt

__all__ = ["Exclusion", "Item", "ItemColumns", "LevelResult", "seconds_text"]


class Item(NamedTuple):
    """One measured item (a ticket, an outage, a backup run, a delivery…)."""

    ref: str
    #: The item's own measure: seconds for durations (business time on the level's calendar
    #: for clocks, quotes and patches; real time for RPO, RTO and deliveries, as each metric
    #: says), a score, or ``None`` when the item is a plain success/failure.
    value: Decimal | None
    met: bool
    #: Seconds beyond the target, in the same time as ``value`` (0 when met, or when the
    #: metric is not a duration).
    overrun: Decimal = Decimal(0)
    note: str = ""
    #: Calendar days late, started days counted (the CCAG's "jours de retard"): from the
    #: instant the target was reached to the item's end, in real time; 0 when met.
    days_late: int = 0


_MILLION = Decimal(1_000_000)
_ZERO = Decimal(0)
_I64 = npt.NDArray[np.int64]


def _seconds(us: int) -> Decimal:
    return Decimal(us) / _MILLION if us else _ZERO


def seconds_text(us: int) -> str:
    """``str(Decimal(us) / 1_000_000)`` without the Decimal: the decimal text of a number of
    microseconds in seconds, trailing zeros of the fraction dropped (``1500000`` → ``1.5``,
    ``3600000000`` → ``3600``, ``1`` → ``0.000001``)."""
    whole, fraction = divmod(abs(us), 1_000_000)
    sign = "-" if us < 0 else ""
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:06d}".rstrip("0")


class ItemColumns(Sequence[Item]):
    """Many items of one level held as columns, for the millions of tickets of a month:
    an :class:`Item` is built only when one is asked for. Equal to any sequence of the same
    items.

    ``tickets`` indexes ``refs``; ``value_us`` and ``overrun_us`` are microseconds (``value``
    and ``overrun`` in seconds: ``None`` for ``value_us=None``, 0 for ``overrun_us=None``);
    ``notes`` is one text per item or ``None`` (every note empty), ``days_late`` likewise
    (0)."""

    __slots__ = ("days_late", "met", "notes", "overrun_us", "refs", "tickets", "value_us")

    def __init__(
        self,
        refs: Sequence[str],
        tickets: _I64,
        met: npt.NDArray[np.bool_],
        *,
        value_us: _I64 | None = None,
        overrun_us: _I64 | None = None,
        notes: list[str] | None = None,
        days_late: _I64 | None = None,
    ) -> None:
        n = len(tickets)
        for name, column in (
            ("met", met),
            ("value_us", value_us),
            ("overrun_us", overrun_us),
            ("notes", notes),
            ("days_late", days_late),
        ):
            if column is not None and len(column) != n:
                raise ValueError(f"{name}: {len(column)} values for {n} items")
        self.refs, self.tickets, self.met = refs, tickets, met
        self.value_us, self.overrun_us = value_us, overrun_us
        self.notes, self.days_late = notes, days_late

    def __len__(self) -> int:
        return len(self.tickets)

    def _item(self, i: int) -> Item:
        value = None if self.value_us is None else _seconds(int(self.value_us[i]))
        overrun = _ZERO if self.overrun_us is None else _seconds(int(self.overrun_us[i]))
        return Item(
            self.refs[int(self.tickets[i])],
            value,
            bool(self.met[i]),
            overrun,
            "" if self.notes is None else self.notes[i],
            0 if self.days_late is None else int(self.days_late[i]),
        )

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Item, ...]: ...
    def __getitem__(self, index: int | slice) -> Item | tuple[Item, ...]:
        if isinstance(index, slice):
            return tuple(self._item(i) for i in range(len(self))[index])
        n = len(self)
        if not -n <= index < n:
            raise IndexError("item index out of range")
        return self._item(index % n)

    def __iter__(self) -> Iterator[Item]:
        n = len(self)
        refs = self.refs
        values: list[Any] = [None] * n if self.value_us is None else self.value_us.tolist()
        overruns: list[Any] = [0] * n if self.overrun_us is None else self.overrun_us.tolist()
        notes = [""] * n if self.notes is None else self.notes
        days: list[Any] = [0] * n if self.days_late is None else self.days_late.tolist()
        new, seconds = tuple.__new__, _seconds
        for t, value, met, overrun, note, late in zip(
            self.tickets.tolist(), values, self.met.tolist(), overruns, notes, days, strict=True
        ):
            yield new(
                Item,
                (
                    refs[t],
                    None if value is None else seconds(value),
                    met,
                    seconds(overrun),
                    note,
                    late,
                ),
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<ItemColumns of {len(self)} items>"

    def within(self) -> int:
        """How many items met."""
        return int(np.count_nonzero(self.met))

    def overrun(self) -> Decimal:
        """The sum of the items' overruns in seconds, as ``sum()`` of their Decimals gives it:
        the same number written with as many decimals as the most precise of them (a sum of
        ``1.5`` and ``2.5`` is ``4.0``)."""
        if self.overrun_us is None or not len(self.overrun_us):
            return _ZERO
        nonzero = self.overrun_us[self.overrun_us != 0]
        decimals = 0
        for decimals in range(6, 0, -1):
            if nonzero.size and np.any(nonzero % 10 ** (6 - decimals + 1)):
                break
        else:
            decimals = 0
        total = Decimal(int(self.overrun_us.sum())).scaleb(-6)
        return total.quantize(Decimal(1).scaleb(-decimals))

    def select(self, mask: npt.NDArray[np.bool_]) -> ItemColumns:
        """The items where ``mask`` is true, in order."""
        chosen = np.flatnonzero(mask)
        return ItemColumns(
            self.refs,
            self.tickets[chosen],
            self.met[chosen],
            value_us=None if self.value_us is None else self.value_us[chosen],
            overrun_us=None if self.overrun_us is None else self.overrun_us[chosen],
            notes=None if self.notes is None else [self.notes[i] for i in chosen.tolist()],
            days_late=None if self.days_late is None else self.days_late[chosen],
        )


class Exclusion(NamedTuple):
    """An item left out of the sample, and why (a stable code, e.g. ``cause:client``)."""

    ref: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class LevelResult:
    level_id: str
    name: str
    metric: str
    services: tuple[str, ...]
    priority: str | None
    #: The target as the contract writes it (value and unit)…
    target: Decimal
    unit: str
    #: …and, for duration targets, in seconds of business time on the level's calendar.
    target_seconds: Decimal | None
    compliance: Decimal | None
    #: The level's measured number (see the module docstring), ``None`` without data.
    value: Decimal | None
    #: ``None`` when there was nothing to measure in the period.
    met: bool | None
    sample: int
    within: int
    #: A tuple, or :class:`ItemColumns` for the tickets of a month.
    items: Sequence[Item] = ()
    excluded: tuple[Exclusion, ...] = ()
    #: Seconds beyond what the level allows: for item levels the sum of the items' overruns;
    #: for availability the downtime beyond the allowance ``(1 - target) × (T - M)``.
    overrun: Decimal = Decimal(0)
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def breaches(self) -> int:
        """What a ``fixed_per_breach`` penalty counts. A duration target (a GTR, a quote
        delay, an RPO…) judges each item: every item out of target is a breach. A percentage
        or score target (availability, backup success rate, satisfaction…) judges the period
        as a whole: one breach when the level is missed, else none."""
        if self.unit in ("percent", "score"):
            return 1 if self.met is False else 0
        return self.sample - self.within
