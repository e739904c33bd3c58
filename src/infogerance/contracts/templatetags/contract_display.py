from __future__ import annotations

from typing import Any

from django import template

from infogerance.contracts.display import label as label_of
from infogerance.contracts.display import quantity

register = template.Library()


@register.filter
def label(value: Any) -> Any:
    """The readable name of a format code (metric, unit, penalty kind…)."""
    return label_of(value)


@register.filter
def join_labels(values: Any) -> str:
    return ", ".join(str(label_of(v)) for v in values)


@register.filter
def target(value: Any) -> str:
    """A target (value and unit) in words."""
    return quantity(value.value, value.unit)


@register.filter
def duration(value: Any) -> str:
    """An RPO/RTO (value and unit) in words."""
    return quantity(value.value, value.unit)
