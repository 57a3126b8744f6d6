"""/api/v1/personas/ and /api/v1/content/: CRUD, sign-off, filters, permissions."""

import pytest
from rest_framework.test import APIClient

from personas.models import ContentPiece, Persona, PersonaStatus, ProspectQuestion
from tests.factories import ContentPieceFactory, PersonaFactory


@pytest.fixture
def api_for():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


PAYLOAD = {
    "name": "Enterprise IT Director",
    "summary": "Owns the stack at a 2,000+ person company.",
    "fit_threshold": 50,
    "pains": "Shadow IT.",
    "criteria": [
        {"field": "title", "operator": "contains", "value": ["it director", "cio"], "weight": 3},
        {"field": "employees", "operator": "gte", "value": 2000, "weight": 2},
        {"field": "sso_provider", "kind": "custom", "operator": "is_not_empty", "weight": 1},
    ],
}


def test_marketer_creates_a_persona_with_criteria(api_for, marketer):
    response = api_for(marketer).post("/api/v1/personas/", PAYLOAD, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["version"] == 1
    assert [c["kind"] for c in body["criteria"]] == ["demographic", "firmographic", "custom"]
    assert Persona.objects.get().criteria.count() == 3


def test_bad_criterion_is_a_400_with_field_messages(api_for, marketer):
    payload = {
        **PAYLOAD,
        "criteria": [{"field": "employees", "operator": "between", "value": [500, 100]}],
    }
    response = api_for(marketer).post("/api/v1/personas/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["criteria"]["0"]["value"] == ["The minimum is larger than the maximum."]
    assert not Persona.objects.exists()


def test_sign_off_by_both_teams_then_patch_makes_version_two(
    api_for, marketer, sales_manager, marketing_manager
):
    persona = PersonaFactory()
    url = f"/api/v1/personas/{persona.pk}/sign-off/"
    first = api_for(sales_manager).post(url, {"note": "ok"}, format="json")
    assert first.status_code == 200
    assert first.json()["status"] == "awaiting_sign_off"
    assert [s["team"] for s in first.json()["sign_offs"]] == ["sales"]
    again = api_for(sales_manager).post(url, {}, format="json")
    assert again.status_code == 409
    second = api_for(marketing_manager).post(url, {}, format="json")
    assert second.json()["status"] == "agreed"

    patch = api_for(marketer).patch(
        f"/api/v1/personas/{persona.pk}/", {"fit_threshold": 70}, format="json"
    )
    assert patch.status_code == 200
    assert (patch.json()["version"], patch.json()["status"]) == (2, "awaiting_sign_off")
    assert patch.json()["sign_offs"] == []

    versions = api_for(marketer).get(f"/api/v1/personas/{persona.pk}/versions/").json()
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["changes"] == ["Fit threshold: 60 → 70"]
    assert {s["user"] for s in versions[1]["sign_offs"]} == {"sofia", "marcus"}


def test_sales_rep_cannot_create_edit_delete_or_sign_off_via_api(api_for, rep):
    persona = PersonaFactory()
    client = api_for(rep)
    assert client.get("/api/v1/personas/").status_code == 200
    assert client.post("/api/v1/personas/", PAYLOAD, format="json").status_code == 403
    assert (
        client.patch(f"/api/v1/personas/{persona.pk}/", {"name": "X"}, format="json").status_code
        == 403
    )
    assert client.delete(f"/api/v1/personas/{persona.pk}/").status_code == 403
    assert client.post(f"/api/v1/personas/{persona.pk}/sign-off/").status_code == 403
    persona.refresh_from_db()
    assert persona.status == PersonaStatus.DRAFT and persona.name != "X"


def test_outsider_cannot_read_personas_or_content(api_for, outsider):
    assert api_for(outsider).get("/api/v1/personas/").status_code == 403
    assert api_for(outsider).get("/api/v1/content/").status_code == 403


def test_anonymous_is_refused(db):
    assert APIClient().get("/api/v1/personas/").status_code in (401, 403)


def test_persona_list_query_count_is_bounded(
    api_for, marketer, sales_manager, django_assert_max_num_queries
):
    from django.utils import timezone

    from personas.services import persona_sign_off

    for _ in range(6):
        persona_sign_off(persona=PersonaFactory(), user=sales_manager, now=timezone.now())
    client = api_for(marketer)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/personas/")
    assert response.json()["count"] == 6


# --- content


def test_content_filters_by_persona_and_stage(api_for, rep):
    ops, it = PersonaFactory(name="Ops"), PersonaFactory(name="IT")
    ContentPieceFactory(title="Ops guide", personas=[ops], stage="awareness")
    ContentPieceFactory(title="Ops ROI", personas=[ops], stage="decision")
    ContentPieceFactory(title="Both", personas=[ops, it], stage="decision")
    client = api_for(rep)

    def titles(query):
        results = client.get(f"/api/v1/content/{query}").json()["results"]
        return sorted(p["title"] for p in results)

    assert titles(f"?persona={ops.pk}&stage=decision") == ["Both", "Ops ROI"]
    assert titles(f"?persona={it.pk}") == ["Both"]
    assert titles("?stage=consideration") == []


def test_sales_rep_submits_content_as_sales_but_cannot_edit_it(api_for, rep):
    persona = PersonaFactory()
    client = api_for(rep)
    response = client.post(
        "/api/v1/content/",
        {
            "title": "Battlecard vs. spreadsheets",
            "url": "https://wiki.example.com/battlecard",
            "format": "one_pager",
            "stage": "decision",
            "personas": [persona.pk],
            "notes": "What I send after the demo.",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["authored_by_team"] == "sales"
    piece = ContentPiece.objects.get()
    assert list(piece.personas.all()) == [persona]
    patch = client.patch(f"/api/v1/content/{piece.pk}/", {"title": "X"}, format="json")
    assert patch.status_code == 403


def test_marketer_edits_content(api_for, marketer):
    piece = ContentPieceFactory()
    response = api_for(marketer).patch(
        f"/api/v1/content/{piece.pk}/", {"stage": "decision"}, format="json"
    )
    assert response.status_code == 200
    piece.refresh_from_db()
    assert piece.stage == "decision"


def test_invalid_content_is_a_400(api_for, marketer):
    response = api_for(marketer).post(
        "/api/v1/content/", {"title": "", "format": "poem", "stage": "x"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"title", "format", "stage"}


def test_sales_rep_submits_a_prospect_question(api_for, rep):
    response = api_for(rep).post(
        "/api/v1/prospect-questions/",
        {"question": "Does it integrate with SAP TM?", "stage": "consideration"},
        format="json",
    )
    assert response.status_code == 201
    question = ProspectQuestion.objects.get()
    assert question.submitted_by == rep and question.status == "open"


def test_fit_endpoint_explains_a_lead_described_in_the_request(api_for, rep):
    persona = PersonaFactory(
        criteria=[
            {"field": "title", "operator": "contains", "value": ["vp"], "weight": 3},
            {"field": "employees", "operator": "between", "value": [200, 2000], "weight": 1},
            {"field": "crm", "kind": "custom", "operator": "in", "value": ["HubSpot"]},
        ]
    )
    response = api_for(rep).post(
        f"/api/v1/personas/{persona.pk}/fit/",
        {"lead": {"title": "VP Opérations", "attributes": {"CRM": "hubspot"}}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["score"] == 80 and body["coverage"] == 80
    assert [c["outcome"] for c in body["criteria"]] == ["matched", "unknown", "matched"]
    assert body["criteria"][1]["reason"] == "Employees is not known for this lead"


def test_fit_endpoint_needs_a_lead_object(api_for, marketer, outsider):
    persona = PersonaFactory()
    url = f"/api/v1/personas/{persona.pk}/fit/"
    assert api_for(marketer).post(url, {"lead": "x"}, format="json").status_code == 400
    assert api_for(outsider).post(url, {"lead": {}}, format="json").status_code == 403
