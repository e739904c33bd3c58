"""Snapshots' data kept zstd-compressed (``PackedJSONField``) instead of as ``jsonb``.

The data of a snapshot is read whole, in Python, and never queried. As ``jsonb``, PostgreSQL
parsed each 210 KiB inventory into its binary form and compressed it (4.2–5.7 ms of its CPU
per first inventory); as bytes compressed by the server (0.3 ms), it stores them as they
come (0.3–0.4 ms), and they take less room (37 KiB on average instead of 64 KiB). The
column is created beside the old one, filled from it in batches (about 3 ms a snapshot), and
takes its name; the old column's space is reused by later rows (``VACUUM FULL`` returns it).
"""

from typing import Any

from django.db import migrations, models

import infogerance.core.fields
from infogerance.core.fields import pack_json, unpack_json

_BATCH = 100  # snapshots of about 200 KiB of JSON each
_TABLE = "inventory_inventorysnapshot"


def _convert(schema_editor: Any, source: str, target: str, change: Any) -> None:
    """``target = change(source)`` for every snapshot, ``_BATCH`` rows at a time (JSON read
    as its text)."""
    connection = schema_editor.connection
    text = "::text" if connection.vendor == "postgresql" and source == "data" else ""
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT id, {source}{text} FROM {_TABLE} WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608
                [last, _BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            for pk, value in rows:
                cursor.execute(
                    f"UPDATE {_TABLE} SET {target} = %s WHERE id = %s",  # noqa: S608
                    [change(value), pk],
                )
            last = rows[-1][0]


def pack(apps: Any, schema_editor: Any) -> None:
    _convert(schema_editor, "data", "packed", lambda value: pack_json(value.encode()))


def unpack(apps: Any, schema_editor: Any) -> None:
    import orjson

    _convert(
        schema_editor,
        "packed",
        "data",
        lambda value: orjson.dumps(unpack_json(bytes(value))).decode(),
    )


def _storage(schema_editor: Any, storage: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # Compressed already: PostgreSQL would try again in vain.
        schema_editor.execute(f"ALTER TABLE {_TABLE} ALTER COLUMN data SET STORAGE {storage}")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_inventory_write_costs")]

    operations = [
        # Nullable while the rows move (and when this migration is undone).
        migrations.AlterField(
            model_name="inventorysnapshot", name="data", field=models.JSONField(null=True)
        ),
        migrations.AddField(
            model_name="inventorysnapshot",
            name="packed",
            field=infogerance.core.fields.PackedJSONField(null=True),
        ),
        migrations.RunPython(pack, unpack),
        migrations.RemoveField(model_name="inventorysnapshot", name="data"),
        migrations.RenameField(model_name="inventorysnapshot", old_name="packed", new_name="data"),
        migrations.AlterField(
            model_name="inventorysnapshot",
            name="data",
            field=infogerance.core.fields.PackedJSONField(),
        ),
        migrations.RunPython(
            lambda apps, editor: _storage(editor, "EXTERNAL"),
            lambda apps, editor: _storage(editor, "EXTENDED"),
        ),
    ]
