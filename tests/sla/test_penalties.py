"""The penalty statement: every kind of rule and every total, checked against hand arithmetic."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from infogerance.contracts.format import Penalties, PenaltyKind
from infogerance.sla.penalties import Statement, compute_statement, statement_to_json
from infogerance.sla.results import Item, LevelResult

D = Decimal
FEE = D("10000.00")
HOUR = 3600
DAY = 86400


def availability(
    level_id: str = "AV",
    *,
    value: str | None,
    met: bool | None,
    overrun: int = 0,
    services: tuple[str, ...] = ("HOST",),
) -> LevelResult:
    """An availability level (target 99.9 %): its items are the outages, each with its
    downtime and no overrun of its own (the overrun is the level's, beyond the allowance)."""
    return LevelResult(
        level_id=level_id,
        name=level_id,
        metric="availability",
        services=services,
        priority=None,
        target=D("99.9"),
        unit="percent",
        target_seconds=None,
        compliance=None,
        value=None if value is None else D(value),
        met=met,
        sample=0 if met is None else 1,
        within=1 if met else 0,
        items=(Item("O-1", D(overrun + 2592), False),) if met is False else (),
        overrun=D(overrun),
    )


def tickets(
    level_id: str = "GTR-P1",
    *,
    overruns: tuple[int, ...],
    met: bool | None,
    compliance: str = "95",
    services: tuple[str, ...] = ("HELP",),
) -> LevelResult:
    """An item level (GTR 4 h, judged by a compliance threshold): one ticket per overrun,
    in target when its overrun is 0. Its value is the % of tickets within target."""
    items = tuple(Item(f"T-{n}", D(4 * HOUR + o), o == 0, D(o)) for n, o in enumerate(overruns, 1))
    within = sum(1 for item in items if item.met)
    return LevelResult(
        level_id=level_id,
        name=level_id,
        metric="gtr",
        services=services,
        priority="P1",
        target=D(4),
        unit="hours",
        target_seconds=D(4 * HOUR),
        compliance=D(compliance),
        value=D(within * 100) / D(len(items)) if items else None,
        met=met,
        sample=len(items),
        within=within,
        items=items,
        overrun=D(sum(overruns)),
    )


def rpo(*, met: bool) -> LevelResult:
    """A duration level without compliance threshold: its value is seconds, not a %."""
    return LevelResult(
        level_id="RPO",
        name="RPO",
        metric="rpo",
        services=("BACKUP",),
        priority=None,
        target=D(24),
        unit="hours",
        target_seconds=D(24 * HOUR),
        compliance=None,
        value=D(30 * HOUR),
        met=met,
        sample=1,
        within=0,
    )


def rules(*rules: dict[str, Any], **rest: Any) -> Penalties:
    return Penalties.model_validate({"rules": list(rules), **rest})


def statement(penalties: Penalties, *results: LevelResult, held: tuple[str, ...] = ()) -> Statement:
    return compute_statement(penalties, results, monthly_fee=FEE, currency="EUR", held=held)


def fixed(rule_id: str, *levels: str, amount: str = "150") -> dict[str, Any]:
    return {
        "id": rule_id,
        "kind": "fixed_per_breach",
        "service_levels": list(levels),
        "amount": amount,
    }


def bonus(rule_id: str, *levels: str, amount: str) -> dict[str, Any]:
    return {"id": rule_id, "kind": "bonus", "service_levels": list(levels), "amount": amount}


TIERS = {
    "id": "AV-TIERS",
    "kind": "tiered_fee_pct",
    "service_levels": ["AV"],
    "tiers": [
        {"below": "99.9", "fee_pct": "5"},
        {"below": "99.5", "fee_pct": "15"},
        {"below": "99", "fee_pct": "20"},
    ],
}


# --- fixed per breach ---------------------------------------------------------------------


def test_fixed_per_breach_counts_the_items_out_of_target_of_a_missed_level() -> None:
    # 20 tickets, 3 late: 85 % < 95 %, missed.
    level = tickets(overruns=(0,) * 17 + (60, 600, 7200), met=False)
    (line,) = statement(rules(fixed("GTR-FIX", "GTR-P1")), level).lines
    assert line.kind == PenaltyKind.FIXED_PER_BREACH
    assert line.quantity == 3
    assert line.unit_amount == D("150")
    assert line.amount == D("450.00")  # 3 × 150
    assert line.formula == "3 breaches × 150.00 EUR = 450.00 EUR"
    assert line.service == ""  # no per-service cap covers it


def test_fixed_per_breach_nothing_when_the_level_is_met() -> None:
    # 20 tickets, 1 late: 95 % reaches the 95 % threshold, no penalty for the late one.
    level = tickets(overruns=(0,) * 19 + (60,), met=True)
    (line,) = statement(rules(fixed("GTR-FIX", "GTR-P1")), level).lines
    assert line.amount == D("0.00")
    assert line.formula == "0 breaches × 150.00 EUR = 0.00 EUR"
    assert line.note == "level met: 1 item out of target, no penalty"


def test_fixed_per_breach_a_missed_level_without_items_is_one_breach() -> None:
    (line,) = statement(
        rules(fixed("AV-FIX", "AV", amount="1000")), availability(value="99.5", met=False)
    ).lines
    assert line.amount == D("1000.00")  # 1 × 1000
    assert line.formula == "1 breach × 1000.00 EUR = 1000.00 EUR"


def test_a_level_without_data_gives_a_zero_line() -> None:
    s = statement(rules(fixed("AV-FIX", "AV"), TIERS), availability(value=None, met=None))
    assert [(line.amount, line.note, line.formula) for line in s.lines] == [
        (D("0.00"), "no data", "no data = 0.00 EUR"),
        (D("0.00"), "no data", "no data = 0.00 EUR"),
    ]
    assert s.due == D("0.00")


# --- per started hour ---------------------------------------------------------------------


def test_per_started_hour_rounds_each_items_overrun_up() -> None:
    # 3601 s → 2 h, exactly 3600 s → 1 h, 1 s → 1 h; the in-target tickets count for nothing.
    level = tickets(overruns=(0, 3601, 3600, 1), met=False)  # 25 % < 95 %
    rule = {
        "id": "GTR-H",
        "kind": "per_started_hour",
        "service_levels": ["GTR-P1"],
        "amount": "100",
    }
    (line,) = statement(rules(rule), level).lines
    assert line.quantity == 4  # 2 + 1 + 1
    assert line.amount == D("400.00")  # 4 × 100
    assert line.formula == "4 started hours × 100.00 EUR = 400.00 EUR"
    assert line.note == "T-2: 3601 s → 2 h; T-3: 3600 s → 1 h; T-4: 1 s → 1 h"


def test_per_started_hour_on_availability_uses_the_levels_overrun() -> None:
    rule = {"id": "AV-H", "kind": "per_started_hour", "service_levels": ["AV"], "amount": "250"}
    # 5400 s beyond the allowance: 1.5 h started → 2 h.
    (line,) = statement(rules(rule), availability(value="99.7", met=False, overrun=5400)).lines
    assert line.amount == D("500.00")  # 2 × 250
    assert line.formula == "2 started hours × 250.00 EUR = 500.00 EUR"
    # Exactly one hour beyond: 1 h.
    (line,) = statement(rules(rule), availability(value="99.7", met=False, overrun=3600)).lines
    assert line.amount == D("250.00")  # 1 × 250


def test_per_started_hour_nothing_when_the_level_is_met() -> None:
    rule = {
        "id": "GTR-H",
        "kind": "per_started_hour",
        "service_levels": ["GTR-P1"],
        "amount": "100",
    }
    level = tickets(overruns=(0,) * 19 + (7200,), met=True)
    (line,) = statement(rules(rule), level).lines
    assert (line.quantity, line.amount) == (0, D("0.00"))


# --- tiered percentage of the fee ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pct", "amount"),
    [
        ("100", None, "0.00"),
        ("99.95", None, "0.00"),
        ("99.9", None, "0.00"),  # equal to the first threshold: not below it
        ("99.89", "5", "500.00"),  # 5 % × 10000
        ("99.5", "5", "500.00"),  # equal to 99.5: still the 5 % tier
        ("99.2", "15", "1500.00"),  # below 99.9 and 99.5: the most severe, 15 % × 10000
        ("99", "15", "1500.00"),  # equal to 99: not below it
        ("98.99", "20", "2000.00"),  # 20 % × 10000
        ("0", "20", "2000.00"),
    ],
)
def test_tiered_fee_pct_takes_the_most_severe_tier_strictly_above(
    value: str, pct: str | None, amount: str
) -> None:
    (line,) = statement(rules(TIERS), availability(value=value, met=D(value) >= D("99.9"))).lines
    assert line.amount == D(amount)
    assert line.quantity == (D(pct) if pct else 0)
    assert line.unit_amount is None


