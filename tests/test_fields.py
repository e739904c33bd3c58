"""PackedJSONField: JSON kept zstd-compressed, given back as the JSON value."""

from __future__ import annotations

import orjson
import pytest
import zstandard
from django.core.exceptions import ValidationError

from infogerance.core.fields import PackedJSONField, pack_json, unpack_json

VALUE = {"hostname": "web-01", "software": [{"name": "bash", "version": "5.2"}] * 300, "n": None}


def test_values_round_trip_and_shrink() -> None:
    text = orjson.dumps(VALUE)
    packed = pack_json(text)
    assert packed[:4] == b"\x28\xb5\x2f\xfd"  # one zstd frame
    assert len(packed) < len(text) / 10  # 300 equal packages
    assert unpack_json(packed) == VALUE
    assert zstandard.ZstdDecompressor().decompress(packed) == text  # its size is in the frame


def test_the_field_takes_a_value_or_packed_text_and_gives_the_value() -> None:
    from django.db import connection

    field = PackedJSONField()
    from_value = field.get_prep_value(VALUE)
    from_text = field.get_prep_value(pack_json(orjson.dumps(VALUE)))
    assert unpack_json(from_value) == unpack_json(from_text) == VALUE
    assert field.get_prep_value(None) is None
    assert field.get_db_prep_value(None, connection) is None
    # What the database driver is given: the packed bytes (wrapped by it on PostgreSQL).
    sent = field.get_db_prep_value(VALUE, connection)
    assert unpack_json(bytes(getattr(sent, "obj", sent))) == VALUE
    assert field.from_db_value(memoryview(from_value), None, connection) == VALUE
    assert field.to_python(from_value) == VALUE
    assert field.to_python(orjson.dumps(VALUE).decode()) == VALUE  # as value_to_string writes
    assert field.to_python(VALUE) is VALUE


def test_bytes_that_are_not_packed_json_are_refused() -> None:
    field = PackedJSONField()
    with pytest.raises(ValidationError, match="not packed JSON: not a zstd frame"):
        field.to_python(b'{"plain": "json"}')
    with pytest.raises(ValidationError, match="not packed JSON"):
        field.to_python(pack_json(b"{not json"))
