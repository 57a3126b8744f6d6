"""Through the real pipes: events posted to the API, a real Celery worker scores the lead,
and it becomes MQL exactly once, even when the same events are posted twice."""

from datetime import timedelta

import pytest
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


def test_a_burst_of_events_waits_as_one_backlog_row_and_wakes_one_drainer(
    key_client, monkeypatch, django_capture_on_commit_callbacks
):
    from leads.scoring import services, tasks
    from leads.scoring.models import ScoringBacklog

    woken = []
    monkeypatch.setattr(tasks.drain_backlog_task, "delay", lambda: woken.append(1))
    make_model()
    email = "burst@northwind.test"
    with django_capture_on_commit_callbacks(execute=True):
        key_client.post("/api/v1/events/", _events("a", email), format="json")
    with django_capture_on_commit_callbacks(execute=True):
        key_client.post("/api/v1/events/", _events("b", email), format="json")
    lead = Lead.objects.get(email=email)
    # Six events, two requests: one row waiting, one drainer woken.
    assert list(ScoringBacklog.objects.values_list("lead_id", flat=True)) == [lead.pk]
    assert woken == [1]
    assert not LeadScore.objects.filter(lead=lead).exists()

    tasks.drain_backlog_task.run()  # scores the lead, empties the backlog, goes to sleep
    assert not ScoringBacklog.objects.exists()
    assert LeadScore.objects.get(lead=lead).engagement > 0
    assert services.backlog_drain(now=timezone.now()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        key_client.post("/api/v1/events/", _events("c", email), format="json")
    assert woken == [1, 1]  # asleep again, so the next event wakes a new one


def test_a_failed_drain_gives_its_leads_back(
    key_client, monkeypatch, django_capture_on_commit_callbacks
):
    from leads.scoring import services, tasks
    from leads.scoring.models import ScoringBacklog

    monkeypatch.setattr(tasks.drain_backlog_task, "delay", lambda: None)
    make_model()
    with django_capture_on_commit_callbacks(execute=True):
        events = _events("x", "x@northwind.test")
        response = key_client.post("/api/v1/events/", events, format="json")
    assert response.status_code == 200
    lead = Lead.objects.get(email="x@northwind.test")

    def boom(**kwargs):
        raise RuntimeError("database went away mid-batch")

    real_rescore = services.leads_rescore
    monkeypatch.setattr(services, "leads_rescore", boom)
    with pytest.raises(RuntimeError):
        services.backlog_drain(now=timezone.now())
    assert list(ScoringBacklog.objects.values_list("lead_id", flat=True)) == [lead.pk]
    monkeypatch.setattr(services, "leads_rescore", real_rescore)
    assert services.backlog_drain(now=timezone.now()) == 1
    assert LeadScore.objects.filter(lead=lead).exists()


@pytest.mark.parametrize(
    ("passes", "waits"),
    [
        ([1, 3, 0], 2),  # a trickle: wait after each small pass so the next ones gather
        ([500, 80, 0], 0),  # a flood: big passes go straight on
        ([0], 0),  # nothing waiting: no pass, no wait
    ],
)
def test_the_drainer_waits_for_events_to_gather_only_after_a_small_pass(monkeypatch, passes, waits):
    from leads.scoring import services, tasks

    script = iter(passes)
    calls: list[str] = []
    monkeypatch.setattr(
        services, "backlog_drain", lambda **kw: calls.append("pass") or next(script)
    )
    monkeypatch.setattr(services, "backlog_waiting", lambda: False)
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: calls.append(seconds))

    tasks.drain_backlog_task.run()

    # Each pass is scored before any wait: a lone event is never held back.
    expected = []
    for taken in passes:
        expected.append("pass")
        if 0 < taken < tasks.DRAIN_GATHER_BELOW:
            expected.append(tasks.DRAIN_GATHER)
    assert calls == expected
    assert calls.count(tasks.DRAIN_GATHER) == waits
