"""Migration operations the apps share."""

from django.db import migrations


class DropForeignKeyIndex(migrations.AlterField):
    """AlterField to `db_index=False` on a foreign key whose column leads a composite index,
    done as a plain DROP INDEX. Django's own AlterField drops and re-adds the constraint,
    which makes PostgreSQL check every row again: minutes of lock on the activity table.
    Backwards it builds the single-column index again."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        column = model._meta.get_field(self.name).column
        names = schema_editor._constraint_names(
            model, [column], index=True, unique=False, primary_key=False
        )
        for name in names:
            schema_editor.execute(schema_editor._delete_index_sql(model, name))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    def describe(self):
        return f"Drop the single-column index of {self.model_name}.{self.name}"
