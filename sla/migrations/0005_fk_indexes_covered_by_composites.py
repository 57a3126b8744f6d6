import django.db.models.deletion
from django.db import migrations, models

from smarketing.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):
    """Drop foreign-key indexes that a composite index already leads with: they cost every
    insert and update and serve no query."""


    dependencies = [
        ('leads', '0016_fk_indexes_covered_by_composites'),
        ('sla', '0004_slaclock_handoff_created_at'),
    ]

    operations = [
        DropForeignKeyIndex(
            model_name='calendarholiday',
            name='calendar',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='holidays', to='sla.businesscalendar'),
        ),
        DropForeignKeyIndex(
            model_name='slaclock',
            name='handoff',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='sla_clocks', to='leads.handoff'),
        ),
        DropForeignKeyIndex(
            model_name='slaevent',
            name='clock',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='sla.slaclock'),
        ),
        DropForeignKeyIndex(
            model_name='slasignoff',
            name='agreement',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='sign_offs', to='sla.slaagreement'),
        ),
    ]
