"""Qualifying a batch of leads at once (a rescore's chunk, a drainer's pass): the same
handoffs, routing, SLA clocks and outbox rows as one at a time, in a number of statements
that does not grow with the batch."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.handoff.models import Handoff, HandoffStatus, RoutingDecision
from leads.models import Activity, Lead, StageChange, StageKind
from leads.routing.models import RoutingRule, SalesTeam, TargetKind, TeamMember
from leads.scoring import services
from sla.models import AgreementStatus, ClockKind, SlaAgreement, SlaClock
from smarketing.notifications import services as notifications
from smarketing.notifications.models import Channel, Notification
from tests.leads.scoring_fixtures import NOW, make_lead, make_model

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from smarketing.notifications import tasks

    monkeypatch.setattr(tasks.deliver_many_task, "delay", lambda ids: None)


@pytest.fixture
def desk(rep, rep2, settings):
    """An active SLA, a round-robin team (Dana twice as often as Lee) with a webhook, and a
    Retail territory left in a pool."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    SlaAgreement.objects.create(
        version=1,
        status=AgreementStatus.ACTIVE,
        accept_within_minutes=60,
        first_touch_within_minutes=30,
        created_at=NOW - timedelta(days=30),
    )
    inbound = SalesTeam.objects.create(name="Inbound")
    TeamMember.objects.create(team=inbound, user=rep, weight=2)
    TeamMember.objects.create(team=inbound, user=rep2, weight=1)
    hook, _ = notifications.webhook_endpoint_create(
        name="CRM", url="http://127.0.0.1:9/hook", body_format="standard", actor=None, now=NOW
    )
    inbound.webhooks.set([hook])
    retail = SalesTeam.objects.create(name="Retail desk")
    TeamMember.objects.create(team=retail, user=rep)
    TeamMember.objects.create(team=retail, user=rep2)
    RoutingRule.objects.create(
        name="Retail",
        order=1,
        field="industry",
        operator="in",
        value=["Retail"],
        target_kind=TargetKind.POOL,
        target_team=retail,
    )
    RoutingRule.objects.create(
        name="Everyone else",
        order=2,
        is_default=True,
        target_kind=TargetKind.ROUND_ROBIN,
        target_team=inbound,
    )
    return {"inbound": inbound, "retail": retail, "hook": hook}


def hand_raisers(first: int, count: int, **fields) -> list[int]:
    """Leads that fit and asked for a demo: each crosses the MQL line when scored."""
    ids = []
    for n in range(first, first + count):
        lead = make_lead(n, **fields)
        Activity.objects.create(
            lead=lead, type="demo_request", occurred_at=NOW, received_at=NOW, properties={}
        )
        Activity.objects.create(
            lead=lead, type="webinar_attended", occurred_at=NOW, received_at=NOW, properties={}
        )
        ids.append(lead.pk)
    return ids


