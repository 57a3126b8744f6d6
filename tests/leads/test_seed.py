from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from leads.models import Activity, FormSite, Lead, StageChange
from smarketing.models import IngestKey

pytestmark = pytest.mark.django_db


def test_demo_leads_are_believable_deterministic_and_seeded_once():
    call_command("seed_demo", stdout=StringIO())
    first = list(Lead.objects.order_by("email").values_list("email", "stage__slug", "company"))
    activities = Activity.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert len(first) == 300
    assert (
        list(Lead.objects.order_by("email").values_list("email", "stage__slug", "company")) == first
    )
    assert Activity.objects.count() == activities > 600
    stages = dict(Lead.objects.values_list("stage__slug").annotate(n=Count("id")))
    assert set(stages) == {
        "subscriber", "lead", "mql", "sal", "sql", "opportunity", "customer", "recycled",
        "disqualified",
    }  # fmt: skip
    # Every lead's history ends in its current stage.
    for lead in Lead.objects.filter(stage__slug__in=["customer", "recycled"])[:20]:
        assert lead.stage_changes.last().to_stage_id == lead.stage_id
    assert StageChange.objects.filter(from_stage=None).count() == 300
    assert Lead.objects.filter(stage__slug="sal", owner=None).count() == 0
    assert FormSite.objects.filter(site_key="demo-website").exists()
    assert not IngestKey.objects.exists()
