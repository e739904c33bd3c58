"""Items held as columns (a month's tickets): the same items, the same sums, the same JSON.

``ItemColumns`` stands for a tuple of :class:`Item` whose values are microseconds turned into
Decimal seconds; ``ItemsText`` writes them as the JSON text orjson would write for their dicts.
Each is checked against the object path it replaces, byte for byte where it is text.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infogerance.sla.measure import ItemsText, _items_json
from infogerance.sla.results import Item, ItemColumns, seconds_text

MILLION = Decimal(1_000_000)


def seconds(us: int) -> Decimal:
    """What the object path stores: ``Decimal(us) / 1_000_000``, the shared zero for 0."""
    return Decimal(us) / MILLION if us else Decimal(0)


def as_objects(columns: ItemColumns) -> tuple[Item, ...]:
    """The items built one by one, as the measurement built them before columns."""
    n = len(columns)
    return tuple(
        Item(
            columns.refs[int(columns.tickets[i])],
            None if columns.value_us is None else seconds(int(columns.value_us[i])),
            bool(columns.met[i]),
            Decimal(0) if columns.overrun_us is None else seconds(int(columns.overrun_us[i])),
            "" if columns.notes is None else columns.notes[i],
            0 if columns.days_late is None else int(columns.days_late[i]),
        )
        for i in range(n)
    )


REFS = ("T1", "T2", 'T"3', "T\\4", "Tété", "T\n6", "T7", "T8")


def clock_items() -> ItemColumns:
    return ItemColumns(
        REFS,
        np.array([0, 2, 3, 4, 5, 0], dtype=np.int64),
        np.array([True, False, False, True, False, True]),
        # 1.5 s, 3,600 s, 1 µs, 0, 2 h 0.25 s, 12.000345 s
        value_us=np.array([1_500_000, 3_600_000_000, 1, 0, 7_200_250_000, 12_000_345]),
        overrun_us=np.array([0, 1_800_000_000, 500_000, 0, 3_600_250_000, 0]),
        days_late=np.array([0, 2, 1, 0, 3, 0]),
    )


def test_seconds_text_is_the_decimal_text() -> None:
    # 1,500,000 µs = 1.5 s; 3,600,000,000 µs = 3600 s (no exponent, no trailing zeros);
    # 1 µs = 0.000001 s; 10 µs = 0.00001 s; −1,500,000 µs = −1.5 s.
    cases = {1_500_000: "1.5", 3_600_000_000: "3600", 1: "0.000001", 10: "0.00001"}
    cases |= {-1_500_000: "-1.5", 0: "0", 999_999: "0.999999", 86_400_000_001: "86400.000001"}
    for us, text in cases.items():
        assert seconds_text(us) == text == str(seconds(us))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_seconds_text_property(us: int) -> None:
    assert seconds_text(us) == str(seconds(us))


def test_columns_are_the_items() -> None:
    columns = clock_items()
    objects = as_objects(columns)
    assert len(columns) == 6
    assert tuple(columns) == objects
    assert columns == objects and objects == tuple(columns)
    # The second item: ticket 2 ('T"3'), 3,600 s, missed by 1,800 s, 2 days late.
    assert columns[1] == Item('T"3', Decimal("3600"), False, Decimal("1800"), "", 2)
    assert columns[-1] == objects[-1] and columns[1:3] == objects[1:3]
    with pytest.raises(IndexError):
        columns[6]
    assert columns != objects[:-1] and columns != "T1"


def test_within_and_overrun_are_the_sums_of_the_items() -> None:
    columns = clock_items()
    objects = as_objects(columns)
    # met: True, False, False, True, False, True → 3 within.
    assert columns.within() == sum(i.met for i in objects) == 3
    # 0 + 1800 + 0.5 + 0 + 3600.25 + 0 = 5400.75 s, written as sum() of the Decimals does.
    assert columns.overrun() == Decimal("5400.75")
    assert str(columns.overrun()) == str(sum((i.overrun for i in objects), Decimal(0)))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.just(0),
            st.integers(min_value=1, max_value=10**13),
            st.builds(lambda m, e: m * 10**e, st.integers(1, 10**6), st.integers(0, 8)),
        ),
        max_size=8,
    )
)
def test_overrun_keeps_the_decimals_of_the_sum(overruns: list[int]) -> None:
    # 1.5 + 2.5 is Decimal("4.0"), not Decimal("4"): the text of the JSON depends on it.
    n = len(overruns)
    columns = ItemColumns(
        ("x",), np.zeros(n, np.int64), np.zeros(n, bool), overrun_us=np.array(overruns, np.int64)
    )
    expected = sum((seconds(us) for us in overruns), Decimal(0))
    assert str(columns.overrun()) == str(expected)


def test_select_keeps_the_order_and_every_column() -> None:
    columns = ItemColumns(
        REFS,
        np.array([7, 6, 1], dtype=np.int64),
        np.array([False, True, False]),
        notes=["reassigned", "", "waited, reopened"],
    )
    missed = columns.select(~columns.met)
    assert tuple(missed) == (
        Item("T8", None, False, Decimal(0), "reassigned", 0),
        Item("T2", None, False, Decimal(0), "waited, reopened", 0),
    )


def test_mismatched_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="value_us: 2 values for 3 items"):
        ItemColumns(REFS, np.arange(3), np.zeros(3, bool), value_us=np.arange(2))


def indented(items: object, depth: int = 4) -> bytes:
    """The items' list inside a document nested like the evaluation's, as orjson writes it:
    top level, a list of results, a result, its items."""
    return orjson.dumps({"results": [{"items": items}]}, option=orjson.OPT_INDENT_2)


@pytest.mark.parametrize(
    "columns",
    [
        clock_items(),
        # First-contact resolution: no value (null), notes, no overrun, no days late.
        ItemColumns(
            REFS,
            np.array([3, 0, 5], dtype=np.int64),
            np.array([False, True, False]),
            notes=["reassigned, waited", "", 'a "quoted" note\t'],
        ),
        # Negative microseconds take the slow path and still write the Decimal's text.
        ItemColumns(
            REFS,
            np.array([1, 2], dtype=np.int64),
            np.array([True, False]),
            value_us=np.array([-1_500_000, 2_000_000]),
            overrun_us=np.array([0, -250_000]),
        ),
        ItemColumns(REFS, np.zeros(0, np.int64), np.zeros(0, bool)),
    ],
    ids=["clocks", "first-contact", "negative", "empty"],
)
def test_items_text_is_what_orjson_writes_for_the_dicts(columns: ItemColumns) -> None:
    objects = as_objects(columns)
    as_dicts = _items_json(objects, None)  # the object path, one dict per item
    assert _items_json(columns, None) == as_dicts  # columns without text: the same dicts
    fragment = _items_json(columns, ItemsText(4))
    assert isinstance(fragment, orjson.Fragment)
    assert indented(fragment) == indented(as_dicts)
    # And the text parses back to the same dicts.
    assert orjson.loads(indented(fragment))["results"][0]["items"] == as_dicts


def test_items_text_reuses_the_refs_it_encoded_for_the_same_refs() -> None:
    text = ItemsText(4)
    first = text.text(clock_items())
    again = text.text(clock_items())
    other = ItemColumns(("Z",), np.zeros(1, np.int64), np.ones(1, bool))
    assert first == again
    assert b'"ref": "Z"' in text.text(other)