def test_a_batch_is_handed_over_routed_clocked_and_notified_like_single_leads(desk, rep, rep2):
    scorer = services.Scorer(make_model())
    ids = hand_raisers(1, 6) + hand_raisers(50, 2, industry="Retail")
    _, qualified = services.leads_rescore(lead_ids=ids, scorer=scorer, now=NOW)
    assert qualified == 8

    handoffs = list(Handoff.objects.filter(lead_id__in=ids).order_by("lead_id"))
    assert len(handoffs) == 8
    assert set(Lead.objects.filter(pk__in=ids).values_list("stage__kind", flat=True)) == {
        StageKind.MQL
    }
    assert StageChange.objects.filter(lead_id__in=ids, to_stage__kind=StageKind.MQL).count() == 8

    # Round robin deals the batch out in lead order, 2:1 without bursts.
    dealt = [h.owner_id for h in handoffs[:6]]
    assert dealt == [rep.pk, rep2.pk, rep.pk, rep.pk, rep2.pk, rep.pk]
    assert all(h.status == HandoffStatus.ASSIGNED for h in handoffs[:6])
    assert [Lead.objects.get(pk=h.lead_id).owner_id for h in handoffs[:6]] == dealt
    retail = handoffs[6:]
    assert {(h.status, h.team_id, h.owner_id) for h in retail} == {
        (HandoffStatus.POOL, desk["retail"].pk, None)
    }
    reasons = list(
        RoutingDecision.objects.filter(handoff__in=handoffs)
        .order_by("handoff__lead_id")
        .values_list("reason", flat=True)
    )
    assert reasons[1].startswith("default rule Everyone else -> round robin -> Lee")
    assert reasons[1].endswith(", next in turn")
    assert reasons[6] == "rule Retail -> Retail desk's pool"

    # Three clocks each; the owners owe an accept, the pool a claim; due times on the rows.
    kinds = {
        h.pk: set(SlaClock.objects.filter(handoff=h).values_list("kind", flat=True))
        for h in handoffs
    }
    assert kinds[handoffs[0].pk] == {ClockKind.FIRST_TOUCH, ClockKind.ATTEMPTS, ClockKind.ACCEPT}
    assert kinds[retail[0].pk] == {
        ClockKind.FIRST_TOUCH,
        ClockKind.ATTEMPTS,
        ClockKind.POOL_CLAIM,
    }
    assert all(h.first_touch_due_at for h in handoffs)
    assert all(h.accept_due_at for h in handoffs[:6])
    assert all(h.accept_due_at is None for h in retail)
    accept = SlaClock.objects.get(handoff=handoffs[0], kind=ClockKind.ACCEPT)
    assert (accept.owner_id, handoffs[0].accept_due_at) == (rep.pk, accept.due_at)
    # Each clock carries its handoff's creation time: the dashboards pick clocks by it.
    assert set(
        SlaClock.objects.filter(handoff__in=handoffs).values_list("handoff_created_at", flat=True)
    ) == {NOW}

    # Each handoff carries what the conversion figures group by: the lead's stage, and the
    # persona and source it had when handed over.
    leads = Lead.objects.select_related("current_score").in_bulk(ids)
    assert [(h.lead_stage_id, h.persona_id, h.source) for h in handoffs] == [
        (
            leads[h.lead_id].stage_id,
            leads[h.lead_id].current_score.persona_id,
            leads[h.lead_id].source,
        )
        for h in handoffs
    ]

    # Outbox: the owner in the app and by email plus the team's webhook; a pool lead
    # notifies every member of its team; every handoff is marked notified.
    def channels(handoff):
        rows = Notification.objects.filter(key__startswith=f"handoff:{handoff.pk}:")
        return sorted((r.channel, r.recipient_id or r.endpoint_id) for r in rows)

    assert channels(handoffs[1]) == sorted(
        [(Channel.EMAIL, rep2.pk), (Channel.IN_APP, rep2.pk), (Channel.WEBHOOK, desk["hook"].pk)]
    )
    assert channels(retail[0]) == sorted(
        [(c, u.pk) for c in (Channel.EMAIL, Channel.IN_APP) for u in (rep, rep2)]
    )
    assert all(h.notified_at == NOW for h in handoffs)
    body = Notification.objects.get(key=f"handoff:{handoffs[1].pk}:in_app:{rep2.pk}").body
    assert "First call due" in body


def test_the_statements_do_not_grow_with_the_batch(desk):
    scorer = services.Scorer(make_model())
    small = hand_raisers(1, 2)
    large = hand_raisers(100, 12)
    counts = []
    for ids in (small, large):
        scores, _ = services.leads_rescore(lead_ids=ids, scorer=scorer, now=NOW, qualify=False)
        assert all(score.is_mql for score in scores.values())
        with CaptureQueriesContext(connection) as queries:
            assert services.leads_qualify(crossings=list(scores.items()), now=NOW) == len(ids)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[1] < 40  # was about 70 per lead


def test_each_new_handoff_goes_in_whole_with_its_due_times_and_notified(desk):
    scorer = services.Scorer(make_model())
    ids = hand_raisers(1, 3)
    scores, _ = services.leads_rescore(lead_ids=ids, scorer=scorer, now=NOW, qualify=False)
    with CaptureQueriesContext(connection) as queries:
        services.leads_qualify(crossings=list(scores.items()), now=NOW)
    rewrites = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "leads_handoff"')
        and ("due_at" in q["sql"] or "notified_at" in q["sql"])
    ]
    assert rewrites == []
    handoffs = Handoff.objects.filter(lead_id__in=ids)
    assert handoffs.count() == 3
    for handoff in handoffs:
        assert handoff.notified_at == NOW
        assert (
            handoff.first_touch_due_at
            == SlaClock.objects.get(handoff=handoff, kind=ClockKind.FIRST_TOUCH).due_at
        )
        assert handoff.first_touch_due_at > NOW


def test_qualifying_again_hands_nothing_over_twice(desk):
    scorer = services.Scorer(make_model())
    ids = hand_raisers(1, 3)
    scores, _ = services.leads_rescore(lead_ids=ids, scorer=scorer, now=NOW)
    again = services.leads_qualify(crossings=list(scores.items()), now=NOW)
    assert again == 0
    assert Handoff.objects.filter(lead_id__in=ids).count() == 3
    assert Notification.objects.count() == 3 * 3
