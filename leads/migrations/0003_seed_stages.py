from django.db import migrations

# name, slug, kind, order, allowed next stages (by slug)
STAGES = [
    ("Subscriber", "subscriber", "nurture", 10, ["lead", "mql", "disqualified"]),
    ("Lead", "lead", "nurture", 20, ["mql", "recycled", "disqualified"]),
    ("MQL", "mql", "mql", 30, ["sal", "recycled", "disqualified"]),
    ("SAL", "sal", "sal", 40, ["sql", "recycled", "disqualified"]),
    ("SQL", "sql", "sql", 50, ["opportunity", "recycled", "disqualified"]),
    ("Opportunity", "opportunity", "opportunity", 60, ["customer", "recycled", "disqualified"]),
    ("Customer", "customer", "customer", 70, ["recycled"]),
    ("Recycled", "recycled", "recycled", 80, ["lead", "mql", "disqualified"]),
    ("Disqualified", "disqualified", "disqualified", 90, ["recycled"]),
]


def seed(apps, schema_editor):
    Stage = apps.get_model("leads", "Stage")
    by_slug = {}
    for name, slug, kind, order, _ in STAGES:
        by_slug[slug], _ = Stage.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": kind, "order": order}
        )
    for _, slug, _, _, allowed in STAGES:
        by_slug[slug].allowed_next.set([by_slug[s] for s in allowed])


class Migration(migrations.Migration):
    dependencies = [("leads", "0002_stage_change")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
