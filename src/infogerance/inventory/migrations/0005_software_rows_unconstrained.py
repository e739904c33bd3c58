"""Software rows without a foreign-key constraint in the database.

PostgreSQL checked it at COMMIT with a lookup of the asset per row: 1,500 for a machine's
first inventory, 4.7–6.7 ms of its CPU, more than writing the rows. Only ingestion writes
these rows, for the reporting agent's own asset, whose agent row it holds locked; assets are
retired, never deleted, and Django's CASCADE still removes an asset's rows.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inventory", "0004_snapshot_packed_data")]

    operations = [
        migrations.AlterField(
            model_name="installedsoftware",
            name="asset",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="software",
                to="inventory.asset",
            ),
        ),
    ]
