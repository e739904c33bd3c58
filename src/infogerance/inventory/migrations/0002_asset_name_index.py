from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [
        migrations.AddIndex(
            model_name="asset",
            index=models.Index(fields=["name", "id"], name="inv_asset_name"),
        ),
    ]
