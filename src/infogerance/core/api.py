"""Shared API pieces: cursor pagination and error bodies."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Schema
from pydantic import ConfigDict

T = TypeVar("T")
M = TypeVar("M", bound=Model)

MAX_LIMIT = 200


class StrictSchema(Schema):
    """Request bodies: unknown fields are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _encode(value: Any) -> str:
    raw = json.dumps({"after": value}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value = data["after"]
    except (ValueError, KeyError, TypeError):
        raise ValidationError({"cursor": ["Invalid cursor."]}) from None
    if not isinstance(value, int | str):
        raise ValidationError({"cursor": ["Invalid cursor."]})
    return value


def keyset_page(
    queryset: QuerySet[M],
    *,
    cursor: str | None,
    limit: int,
    field: str = "pk",
    descending: bool = False,
    serialize: Callable[[M], Any] | None = None,
) -> dict[str, Any]:
    """One page ordered on a unique ``field``, and the cursor of the next page.

    Keyset pagination costs the same on page 1 and page 10,000, and a row inserted meanwhile
    never shifts the pages (no duplicates, no gaps).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": [f"Between 1 and {MAX_LIMIT}."]})
    ordered = queryset.order_by(f"-{field}" if descending else field)
    if cursor:
        after = _decode(cursor)
        ordered = ordered.filter(**{f"{field}__{'lt' if descending else 'gt'}": after})
    rows: Sequence[M] = list(ordered[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more:
        last = rows[-1]
        value = getattr(last, "pk" if field == "pk" else field)
        next_cursor = _encode(value)
    items = [serialize(r) for r in rows] if serialize else list(rows)
    return {"items": items, "next_cursor": next_cursor}


def actor_of(request: HttpRequest) -> Any:
    """The authenticated caller of an API operation (set by the auth classes)."""
    return getattr(request, "auth", None)


def error_fields(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in error.message_dict.items()}
    return {"__all__": [str(m) for m in error.messages]}
