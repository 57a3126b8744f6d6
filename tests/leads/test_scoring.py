"""Scoring on stored data: incremental, bulk and backtest agree; a lead qualifies once;
the backtest matches a hand-computed confusion matrix; a model's life from draft to active."""

from datetime import timedelta

import pytest
from django.db.models import Max

from leads.models import Activity, Lead, StageChange, StageKind
from leads.scoring import selectors, services
from leads.scoring.models import LeadScore, ModelStatus, RescoreJob, RescoreStatus, RuleKind
from leads.scoring.services import Scorer
from smarketing.errors import ApplicationError, Conflict
from tests.leads.scoring_fixtures import NOW, make_lead, make_model, random_leads

pytestmark = pytest.mark.django_db


def _mql_changes(lead) -> int:
    return StageChange.objects.filter(lead=lead, to_stage__kind=StageKind.MQL).count()


def _add(lead, type_, days_ago=1, **props):
    return Activity.objects.create(
        lead=lead,
        type=type_,
        occurred_at=NOW - timedelta(days=days_ago),
        received_at=NOW,
        properties=props,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_bulk_and_backtest_scoring_agree(seed):
    model = make_model()
    leads = random_leads(40, seed=seed)
    incremental = {lead.pk: services.lead_score(lead_id=lead.pk, now=NOW) for lead in leads}

    LeadScore.objects.all().delete()
    job = RescoreJob.objects.create(model=model, created_at=NOW)
    services.rescore_run(job=job, now=NOW, chunk=7)  # odd chunk size crosses boundaries
    bulk = {s.lead_id: s for s in LeadScore.objects.all()}
    assert set(bulk) == set(incremental)
    for lead_id, score in incremental.items():
        stored = bulk[lead_id]
        assert (stored.fit, stored.engagement, stored.total, stored.is_mql) == (
            score.fit,
            score.engagement,
            score.total,
            score.is_mql,
        ), lead_id
        assert stored.breakdown == score.as_dict()

    # On PostgreSQL both paths above read the activities already aged by SQL; the engine's
    # own path, from Facts and datetimes, must give every figure and line the same.
    scorer = Scorer(model)
    facts = services.facts_for([lead.pk for lead in leads])
    for lead in Lead.objects.filter(pk__in=incremental):
        score, _, _ = scorer.score(lead, facts.get(lead.pk, []), NOW)
        assert score.as_dict() == bulk[lead.pk].breakdown, lead.pk

    # The backtest scores open leads as of now and decided leads as of their last activity,
    # both with the same function.
    result = selectors.backtest(model=model, now=NOW)
    expected_tp = expected_open_mql = 0
    for lead in Lead.objects.filter(pk__in=incremental).annotate(
        last=Max("activities__occurred_at")
    ):
        outcome = selectors.lead_outcome(lead.attributes, lead.stage.kind)
        if outcome is None:
            expected_open_mql += bulk[lead.pk].is_mql
            continue
        score, _, _ = scorer.score(lead, facts.get(lead.pk, []), lead.last or NOW)
        expected_tp += score.is_mql and outcome == "won"
    assert result.mql_today == expected_open_mql
    assert result.true_positive == expected_tp


def test_a_lead_that_crosses_the_line_becomes_mql_once():
    make_model()
    lead = make_lead(1)
    _add(lead, "webinar_attended")
    _add(lead, "content_download")
    _add(lead, "page_view", url="/blog")
    first = services.lead_score(lead_id=lead.pk, now=NOW)
    assert first.is_mql
    services.lead_score(lead_id=lead.pk, now=NOW)
    services.lead_score(lead_id=lead.pk, now=NOW + timedelta(hours=1))
    lead.refresh_from_db()
    assert lead.stage.kind == StageKind.MQL
    assert _mql_changes(lead) == 1
    change = StageChange.objects.get(lead=lead, to_stage__kind=StageKind.MQL)
    assert change.rule == "Scoring model v1"
    assert change.reason == "MQL: fit 25 ≥ 20 and engagement 21 ≥ 20."


def test_a_lead_that_decays_below_the_line_and_rises_again_is_not_qualified_twice():
    make_model()
    lead = make_lead(1)
    _add(lead, "webinar_attended", days_ago=0)
    _add(lead, "content_download", days_ago=0)
    _add(lead, "page_view", days_ago=0)
    assert services.lead_score(lead_id=lead.pk, now=NOW).is_mql
    later = NOW + timedelta(days=200)  # download and view decayed; the webinar's 12 < 20
    assert not services.lead_score(lead_id=lead.pk, now=later).is_mql
    _add(lead, "webinar_attended", days_ago=-199)
    assert services.lead_score(lead_id=lead.pk, now=later).is_mql
    assert _mql_changes(lead) == 1


def test_a_recycled_lead_that_qualifies_again_is_a_new_qualification():
    make_model()
    lead = make_lead(1, stage_slug="recycled")
    _add(lead, "demo_request")
    services.lead_score(lead_id=lead.pk, now=NOW)
    assert _mql_changes(lead) == 1


def test_decay_sweep_lowers_engagement_with_time():
    make_model()
    lead = make_lead(1)
    _add(lead, "content_download", days_ago=0)
    services.lead_score(lead_id=lead.pk, now=NOW)
    assert LeadScore.objects.get(lead=lead).engagement == 7
    assert services.decay_sweep(now=NOW + timedelta(days=60)) == 1
    score = LeadScore.objects.get(lead=lead)
    assert score.engagement == 2  # 7 * 0.25 = 1.75
    lead.refresh_from_db()
    assert lead.engagement_score == 2


def test_rescore_never_requalifies_leads_already_past_mql():
    model = make_model()
    sal = make_lead(1, stage_slug="sal")
    fresh = make_lead(2)
    for lead in (sal, fresh):
        _add(lead, "demo_request")
    job = RescoreJob.objects.create(model=model, created_at=NOW)
    job = services.rescore_run(job=job, now=NOW)
    assert (job.status, job.total, job.processed, job.became_mql) == (RescoreStatus.DONE, 2, 2, 1)
    assert _mql_changes(sal) == 0
    assert _mql_changes(fresh) == 1
    # Running the same job again is a no-op.
    assert services.rescore_run(job=job, now=NOW).processed == 2
    assert _mql_changes(fresh) == 1


def test_the_competitor_exclusion_blocks_even_a_demo_request():
    make_model()
    lead = make_lead(1, email="spy@rival.com")
    _add(lead, "demo_request")
    score = services.lead_score(lead_id=lead.pk, now=NOW)
    assert not score.is_mql
    assert "excluded: Email domain is one of rival.com" in score.verdict


def test_persona_fit_uses_agreed_personas_only():
    from personas.models import PersonaStatus
    from tests.factories import PersonaFactory

    make_model(require_agreed_persona=True, min_persona_fit=50)
    persona = PersonaFactory(
        name="VP Ops",
        criteria=[{"field": "title", "operator": "contains", "value": ["vp"], "weight": 1}],
    )
    lead = make_lead(1)
    _add(lead, "demo_request")
    assert not services.lead_score(lead_id=lead.pk, now=NOW).is_mql  # draft persona
    type(persona).objects.filter(pk=persona.pk).update(status=PersonaStatus.AGREED)
    score = services.lead_score(lead_id=lead.pk, now=NOW)
    assert score.is_mql
    stored = LeadScore.objects.get(lead=lead)
    assert (stored.persona_id, stored.persona_fit) == (persona.pk, 100)


def test_backtest_matches_a_hand_computed_confusion_matrix():
    model = make_model(min_fit=0, min_engagement=12)
    # (outcome, engaged?): engaged leads attended a webinar (+12) -> MQL.
    cases = (
        [("won", True)] * 3 + [("won", False)] * 1 + [("lost", True)] * 2 + [("lost", False)] * 4
    )
    for n, (outcome, engaged) in enumerate(cases):
        lead = make_lead(n, attributes={"outcome": outcome}, industry="", employees=None)
        _add(lead, "webinar_attended" if engaged else "email_open", days_ago=100)
    open_lead = make_lead(99)
    _add(open_lead, "webinar_attended", days_ago=1)

    result = selectors.backtest(model=model, now=NOW).as_dict()
    assert result["confusion_matrix"] == {
        "true_positive": 3,
        "false_positive": 2,
        "false_negative": 1,
        "true_negative": 4,
    }
    assert result["precision"] == pytest.approx(3 / 5)
    assert result["recall"] == pytest.approx(3 / 4)
    assert result["base_rate"] == pytest.approx(4 / 10)
    assert result["lift"] == pytest.approx((3 / 5) / (4 / 10))
    assert (result["open_leads"], result["mql_today"]) == (1, 1)
    hist = result["histogram"]
    assert sum(b["won"] for b in hist) == 4 and sum(b["lost"] for b in hist) == 6


# --- the life of a model --------------------------------------------------------------------


def _draft(marketer):
    model = services.scoring_model_create(name="Q4 definition", actor=marketer, now=NOW)
    services.rule_add(
        model=model,
        data={"kind": RuleKind.ENGAGEMENT, "activity_type": "page_view", "points": 3},
        actor=marketer,
        now=NOW,
    )
    return model


def test_activation_needs_both_teams_and_retires_the_old_model(
    marketer, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    old = make_model(version=1)
    model = _draft(marketer)
    services.scoring_model_propose(model=model, actor=marketer, now=NOW)
    services.scoring_model_sign_off(model=model, user=marketing_manager, now=NOW)
    with pytest.raises(ApplicationError, match="waiting for sales"):
        services.scoring_model_activate(model=model, actor=marketing_manager, now=NOW)
    services.scoring_model_sign_off(model=model, user=sales_manager, now=NOW)
    with django_capture_on_commit_callbacks() as callbacks:
        job = services.scoring_model_activate(model=model, actor=marketing_manager, now=NOW)
    assert len(callbacks) == 1  # the rescore is enqueued after commit
    old.refresh_from_db()
    model.refresh_from_db()
    assert (old.status, model.status) == (ModelStatus.RETIRED, ModelStatus.ACTIVE)
    assert job.model == model and job.status == RescoreStatus.QUEUED
    actions = list(model.events.values_list("action", flat=True))
    assert actions == ["created", "rule_added", "proposed", "signed_off", "signed_off", "activated"]


def test_a_team_signs_once_and_reps_cannot_sign(marketer, marketing_manager, rep):
    model = _draft(marketer)
    services.scoring_model_propose(model=model, actor=marketer, now=NOW)
    services.scoring_model_sign_off(model=model, user=marketing_manager, now=NOW)
    with pytest.raises(Conflict, match="already signed"):
        services.scoring_model_sign_off(model=model, user=marketing_manager, now=NOW)
    with pytest.raises(ApplicationError, match="cannot sign off"):
        services.scoring_model_sign_off(model=model, user=rep, now=NOW)


def test_only_drafts_change(marketer):
    model = _draft(marketer)
    services.scoring_model_propose(model=model, actor=marketer, now=NOW)
    with pytest.raises(Conflict, match="only drafts change"):
        services.rule_add(
            model=model,
            data={"kind": "engagement", "activity_type": "x", "points": 1},
            actor=marketer,
            now=NOW,
        )


def test_a_new_draft_copies_rules_and_settings(marketer):
    active = make_model(min_fit=33)
    draft = services.scoring_model_create(name="", actor=marketer, now=NOW, based_on=active)
    assert draft.version == 2 and draft.min_fit == 33 and draft.status == ModelStatus.DRAFT
    assert draft.rules.count() == active.rules.count()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "fit", "field": "industry", "operator": "in", "value": [], "points": 5}, "value"),
        (
            {"kind": "fit", "field": "salary", "operator": "equals", "value": "x", "points": 5},
            "field",
        ),
        (
            {"kind": "fit", "field": "employees", "operator": "gte", "value": "lots", "points": 5},
            "value",
        ),
        ({"kind": "engagement", "activity_type": "", "points": 5}, "activity_type"),
        ({"kind": "engagement", "activity_type": "page_view", "points": 0}, "points"),
    ],
)
def test_bad_rules_are_refused_with_field_messages(marketer, data, field):
    model = services.scoring_model_create(name="x", actor=marketer, now=NOW)
    with pytest.raises(ApplicationError) as exc:
        services.rule_add(model=model, data=data, actor=marketer, now=NOW)
    assert field in exc.value.extra


def test_a_duplicate_event_is_a_no_op_for_the_score(key_client):
    make_model()
    event = {
        "event_id": "dup-1",
        "type": "webinar_attended",
        "occurred_at": "2026-11-20T10:00:00Z",
        "lead": {"email": "dup@northwind.test"},
    }
    key_client.post("/api/v1/events/", [event], format="json")
    lead = Lead.objects.get(email="dup@northwind.test")
    once = services.lead_score(lead_id=lead.pk, now=NOW)
    key_client.post("/api/v1/events/", [event, event], format="json")
    twice = services.lead_score(lead_id=lead.pk, now=NOW)
    assert once == twice
    assert Activity.objects.filter(lead=lead).count() == 1
