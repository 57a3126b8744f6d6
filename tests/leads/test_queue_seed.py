"""The demo queue: pool leads to claim, accepted leads with touches, rejections with reasons
for Marketing's report, one qualified today; and a second run changes nothing."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from leads.handoff import seed
from leads.handoff.models import Handoff, HandoffStatus, Touch
from leads.models import Lead, StageKind

pytestmark = pytest.mark.django_db


def test_demo_handoffs_cover_every_state_and_seed_once():
    call_command("seed_demo", stdout=StringIO())
    statuses = Counter(Handoff.objects.values_list("status", flat=True))
    assert statuses[HandoffStatus.POOL] >= 3
    assert statuses[HandoffStatus.ACCEPTED] >= 4
    assert statuses[HandoffStatus.QUALIFIED] >= 1
    assert statuses[HandoffStatus.REJECTED] == len(seed.REJECTED)
    # Every lead past MQL in the funnel's middle has its handoff, in the matching state.
    for kind in (StageKind.MQL, StageKind.SAL, StageKind.SQL):
        assert not Lead.objects.filter(stage__kind=kind, handoffs__isnull=True).exists()
    assert (
        not Handoff.objects.filter(lead__stage__kind=StageKind.SAL)
        .exclude(status=HandoffStatus.ACCEPTED)
        .exists()
    )
    rejected = Handoff.objects.filter(status=HandoffStatus.REJECTED).select_related("lead__stage")
    assert {h.lead.stage.kind for h in rejected} == {StageKind.RECYCLED}
    assert all(h.reject_note for h in rejected)
    accepted = Handoff.objects.filter(status=HandoffStatus.ACCEPTED)
    assert not accepted.filter(first_touch_at__isnull=True).exists()
    assert Touch.objects.filter(content__isnull=False).exists()
    # What each handoff carries for the dashboards agrees with the rows it summarises.
    counted = Handoff.objects.annotate(n=Count("touches")).select_related("lead")
    assert [(h.touch_count, h.lead_stage_id, h.source) for h in counted] == [
        (h.n, h.lead.stage_id, h.lead.source) for h in counted
    ]
    assert any(h.touch_count for h in counted)

    before = (
        list(Handoff.objects.order_by("id").values_list("id", "status", "owner_id")),
        Touch.objects.count(),
    )
    seed.run(now=timezone.now(), stdout=StringIO())
    after = (
        list(Handoff.objects.order_by("id").values_list("id", "status", "owner_id")),
        Touch.objects.count(),
    )
    assert after == before
