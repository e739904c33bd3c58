"""PostgreSQL: take the chain's lock and read its head in one round trip.

A function, not one statement: a statement's snapshot is taken before it waits for the lock,
so it could read a head that another transaction replaced meanwhile; inside a VOLATILE
function each statement takes a fresh snapshot, so the head is read once the lock is held.
"""

from django.db import migrations

POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION audit_chain_head(lock_key bigint) "
    "RETURNS TABLE (seq bigint, hash varchar) AS $$ "
    "BEGIN "
    "PERFORM pg_advisory_xact_lock(lock_key); "
    "RETURN QUERY SELECT e.seq::bigint, e.hash::varchar FROM audit_auditevent e "
    "ORDER BY e.seq DESC LIMIT 1; "
    "END; $$ LANGUAGE plpgsql VOLATILE",
]
POSTGRESQL_DOWN = ["DROP FUNCTION IF EXISTS audit_chain_head(bigint)"]


def _run(statements: list[str]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunPython(_run(POSTGRESQL), _run(POSTGRESQL_DOWN))]
