"""The penalty statement of a period: the contract's penalty rules applied to measured levels.

:func:`compute_statement` turns the :class:`~infogerance.sla.results.LevelResult` of a period
into a :class:`Statement`: one line per (rule, service level) pair, each with its formula
written out, then the totals with their arithmetic (``Statement.steps``), so that both parties
can check every figure by hand. Plain values, no Django.

Money is :class:`~decimal.Decimal`, never a float. Each line's amount and each total is
rounded to the cent with ``ROUND_HALF_UP`` (half a cent goes up: the usual commercial rounding
in France); intermediate products (``V × R / 1000`` per day, ``pct × fee``) are not rounded.

Rules (the specification of this module):

* A rule names service levels; every named level must have a result (otherwise
  :class:`ValueError` naming the rule and the level), and the rule gives one line per level.
  A level without data (``met is None``) gives a line of 0 with the note ``no data``.
* ``fixed_per_breach``: ``amount × breaches`` when the level is missed (``met is False``),
  ``breaches`` being :attr:`LevelResult.breaches` (each item out of target for a duration
  target, one for the period for a percentage or score target). A met level costs nothing,
  even with some items out of target.
* ``per_started_hour``: ``amount × started hours``, only when the level is missed. For a
  duration target, the sum over the items out of target of ``ceil(item.overrun / 3600 s)``
  (each item rounded up on its own); for a percentage target (availability),
  ``ceil(result.overrun / 3600 s)``: the downtime beyond what the target allows.
* ``tiered_fee_pct``: only for a level whose value is a percentage (unit ``percent``, or a
  compliance threshold, whose value is the % of items within target), otherwise
  :class:`ValueError`. The tier applied is the most severe one whose ``below`` is strictly
  greater than the measured value (a value equal to a threshold is not below it); the amount
  is ``fee_pct % × monthly fee``. No tier applies when the value is at or above every
  threshold. The tiers depend on the measured value only, not on the level's own target.
* ``public_delay`` (CCAG): ``P = V × R / 1000`` per day late, times the days late summed over
  the level's items (:attr:`Item.days_late`: calendar days, started days counted, whatever
  the level's calendar).
  It applies whether the level is met or not (each late delivery is penalised); a level
  without items gives 0.
* ``bonus``: ``-amount`` (a negative line) when the level is met, 0 otherwise.

Totals, over the lines of levels not held:

1. ``malus`` = Σ non-bonus lines, after the per-service caps: a line counts against the first
   service of its level that has a cap in ``caps.per_service_pct`` (its ``service``), or
   against no cap (``service == ""``); a capped service's lines are limited to
   ``pct × monthly fee`` (one :class:`CapAdjustment` per service whose cap is reached).
2. ``bonus`` = Σ bonus lines (zero or negative).
3. ``net`` = ``max(0, malus + bonus)`` when ``bonus_offsets_malus`` (a bonus larger than the
   malus is never paid out), otherwise ``malus`` (the bonus is only reported).
4. ``after_franchise`` = ``max(0, net - franchise)``.
5. ``due`` = ``min(after_franchise, contract_pct × monthly fee)``, or ``after_franchise``
   without a contract cap.

Lines of held levels (under dispute, ``held``) are computed and listed with ``held=True``;
``held_total`` is the sum of their amounts (bonus lines included), and they enter no other
total until the steering committee decides. Lines of levels whose penalties the committee
waived (``waived``) are listed with ``waived=True`` and enter no total at all; an upheld
dispute simply stops holding its level.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from infogerance.contracts.format import Penalties, PenaltyKind, PenaltyRule, Unit
from infogerance.sla.results import Item, ItemColumns, LevelResult

__all__ = ["CapAdjustment", "PenaltyLine", "Statement", "compute_statement", "statement_to_json"]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HOUR = Decimal(3600)
HUNDRED = Decimal(100)
THOUSAND = Decimal(1000)


@dataclass(frozen=True, kw_only=True)
class PenaltyLine:
    """One rule applied to one service level."""

    rule_id: str
    kind: PenaltyKind
    level_id: str
    #: The capped service the line counts against, ``""`` when no per-service cap covers it.
    service: str
    #: What the rule counts: breaches, started hours, days late, the tier's % of the fee, or
    #: 1 for a bonus granted (0 when nothing is counted).
    quantity: Decimal
    #: The amount per unit counted (per breach, hour, day late, bonus); ``None`` for a tier.
    unit_amount: Decimal | None
    #: Rounded to the cent; negative for a bonus.
    amount: Decimal
    formula: str
    held: bool
    note: str = ""
    #: The steering committee waived it (a dispute decided for the client): in no total.
    waived: bool = False


@dataclass(frozen=True, kw_only=True)
class CapAdjustment:
    """A per-service cap reached: the service's malus lines reduced to the cap."""

    service: str
    before: Decimal
    cap: Decimal
    after: Decimal
    formula: str


