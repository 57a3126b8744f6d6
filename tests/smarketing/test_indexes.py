"""Indexes cost every write: a foreign key's own index is dropped when a composite index
already leads with its column, and the migration that drops it leaves the constraint."""

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor

OUR_APPS = {"leads", "personas", "sla", "goals", "smarketing"}


def _leading_fields(model) -> set[str]:
    """The first field of every unconditional index and unique constraint of `model`."""
    meta = model._meta
    leaders = set()
    for index in meta.indexes:
        if index.fields and index.condition is None:
            leaders.add(index.fields[0].lstrip("-"))
    for constraint in meta.constraints:
        unique = isinstance(constraint, models.UniqueConstraint)
        if unique and constraint.fields and constraint.condition is None:
            leaders.add(constraint.fields[0])
    for together in meta.unique_together:
        leaders.add(together[0])
    return leaders


def test_no_foreign_key_keeps_an_index_that_a_composite_index_leads_with():
    doubled = []
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        leaders = _leading_fields(model)
        for field in model._meta.concrete_fields:
            indexed = field.is_relation and field.db_index and not field.unique
            if indexed and field.name in leaders:
                doubled.append(f"{model._meta.label}.{field.name}")
    assert doubled == []


def _indexes_on(table: str, column: str) -> tuple[list[str], list[str]]:
    """(plain indexes on exactly `column`, foreign keys on it)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    plain = [
        name
        for name, info in constraints.items()
        if info["columns"] == [column] and info["index"] and not info["unique"]
    ]
    foreign = [
        name
        for name, info in constraints.items()
        if info["columns"] == [column] and info["foreign_key"]
    ]
    return plain, foreign


@pytest.mark.django_db(transaction=True)
def test_the_migration_drops_only_the_index_and_puts_it_back_in_reverse():
    before = ("leads", "0015_handoff_created_covers_accepted")
    after = ("leads", "0016_fk_indexes_covered_by_composites")
    plain, foreign = _indexes_on("leads_activity", "lead_id")
    assert plain == []
    assert len(foreign) == 1
    # The composite index that serves lookups by lead is still there.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "leads_activity")
    assert constraints["activity_lead_time"]["columns"] == ["lead_id", "occurred_at"]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([before])
        plain_before, foreign_before = _indexes_on("leads_activity", "lead_id")
        assert len(plain_before) == 1
        assert foreign_before == foreign
        executor = MigrationExecutor(connection)
        executor.migrate([after])
        assert _indexes_on("leads_activity", "lead_id") == ([], foreign)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
