"""Copy each clock's handoff creation time onto the clock, so the dashboards pick a
period's clocks through one index range instead of joining every handoff of the period."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_handoff_times(apps, schema_editor):
    SlaClock = apps.get_model("sla", "SlaClock")
    Handoff = apps.get_model("leads", "Handoff")
    SlaClock.objects.update(
        handoff_created_at=Subquery(
            Handoff.objects.filter(pk=OuterRef("handoff_id")).values("created_at")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0003_dashboard_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="slaclock",
            name="handoff_created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(copy_handoff_times, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="slaclock",
            name="handoff_created_at",
            field=models.DateTimeField(),
        ),
        migrations.RemoveIndex(model_name="slaclock", name="slaclock_first_touch"),
        migrations.AddIndex(
            model_name="slaclock",
            index=models.Index(
                fields=["handoff_created_at", "kind", "status", "owner"], name="slaclock_period"
            ),
        ),
    ]
