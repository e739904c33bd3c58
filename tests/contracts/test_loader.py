"""Reading contract files: every problem at once, with the line, the column and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from infogerance.contracts.loader import ContractFileError, load_contract

HERE = Path(__file__).parent
MINIMAL = (HERE / "minimal.yaml").read_text(encoding="utf-8")


def problems(text: str | bytes, lang: str = "en") -> list[tuple[str, int | None, str]]:
    with translation.override(lang), pytest.raises(ContractFileError) as caught:
        load_contract(text)
    return [(p.where, p.line, p.message) for p in caught.value.problems]


def edit(old: str, new: str) -> str:
    assert old in MINIMAL, old
    return MINIMAL.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_minimal_contract_is_valid() -> None:
    document = load_contract(MINIMAL)
    assert document.reference == "TEST-001"
    assert [s.code for s in document.catalogue] == ["HD", "INFRA"]
    assert str(document.fees.monthly_fee) == "12500.00"
    assert document.priority_matrix is not None
    assert document.priority_matrix.matrix["high"]["high"] == "P1"


def test_wrong_types_name_the_field_and_line() -> None:
    text = edit("notice_months: 6", "notice_months: six")
    found = problems(text)
    assert found == [
        ("term.notice_months", line_of(text, "notice_months"), "Expected a whole number.")
    ]


def test_every_error_is_reported_at_once() -> None:
    text = (
        edit("notice_months: 6", "notice_months: six")
        .replace("metric: gti", "metric: speed")
        .replace('monthly_fee: "12500.00"', "monthly_fee: lots")
    )
    where = [w for w, _line, _msg in problems(text)]
    assert where == ["term.notice_months", "fees.monthly_fee", "service_levels.0.metric"]


def test_unknown_metric_lists_the_allowed_ones() -> None:
    text = edit("metric: gti", "metric: speed")
    ((where, line, message),) = problems(text)
    assert (where, line) == ("service_levels.0.metric", line_of(text, "metric: speed"))
    assert message.startswith("'speed' is not one of: 'gti', 'gtr', 'resolution'")


def test_messages_in_french() -> None:
    text = edit("notice_months: 6", "notice_months: six")
    assert problems(text, "fr")[0][2] == "Nombre entier attendu."


def test_a_period_that_ends_before_it_starts() -> None:
    text = edit("end: 2028-12-31", "end: 2025-12-31")
    ((where, line, message),) = problems(text)
    assert where == "term"
    assert line == line_of(text, "start: 2026-01-01")  # the section's first line
    assert message == "The end must come after the start."


def test_a_date_that_does_not_exist() -> None:
    text = edit("start: 2026-01-01", "start: 2026-02-30")
    ((where, line, message),) = problems(text)
    assert (where, line) == ("term.start", line_of(text, "2026-02-30"))
    assert message == "'2026-02-30' is not a valid date (YYYY-MM-DD)."


def test_a_penalty_with_no_base() -> None:
    text = edit('      amount: "150.00"\n', "")
    ((where, _line, message),) = problems(text)
    assert where == "penalties.rules.0"
    assert message == "A fixed_per_breach penalty has no base: set amount."


def test_broken_references() -> None:
    text = edit("calendar: HO-ext\n", "calendar: HO-typo\n").replace(
        "service_levels: [gti-p1]", "service_levels: [gti-p9]"
    )
    found = {(w, m) for w, _l, m in problems(text)}
    assert found == {
        ("catalogue.0.calendar", "Unknown calendar 'HO-typo'."),
        ("penalties.rules.0.service_levels.0", "Unknown service level 'gti-p9'."),
    }


def test_unit_must_fit_the_metric() -> None:
    text = edit("target: {value: 30, unit: minutes}", "target: {value: 30, unit: percent}")
    ((where, _l, message),) = problems(text)
    assert where == "service_levels.0"
    assert message.startswith("Unit 'percent' does not fit metric 'gti'")


def test_unknown_and_duplicate_keys() -> None:
    text = edit("title: Contrat", "titel: Contrat")
    assert ("titel", line_of(text, "titel"), "Unknown field.") in problems(text)
    dup = edit("object: Infogérance", "reference: AGAIN\nobject: Infogérance")
    assert problems(dup) == [("reference", line_of(dup, "AGAIN"), "Duplicate key 'reference'.")]


def test_a_file_that_is_not_yaml() -> None:
    ((where, line, message),) = problems("reference: [unclosed\ntitle: x\n")
    assert where == "(document)"
    assert line == 2
    assert message.startswith("Not valid YAML:")
    assert problems(b"\xff\xfe binary") == [
        ("(document)", None, "The file is not UTF-8 text (byte 0).")
    ]
    assert problems("- just\n- a list\n")[0][2] == "A contract file is a mapping of sections."
    assert problems("")[0][2] == "The file is empty."


def test_aliases_are_refused() -> None:
    bomb = "a: &x [1, 2]\nb: [*x, *x]\n"
    assert "aliases" in problems(bomb)[0][2]


def test_a_50_mb_file_is_refused_before_parsing() -> None:
    huge = b"# " + b"x" * (50 * 1024 * 1024)
    ((_where, _line, message),) = problems(huge)
    assert message == f"The file is too large ({len(huge)} bytes, at most 1048576)."


def test_overlapping_windows() -> None:
    text = edit(
        '        end: "19:00"\n',
        '        end: "19:00"\n      - days: [mon]\n        start: "18:00"\n        end: "20:00"\n',
    )
    ((where, line, message),) = problems(text)
    assert where == "calendars.HO-ext"
    assert line == line_of(text, "timezone: Europe/Paris")
    assert "overlap" in message.lower()


def test_a_preset_calendar_takes_no_other_field() -> None:
    text = edit("    timezone: Europe/Paris\n", "    preset: HO\n    timezone: Europe/Paris\n")
    found = problems(text)
    assert [(w, m) for w, _l, m in found] == [
        (
            "calendars.HO-ext",
            "A calendar with a preset has no other field (here: holidays, windows).",
        )
    ]


def test_a_calendar_cannot_take_a_preset_name() -> None:
    text = edit("  HO-ext:\n", "  HO:\n").replace("calendar: HO-ext", "calendar: HO")
    assert problems(text)[0][2] == "'HO' is the name of a preset: give your calendar another name."


def test_clock_events_are_a_closed_list() -> None:
    text = edit("stop: intervention_started", "stop: intervention_startd")
    ((where, _line, message),) = problems(text)
    assert where == "service_levels.0.clock.stop"
    assert message.startswith("'intervention_startd' is not one of: 'created', 'assigned'")
    assert " or " not in message


def test_a_window_cannot_start_at_24_00() -> None:
    text = edit('        start: "07:30"', '        start: "24:00"')
    ((where, _line, message),) = problems(text)
    assert where == "calendars.HO-ext.windows.0.start"
    assert message == "'24:00' does not have the expected form."


def test_fields_that_do_not_apply_to_a_penalty() -> None:
    text = edit(
        '      amount: "150.00"\n',
        '      amount: "150.00"\n      tiers: [{below: 99, fee_pct: 5}]\n',
    )
    ((where, _line, message),) = problems(text)
    assert where == "penalties.rules.0"
    assert message == "tiers does not apply to a fixed_per_breach penalty."
    # An amount of zero is a base (a symbolic penalty), not a missing one.
    load_contract(edit('amount: "150.00"', 'amount: "0"'))


def test_a_public_delay_penalty_needs_its_rate() -> None:
    text = edit("      kind: fixed_per_breach\n", "      kind: public_delay\n").replace(
        '      amount: "150.00"\n', '      value: "10000.00"\n'
    )
    assert problems(text)[0][2] == "A public_delay penalty has no base: set rate_per_thousand."


def test_matrix_rows_use_known_urgencies_once() -> None:
    text = edit("high: {high: P1, medium: P2, low: P3}", "high: {high: P1, medium: P2, lo: P3}")
    messages = [m for _w, _l, m in problems(text)]
    assert messages == ["Impact 'high' has no priority for urgency 'low'."]
    twice = edit("impacts: [high, medium, low]", "impacts: [high, medium, low, low]")
    assert problems(twice)[0][2] == "An impact is listed twice."


def test_anchors_are_refused_even_without_alias() -> None:
    assert "anchors and aliases" in problems("reference: &ref X\n")[0][2]


def test_field_errors_and_broken_references_come_together() -> None:
    """A wrong field does not hide an unknown calendar: one run shows both."""
    text = edit("notice_months: 6", "notice_months: six").replace(
        "calendar: HO-ext\n", "calendar: HO-typo\n"
    )
    assert [w for w, _l, _m in problems(text)] == ["term.notice_months", "catalogue.0.calendar"]


def test_overlapping_windows_are_reported_with_field_errors() -> None:
    text = edit(
        '        end: "19:00"\n',
        '        end: "19:00"\n      - days: [mon]\n        start: "18:00"\n        end: "20:00"\n',
    ).replace("notice_months: 6", "notice_months: six")
    assert [w for w, _l, _m in problems(text)] == ["term.notice_months", "calendars.HO-ext"]


def test_pause_statuses_are_the_help_desks() -> None:
    text = edit("pause_statuses: [waiting_client]", "pause_statuses: [attente_client]")
    ((where, _line, message),) = problems(text)
    assert where == "service_levels.0.clock.pause_statuses.0"
    assert message.startswith("'attente_client' is not one of: 'waiting_client'")
