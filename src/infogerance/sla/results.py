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

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

__all__ = ["Exclusion", "Item", "LevelResult"]


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
    items: tuple[Item, ...] = ()
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
