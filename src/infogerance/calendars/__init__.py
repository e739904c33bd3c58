"""Business calendars: service windows (HO, HNO, 24x7…) and the business-time arithmetic of
every SLA clock. A plain Python package (no Django) so that it can be used and tested alone;
see :mod:`infogerance.calendars.engine` for the time model and the tables.
"""

from infogerance.calendars.engine import (
    H24X7,
    HNO,
    HO,
    HOLIDAY_SETS,
    MAX_CACHED_BLOCKS,
    BusinessTable,
    Calendar,
    CalendarError,
    CalendarSpec,
    DateOverride,
    Window,
    always_open,
    compile_calendar,
    holidays_in,
    office_hours,
    outside_office_hours,
)

__all__ = [
    "H24X7",
    "HNO",
    "HO",
    "HOLIDAY_SETS",
    "MAX_CACHED_BLOCKS",
    "BusinessTable",
    "Calendar",
    "CalendarError",
    "CalendarSpec",
    "DateOverride",
    "Window",
    "always_open",
    "compile_calendar",
    "holidays_in",
    "office_hours",
    "outside_office_hours",
]
