import django.db.models.deletion
from django.db import migrations, models

from smarketing.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):
    """Drop foreign-key indexes that a composite index already leads with: they cost every
    insert and update and serve no query."""


    dependencies = [
        ('goals', '0001_initial'),
    ]

    operations = [
        DropForeignKeyIndex(
            model_name='pacingalert',
            name='goal',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='pacing_alerts', to='goals.funnelgoal'),
        ),
    ]