def test_tiered_fee_pct_formula() -> None:
    (line,) = statement(rules(TIERS), availability(value="99.2", met=False)).lines
    assert line.formula == "99.2 % < 99.5 %: 15 % × 10000.00 EUR = 1500.00 EUR"
    (line,) = statement(rules(TIERS), availability(value="99.9", met=True)).lines
    assert line.formula == "99.9 % ≥ 99.9 %: no tier = 0.00 EUR"


def test_tiered_fee_pct_on_a_compliance_level_uses_the_pct_within_target() -> None:
    rule = {
        "id": "GTR-T",
        "kind": "tiered_fee_pct",
        "service_levels": ["GTR-P1"],
        "tiers": [{"below": "95", "fee_pct": "2.5"}, {"below": "80", "fee_pct": "10"}],
    }
    level = tickets(overruns=(0, 0, 0, 0, 0, 0, 0, 0, 0, 60), met=False)  # 9 / 10 = 90 %
    (line,) = statement(rules(rule), level).lines
    assert line.amount == D("250.00")  # 90 < 95: 2.5 % × 10000


def test_tiered_fee_pct_on_a_level_not_in_percent_is_an_error() -> None:
    rule = {**TIERS, "service_levels": ["RPO"]}
    with pytest.raises(ValueError, match=r"'AV-TIERS'.*'RPO'"):
        statement(rules(rule), rpo(met=False))


