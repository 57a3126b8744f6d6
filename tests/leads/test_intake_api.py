"""POST /api/v1/leads/ and /api/v1/events/: upserts, idempotent events, mixed batches,
unknown leads, key scopes and payload limits."""

from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Activity, Lead, StageChange
from smarketing.models import IngestKey
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


def event(event_id, email="ann@acme.test", type_="page_view", **extra):
    return {
        "event_id": event_id,
        "type": type_,
        "occurred_at": "2026-11-20T10:00:00Z",
        "properties": {"url": "https://acme.test/pricing"},
        "lead": {"email": email},
        **extra,
    }


# --- leads upsert --------------------------------------------------------------------------


def test_posting_a_new_email_creates_a_lead_in_the_lead_stage(key_client):
    response = key_client.post(
        "/api/v1/leads/",
        {"email": "Ann@Acme.test", "first_name": "Ann", "company": "Acme", "employees": 250},
        format="json",
    )
    assert response.status_code == 201, response.json()
    lead = Lead.objects.get()
    assert response.json() == {"id": lead.pk, "created": True, "stage": "lead"}
    assert (lead.email, lead.company, lead.employees) == ("ann@acme.test", "Acme", 250)
    assert StageChange.objects.get(lead=lead).to_stage.slug == "lead"


def test_posting_the_same_email_in_other_case_updates_instead_of_duplicating(key_client):
    key_client.post("/api/v1/leads/", {"email": "ann@acme.test", "title": "CTO"}, format="json")
    response = key_client.post(
        "/api/v1/leads/",
        {"email": "ANN@ACME.TEST", "title": "", "phone": "+1 555 0100"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["created"] is False
    lead = Lead.objects.get()
    # Empty values never blank out what is known.
    assert (lead.title, lead.phone) == ("CTO", "+1 555 0100")


def test_external_id_is_unique_per_source_not_globally(key_client):
    first = key_client.post(
        "/api/v1/leads/", {"external_id": "42", "source": "crm", "company": "A"}, format="json"
    )
    again = key_client.post(
        "/api/v1/leads/", {"external_id": "42", "source": "crm", "company": "B"}, format="json"
    )
    other = key_client.post(
        "/api/v1/leads/", {"external_id": "42", "source": "webinar-tool"}, format="json"
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert Lead.objects.count() == 2
    assert Lead.objects.get(source="crm").company == "B"


def test_unknown_keys_are_kept_as_custom_attributes(key_client):
    key_client.post(
        "/api/v1/leads/",
        {"email": "ann@acme.test", "favourite_colour": "teal", "attributes": {"tier": "gold"}},
        format="json",
    )
    key_client.post("/api/v1/leads/", {"email": "ann@acme.test", "plan": "pro"}, format="json")
    assert Lead.objects.get().attributes == {
        "favourite_colour": "teal",
        "tier": "gold",
        "plan": "pro",
    }


def test_a_lead_without_email_or_external_id_is_a_400_with_field_errors(key_client):
    response = key_client.post("/api/v1/leads/", {"first_name": "Nobody"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()


def test_bad_field_values_answer_400_per_field(key_client):
    response = key_client.post(
        "/api/v1/leads/",
        {"email": "not-an-email", "employees": "many", "country": "Germany"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"email", "employees", "country"}


def test_a_marketer_with_a_token_may_upsert_but_a_rep_may_not(api_for, marketer, rep):
    assert (
        api_for(marketer).post("/api/v1/leads/", {"email": "a@b.test"}, format="json").status_code
        == 201
    )
    assert (
        api_for(rep).post("/api/v1/leads/", {"email": "c@d.test"}, format="json").status_code == 403
    )


# --- key scopes ----------------------------------------------------------------------------


def test_an_ingest_key_cannot_read_leads(key_client):
    lead = LeadFactory()
    for url in ("/api/v1/leads/", f"/api/v1/leads/{lead.pk}/", f"/api/v1/leads/{lead.pk}/export/"):
        response = key_client.get(url)
        assert response.status_code == 403, url
        assert "intake endpoints only" in response.json()["detail"]


def test_an_ingest_key_cannot_change_a_stage_or_erase(key_client):
    lead = LeadFactory()
    assert key_client.post(f"/api/v1/leads/{lead.pk}/stage/", {"stage": "mql"}).status_code == 403
    assert key_client.post(f"/api/v1/leads/{lead.pk}/erase/").status_code == 403


def test_a_revoked_or_wrong_key_is_refused(ingest_key):
    IngestKey.objects.get().revoke(now=timezone.now())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {ingest_key}")
    assert api.post("/api/v1/leads/", {"email": "a@b.test"}, format="json").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Api-Key nope")
    assert api.post("/api/v1/events/", event("e1"), format="json").status_code == 401
    assert Lead.objects.count() == 0


def test_a_key_revoked_elsewhere_is_refused_once_the_memo_expires(ingest_key, monkeypatch):
    from smarketing import authentication

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {ingest_key}")
    assert api.post("/api/v1/leads/", {"email": "a@b.test"}, format="json").status_code == 201
    # Another process revokes it: this one remembers the key for a few seconds at most.
    IngestKey.objects.update(revoked_at=timezone.now())
    assert api.post("/api/v1/leads/", {"email": "b@b.test"}, format="json").status_code == 201
    later = authentication.time.monotonic() + authentication.KEY_CACHE_SECONDS + 0.1
    monkeypatch.setattr(authentication.time, "monotonic", lambda: later)
    assert api.post("/api/v1/leads/", {"email": "c@b.test"}, format="json").status_code == 401
    assert Lead.objects.count() == 2


def test_keys_are_stored_hashed_with_a_visible_prefix(ingest_key):
    key = IngestKey.objects.get()
    assert ingest_key not in (key.key_hash, key.prefix)
    assert ingest_key.startswith(key.prefix)
    assert key.key_hash == IngestKey.hash_key(ingest_key)


def test_a_user_token_reads_leads_and_filters_them(api_for, marketer):
    LeadFactory(email="a@acme.test", source="webinar", score=80)
    LeadFactory(email="b@acme.test", source="ads", score=10)
    response = api_for(marketer).get("/api/v1/leads/?source=webinar")
    assert response.status_code == 200
    assert [row["email"] for row in response.json()["results"]] == ["a@acme.test"]


def test_someone_without_a_role_cannot_read_leads(api_for, outsider):
    LeadFactory()
    assert api_for(outsider).get("/api/v1/leads/").status_code == 403


def test_anonymous_requests_are_refused():
    assert APIClient().post("/api/v1/events/", event("e1"), format="json").status_code == 401


# --- events --------------------------------------------------------------------------------


def test_one_event_as_an_object_is_accepted_and_creates_its_unknown_lead(key_client):
    response = key_client.post("/api/v1/events/", event("evt-1"), format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (1, 0, 0)
    assert body["results"][0]["lead_created"] is True
    activity = Activity.objects.get()
    assert (activity.lead.email, activity.type, activity.event_id) == (
        "ann@acme.test",
        "page_view",
        "evt-1",
    )


def test_the_same_event_id_twice_counts_once(key_client):
    first = key_client.post("/api/v1/events/", [event("evt-1")], format="json").json()
    second = key_client.post("/api/v1/events/", [event("evt-1")], format="json").json()
    assert first["accepted"] == 1
    assert (second["accepted"], second["duplicate"]) == (0, 1)
    assert Activity.objects.count() == 1


def test_a_repeated_event_id_inside_one_batch_is_a_duplicate(key_client):
    body = key_client.post(
        "/api/v1/events/", [event("evt-1"), event("evt-1"), event("evt-2")], format="json"
    ).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate", "accepted"]
    assert Activity.objects.count() == 2


def test_a_mixed_batch_stores_the_good_items_and_explains_the_bad(key_client):
    batch = [
        event("ok-1"),
        event("bad-type", type_="Page View!"),
        {"event_id": "no-lead", "type": "email_open"},
        event("bad-email", email="not-an-email"),
        "not an object",
        event("ok-2", email="bob@beta.test", type_="webinar_attended"),
    ]
    response = key_client.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 0, 4)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["accepted", "rejected", "rejected", "rejected", "rejected", "accepted"]
    assert "type" in body["results"][1]["errors"]
    assert "lead" in body["results"][2]["errors"]
    assert body["results"][3]["errors"]["lead"]["email"]
    assert "non_field_errors" in body["results"][4]["errors"]
    assert set(Activity.objects.values_list("event_id", flat=True)) == {"ok-1", "ok-2"}


def test_a_batch_with_only_bad_items_is_a_400(key_client):
    response = key_client.post("/api/v1/events/", [{"type": "page_view"}], format="json")
    assert response.status_code == 400
    assert response.json()["rejected"] == 1


def test_events_name_known_leads_by_email_or_external_id(key_client):
    by_email = LeadFactory(email="ann@acme.test")
    by_id = LeadFactory(email="", external_id="crm-7", source="crm")
    body = key_client.post(
        "/api/v1/events/",
        [
            event("a", email="ANN@acme.test"),
            {**event("b"), "lead": {"external_id": "crm-7", "source": "crm"}},
        ],
        format="json",
    ).json()
    assert [r["lead_id"] for r in body["results"]] == [by_email.pk, by_id.pk]
    assert [r["lead_created"] for r in body["results"]] == [False, False]
    assert Lead.objects.count() == 2


def test_several_events_of_one_unknown_lead_create_it_once(key_client):
    body = key_client.post(
        "/api/v1/events/",
        [event(f"e{i}", email="new@gamma.test") for i in range(5)],
        format="json",
    ).json()
    assert body["accepted"] == 5
    assert Lead.objects.filter(email="new@gamma.test").count() == 1


def test_custom_event_types_are_accepted(key_client):
    body = key_client.post(
        "/api/v1/events/", event("c1", type_="trial_started"), format="json"
    ).json()
    assert body["accepted"] == 1
    assert Activity.objects.get().type_label == "trial_started"


def test_events_without_occurred_at_take_the_time_of_receipt(key_client):
    item = event("t1")
    del item["occurred_at"]
    key_client.post("/api/v1/events/", item, format="json")
    activity = Activity.objects.get()
    assert activity.occurred_at == activity.received_at


def test_an_event_from_the_future_is_rejected(key_client):
    body = key_client.post(
        "/api/v1/events/", event("f1", occurred_at="2999-01-01T00:00:00Z"), format="json"
    ).json()
    assert "occurred_at" in body["results"][0]["errors"]


def test_an_unsubscribe_event_sets_do_not_email(key_client):
    lead = LeadFactory(email="ann@acme.test")
    key_client.post("/api/v1/events/", event("u1", type_="unsubscribe"), format="json")
    lead.refresh_from_db()
    assert lead.do_not_email is True


def test_touched_leads_wait_on_the_scoring_backlog_committed_with_their_events(key_client):
    from leads.scoring.models import ScoringBacklog

    key_client.post(
        "/api/v1/events/",
        [event("h1"), event("h2"), event("h3", email="bob@beta.test")],
        format="json",
    )
    # No on-commit hook needed: the rows are written in the events' own transaction.
    assert sorted(ScoringBacklog.objects.values_list("lead_id", flat=True)) == sorted(
        Lead.objects.values_list("id", flat=True)
    )


def test_duplicates_alone_do_not_call_the_scoring_hook(
    key_client, django_capture_on_commit_callbacks
):
    key_client.post("/api/v1/events/", event("d1"), format="json")
    with (
        mock.patch("leads.services.leads_touched") as hook,
        django_capture_on_commit_callbacks(execute=True),
    ):
        key_client.post("/api/v1/events/", event("d1"), format="json")
    hook.assert_not_called()


# --- payload limits ------------------------------------------------------------------------


def test_more_than_a_thousand_events_is_refused_with_a_clear_message(key_client):
    response = key_client.post(
        "/api/v1/events/", [event(f"e{i}") for i in range(1001)], format="json"
    )
    assert response.status_code == 413
    assert "at most 1000" in response.json()["detail"]
    assert Activity.objects.count() == 0


def test_a_body_over_five_megabytes_is_a_413(key_client):
    big = [event(f"e{i}", properties={"blob": "x" * 6000}) for i in range(1000)]
    response = key_client.post("/api/v1/events/", big, format="json")
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_malformed_json_is_a_400(key_client):
    response = key_client.post("/api/v1/events/", data="[{", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_the_history_of_a_lead_made_by_a_key_names_the_key(key_client):
    key_client.post("/api/v1/events/", event("k1"), format="json")
    prefix = IngestKey.objects.get().prefix
    assert StageChange.objects.get().rule == f"api key {prefix}"


def test_one_new_person_named_two_ways_in_a_batch_becomes_one_lead(key_client):
    body = key_client.post(
        "/api/v1/events/",
        [
            event("w1", email="pat@initech.test"),
            {
                **event("w2"),
                "lead": {"email": "PAT@initech.test", "external_id": "77", "source": "crm"},
            },
        ],
        format="json",
    ).json()
    assert body["accepted"] == 2
    assert Lead.objects.count() == 1
    assert len({r["lead_id"] for r in body["results"]}) == 1
    assert StageChange.objects.count() == 1


def test_a_batch_costs_a_fixed_number_of_queries_not_one_per_event(
    key_client, django_assert_max_num_queries
):
    for i in range(20):
        LeadFactory(email=f"known{i}@acme.test")
    batch = [event(f"q{i}", email=f"known{i % 20}@acme.test") for i in range(150)]
    batch += [event(f"n{i}", email=f"fresh{i}@acme.test") for i in range(50)]
    with django_assert_max_num_queries(12):
        body = key_client.post("/api/v1/events/", batch, format="json").json()
    assert body["accepted"] == 200


def test_a_known_person_keeps_the_source_they_first_came_from(key_client):
    key_client.post(
        "/api/v1/leads/", {"email": "ann@acme.test", "source": "webinar"}, format="json"
    )
    key_client.post(
        "/api/v1/leads/",
        {"email": "ann@acme.test", "source": "trade show", "title": "CTO"},
        format="json",
    )
    lead = Lead.objects.get(email="ann@acme.test")
    assert (lead.source, lead.title) == ("webinar", "CTO")
