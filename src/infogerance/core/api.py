"""Shared API pieces: cursor pagination and error bodies."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

T = TypeVar("T")
M = TypeVar("M", bound=Model)

MAX_LIMIT = 200

# Object ids in paths, filters and bodies: a database's BIGINT range, so that an absurd id
# is refused by validation (422) instead of overflowing the database driver.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# The page size of every list operation, bounded in the schema itself.
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Rows per page (1–200).")]


# The default of a PATCH field: left out, the value stays as it is. Typed Any so that a
# field can say ``name: str = Field(OMITTED)``: the type refuses an explicit null.
OMITTED: Any = None


class StrictSchema(Schema):
    """Request bodies: unknown fields are errors, so a typo never passes silently, and
    values are never coerced (``0`` is not ``false``, ``"5"`` is not ``5``). Enum fields
    take ``Field(strict=False)`` so that their JSON string values are accepted."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_null_character(cls, value: Any) -> Any:
        """No text holds a NUL character: PostgreSQL's text cannot store one (it would be a
        500 there, and a value that cannot round-trip on SQLite), as Django's forms refuse."""
        if _holds_nul(value):
            raise PydanticCustomError("null_character", _("Remove the null character."))
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


ERROR_STATUSES = (400, 401, 403, 404, 413, 422)


def with_errors(success: dict[int, Any]) -> dict[int, Any]:
    """An operation's responses: its success and every error the API can answer, so that
    the OpenAPI schema documents them and clients can rely on one error body."""
    return {**success, **dict.fromkeys(ERROR_STATUSES, ErrorOut)}


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
