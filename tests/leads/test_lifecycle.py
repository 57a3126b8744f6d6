"""Stage rules and history: allowed transitions only, recycling back, every move recorded,
time in stage derivable."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from leads.models import Lead, Stage, StageChange, StageKind
from leads.selectors import lead_stage_entered_at, lead_stage_visits
from leads.services import lead_change_stage, lead_upsert
from smarketing.errors import ApplicationError
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


def stage(slug):
    return Stage.objects.get(slug=slug)


def test_the_nine_stages_are_seeded_in_order_with_their_kinds():
    assert list(Stage.objects.values_list("name", "kind")) == [
        ("Subscriber", StageKind.NURTURE),
        ("Lead", StageKind.NURTURE),
        ("MQL", StageKind.MQL),
        ("SAL", StageKind.SAL),
        ("SQL", StageKind.SQL),
        ("Opportunity", StageKind.OPPORTUNITY),
        ("Customer", StageKind.CUSTOMER),
        ("Recycled", StageKind.RECYCLED),
        ("Disqualified", StageKind.DISQUALIFIED),
    ]


def test_a_new_lead_starts_in_lead_with_a_history_row():
    now = timezone.now()
    lead, created = lead_upsert(data={"email": "a@b.test"}, now=now)
    assert created and lead.stage.slug == "lead" and lead.stage_entered_at == now
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage.slug, change.rule) == (None, "lead", "created")


def test_an_allowed_move_updates_the_lead_and_records_who_why_and_when(marketer):
    lead = LeadFactory()
    now = timezone.now()
    change = lead_change_stage(
        lead=lead, to_stage=stage("mql"), now=now, actor=marketer, reason="score 80"
    )
    lead.refresh_from_db()
    assert (lead.stage.slug, lead.stage_entered_at) == ("mql", now)
    assert (change.from_stage.slug, change.to_stage.slug, change.changed_by, change.reason) == (
        "lead",
        "mql",
        marketer,
        "score 80",
    )


def test_a_move_by_a_rule_names_the_rule():
    lead = LeadFactory()
    change = lead_change_stage(
        lead=lead, to_stage=stage("mql"), now=timezone.now(), rule="scoring model v3"
    )
    assert (change.changed_by, change.rule) == (None, "scoring model v3")


def test_skipping_stages_is_refused_and_names_the_allowed_ones():
    lead = LeadFactory()
    with pytest.raises(ApplicationError) as exc:
        lead_change_stage(lead=lead, to_stage=stage("customer"), now=timezone.now())
    assert "cannot move from Lead to Customer" in exc.value.message
    assert "MQL" in exc.value.extra["stage"][0]
    assert StageChange.objects.filter(lead=lead).count() == 0
    lead.refresh_from_db()
    assert lead.stage.slug == "lead"


def test_moving_to_the_current_stage_is_refused():
    lead = LeadFactory()
    with pytest.raises(ApplicationError, match="already in Lead"):
        lead_change_stage(lead=lead, to_stage=stage("lead"), now=timezone.now())


def test_force_lets_a_system_rule_skip_the_transition_check():
    lead = LeadFactory()
    lead_change_stage(lead=lead, to_stage=stage("sql"), now=timezone.now(), force=True)
    assert Lead.objects.get(pk=lead.pk).stage.slug == "sql"


def test_a_lead_can_be_recycled_and_come_back_to_mql():
    lead = LeadFactory()
    t0 = timezone.now() - timedelta(days=30)
    StageChange.objects.create(lead=lead, to_stage=stage("lead"), changed_at=t0)
    path = ["mql", "sal", "recycled", "lead", "mql"]
    for day, slug in enumerate(path, start=1):
        lead_change_stage(lead=lead, to_stage=stage(slug), now=t0 + timedelta(days=day * 2))
    history = list(lead.stage_changes.values_list("to_stage__slug", flat=True))
    assert history == ["lead", *path]
    visits = lead_stage_visits(lead=lead, now=t0 + timedelta(days=20))
    assert [v.stage.slug for v in visits] == ["lead", *path]
    assert [v.duration.days for v in visits] == [2, 2, 2, 2, 2, 10]
    # The latest entry into each stage, e.g. for "when did this lead last become an MQL".
    entered = lead_stage_entered_at(lead=lead)
    assert entered["mql"] == t0 + timedelta(days=10)
    assert entered["recycled"] == t0 + timedelta(days=6)


def test_time_in_the_current_stage_runs_until_now():
    with time_machine.travel("2026-11-01 09:00Z", tick=False):
        lead, _ = lead_upsert(data={"email": "a@b.test"}, now=timezone.now())
    a_week_later = datetime(2026, 11, 8, 9, 0, tzinfo=UTC)
    visits = lead_stage_visits(lead=lead, now=a_week_later)
    assert visits[-1].left_at is None
    assert visits[-1].duration == timedelta(days=7)


def test_disqualified_leads_can_only_be_recycled():
    assert list(stage("disqualified").allowed_next.values_list("slug", flat=True)) == ["recycled"]


# --- the stage API -------------------------------------------------------------------------


def test_the_stage_endpoint_moves_a_lead_for_a_marketer(api_for, marketer):
    lead = LeadFactory()
    response = api_for(marketer).post(
        f"/api/v1/leads/{lead.pk}/stage/", {"stage": "mql", "reason": "webinar"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["stage"] == "mql"
    assert StageChange.objects.get(lead=lead).changed_by == marketer


def test_the_stage_endpoint_answers_400_for_a_forbidden_move(api_for, marketer):
    lead = LeadFactory()
    response = api_for(marketer).post(
        f"/api/v1/leads/{lead.pk}/stage/", {"stage": "customer"}, format="json"
    )
    assert response.status_code == 400
    assert "stage" in response.json()


def test_the_stage_endpoint_answers_400_for_an_unknown_stage(api_for, marketer):
    lead = LeadFactory()
    response = api_for(marketer).post(
        f"/api/v1/leads/{lead.pk}/stage/", {"stage": "nirvana"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["stage"] == ["No such stage."]


def test_a_rep_cannot_move_a_lead_through_the_api(api_for, rep):
    lead = LeadFactory()
    response = api_for(rep).post(f"/api/v1/leads/{lead.pk}/stage/", {"stage": "mql"})
    assert response.status_code == 403
