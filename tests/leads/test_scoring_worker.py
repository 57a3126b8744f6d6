"""Through the real pipes: events posted to the API, a real Celery worker scores the lead,
and it becomes MQL exactly once, even when the same events are posted twice."""

from datetime import timedelta

from django.utils import timezone

from leads.models import Lead, StageChange, StageKind
from leads.scoring.models import LeadScore
from tests.conftest import wait_for
from tests.leads.scoring_fixtures import make_model


def _events(prefix: str, email: str) -> list[dict]:
    at = (timezone.now() - timedelta(minutes=5)).isoformat()
    lead = {"email": email, "industry": "Logistics", "employees": 300}
    return [
        {"event_id": f"{prefix}-1", "type": "webinar_attended", "occurred_at": at, "lead": lead},
        {"event_id": f"{prefix}-2", "type": "content_download", "occurred_at": at, "lead": lead},
        {
            "event_id": f"{prefix}-3",
            "type": "page_view",
            "occurred_at": at,
            "lead": lead,
            "properties": {"url": "/blog"},
        },
    ]


def test_events_cross_the_line_and_the_lead_becomes_mql_exactly_once(celery_worker, key_client):
    make_model()
    email = "ops.lead@northwind.test"
    response = key_client.post("/api/v1/events/", _events("burst", email), format="json")
    assert response.status_code == 200, response.json()
    lead = Lead.objects.get(email=email)

    wait_for(lambda: Lead.objects.get(pk=lead.pk).stage.kind == StageKind.MQL)
    score = LeadScore.objects.get(lead=lead)
    assert (score.fit, score.engagement, score.is_mql) == (25, 21, True)

    again = key_client.post("/api/v1/events/", _events("burst", email), format="json").json()
    assert again["duplicate"] == 3
    more = _events("later", email)[:1]
    key_client.post("/api/v1/events/", more, format="json")
    wait_for(lambda: LeadScore.objects.get(lead=lead).engagement > 21)
    assert StageChange.objects.filter(lead=lead, to_stage__kind=StageKind.MQL).count() == 1


def test_a_burst_of_events_for_one_lead_queues_one_rescore(
    key_client, monkeypatch, django_capture_on_commit_callbacks
):
    from leads.scoring import tasks

    sent = []
    monkeypatch.setattr(tasks.score_lead_task, "delay", lambda lead_id: sent.append(lead_id))
    make_model()
    email = "burst@northwind.test"
    with django_capture_on_commit_callbacks(execute=True):
        key_client.post("/api/v1/events/", _events("a", email), format="json")
    with django_capture_on_commit_callbacks(execute=True):
        key_client.post("/api/v1/events/", _events("b", email), format="json")
    lead = Lead.objects.get(email=email)
    assert sent == [lead.pk]  # six events, two requests, one task waiting
    tasks.score_lead_task.run(lead.pk)  # the task frees the slot when it runs
    with django_capture_on_commit_callbacks(execute=True):
        key_client.post("/api/v1/events/", _events("c", email), format="json")
    assert sent == [lead.pk, lead.pk]
