"""Ticket numbers from a counter per organisation, started at each one's highest number."""

import django.db.models.deletion
from django.db import migrations, models


def start_counters(apps, schema_editor):
    Ticket = apps.get_model("helpdesk", "Ticket")
    TicketCounter = apps.get_model("helpdesk", "TicketCounter")
    TicketCounter.objects.bulk_create(
        TicketCounter(organization_id=row["organization_id"], last_number=row["last"])
        for row in Ticket.objects.values("organization_id")
        .order_by("organization_id")
        .annotate(last=models.Max("number"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0005_list_indexes"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketCounter",
            fields=[
                (
                    "organization",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="tenancy.organization",
                    ),
                ),
                ("last_number", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(start_counters, migrations.RunPython.noop),
    ]
