"""The queue API: the pool, and actions on a lead's open handoff with 409 on conflicts and
403 on the wrong role or somebody else's lead."""

import pytest

from leads.handoff.models import Handoff, HandoffStatus, Touch
from leads.models import Lead, StageKind
from tests.leads.queue_fixtures import make_handoff, make_team

pytestmark = pytest.mark.django_db


def _url(lead_id: int, action: str) -> str:
    return f"/api/v1/leads/{lead_id}/{action}/"


def test_the_queue_lists_pool_handoffs_with_what_a_rep_needs(rep, api_for):
    handoff = make_handoff(
        first_name="Ada",
        last_name="Byrne",
        company="Northwind",
        phone="+44 20 1234",
        do_not_call=True,
    )
    response = api_for(rep).get("/api/v1/queue/")
    assert response.status_code == 200
    [item] = response.json()
    assert item["id"] == handoff.pk
    assert item["lead"]["name"] == "Ada Byrne"
    assert item["lead"]["company"] == "Northwind"
    assert item["lead"]["phone"] == ""  # do not call: the number is not handed out
    assert (item["fit"], item["score"], item["status"]) == (30, 55, "pool")
    assert "demo" in item["why"]


def test_a_rep_works_a_lead_through_the_api(rep, api_for):
    handoff = make_handoff()
    api = api_for(rep)
    lead_id = handoff.lead_id
    claimed = api.post(_url(lead_id, "claim"))
    assert claimed.status_code == 200, claimed.json()
    assert (claimed.json()["status"], claimed.json()["owner"]) == ("assigned", "dana")
    assert api.post(_url(lead_id, "accept")).json()["status"] == "accepted"
    touch = api.post(
        _url(lead_id, "touches"), {"kind": "call", "outcome": "connected"}, format="json"
    )
    assert touch.status_code == 201, touch.json()
    assert touch.json()["rep"] == "dana"
    assert api.get("/api/v1/queue/?view=mine").json()[0]["first_touch_at"] is not None
    qualified = api.post(_url(lead_id, "qualify"), {"note": "Budget confirmed"}, format="json")
    assert qualified.json()["status"] == "qualified"
    assert Lead.objects.get(pk=lead_id).stage.kind == StageKind.SQL
    # Closed now: nothing open to act on.
    assert api.post(_url(lead_id, "accept")).status_code == 404


def test_a_second_claim_answers_409_with_the_winner(rep, rep2, api_for):
    handoff = make_handoff()
    assert api_for(rep).post(_url(handoff.lead_id, "claim")).status_code == 200
    response = api_for(rep2).post(_url(handoff.lead_id, "claim"))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Already claimed by Dana")


def test_take_next_answers_409_when_the_pool_is_empty(rep, api_for):
    handoff = make_handoff()
    api = api_for(rep)
    assert api.post("/api/v1/queue/next/").json()["id"] == handoff.pk
    response = api.post("/api/v1/queue/next/")
    assert response.status_code == 409
    assert "Nothing left to claim" in response.json()["detail"]


def test_accepting_twice_answers_409(rep, api_for):
    handoff = make_handoff()
    api = api_for(rep)
    api.post(_url(handoff.lead_id, "claim"))
    api.post(_url(handoff.lead_id, "accept"))
    response = api.post(_url(handoff.lead_id, "accept"))
    assert response.status_code == 409
    assert "accepted" in response.json()["detail"]


def test_reject_validates_the_reason_and_recycles_the_lead(rep, api_for):
    handoff = make_handoff()
    api = api_for(rep)
    api.post(_url(handoff.lead_id, "claim"))
    bad = api.post(_url(handoff.lead_id, "reject"), {"reason": "boring"}, format="json")
    assert bad.status_code == 400
    assert "reason" in bad.json()
    other = api.post(_url(handoff.lead_id, "reject"), {"reason": "other"}, format="json")
    assert other.status_code == 400
    assert "note" in other.json()
    ok = api.post(
        _url(handoff.lead_id, "reject"),
        {"reason": "competitor", "note": "Works at Acme"},
        format="json",
    )
    assert ok.status_code == 200
    assert (ok.json()["status"], ok.json()["reject_reason"]) == ("rejected", "competitor")
    assert Lead.objects.get(pk=handoff.lead_id).stage.kind == StageKind.RECYCLED


def test_touch_with_bad_fields_answers_400_per_field(rep, api_for):
    handoff = make_handoff(owner=rep, status=HandoffStatus.ASSIGNED)
    response = api_for(rep).post(
        _url(handoff.lead_id, "touches"), {"kind": "fax", "outcome": "maybe"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"kind", "outcome"}
    assert not Touch.objects.exists()


def test_marketers_get_403_everywhere(marketer, api_for):
    handoff = make_handoff()
    api = api_for(marketer)
    assert api.get("/api/v1/queue/").status_code == 403
    for action in ("claim", "accept", "reject", "touches", "qualify", "disqualify"):
        assert api.post(_url(handoff.lead_id, action), {}, format="json").status_code == 403
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.POOL


def test_a_rep_gets_403_on_another_reps_lead_and_on_another_teams_pool(rep, rep2, api_for):
    theirs = make_handoff(owner=rep2, status=HandoffStatus.ASSIGNED)
    api = api_for(rep)
    for action in ("accept", "qualify", "disqualify"):
        response = api.post(_url(theirs.lead_id, action), {}, format="json")
        assert response.status_code == 403
        assert "belongs to Lee" in response.json()["detail"]
    other_team = make_team("US", rep2)
    pooled = make_handoff(team=other_team)
    assert api.post(_url(pooled.lead_id, "claim")).status_code == 403
    assert [h["id"] for h in api.get("/api/v1/queue/").json()] == []


def test_anonymous_callers_are_refused(client):
    assert client.get("/api/v1/queue/").status_code in (401, 403)


def test_schema_lists_the_queue_endpoints(rep, api_for):
    schema = api_for(rep).get("/api/schema/?format=json").json()
    for path in ("/api/v1/queue/", "/api/v1/leads/{id}/claim/", "/api/v1/leads/{id}/touches/"):
        assert path in schema["paths"]
