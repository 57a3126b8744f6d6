import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from smarketing.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):
    """Drop foreign-key indexes that a composite index already leads with: they cost every
    insert and update and serve no query."""


    dependencies = [
        ('smarketing', '0004_webhook_secret_encrypted'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        DropForeignKeyIndex(
            model_name='notification',
            name='recipient',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL),
        ),
    ]
