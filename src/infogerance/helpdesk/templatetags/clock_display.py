from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def hours_minutes(value: dt.timedelta | None) -> str:
    """A business duration as "2 h 05", negative durations with a minus sign."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    sign = "−" if seconds < 0 else ""
    minutes = abs(seconds) // 60
    return f"{sign}{minutes // 60} h {minutes % 60:02d}"


@register.filter
def interval_reason(reason: str) -> Any:
    if reason == "counted":
        return _("counted")
    if reason == "outside_service_hours":
        return _("outside service hours")
    if reason == "before_restart":
        return _("before the clock restarted (priority change)")
    if reason.startswith("paused:"):
        return _("paused (%(status)s)") % {"status": reason.split(":", 1)[1]}
    if reason.startswith("stopped:"):
        return _("stopped (%(status)s), until reopened") % {"status": reason.split(":", 1)[1]}
    return reason


STATE_BADGES = {
    "met": "badge-ok",
    "breached": "badge-danger",
    "running": "badge-info",
    "paused": "badge-warn",
    "not_started": "badge-muted",
    "not_applicable": "badge-muted",
}


@register.filter
def state_badge(state: str) -> str:
    return STATE_BADGES.get(state, "badge-muted")


@register.filter
def state_label(state: str) -> Any:
    return {
        "met": _("met"),
        "breached": _("breached"),
        "running": _("running"),
        "paused": _("paused"),
        "not_started": _("not started"),
        "not_applicable": _("not applicable"),
    }.get(state, state)
