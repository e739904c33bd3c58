"""URL converters."""

from __future__ import annotations

from django.urls import register_converter


class IdConverter:
    """A database id in a URL: at most 18 digits, so that any match fits a BIGINT and an
    absurd number answers 404 instead of overflowing the database driver."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))


register_converter(IdConverter, "id")
