"""/api/v1/scoring-models/: build, propose, sign, activate, backtest; roles enforced."""

import pytest
from rest_framework.test import APIClient

from leads.scoring.models import ModelStatus, RescoreJob, ScoringModel
from tests.leads.scoring_fixtures import make_lead, make_model

RULES = [
    {"kind": "fit", "field": "industry", "operator": "in", "value": ["Logistics"], "points": 10},
    {"kind": "engagement", "activity_type": "page_view", "points": 2, "cap": 10},
]


@pytest.fixture
def api():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def test_a_marketer_builds_a_draft_with_nested_rules(api, marketer):
    response = api(marketer).post(
        "/api/v1/scoring-models/",
        {"name": "Q1", "min_fit": 10, "min_engagement": 5, "rules": RULES},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["version"], body["status"], len(body["rules"])) == (1, "draft", 2)


def test_a_bad_rule_is_a_400_with_field_messages_and_nothing_is_created(api, marketer):
    bad = [{"kind": "fit", "field": "industry", "operator": "in", "value": [], "points": 5}]
    response = api(marketer).post(
        "/api/v1/scoring-models/", {"name": "Q1", "rules": bad}, format="json"
    )
    assert response.status_code == 400
    assert "value" in response.json()
    assert not ScoringModel.objects.exists()


def test_the_whole_life_through_the_api(
    api, marketer, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    model_id = (
        api(marketer)
        .post("/api/v1/scoring-models/", {"name": "Q1", "rules": RULES}, format="json")
        .json()["id"]
    )
    base = f"/api/v1/scoring-models/{model_id}"
    assert api(marketer).post(f"{base}/propose/").json()["status"] == "proposed"
    assert api(marketer).patch(f"{base}/", {"min_fit": 1}, format="json").status_code == 409
    early = api(marketing_manager).post(f"{base}/activate/")
    assert early.status_code == 400
    assert "waiting for marketing and sales" in early.json()["detail"]
    api(marketing_manager).post(f"{base}/sign-off/")
    teams = api(sales_manager).post(f"{base}/sign-off/").json()["sign_offs"]
    assert sorted(s["team"] for s in teams) == ["marketing", "sales"]
    with django_capture_on_commit_callbacks():
        job = api(marketing_manager).post(f"{base}/activate/")
    assert job.status_code == 202
    assert ScoringModel.objects.get(pk=model_id).status == ModelStatus.ACTIVE
    progress = api(marketer).get(f"/api/v1/rescores/{job.json()['id']}/").json()
    assert progress["status"] == "queued" and progress["percent"] == 0


def test_a_rep_reads_but_cannot_build_or_sign(api, rep, marketer):
    model = make_model(status=ModelStatus.PROPOSED)
    assert api(rep).get("/api/v1/scoring-models/").status_code == 200
    assert api(rep).post("/api/v1/scoring-models/", {"name": "x"}, format="json").status_code == 403
    assert api(rep).post(f"/api/v1/scoring-models/{model.pk}/sign-off/").status_code == 403
    assert api(marketer).post(f"/api/v1/scoring-models/{model.pk}/sign-off/").status_code == 403
    assert api(rep).post("/api/v1/rescores/").status_code == 403


def test_outsiders_and_anonymous_get_nothing(api, outsider):
    assert api(outsider).get("/api/v1/scoring-models/").status_code == 403
    assert APIClient().get("/api/v1/scoring-models/").status_code in (401, 403)


def test_backtest_returns_figures_beside_the_active_model(api, marketer):
    make_model()  # active v1
    draft = make_model(status=ModelStatus.DRAFT, version=2, min_engagement=0, min_fit=0)
    make_lead(1, attributes={"outcome": "won"})
    body = api(marketer).get(f"/api/v1/scoring-models/{draft.pk}/backtest/").json()
    assert body["model"]["version"] == 2 and body["active"]["version"] == 1
    assert body["model"]["confusion_matrix"]["true_positive"] == 1
    assert body["active"]["confusion_matrix"]["false_negative"] == 1


def test_rescore_starts_a_job_for_managers(
    api, marketing_manager, django_capture_on_commit_callbacks
):
    make_model()
    with django_capture_on_commit_callbacks() as callbacks:
        response = api(marketing_manager).post("/api/v1/rescores/")
    assert response.status_code == 202
    assert RescoreJob.objects.count() == 1 and len(callbacks) == 1


def test_suggested_weights_through_the_api(api, marketer):
    model = make_model()
    for n, outcome in enumerate(["won", "lost", "won", "lost", "won"]):
        make_lead(n, attributes={"outcome": outcome})
    body = api(marketer).get(f"/api/v1/scoring-models/{model.pk}/suggested-weights/").json()
    assert body["trained_on"] + body["tested_on"] == 5
    assert body["trustworthy"] is False
    assert {s["key"] for s in body["signals"]} >= {"persona"}
