"""From a contract's calendar definitions to the one business-time engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

from infogerance.calendars import engine
from infogerance.contracts.format import WEEKDAYS, CalendarDef, CalendarPreset, ContractDocument


class CalendarDefinitionError(ValueError):
    """A calendar of the contract cannot be built (overlapping windows, unknown zone…)."""


PRESETS = {
    CalendarPreset.HO: engine.HO,
    CalendarPreset.HNO: engine.HNO,
    CalendarPreset.H24X7: engine.H24X7,
}


def _time(text: str) -> dt.time:
    # "24:00" ends a window at midnight: the engine reads an end at or before the start as
    # "the next day", so 00:00 is the same instant.
    if text == "24:00":
        return dt.time(0, 0)
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def to_spec(definition: CalendarDef) -> Any:
    if definition.preset is not None:
        return PRESETS[definition.preset]
    windows = tuple(
        engine.Window(WEEKDAYS.index(day), _time(w.start), _time(w.end))
        for w in definition.windows
        for day in w.days
    )
    overrides = tuple(
        engine.DateOverride(
            exception.date,
            tuple((_time(w.start), _time(w.end)) for w in exception.windows),
        )
        for exception in definition.exceptions
    )
    try:
        return engine.CalendarSpec(
            timezone=definition.timezone,
            windows=windows,
            holiday_sets=tuple(h.value for h in definition.holidays),
            overrides=overrides,
            open_on_holidays=definition.open_on_holidays,
        )
    except engine.CalendarError as exc:
        raise CalendarDefinitionError(str(exc)) from None


def compile_calendar(definition: CalendarDef) -> Any:
    spec = to_spec(definition)
    try:
        return engine.compile_calendar(spec)
    except engine.CalendarError as exc:
        raise CalendarDefinitionError(str(exc)) from None


def calendar_for(document: ContractDocument, name: str) -> Any:
    """The compiled calendar called ``name`` in the contract (or a preset)."""
    if name in document.calendars:
        return compile_calendar(document.calendars[name])
    return engine.compile_calendar(PRESETS[CalendarPreset(name)])
