"""Template helpers of the inventory pages and the technical audit."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def asset_link(asset: Any, print_: bool = False) -> str:
    """The asset's name, linked to its page (plain text in a printed document)."""
    if print_:
        return format_html("{}", asset.name)
    return format_html(
        '<a href="{}">{}</a>', reverse("inventory:asset", args=[asset.pk]), asset.name
    )


@register.filter
def percent(ratio: float | None) -> str:
    """0.084 → "8.4 %" (in the active language's number format)."""
    if ratio is None:
        return "—"
    return f"{number_format(ratio * 100, 1)} %"


@register.filter
def sub(a: int, b: int) -> int:
    return a - b


@register.filter
def health_label(value: str) -> str:
    """An agent's health for people: the label of :class:`AgentHealth`."""
    from infogerance.inventory.models import AgentHealth

    return str(AgentHealth(value).label)


@register.filter
def fact(value: Any, key: str) -> str:
    """A value of the inventory for people: sizes (``…_bytes``) in binary units, yes/no,
    "—" for nothing, a compared tuple of an item as its parts."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key.endswith("_bytes") and isinstance(value, int):
        return size(value)
    if isinstance(value, tuple | list):
        return ", ".join(fact(part, "") for part in value)
    return str(value)


@register.filter
def uptime(seconds: int | None) -> str:
    """93,784 seconds → "1 d 2 h" (days and hours; minutes under an hour)."""
    if seconds is None:
        return "—"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest // 60}
    return _("%(minutes)s min") % {"minutes": rest // 60}


@register.filter
def rate(value: float | None) -> str:
    """Bytes per second in binary units: 1536.0 → "1.5 KiB/s"."""
    if value is None:
        return "—"
    return f"{size(round(value))}/s"


@register.filter
def size(value: int | None) -> str:
    """Bytes in binary units: 1536 → "1.5 KiB"."""
    if value is None:
        return "—"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{number_format(amount, 0 if unit == 'B' else 1)} {unit}"
        amount /= 1024
    return str(value)
