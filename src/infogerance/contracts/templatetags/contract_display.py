from __future__ import annotations

from typing import Any

from django import template

from infogerance.contracts.display import label as label_of

register = template.Library()


@register.filter
def label(value: Any) -> Any:
    """The readable name of a format code (metric, unit, penalty kind…)."""
    return label_of(value)


@register.filter
def join_labels(values: Any) -> str:
    return ", ".join(str(label_of(v)) for v in values)
