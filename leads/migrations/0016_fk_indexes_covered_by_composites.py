import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from smarketing.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):
    """Drop foreign-key indexes that a composite index already leads with: they cost every
    insert and update and serve no query."""


    dependencies = [
        ('leads', '0015_handoff_created_covers_accepted'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        DropForeignKeyIndex(
            model_name='activity',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='leads.lead'),
        ),
        DropForeignKeyIndex(
            model_name='handoff',
            name='owner',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='handoffs', to=settings.AUTH_USER_MODEL),
        ),
        DropForeignKeyIndex(
            model_name='lead',
            name='stage',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='leads', to='leads.stage'),
        ),
        DropForeignKeyIndex(
            model_name='scoringsignoff',
            name='model',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='sign_offs', to='leads.scoringmodel'),
        ),
        DropForeignKeyIndex(
            model_name='stagechange',
            name='lead',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='stage_changes', to='leads.lead'),
        ),
        DropForeignKeyIndex(
            model_name='stagechange',
            name='to_stage',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leads.stage'),
        ),
        DropForeignKeyIndex(
            model_name='teammember',
            name='team',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='members', to='leads.salesteam'),
        ),
        DropForeignKeyIndex(
            model_name='touch',
            name='handoff',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='touches', to='leads.handoff'),
        ),
    ]
