"""Model fields of the platform's own."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import zstandard
from django.core.exceptions import ValidationError
from django.db import models

#: zstd's level 1: a 210 KiB inventory in 0.3 ms, to about a sixth (docs/benchmarks.md).
ZSTD_LEVEL = 1
_MAGIC = b"\x28\xb5\x2f\xfd"
_local = threading.local()


def pack_json(text: bytes) -> bytes:
    """JSON text as :class:`PackedJSONField` stores it (zstd, one frame, its size written)."""
    compressor = getattr(_local, "compressor", None)
    if compressor is None:  # compressors are not shared between threads
        compressor = _local.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return bytes(compressor.compress(text))


def unpack_json(packed: bytes) -> Any:
    if packed[:4] != _MAGIC:
        raise ValueError("not a zstd frame")
    return orjson.loads(zstandard.ZstdDecompressor().decompress(packed))


class PackedJSONField(models.BinaryField):
    """A JSON document stored zstd-compressed, as bytes: for documents read whole in Python
    and never queried by the database (an inventory as an agent reported it).

    The database neither parses nor compresses it (PostgreSQL's ``jsonb`` did both, at
    several times the cost of zstd here), and it takes less room (a 210 KiB inventory: 37 KiB,
    64 KiB as lz4-compressed ``jsonb``). Reads give the JSON value (dicts, lists...); writes
    take one, or text :func:`pack_json` made already."""

    description = "JSON, zstd-compressed"
    # For django-stubs' plugin: what the attribute gives and takes (BinaryField says bytes).
    _pyi_private_get_type: Any
    _pyi_private_set_type: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else unpack_json(bytes(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, (bytes, memoryview)):
            try:
                return unpack_json(bytes(value))
            except (ValueError, zstandard.ZstdError, orjson.JSONDecodeError) as exc:
                raise ValidationError(f"not packed JSON: {exc}") from None
        if isinstance(value, str):  # as value_to_string writes it
            return orjson.loads(value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, (bytes, memoryview)):
            return value
        return pack_json(orjson.dumps(value))

    def value_to_string(self, obj: Any) -> str:
        return orjson.dumps(self.value_from_object(obj)).decode()