# --- public procurement delay -------------------------------------------------------------


def public_delay(rate: str = "1", value: str = "12500") -> dict[str, Any]:
    return {
        "id": "CCAG",
        "kind": "public_delay",
        "service_levels": ["DELIV"],
        "value": value,
        "rate_per_thousand": rate,
    }


def deliveries(*overruns: int, met: bool) -> LevelResult:
    """Deliveries late by these many seconds of real time: days late are started days, as
    the measurement sets them (2 days + 1 s → 3 days; exactly 1 day → 1 day)."""
    level = tickets("DELIV", overruns=overruns, met=met)
    items = tuple(
        item._replace(days_late=-(-overrun // DAY))
        for item, overrun in zip(level.items, overruns, strict=True)
    )
    return replace(level, metric="on_time_delivery", unit="percent", items=items)


def test_public_delay_counts_the_days_late_of_each_item() -> None:
    # 2 days + 1 s → 3 days; exactly 1 day → 1 day; on time → nothing.
    level = deliveries(2 * DAY + 1, DAY, 0, met=False)
    assert [item.days_late for item in level.items] == [3, 1, 0]
    (line,) = statement(rules(public_delay()), level).lines
    assert line.quantity == 4  # 3 + 1
    assert line.unit_amount == D("12.5")  # 12500 × 1 / 1000 per day
    assert line.amount == D("50.00")  # 12.5 × 4
    assert line.formula == "12500.00 × 1 / 1000 × 4 days = 50.00 EUR"
    assert line.note == "T-1: 3 days; T-2: 1 day"


def test_public_delay_counts_calendar_days_not_the_overrun() -> None:
    # An office-hours level: 7 calendar days late are 50 h of business overrun; the penalty
    # counts the 7 days the measurement gives, not ceil(50 h / 24 h) = 3.
    level = deliveries(0, met=False)
    late = Item("Q-1", D(70 * HOUR), False, D(50 * HOUR), days_late=7)
    level = replace(level, items=(late,), sample=1, within=0)
    (line,) = statement(rules(public_delay()), level).lines
    assert line.amount == D("87.50")  # 12500 × 1 / 1000 × 7


def test_public_delay_applies_even_when_the_level_is_met() -> None:
    level = deliveries(*(0,) * 19, 2 * DAY + 1, met=True)  # 95 %: met, one delivery late
    (line,) = statement(rules(public_delay()), level).lines
    assert line.amount == D("37.50")  # 12500 × 1 / 1000 × 3
    assert line.formula == "12500.00 × 1 / 1000 × 3 days = 37.50 EUR"


def test_public_delay_rounds_half_up_on_the_line_only() -> None:
    # 125 × 1 / 1000 = 0.125 per day, 1 day: 0.125 → 0.13 (half up; half even would give 0.12).
    (line,) = statement(rules(public_delay(value="125")), deliveries(60, met=False)).lines
    assert line.amount == D("0.13")
    # 125 × 1 / 1000 × 3 days = 0.375 → 0.38 (the per-day figure is not rounded first,
    # which would give 3 × 0.13 = 0.39).
    (line,) = statement(rules(public_delay(value="125")), deliveries(3 * DAY, met=False)).lines
    assert line.amount == D("0.38")


# --- bonus --------------------------------------------------------------------------------


def test_bonus_is_a_negative_line_when_the_level_is_met() -> None:
    (line,) = statement(
        rules(bonus("AV-B", "AV", amount="200")), availability(value="99.95", met=True)
    ).lines
    assert line.amount == D("-200.00")
    assert line.formula == "level met: bonus -200.00 EUR"
    for missed in (
        availability(value="99.5", met=False),
        availability(value=None, met=None),
    ):
        (line,) = statement(rules(bonus("AV-B", "AV", amount="200")), missed).lines
        assert line.amount == D("0.00")
        assert str(line.amount) == "0.00"  # not -0.00


# --- totals -------------------------------------------------------------------------------


def test_totals_without_caps_franchise_or_bonus() -> None:
    s = statement(
        rules(fixed("AV-FIX", "AV", amount="1000"), TIERS),
        availability(value="99.2", met=False),
    )
    assert s.malus == D("2500.00")  # 1000 + 1500 (15 % × 10000)
    assert (s.bonus, s.net, s.after_franchise, s.contract_cap) == (
        D("0.00"),
        D("2500.00"),
        D("2500.00"),
        None,
    )
    assert s.due == D("2500.00")
    assert s.steps == [
        "malus = 1000.00 + 1500.00 = 2500.00 EUR",
        "bonus = 0.00 EUR",
        "net = max(0, 2500.00 - 0.00) = 2500.00 EUR",
        "after franchise = max(0, 2500.00 - 0.00) = 2500.00 EUR",
        "due = 2500.00 EUR (no contract cap)",
    ]


def test_franchise_bigger_than_the_total_leaves_nothing_due() -> None:
    s = statement(
        rules(fixed("AV-FIX", "AV", amount="1000"), franchise="1500"),
        availability(value="99.5", met=False),
    )
    assert s.net == D("1000.00")
    assert s.after_franchise == D("0.00")  # max(0, 1000 - 1500)
    assert s.due == D("0.00")


def test_franchise_then_contract_cap() -> None:
    s = statement(
        rules(
            fixed("AV-FIX", "AV", amount="1000"),
            TIERS,
            franchise="300",
            caps={"contract_pct": "10"},
        ),
        availability(value="98", met=False),
    )
    assert s.malus == D("3000.00")  # 1000 + 20 % × 10000
    assert s.after_franchise == D("2700.00")  # 3000 - 300
    assert s.contract_cap == D("1000.00")  # 10 % × 10000
    assert s.due == D("1000.00")  # min(2700, 1000)
    assert s.steps[-1] == "due = min(2700.00, 10 % × 10000.00 = 1000.00) = 1000.00 EUR"
    # Under the cap the franchise alone decides.
    s = statement(
        rules(fixed("AV-FIX", "AV", amount="1000"), franchise="300", caps={"contract_pct": "10"}),
        availability(value="98", met=False),
    )
    assert s.due == D("700.00")  # min(1000 - 300, 1000)


def test_per_service_cap_limits_the_lines_of_that_service_only() -> None:
    penalties = rules(
        fixed("AV-FIX", "AV", amount="1000"),
        TIERS,
        fixed("GTR-FIX", "GTR-P1", amount="100"),
        caps={"per_service_pct": {"HOST": "12.5"}},
    )
    # Two services on the availability level: the first one with a cap is HOST.
    av = availability(value="99.2", met=False, services=("NET", "HOST"))
    gtr = tickets(overruns=(0, 60, 60), met=False)  # 2 breaches, HELP has no cap
    s = statement(penalties, av, gtr)
    assert [line.service for line in s.lines] == ["HOST", "HOST", ""]
    (adjustment,) = s.cap_adjustments
    assert adjustment.service == "HOST"
    assert adjustment.before == D("2500.00")  # 1000 + 15 % × 10000
    assert adjustment.cap == D("1250.00")  # 12.5 % × 10000
    assert adjustment.after == D("1250.00")
    assert adjustment.formula == "min(2500.00, 12.5 % × 10000.00 = 1250.00) = 1250.00 EUR"
    assert s.malus == D("1450.00")  # 1250 (HOST, capped) + 2 × 100 (HELP)
    assert s.due == D("1450.00")
    assert s.steps[:3] == [
        "malus = 1000.00 + 1500.00 + 200.00 = 2700.00 EUR",
        "service HOST cap applied: min(2500.00, 12.5 % × 10000.00 = 1250.00) = 1250.00 EUR",
        "malus after service caps = 2700.00 - 1250.00 = 1450.00 EUR",
    ]


def test_per_service_cap_not_reached_changes_nothing() -> None:
    s = statement(
        rules(fixed("AV-FIX", "AV", amount="1000"), caps={"per_service_pct": {"HOST": "20"}}),
        availability(value="99.5", met=False),
    )
    assert s.cap_adjustments == ()
    assert s.malus == D("1000.00")
    assert "service HOST: 1000.00 EUR ≤ cap 20 % × 10000.00 = 2000.00 EUR: no reduction" in (
        s.steps
    )


def test_bonus_offsets_the_malus() -> None:
    penalties = rules(fixed("GTR-FIX", "GTR-P1", amount="100"), bonus("AV-B", "AV", amount="150"))
    s = statement(
        penalties, availability(value="99.99", met=True), tickets(overruns=(0, 60, 60), met=False)
    )
    assert s.malus == D("200.00")  # 2 × 100
    assert s.bonus == D("-150.00")
    assert s.net == D("50.00")  # max(0, 200 - 150)
    assert s.due == D("50.00")
    assert "net = max(0, 200.00 - 150.00) = 50.00 EUR" in s.steps


def test_bonus_larger_than_the_malus_is_never_paid_out() -> None:
    penalties = rules(fixed("GTR-FIX", "GTR-P1", amount="100"), bonus("AV-B", "AV", amount="500"))
    s = statement(
        penalties, availability(value="99.99", met=True), tickets(overruns=(0, 60, 60), met=False)
    )
    assert s.bonus == D("-500.00")
    assert s.net == D("0.00")  # max(0, 200 - 500)
    assert s.after_franchise == D("0.00")
    assert s.due == D("0.00")
    assert "net = max(0, 200.00 - 500.00) = 0.00 EUR (unused bonus 300.00 EUR, not paid out)" in (
        s.steps
    )


def test_bonus_not_offsetting_is_only_reported() -> None:
    penalties = rules(
        fixed("GTR-FIX", "GTR-P1", amount="100"),
        bonus("AV-B", "AV", amount="150"),
        bonus_offsets_malus=False,
    )
    s = statement(
        penalties, availability(value="99.99", met=True), tickets(overruns=(0, 60, 60), met=False)
    )
    assert s.bonus == D("-150.00")  # shown…
    assert s.net == D("200.00")  # …but the malus stays 2 × 100
    assert s.due == D("200.00")


def test_bonus_is_applied_before_the_franchise() -> None:
    penalties = rules(
        fixed("GTR-FIX", "GTR-P1", amount="100"),
        bonus("AV-B", "AV", amount="50"),
        franchise="100",
    )
    s = statement(
        penalties, availability(value="99.99", met=True), tickets(overruns=(0, 60, 60), met=False)
    )
    assert s.net == D("150.00")  # 200 - 50
    assert s.due == D("50.00")  # max(0, 150 - 100)


def test_held_levels_are_shown_but_in_no_total() -> None:
    penalties = rules(
        fixed("AV-FIX", "AV", amount="1000"),
        fixed("GTR-FIX", "GTR-P1", amount="100"),
        bonus("GTR-B", "GTR-OTHER", amount="40"),
        caps={"per_service_pct": {"HELP": "1"}},
    )
    s = statement(
        penalties,
        availability(value="99.5", met=False),
        tickets(overruns=(0, 60, 60), met=False),
        tickets("GTR-OTHER", overruns=(0, 0), met=True),
        held=("AV", "GTR-OTHER"),
    )
    assert [(line.level_id, line.held) for line in s.lines] == [
        ("AV", True),
        ("GTR-P1", False),
        ("GTR-OTHER", True),
    ]
    assert s.lines[0].amount == D("1000.00")  # computed all the same
    assert s.held_total == D("960.00")  # 1000 - 40
    assert s.malus == D("100.00")  # 2 × 100 = 200, HELP capped at 1 % × 10000
    assert s.bonus == D("0.00")  # the held bonus does not count either
    assert s.due == D("100.00")
    assert s.steps[-1] == (
        "held (under dispute, in no total): AV, GTR-OTHER: 1000.00 - 40.00 = 960.00 EUR"
    )


# --- errors -------------------------------------------------------------------------------


def test_a_rule_on_a_level_without_result_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"rule 'AV-FIX' names service level 'AV2'"):
        statement(rules(fixed("AV-FIX", "AV", "AV2")), availability(value="99.5", met=False))


def test_a_held_level_without_result_is_an_error() -> None:
    with pytest.raises(ValueError, match="AV2"):
        statement(
            rules(fixed("AV-FIX", "AV")), availability(value="99.5", met=False), held=("AV2",)
        )


def test_two_results_for_one_level_is_an_error() -> None:
    av = availability(value="99.5", met=False)
    with pytest.raises(ValueError, match="'AV' has more than one result"):
        statement(rules(fixed("AV-FIX", "AV")), av, av)


# --- JSON ---------------------------------------------------------------------------------


def test_statement_to_json() -> None:
    s = statement(
        rules(
            fixed("AV-FIX", "AV", amount="1000"),
            TIERS,
            caps={"contract_pct": "20", "per_service_pct": {"HOST": "12.5"}},
        ),
        availability(value="99.2", met=False),
    )
    data = statement_to_json(s)
    assert data["lines"][1] == {
        "rule_id": "AV-TIERS",
        "kind": "tiered_fee_pct",
        "level_id": "AV",
        "service": "HOST",
        "quantity": "15",
        "unit_amount": None,
        "amount": "1500.00",
        "formula": "99.2 % < 99.5 %: 15 % × 10000.00 EUR = 1500.00 EUR",
        "held": False,
        "waived": False,
        "note": "tier below 99.5 %",
    }
    assert data["lines"][0]["unit_amount"] == "1000.00"
    assert data["cap_adjustments"] == [
        {
            "service": "HOST",
            "before": "2500.00",
            "cap": "1250.00",
            "after": "1250.00",
            "formula": "min(2500.00, 12.5 % × 10000.00 = 1250.00) = 1250.00 EUR",
        }
    ]
    assert {k: v for k, v in data.items() if k not in {"lines", "cap_adjustments", "steps"}} == {
        "currency": "EUR",
        "monthly_fee": "10000.00",
        "malus": "1250.00",
        "bonus": "0.00",
        "net": "1250.00",
        "franchise": "0.00",
        "after_franchise": "1250.00",
        "contract_cap": "2000.00",
        "due": "1250.00",
        "held_total": "0.00",
    }
    assert data["steps"] == s.steps


def test_waived_lines_are_shown_and_enter_no_total() -> None:
    # GTR P1 (3 breaches × 150 = 450) waived by the committee; availability 99.5 % (below
    # 99.9, not below 99.5: 5 % of 10,000 = 500) still held: nothing due, 500 held.
    results = [tickets("GTR-P1", overruns=(60, 60, 60), met=False)]
    results.append(availability(value="99.5", met=False))
    result = compute_statement(
        rules(fixed("GTR", "GTR-P1"), TIERS),
        results,
        monthly_fee=FEE,
        currency="EUR",
        held={"AV", "GTR-P1"},
        waived={"GTR-P1"},
    )
    waived, held = result.lines
    assert (waived.amount, waived.waived, waived.held) == (D("450.00"), True, False)
    assert (held.amount, held.held, held.waived) == (D("500.00"), True, False)
    assert (result.malus, result.due, result.held_total) == (D("0.00"), D("0.00"), D("500.00"))
    assert any(step.startswith("waived by the steering committee") for step in result.steps)
    assert statement_to_json(result)["lines"][0]["waived"] is True
