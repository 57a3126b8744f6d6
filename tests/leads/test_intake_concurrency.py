"""The intake under load: a full batch is fast, and two senders racing with the same
event ids store each event once."""

import threading

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Activity, Lead
from leads.scoring import services
from leads.scoring.models import ScoringBacklog
from smarketing.models import IngestKey
from tests.leads.factories import LeadFactory


def batch(prefix: str, n: int, *, known: int = 0):
    return [
        {
            "event_id": f"{prefix}-{i}",
            "type": "email_open" if i % 3 else "page_view",
            "occurred_at": "2026-11-20T10:00:00Z",
            "properties": {"url": f"https://acme.test/p/{i}", "campaign": "fall"},
            "lead": {"email": f"person{i % max(known, 1)}@example.com"}
            if known
            else {"email": f"new{i % 100}@example.com"},
        }
        for i in range(n)
    ]


@pytest.mark.django_db
def test_a_thousand_events_for_known_leads_are_accepted_in_one_request(key_client):
    # Speed is measured by bench/ (B2), not by a timed unit test on a shared machine.
    for i in range(300):
        LeadFactory(email=f"person{i}@example.com")
    response = key_client.post("/api/v1/events/", batch("perf", 1000, known=300), format="json")
    assert response.json()["accepted"] == 1000
    assert Lead.objects.count() == 300


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL's concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_two_senders_racing_with_the_same_event_ids_store_each_event_once():
    _, raw = IngestKey.issue(name="race", now=timezone.now())
    for i in range(100):
        LeadFactory(email=f"person{i}@example.com")
    items = batch("race", 400, known=100)
    answers = []
    barrier = threading.Barrier(3)

    def send():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        barrier.wait()
        try:
            answers.append(api.post("/api/v1/events/", items, format="json").json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Activity.objects.count() == 400
    assert sum(a["accepted"] for a in answers) == 400
    assert sum(a["duplicate"] for a in answers) == 800
    assert Lead.objects.count() == 100


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL's concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_racing_senders_creating_the_same_unknown_leads_end_with_one_lead_each():
    _, raw = IngestKey.issue(name="race", now=timezone.now())
    answers = []
    barrier = threading.Barrier(3)

    def send(prefix):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        barrier.wait()
        try:
            answers.append(api.post("/api/v1/events/", batch(prefix, 200), format="json"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(p,)) for p in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200, 200, 200], [a.content[:300] for a in answers]
    assert Lead.objects.count() == 100
    assert Activity.objects.count() == 600


@pytest.mark.django_db
def test_a_thousand_events_for_new_people_create_them_set_based(key_client):
    items = [
        {
            "event_id": f"n{i}",
            "type": "page_view",
            "lead": {"email": f"New{i}@x.example", "company": "X", "tier": "gold"},
        }
        for i in range(1000)
    ]
    body = key_client.post("/api/v1/events/", items, format="json").json()
    assert body["accepted"] == 1000
    assert all(r["lead_created"] for r in body["results"])
    assert Lead.objects.count() == 1000
    lead = Lead.objects.get(email="new7@x.example")
    assert (lead.company, lead.attributes, lead.stage.slug) == ("X", {"tier": "gold"}, "lead")
    assert lead.stage_changes.get().rule.startswith("api key ")


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL's concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_a_drainer_leaves_a_lead_whose_new_event_is_still_committing():
    """The lead already waits on the backlog when a new event for it is stored. A drainer
    that ran before that event committed would score without it and take the lead off the
    backlog, and nothing would ever score the event: it must leave the lead waiting."""
    lead = LeadFactory(email="waiting@example.com")
    now = timezone.now()
    services.backlog_add(lead_ids=[lead.pk], now=now)  # from an earlier event
    stored, release = threading.Event(), threading.Event()

    def ingest():
        try:
            with transaction.atomic():
                Activity.objects.create(
                    lead=lead, type="page_view", occurred_at=now, received_at=now, properties={}
                )
                services.backlog_add(lead_ids=[lead.pk], now=now)
                stored.set()
                assert release.wait(10)
        finally:
            connections.close_all()

    writer = threading.Thread(target=ingest)
    writer.start()
    assert stored.wait(10)
    try:
        taken = services.backlog_drain(now=timezone.now())
    finally:
        release.set()
        writer.join()
    assert taken == 0
    assert ScoringBacklog.objects.filter(lead=lead).exists()
    assert services.backlog_drain(now=timezone.now()) == 1  # once the event is in
