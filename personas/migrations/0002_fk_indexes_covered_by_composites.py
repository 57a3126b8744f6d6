import django.db.models.deletion
from django.db import migrations, models

from smarketing.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):
    """Drop foreign-key indexes that a composite index already leads with: they cost every
    insert and update and serve no query."""


    dependencies = [
        ('personas', '0001_initial'),
    ]

    operations = [
        DropForeignKeyIndex(
            model_name='personasignoff',
            name='version',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='sign_offs', to='personas.personaversion'),
        ),
        DropForeignKeyIndex(
            model_name='personaversion',
            name='persona',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='personas.persona'),
        ),
    ]