@dataclass(frozen=True, kw_only=True)
class Statement:
    """The penalties of a period, line by line, and the amount due (see the module docstring)."""

    currency: str
    monthly_fee: Decimal
    lines: tuple[PenaltyLine, ...]
    cap_adjustments: tuple[CapAdjustment, ...]
    #: Σ non-bonus lines not held, after the per-service caps.
    malus: Decimal
    #: Σ bonus lines not held (zero or negative).
    bonus: Decimal
    net: Decimal
    franchise: Decimal
    after_franchise: Decimal
    #: ``contract_pct × monthly fee``, ``None`` without a contract cap.
    contract_cap: Decimal | None
    due: Decimal
    #: Σ lines of held levels, in no other total.
    held_total: Decimal
    #: The arithmetic of the totals, one step a string.
    steps: list[str]


@dataclass(frozen=True)
class _Figure:
    quantity: Decimal
    unit_amount: Decimal | None
    amount: Decimal
    formula: str
    note: str = ""


# --- number formatting and rounding -------------------------------------------------------


def _cents(amount: Decimal) -> Decimal:
    """``amount`` rounded to the cent, half up (never ``-0.00``)."""
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return rounded if rounded != 0 else ZERO


def _num(value: Decimal) -> str:
    """A number in plain digits, without exponent or trailing zeros (``99.20`` → ``99.2``)."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _money(amount: Decimal) -> str:
    """An amount in plain digits with two decimals, more only when it has more (no locale)."""
    if amount == amount.quantize(CENT):
        return f"{_cents(amount):f}"
    return _num(amount)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _started(seconds: Decimal, step: Decimal) -> int:
    """Started periods of ``step`` seconds in ``seconds``: 3601 s → 2 h, 3600 s → 1 h."""
    if seconds <= 0:
        return 0
    whole, rest = divmod(seconds, step)
    return int(whole) + (1 if rest else 0)


def _pct_of(pct: Decimal, base: Decimal) -> Decimal:
    return _cents(pct * base / HUNDRED)


def _sum_text(amounts: Sequence[Decimal]) -> str:
    """``a + b - c`` of the amounts (``0.00`` when there are none)."""
    if not amounts:
        return _money(ZERO)
    text = _money(amounts[0])
    for amount in amounts[1:]:
        text += f" - {_money(-amount)}" if amount < 0 else f" + {_money(amount)}"
    return text


# --- one line per kind --------------------------------------------------------------------


def _base(value: Decimal | None, rule: PenaltyRule, name: str) -> Decimal:
    if value is None:  # the format forbids it; kept for rules built without validation
        raise ValueError(f"Penalty rule {rule.id!r} ({rule.kind.value}) has no {name}.")
    return value


def _is_percentage(result: LevelResult) -> bool:
    return result.unit == Unit.PERCENT or result.compliance is not None


def _fixed_per_breach(rule: PenaltyRule, result: LevelResult, fee: Decimal, cur: str) -> _Figure:
    amount = _base(rule.amount, rule, "amount")
    out = result.breaches
    breaches = out if result.met is False else 0
    total = _cents(amount * breaches)
    if result.met is False:
        note = "level missed"
    elif out:
        note = f"level met: {_plural(out, 'item', 'items')} out of target, no penalty"
    else:
        note = "level met"
    formula = (
        f"{_plural(breaches, 'breach', 'breaches')} × {_money(amount)} {cur} "
        f"= {_money(total)} {cur}"
    )
    return _Figure(Decimal(breaches), amount, total, formula, note)


def _missed(items: Sequence[Item]) -> Iterable[Item]:
    """The items that did not meet their target (without building the others, when the
    items are columns)."""
    if isinstance(items, ItemColumns):
        return items.select(~items.met)
    return [item for item in items if not item.met]


def _late(items: Sequence[Item]) -> Iterable[Item]:
    """The items with days of delay."""
    if isinstance(items, ItemColumns):
        return () if items.days_late is None else items.select(items.days_late > 0)
    return [item for item in items if item.days_late > 0]


def _per_started_hour(rule: PenaltyRule, result: LevelResult, fee: Decimal, cur: str) -> _Figure:
    amount = _base(rule.amount, rule, "amount")
    if result.met is not False:
        hours, note = 0, "level met: no penalty"
    elif result.unit not in ("percent", "score"):  # a duration target: per item
        counted = [
            (item.ref, item.overrun, _started(item.overrun, HOUR)) for item in _missed(result.items)
        ]
        hours = sum(h for _, _, h in counted)
        note = "; ".join(f"{ref}: {_num(s)} s → {h} h" for ref, s, h in counted)
    else:
        hours = _started(result.overrun, HOUR)
        note = f"overrun {_num(result.overrun)} s → {hours} h"
    total = _cents(amount * hours)
    formula = (
        f"{_plural(hours, 'started hour', 'started hours')} × {_money(amount)} {cur} "
        f"= {_money(total)} {cur}"
    )
    return _Figure(Decimal(hours), amount, total, formula, note)


def _tiered_fee_pct(rule: PenaltyRule, result: LevelResult, fee: Decimal, cur: str) -> _Figure:
    value = result.value
    assert value is not None  # no-data results never get here
    applicable = [tier for tier in rule.tiers if value < tier.below]
    if not applicable:
        top = max(tier.below for tier in rule.tiers)
        formula = f"{_num(value)} % ≥ {_num(top)} %: no tier = {_money(ZERO)} {cur}"
        return _Figure(Decimal(0), None, ZERO, formula, "no tier applies")
    tier = min(applicable, key=lambda t: t.below)  # the most severe
    total = _pct_of(tier.fee_pct, fee)
    formula = (
        f"{_num(value)} % < {_num(tier.below)} %: {_num(tier.fee_pct)} % × {_money(fee)} {cur} "
        f"= {_money(total)} {cur}"
    )
    return _Figure(tier.fee_pct, None, total, formula, f"tier below {_num(tier.below)} %")


def _public_delay(rule: PenaltyRule, result: LevelResult, fee: Decimal, cur: str) -> _Figure:
    value = _base(rule.value, rule, "value")
    rate = _base(rule.rate_per_thousand, rule, "rate_per_thousand")
    per_day = value * rate / THOUSAND
    late = [(item.ref, item.days_late) for item in _late(result.items)]
    days = sum(d for _, d in late)
    total = _cents(per_day * days)
    formula = (
        f"{_money(value)} × {_num(rate)} / 1000 × {_plural(days, 'day', 'days')} "
        f"= {_money(total)} {cur}"
    )
    if late:
        note = "; ".join(f"{ref}: {_plural(d, 'day', 'days')}" for ref, d in late)
    else:
        note = "no late item"
    return _Figure(Decimal(days), per_day, total, formula, note)


def _bonus(rule: PenaltyRule, result: LevelResult, fee: Decimal, cur: str) -> _Figure:
    amount = _base(rule.amount, rule, "amount")
    if result.met is True:
        total = _cents(-amount)
        return _Figure(Decimal(1), amount, total, f"level met: bonus {_money(total)} {cur}")
    return _Figure(Decimal(0), amount, ZERO, f"level missed: no bonus = {_money(ZERO)} {cur}")


_KINDS: dict[PenaltyKind, Callable[[PenaltyRule, LevelResult, Decimal, str], _Figure]] = {
    PenaltyKind.FIXED_PER_BREACH: _fixed_per_breach,
    PenaltyKind.PER_STARTED_HOUR: _per_started_hour,
    PenaltyKind.TIERED_FEE_PCT: _tiered_fee_pct,
    PenaltyKind.PUBLIC_DELAY: _public_delay,
    PenaltyKind.BONUS: _bonus,
}


def _figure(rule: PenaltyRule, result: LevelResult, fee: Decimal, cur: str) -> _Figure:
    if rule.kind == PenaltyKind.TIERED_FEE_PCT and not _is_percentage(result):
        raise ValueError(
            f"Penalty rule {rule.id!r} is tiered by percentage, but service level "
            f"{result.level_id!r} is measured in {result.unit!r} without a compliance threshold."
        )
    tiered = rule.kind == PenaltyKind.TIERED_FEE_PCT
    if result.met is None or (tiered and result.value is None):
        unit_amount = None if tiered else rule.amount
        return _Figure(Decimal(0), unit_amount, ZERO, f"no data = {_money(ZERO)} {cur}", "no data")
    return _KINDS[rule.kind](rule, result, fee, cur)


# --- the statement ------------------------------------------------------------------------


def _results_by_id(results: Sequence[LevelResult]) -> dict[str, LevelResult]:
    by_id: dict[str, LevelResult] = {}
    for result in results:
        if result.level_id in by_id:
            raise ValueError(f"Service level {result.level_id!r} has more than one result.")
        by_id[result.level_id] = result
    return by_id


def _lines(
    penalties: Penalties,
    by_id: dict[str, LevelResult],
    held: frozenset[str],
    waived: frozenset[str],
    fee: Decimal,
    currency: str,
) -> list[PenaltyLine]:
    capped = penalties.caps.per_service_pct
    lines: list[PenaltyLine] = []
    for rule in penalties.rules:
        if len(set(rule.service_levels)) != len(rule.service_levels):
            raise ValueError(f"Penalty rule {rule.id!r} names a service level more than once.")
        for level_id in rule.service_levels:
            result = by_id.get(level_id)
            if result is None:
                raise ValueError(
                    f"Penalty rule {rule.id!r} names service level {level_id!r}, "
                    "which has no result."
                )
            figure = _figure(rule, result, fee, currency)
            lines.append(
                PenaltyLine(
                    rule_id=rule.id,
                    kind=rule.kind,
                    level_id=level_id,
                    service=next((s for s in result.services if s in capped), ""),
                    quantity=figure.quantity,
                    unit_amount=figure.unit_amount,
                    amount=figure.amount,
                    formula=figure.formula,
                    held=level_id in held,
                    note=figure.note,
                    waived=level_id in waived,
                )
            )
    return lines


def _service_caps(
    penalties: Penalties, malus_lines: Sequence[PenaltyLine], fee: Decimal, cur: str
) -> tuple[list[CapAdjustment], list[str]]:
    adjustments: list[CapAdjustment] = []
    steps: list[str] = []
    for service, pct in penalties.caps.per_service_pct.items():
        before = sum((line.amount for line in malus_lines if line.service == service), ZERO)
        if before == 0:
            continue
        cap = _pct_of(pct, fee)
        cap_text = f"{_num(pct)} % × {_money(fee)} = {_money(cap)}"
        if before <= cap:
            steps.append(
                f"service {service}: {_money(before)} {cur} ≤ cap {cap_text} {cur}: no reduction"
            )
            continue
        formula = f"min({_money(before)}, {cap_text}) = {_money(cap)} {cur}"
        adjustments.append(
            CapAdjustment(service=service, before=before, cap=cap, after=cap, formula=formula)
        )
        steps.append(f"service {service} cap applied: {formula}")
    return adjustments, steps


def compute_statement(
    penalties: Penalties,
    results: Sequence[LevelResult],
    *,
    monthly_fee: Decimal,
    currency: str,
    held: Collection[str] = (),
    waived: Collection[str] = (),
) -> Statement:
    """The penalty statement of the period measured by ``results`` (see the module docstring).

    ``held`` lists the service levels under dispute: their lines are shown, flagged held,
    and left out of every total but ``held_total``. ``waived`` lists the levels whose
    penalties the steering committee waived: shown, flagged waived, in no total at all (a
    level in both is waived). Raises :class:`ValueError` when a rule
    names a level without result, a tiered rule names a level not measured in %, a held level
    has no result, or a level has two results.
    """
    if monthly_fee < 0:
        raise ValueError("The monthly fee cannot be negative.")
    cur = currency
    by_id = _results_by_id(results)
    waived_ids = frozenset(waived)
    held_ids = frozenset(held) - waived_ids
    unknown = sorted((held_ids | waived_ids) - by_id.keys())
    if unknown:
        raise ValueError(f"Held service levels without result: {', '.join(unknown)}.")
    lines = _lines(penalties, by_id, held_ids, waived_ids, monthly_fee, cur)
    steps: list[str] = []

    active = [line for line in lines if not line.held and not line.waived]
    malus_lines = [line for line in active if line.kind != PenaltyKind.BONUS]
    bonus_lines = [line for line in active if line.kind == PenaltyKind.BONUS]

    raw_malus = sum((line.amount for line in malus_lines), ZERO)
    counted = [line.amount for line in malus_lines if line.amount]
    if len(counted) > 1:
        steps.append(f"malus = {_sum_text(counted)} = {_money(raw_malus)} {cur}")
    else:
        steps.append(f"malus = {_money(raw_malus)} {cur}")

    adjustments, cap_steps = _service_caps(penalties, malus_lines, monthly_fee, cur)
    steps.extend(cap_steps)
    malus = raw_malus - sum((a.before - a.after for a in adjustments), ZERO)
    if adjustments:
        reductions = " - ".join(_money(a.before - a.after) for a in adjustments)
        steps.append(
            f"malus after service caps = {_money(raw_malus)} - {reductions} = {_money(malus)} {cur}"
        )

    bonus = sum((line.amount for line in bonus_lines), ZERO)
    granted = [line.amount for line in bonus_lines if line.amount]
    if len(granted) > 1:
        steps.append(f"bonus = {_sum_text(granted)} = {_money(bonus)} {cur}")
    else:
        steps.append(f"bonus = {_money(bonus)} {cur}")

    if penalties.bonus_offsets_malus:
        net = max(ZERO, malus + bonus)
        step = f"net = max(0, {_money(malus)} - {_money(-bonus)}) = {_money(net)} {cur}"
        if malus + bonus < 0:
            step += f" (unused bonus {_money(-(malus + bonus))} {cur}, not paid out)"
        steps.append(step)
    else:
        net = malus
        steps.append(
            f"net = malus = {_money(net)} {cur} (bonus {_money(bonus)} {cur} reported only: "
            "the contract does not offset it)"
        )

    franchise = _cents(penalties.franchise)
    after_franchise = max(ZERO, net - franchise)
    steps.append(
        f"after franchise = max(0, {_money(net)} - {_money(franchise)}) "
        f"= {_money(after_franchise)} {cur}"
    )

    contract_pct = penalties.caps.contract_pct
    if contract_pct is None:
        contract_cap = None
        due = after_franchise
        steps.append(f"due = {_money(due)} {cur} (no contract cap)")
    else:
        contract_cap = _pct_of(contract_pct, monthly_fee)
        due = min(after_franchise, contract_cap)
        steps.append(
            f"due = min({_money(after_franchise)}, {_num(contract_pct)} % × "
            f"{_money(monthly_fee)} = {_money(contract_cap)}) = {_money(due)} {cur}"
        )

    held_lines = [line for line in lines if line.held]
    held_total = sum((line.amount for line in held_lines), ZERO)
    if held_lines:
        levels = ", ".join(sorted({line.level_id for line in held_lines}))
        steps.append(
            f"held (under dispute, in no total): {levels}: "
            f"{_sum_text([line.amount for line in held_lines])} = {_money(held_total)} {cur}"
        )

    waived_lines = [line for line in lines if line.waived]
    if waived_lines:
        levels = ", ".join(sorted({line.level_id for line in waived_lines}))
        steps.append(
            f"waived by the steering committee (in no total): {levels}: "
            f"{_sum_text([line.amount for line in waived_lines])} {cur}"
        )

    return Statement(
        currency=cur,
        monthly_fee=monthly_fee,
        lines=tuple(lines),
        cap_adjustments=tuple(adjustments),
        malus=_cents(malus),
        bonus=_cents(bonus),
        net=_cents(net),
        franchise=franchise,
        after_franchise=_cents(after_franchise),
        contract_cap=contract_cap,
        due=_cents(due),
        held_total=_cents(held_total),
        steps=steps,
    )


def statement_to_json(statement: Statement) -> dict[str, Any]:
    """A JSON-ready rendering: amounts as strings with two decimals, quantities as plain digits."""
    return {
        "currency": statement.currency,
        "monthly_fee": _money(statement.monthly_fee),
        "lines": [
            {
                "rule_id": line.rule_id,
                "kind": line.kind.value,
                "level_id": line.level_id,
                "service": line.service,
                "quantity": _num(line.quantity),
                "unit_amount": None if line.unit_amount is None else _money(line.unit_amount),
                "amount": _money(line.amount),
                "formula": line.formula,
                "held": line.held,
                "waived": line.waived,
                "note": line.note,
            }
            for line in statement.lines
        ],
        "cap_adjustments": [
            {
                "service": adjustment.service,
                "before": _money(adjustment.before),
                "cap": _money(adjustment.cap),
                "after": _money(adjustment.after),
                "formula": adjustment.formula,
            }
            for adjustment in statement.cap_adjustments
        ],
        "malus": _money(statement.malus),
        "bonus": _money(statement.bonus),
        "net": _money(statement.net),
        "franchise": _money(statement.franchise),
        "after_franchise": _money(statement.after_franchise),
        "contract_cap": (
            None if statement.contract_cap is None else _money(statement.contract_cap)
        ),
        "due": _money(statement.due),
        "held_total": _money(statement.held_total),
        "steps": list(statement.steps),
    }
