"""Let the SLA dashboard's 12-week trend read handoff_created alone (PostgreSQL)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0014_handoff_touch_count"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="handoff",
            name="handoff_created",
        ),
        migrations.AddIndex(
            model_name="handoff",
            index=models.Index(
                fields=["created_at"], include=("accepted_at",), name="handoff_created"
            ),
        ),
    ]
