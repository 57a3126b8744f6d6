"""The reconciler re-drives from database state what a lost broker message left undone."""

from datetime import timedelta

import pytest

from leads.handoff.models import Handoff
from leads.models import Activity, StageChange
from leads.reconcile import reconcile, unnotified_handoffs, unscored_leads
from leads.scoring import services
from tests.leads.scoring_fixtures import NOW, make_lead, make_model

pytestmark = pytest.mark.django_db


def _event(lead, minutes_ago):
    at = NOW - timedelta(minutes=minutes_ago)
    return Activity.objects.create(lead=lead, type="page_view", occurred_at=at, received_at=at)


def test_leads_with_events_newer_than_their_score_are_found():
    make_model()
    never_scored = make_lead(1)
    _event(never_scored, 10)
    stale = make_lead(2)
    services.lead_score(lead_id=stale.pk, now=NOW - timedelta(minutes=30))
    _event(stale, 10)
    fresh = make_lead(3)
    _event(fresh, 10)
    services.lead_score(lead_id=fresh.pk, now=NOW - timedelta(minutes=5))
    just_now = make_lead(4)
    _event(just_now, 0)  # the fast path still has time
    assert sorted(unscored_leads(now=NOW)) == [never_scored.pk, stale.pk]


def test_handoffs_never_notified_are_re_driven(monkeypatch):
    make_model()
    lead = make_lead(1)
    change = StageChange.objects.create(lead=lead, to_stage=lead.stage, changed_at=NOW)
    old = Handoff.objects.create(
        lead=lead,
        lead_stage_id=lead.stage_id,
        qualification=change,
        why="x",
        created_at=NOW - timedelta(minutes=10),
    )
    assert unnotified_handoffs(now=NOW) == [old.pk]
    from leads.handoff import tasks as handoff_tasks
    from leads.scoring import tasks as scoring_tasks

    sent = []
    monkeypatch.setattr(handoff_tasks.handoff_notify_task, "delay", sent.append)
    monkeypatch.setattr(scoring_tasks.drain_backlog_task, "delay", lambda: None)
    assert reconcile(now=NOW) == {"leads_rescored": 0, "handoffs_notified": 1}
    assert sent == [old.pk]
    Handoff.objects.filter(pk=old.pk).update(notified_at=NOW)
    assert unnotified_handoffs(now=NOW) == []


def test_a_lead_scored_mql_but_never_qualified_is_re_driven():
    from leads.reconcile import unqualified_mqls
    from leads.scoring.models import LeadScore

    model = make_model()
    lead = make_lead(1)
    LeadScore.objects.create(
        lead=lead, model=model, fit=50, engagement=50, total=100, is_mql=True, scored_at=NOW
    )
    assert unqualified_mqls() == [lead.pk]
    _event(lead, 1)
    services.lead_score(lead_id=lead.pk, now=NOW)  # no longer MQL-worthy: nothing to do
    assert unqualified_mqls() == []
