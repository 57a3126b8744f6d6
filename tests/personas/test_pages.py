"""Persona and content pages: what they show, to whom, in how many queries."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from personas.models import ContentPiece, ProspectQuestion, QuestionStatus
from personas.selectors import persona_matches
from personas.services import persona_sign_off, question_submit
from tests.factories import ContentPieceFactory, PersonaFactory

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)

OPS_CRITERIA = [
    {"field": "title", "operator": "contains", "value": ["vp", "head of"], "weight": 3},
    {"field": "industry", "operator": "in", "value": ["Logistics"], "weight": 1},
]


def _lead(email, **values):
    from leads.services import lead_upsert

    attributes = values.pop("attributes", None)
    return lead_upsert(data={"email": email, **values}, attributes=attributes, now=NOW)[0]


def test_empty_persona_list_invites_marketing_to_start(client_for, marketer):
    body = client_for(marketer).get(reverse("personas:list")).content.decode()
    assert "No personas yet" in body
    assert reverse("personas:create") in body


def test_persona_list_shows_agreement_status_in_bounded_queries(
    client_for, marketer, sales_manager, marketing_manager, django_assert_max_num_queries
):
    agreed = PersonaFactory(name="Agreed one")
    persona_sign_off(persona=agreed, user=sales_manager, now=NOW)
    persona_sign_off(persona=agreed, user=marketing_manager, now=NOW)
    half = PersonaFactory(name="Half signed")
    persona_sign_off(persona=half, user=sales_manager, now=NOW)
    for i in range(5):
        PersonaFactory(name=f"Draft {i}")
    client = client_for(marketer)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("personas:list"))
    body = response.content.decode()
    assert body.count("Agreed</span>") == 1
    assert body.count("Awaiting sign-off</span>") == 1
    assert body.count("Draft</span>") == 5


def test_detail_shows_worksheet_criteria_and_lazy_matches(
    client_for, rep, django_assert_max_num_queries
):
    persona = PersonaFactory(
        criteria=OPS_CRITERIA, goals="Ship on time.", objections="Too expensive."
    )
    ContentPieceFactory(title="Ops checklist", personas=[persona])
    client = client_for(rep)
    # 5 for session, user, permissions and roles; the rest is the page, whatever its size.
    with django_assert_max_num_queries(10):
        body = client.get(reverse("personas:detail", args=[persona.pk])).content.decode()
    assert "Ship on time." in body and "Too expensive." in body
    assert "Not discussed yet." in body  # the empty worksheet answers say so
    assert "Job title contains any keyword: vp, head of" in body
    assert "Ops checklist" in body
    assert reverse("personas:matches", args=[persona.pk]) in body


def test_who_matches_counts_leads_and_samples_the_best(client_for, marketer):
    persona = PersonaFactory(criteria=OPS_CRITERIA, fit_threshold=70)
    _lead("a@x.com", title="VP Operations", industry="Logistics")  # 100
    _lead("b@x.com", title="Head of Ops", industry="Retail")  # 75
    _lead("c@x.com", title="Engineer", industry="Logistics")  # 25
    _lead("d@x.com")  # nothing known
    preview = persona_matches(persona, sample_size=1)
    assert (preview.evaluated, preview.matching) == (4, 2)
    assert [lead.email for lead, _ in preview.sample] == ["a@x.com"]
    assert preview.sample[0][1].score == 100

    response = client_for(marketer).get(reverse("personas:matches", args=[persona.pk]))
    body = response.content.decode()
    assert "<strong>2</strong> of 4 leads match" in body
    assert "a@x.com" in body and "c@x.com" not in body


def test_who_matches_reads_custom_attributes(marketer):
    persona = PersonaFactory(
        criteria=[{"field": "fleet_size", "kind": "custom", "operator": "gte", "value": 50}]
    )
    _lead("big@x.com", attributes={"Fleet size": "120"})
    _lead("small@x.com", attributes={"Fleet size": "12"})
    preview = persona_matches(persona)
    assert preview.matching == 1
    assert preview.sample[0][0].email == "big@x.com"


def test_who_matches_with_no_leads_says_so(client_for, marketer):
    persona = PersonaFactory(criteria=OPS_CRITERIA)
    body = client_for(marketer).get(reverse("personas:matches", args=[persona.pk])).content
    assert b"no leads yet" in body


def test_worksheet_is_printable(client_for, rep):
    persona = PersonaFactory(pains="Carriers never answer.")
    body = client_for(rep).get(reverse("personas:worksheet", args=[persona.pk])).content.decode()
    assert "@media print" in body
    assert "Carriers never answer." in body
    assert "Buying triggers" in body and "Disqualifiers" in body


# --- content matrix


@pytest.fixture
def library():
    ops, it = PersonaFactory(name="Ops VP"), PersonaFactory(name="IT Director")
    ContentPieceFactory(title="Ops awareness", personas=[ops], stage="awareness")
    ContentPieceFactory(title="Ops decision", personas=[ops], stage="decision")
    ContentPieceFactory(title="Ops decision 2", personas=[ops, it], stage="decision")
    ContentPieceFactory(title="Orphan", stage="consideration")
    return ops, it


def test_matrix_counts_content_and_highlights_gaps(
    client_for, rep, library, django_assert_max_num_queries
):
    client = client_for(rep)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("personas:content"))
    matrix = {
        (row["persona"].name if row["persona"] else None): [c.count for c in row["cells"]]
        for row in response.context["matrix"]
    }
    assert matrix == {"IT Director": [0, 0, 1], "Ops VP": [1, 0, 2], None: [0, 1, 0]}
    body = response.content.decode()
    assert body.count('class="matrix-gap') == 3  # IT x2, Ops consideration
    assert response.context["gaps"] == 3


def test_content_list_filters_by_persona_and_stage(client_for, rep, library):
    ops, _ = library
    response = client_for(rep).get(
        reverse("personas:content"), {"persona": ops.pk, "stage": "decision"}
    )
    titles = [p.title for p in response.context["pieces"]]
    assert titles == ["Ops decision", "Ops decision 2"]


def test_empty_matrix_cell_filter_says_it_is_a_gap(client_for, rep, library):
    _, it = library
    body = (
        client_for(rep)
        .get(reverse("personas:content"), {"persona": it.pk, "stage": "awareness"})
        .content.decode()
    )
    assert "may be a gap worth filling" in body


def test_sales_rep_submits_content_marked_as_sales(client_for, rep):
    persona = PersonaFactory()
    response = client_for(rep).post(
        reverse("personas:content_create"),
        {
            "title": "Objection handling: price",
            "url": "",
            "format": "one_pager",
            "stage": "decision",
            "personas": [persona.pk],
            "notes": "",
        },
    )
    assert response.status_code == 302
    piece = ContentPiece.objects.get()
    assert piece.authored_by_team == "sales" and piece.created_by == rep


def test_sales_rep_cannot_edit_content(client_for, rep):
    piece = ContentPieceFactory()
    assert client_for(rep).get(reverse("personas:content_edit", args=[piece.pk])).status_code == 403


def test_content_form_errors_are_shown(client_for, marketer):
    response = client_for(marketer).post(
        reverse("personas:content_create"), {"title": "", "format": "", "stage": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_marketing_turns_a_prospect_question_into_content(client_for, rep, marketer):
    persona = PersonaFactory()
    question = question_submit(
        question="How long does onboarding take?",
        stage="decision",
        persona=persona,
        actor=rep,
        now=timezone.now(),
    )
    client = client_for(marketer)
    form = client.get(reverse("personas:content_create"), {"question": question.pk})
    assert form.context["form"].initial["title"] == "How long does onboarding take?"
    response = client.post(
        reverse("personas:content_create"),
        {
            "question": question.pk,
            "title": "Onboarding in 30 days",
            "url": "https://example.com/onboarding",
            "format": "one_pager",
            "stage": "decision",
            "personas": [persona.pk],
        },
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.status == QuestionStatus.ANSWERED
    assert question.answered_by.title == "Onboarding in 30 days"
    assert question.resolved_by == marketer


def test_sales_rep_submits_questions_but_cannot_resolve_them(client_for, rep):
    client = client_for(rep)
    response = client.post(
        reverse("personas:question_create"), {"question": "Is there an SAP connector?"}
    )
    assert response.status_code == 302
    question = ProspectQuestion.objects.get()
    assert "Turn into content" not in client.get(reverse("personas:questions")).content.decode()
    dismiss = client.post(reverse("personas:question_dismiss", args=[question.pk]))
    assert dismiss.status_code == 403
    assert (
        client.get(reverse("personas:content_create"), {"question": question.pk}).status_code == 403
    )


def test_marketer_dismisses_a_question_once(client_for, marketer, rep):
    question = question_submit(question="Price?", actor=rep, now=timezone.now())
    client = client_for(marketer)
    client.post(reverse("personas:question_dismiss", args=[question.pk]))
    question.refresh_from_db()
    assert question.status == QuestionStatus.DISMISSED
    again = client.post(reverse("personas:question_dismiss", args=[question.pk]), follow=True)
    assert "already handled" in again.content.decode()
