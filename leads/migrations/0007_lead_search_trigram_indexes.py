"""Trigram indexes for the lead search box (name, email, company, `icontains`). PostgreSQL
only: SQLite has no such index and scans, which is fine at its scale. pg_trgm is a trusted
extension (PostgreSQL 13+), so the database owner may create it; if that is refused we skip
the indexes rather than fail the deploy: search still works, only slower."""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

COLUMNS = ["email", "first_name", "last_name", "company"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        logger.warning("pg_trgm is not available; lead search will not be indexed.")
        return
    for column in COLUMNS:
        # The expression matches what Django's icontains compiles to on PostgreSQL.
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS lead_{column}_trgm ON leads_lead "
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS lead_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("leads", "0006_scoring_models")]

    operations = [migrations.RunPython(create, drop)]
