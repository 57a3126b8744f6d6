"""Count each handoff's touches on the handoff, for the attempts figures."""

from django.db import migrations, models
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_touches(apps, schema_editor):
    Handoff = apps.get_model("leads", "Handoff")
    Touch = apps.get_model("leads", "Touch")
    per_handoff = (
        Touch.objects.filter(handoff_id=OuterRef("pk"))
        .order_by()
        .values("handoff_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    Handoff.objects.update(
        touch_count=Coalesce(Subquery(per_handoff, output_field=IntegerField()), 0)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0013_handoff_conversion_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="handoff",
            name="touch_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_touches, migrations.RunPython.noop, elidable=True),
    ]
