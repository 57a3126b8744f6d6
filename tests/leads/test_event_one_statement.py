"""One event for a known person is stored in one statement on PostgreSQL (find the lead,
insert the event unless its event_id was seen, put the lead on the scoring backlog, commit)
and answers exactly what the general path answers; everything else takes the general path."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import services
from leads.models import Activity, Lead
from leads.scoring import tasks
from leads.scoring.models import ScoringBacklog
from leads.scoring.services import hand_raiser_types
from leads.serializers import event_input_validator
from tests.leads.factories import LeadFactory
from tests.leads.scoring_fixtures import make_model

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's"
    ),
]

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
COLUMNS = ("lead_id", "type", "occurred_at", "received_at", "properties", "source", "event_id")


def _ingest(*raw):
    items = [(i, event_input_validator().run_validation(item)) for i, item in enumerate(raw)]
    return services.events_ingest(items=items, now=NOW)


def _event(event_id, lead, **extra):
    return {"event_id": event_id, "type": "page_view", "lead": lead, **extra}


@pytest.fixture
def wakes(monkeypatch):
    woken = {"drainer": 0, "urgent": []}
    monkeypatch.setattr(tasks.drain_backlog_task, "delay", lambda: woken.__setitem__("drainer", 1))
    monkeypatch.setattr(tasks.score_now_task, "delay", woken["urgent"].append)
    return woken


def test_a_known_lead_by_email_costs_one_statement_and_writes_what_a_batch_writes(
    wakes, django_capture_on_commit_callbacks
):
    lead = LeadFactory(email="ann@acme.test")
    properties = {"url": "https://acme.test/pricing", "n": 3, "tags": ["a", "b"]}
    single = _event("one", {"email": "Ann@ACME.test"}, occurred_at="2026-11-20T10:00:00+01:00")
    single["properties"] = properties
    hand_raiser_types()  # read once a minute, not per event
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        [result] = _ingest(single)
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert (result.status, result.lead_id, result.lead_created) == ("accepted", lead.pk, False)
    assert result.activity_id == Activity.objects.get(event_id="one").pk
    assert list(ScoringBacklog.objects.values_list("lead_id", flat=True)) == [lead.pk]
    assert wakes["drainer"] == 1
    assert wakes["urgent"] == []

    # The general path (a batch) writes the same row for the same event.
    batch = dict(single, event_id="two")
    other = _event("other", {"email": "someone.else@acme.test"})
    _ingest(batch, other)
    one, two = (Activity.objects.values(*COLUMNS).get(event_id=e) for e in ("one", "two"))
    assert {**one, "event_id": "two"} == two
    assert one["occurred_at"] == datetime(2026, 11, 20, 9, tzinfo=UTC)
    assert one["properties"] == properties


def test_a_known_lead_by_external_id_within_its_source(wakes):
    lead = LeadFactory(email="", source="crm", external_id="C-7")
    LeadFactory(email="", source="shop", external_id="C-7")
    [result] = _ingest(_event("x", {"external_id": "C-7", "source": "crm"}, source="web"))
    assert (result.status, result.lead_id) == ("accepted", lead.pk)
    activity = Activity.objects.get(event_id="x")
    assert (activity.lead_id, activity.source, activity.occurred_at) == (lead.pk, "web", NOW)


def test_a_seen_event_id_is_a_duplicate_and_writes_nothing(wakes):
    lead = LeadFactory(email="ann@acme.test")
    _ingest(_event("same", {"email": "ann@acme.test"}))
    ScoringBacklog.objects.all().delete()
    hand_raiser_types()
    with CaptureQueriesContext(connection) as queries:
        [result] = _ingest(_event("same", {"email": "ann@acme.test"}))
    assert len(queries) == 1
    assert (result.status, result.lead_id, result.activity_id) == ("duplicate", lead.pk, None)
    assert Activity.objects.filter(event_id="same").count() == 1
    assert not ScoringBacklog.objects.exists()


def test_events_without_an_event_id_are_each_stored(wakes):
    LeadFactory(email="ann@acme.test")
    for _ in range(2):
        [result] = _ingest({"type": "email_open", "lead": {"email": "ann@acme.test"}})
        assert result.status == "accepted"
    assert Activity.objects.filter(type="email_open").count() == 2


def test_a_hand_raiser_is_sent_ahead(wakes, django_capture_on_commit_callbacks):
    make_model()
    lead = LeadFactory(email="ask@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        _ingest({"event_id": "d", "type": "demo_request", "lead": {"email": "ask@acme.test"}})
    assert wakes["urgent"] == [[lead.pk]]


def test_an_unknown_person_an_unsubscribe_or_both_keys_take_the_general_path(wakes):
    [new] = _ingest(_event("n", {"email": "new@acme.test"}))
    assert new.lead_created and Lead.objects.filter(email="new@acme.test").exists()

    known = LeadFactory(email="ann@acme.test")
    with CaptureQueriesContext(connection) as queries:
        [gone] = _ingest(
            {"event_id": "u", "type": "unsubscribe", "lead": {"email": "ann@acme.test"}}
        )
    assert len(queries) > 1
    assert gone.status == "accepted"
    known.refresh_from_db()
    assert known.do_not_email

    # Email first, then the external id: the general path's order.
    by_id = LeadFactory(email="", source="crm", external_id="C-9")
    [both] = _ingest(
        _event("b", {"email": "nobody@acme.test", "external_id": "C-9", "source": "crm"})
    )
    assert both.lead_id == by_id.pk
