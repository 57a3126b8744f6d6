"""A lead that raises its hand (asks for a demo) is scored ahead of the drainer's batch, by
a task of its own that also sends the "ready for a call" messages itself right after
commit, without a second trip through the queue."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.handoff.models import Handoff
from leads.models import Lead, StageKind
from leads.routing.models import RoutingRule, SalesTeam, TargetKind, TeamMember
from leads.scoring import tasks
from leads.scoring.models import LeadScore, ScoringBacklog
from smarketing.notifications.models import Channel, DeliveryStatus, Notification
from tests.conftest import wait_for
from tests.leads.scoring_fixtures import make_model

FITS = {"industry": "Logistics", "employees": 300}


def _event(n: int, type_: str, email: str) -> dict:
    return {"event_id": f"hr-{n}", "type": type_, "lead": {"email": email, **FITS}}


@pytest.fixture
def desk(rep):
    team = SalesTeam.objects.create(name="Inbound")
    TeamMember.objects.create(team=team, user=rep)
    RoutingRule.objects.create(
        name="Everyone",
        order=1,
        is_default=True,
        target_kind=TargetKind.ROUND_ROBIN,
        target_team=team,
    )
    return team


@pytest.mark.django_db
def test_only_the_hand_raiser_is_sent_ahead(
    key_client, monkeypatch, django_capture_on_commit_callbacks
):
    urgent, woken = [], []
    monkeypatch.setattr(tasks.score_now_task, "delay", urgent.append)
    monkeypatch.setattr(tasks.drain_backlog_task, "delay", lambda: woken.append(1))
    make_model()
    with django_capture_on_commit_callbacks(execute=True):
        response = key_client.post(
            "/api/v1/events/",
            [
                _event(1, "page_view", "browsing@northwind.test"),
                _event(2, "demo_request", "ask@northwind.test"),
            ],
            format="json",
        )
    assert response.status_code == 200, response.json()
    browsing = Lead.objects.get(email="browsing@northwind.test")
    asking = Lead.objects.get(email="ask@northwind.test")
    assert urgent == [[asking.pk]]
    assert woken == [1]  # the rest still goes to the drainer

    tasks.score_now_task.run([asking.pk])
    assert list(ScoringBacklog.objects.values_list("lead_id", flat=True)) == [browsing.pk]
    assert LeadScore.objects.get(lead=asking).is_mql
    assert Lead.objects.get(pk=asking.pk).stage.kind == StageKind.MQL
    # Taken by the drainer first? Then the task finds nothing and leaves it be.
    tasks.score_now_task.run([asking.pk, browsing.pk])
    assert not ScoringBacklog.objects.exists()


@pytest.mark.django_db
def test_without_an_active_model_nothing_is_urgent(
    key_client, monkeypatch, django_capture_on_commit_callbacks
):
    urgent = []
    monkeypatch.setattr(tasks.score_now_task, "delay", urgent.append)
    monkeypatch.setattr(tasks.drain_backlog_task, "delay", lambda: None)
    with django_capture_on_commit_callbacks(execute=True):
        key_client.post("/api/v1/events/", [_event(1, "demo_request", "a@b.test")], format="json")
    assert urgent == []


@pytest.mark.django_db
def test_the_urgent_task_delivers_its_own_messages_after_commit(
    key_client, desk, rep, monkeypatch, django_capture_on_commit_callbacks
):
    from smarketing.notifications import tasks as relay

    queued = []
    monkeypatch.setattr(tasks.score_now_task, "delay", lambda ids: None)
    monkeypatch.setattr(tasks.drain_backlog_task, "delay", lambda: None)
    monkeypatch.setattr(relay.deliver_many_task, "delay", queued.append)
    make_model()
    with django_capture_on_commit_callbacks(execute=True):
        key_client.post("/api/v1/events/", [_event(1, "demo_request", "c@d.test")], format="json")
    lead = Lead.objects.get(email="c@d.test")
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.score_now_task.run([lead.pk])
    handoff = Handoff.objects.get(lead=lead)
    assert handoff.owner_id == rep.pk
    email = Notification.objects.get(key=f"handoff:{handoff.pk}:{Channel.EMAIL}:{rep.pk}")
    assert email.status == DeliveryStatus.SENT
    assert email.attempts == 1
    assert [m.to for m in mail.outbox] == [[rep.email]]
    assert queued == []  # nothing went through the relay's queue
    # The rows were born leased to the task: no claim, no reload before sending.
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if 'FROM "smarketing_notification"' in sql]


@pytest.mark.django_db
def test_messages_of_an_urgent_task_that_died_after_commit_go_out_when_their_lease_ends(
    key_client, desk, rep, monkeypatch, django_capture_on_commit_callbacks
):
    from smarketing.notifications import services as outbox

    monkeypatch.setattr(tasks.score_now_task, "delay", lambda ids: None)
    monkeypatch.setattr(tasks.drain_backlog_task, "delay", lambda: None)
    make_model()
    with django_capture_on_commit_callbacks(execute=True):
        key_client.post("/api/v1/events/", [_event(1, "demo_request", "e@f.test")], format="json")
    lead = Lead.objects.get(email="e@f.test")
    with django_capture_on_commit_callbacks(execute=False):  # dies before its sends
        tasks.score_now_task.run([lead.pk])
    handoff = Handoff.objects.get(lead=lead)
    email = Notification.objects.get(key=f"handoff:{handoff.pk}:{Channel.EMAIL}:{rep.pk}")
    assert (email.status, email.attempts) == (DeliveryStatus.PENDING, 1)
    now = timezone.now()
    assert email.pk not in outbox.notifications_due(now=now)  # leased: nobody else sends it
    later = now + outbox.CLAIM_LEASE + timedelta(seconds=1)
    assert email.pk in outbox.notifications_due(now=later)
    assert outbox.notifications_deliver(notification_ids=[email.pk], now=later) == {
        email.pk: DeliveryStatus.SENT
    }
    email.refresh_from_db()
    assert email.attempts == 2
    assert [m.to for m in mail.outbox] == [[rep.email]]


@pytest.mark.django_db(transaction=True)
def test_a_demo_request_reaches_the_rep_through_a_real_worker(celery_worker, key_client, desk, rep):
    make_model()
    started = timezone.now()
    response = key_client.post(
        "/api/v1/events/", [_event(1, "demo_request", "real@northwind.test")], format="json"
    )
    assert response.status_code == 200, response.json()
    lead = Lead.objects.get(email="real@northwind.test")
    sent = wait_for(
        lambda: Notification.objects.filter(
            recipient=rep,
            channel=Channel.EMAIL,
            status=DeliveryStatus.SENT,
            key__startswith="handoff:",
        ).first()
    )
    assert Handoff.objects.get(lead=lead).owner_id == rep.pk
    assert sent.sent_at >= started
    assert not ScoringBacklog.objects.exists()
