"""Put on each handoff what the conversion figures group by: the lead's current stage, and
its persona and source when handed over (filled from the lead's current ones here)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    Handoff = apps.get_model("leads", "Handoff")
    Lead = apps.get_model("leads", "Lead")
    LeadScore = apps.get_model("leads", "LeadScore")
    lead = Lead.objects.filter(pk=OuterRef("lead_id"))
    Handoff.objects.update(
        lead_stage=Subquery(lead.values("stage_id")[:1]),
        source=Subquery(lead.values("source")[:1]),
        persona=Subquery(
            LeadScore.objects.filter(lead_id=OuterRef("lead_id")).values("persona_id")[:1]
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0012_dashboard_indexes"),
        ("personas", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="handoff",
            name="lead_stage",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="leads.stage",
            ),
        ),
        migrations.AddField(
            model_name="handoff",
            name="persona",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="personas.persona",
            ),
        ),
        migrations.AddField(
            model_name="handoff",
            name="source",
            field=models.CharField(blank=True, default="", max_length=100),
            preserve_default=False,
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="handoff",
            name="lead_stage",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="leads.stage"
            ),
        ),
    ]
