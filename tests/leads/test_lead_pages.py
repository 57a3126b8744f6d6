"""The lead list and detail pages: filters, search, sorting, pagination, the timeline, the
stage form, export and erasure, and who may do what."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leads import selectors
from leads.models import Stage, StageChange
from leads.services import lead_change_stage
from smarketing.models import AuditLog
from tests.leads.factories import ActivityFactory, LeadFactory

pytestmark = pytest.mark.django_db


def stage(slug):
    return Stage.objects.get(slug=slug)


def test_the_list_shows_leads_newest_first(client_for, marketer):
    now = timezone.now()
    LeadFactory(first_name="Old", last_name="One", created_at=now - timedelta(days=3))
    LeadFactory(first_name="New", last_name="One", created_at=now)
    html = client_for(marketer).get("/leads/").content.decode()
    assert html.index("New One") < html.index("Old One")
    assert "2 leads" in html


def test_the_list_filters_by_stage_owner_score_source_and_created(client_for, marketer, rep):
    now = timezone.now()
    LeadFactory(
        first_name="Match",
        stage=stage("mql"),
        owner=rep,
        score=70,
        source="webinar",
        created_at=now - timedelta(days=1),
    )
    LeadFactory(first_name="WrongStage", owner=rep, score=70, source="webinar")
    LeadFactory(first_name="LowScore", stage=stage("mql"), owner=rep, score=10, source="webinar")
    LeadFactory(first_name="NoOwner", stage=stage("mql"), score=70, source="webinar")
    LeadFactory(first_name="OtherSource", stage=stage("mql"), owner=rep, score=70, source="ads")
    LeadFactory(
        first_name="TooOld",
        stage=stage("mql"),
        owner=rep,
        score=70,
        source="webinar",
        created_at=now - timedelta(days=60),
    )
    since = (now - timedelta(days=7)).date().isoformat()
    html = (
        client_for(marketer)
        .get(
            f"/leads/?stage=mql&owner={rep.pk}&score_min=50&score_max=90&source=webinar"
            f"&created_after={since}"
        )
        .content.decode()
    )
    assert "Match" in html
    for other in ("WrongStage", "LowScore", "NoOwner", "OtherSource", "TooOld"):
        assert other not in html


def test_the_owner_filter_can_ask_for_unowned_leads(client_for, marketer, rep):
    LeadFactory(first_name="Owned", owner=rep)
    LeadFactory(first_name="Orphan")
    html = client_for(marketer).get("/leads/?owner=null").content.decode()
    assert "Orphan" in html and "Owned" not in html


def test_search_finds_by_name_email_or_company(client_for, marketer):
    LeadFactory(first_name="Ann", email="ann@acme.test", company="Acme")
    LeadFactory(first_name="Bob", email="bob@beta.test", company="Beta Corp")
    client = client_for(marketer)
    assert "Bob" in client.get("/leads/?q=beta").content.decode()
    assert "Bob" not in client.get("/leads/?q=acme").content.decode()
    assert "Ann" in client.get("/leads/?q=ANN@").content.decode()


def test_sorting_by_score(client_for, marketer):
    LeadFactory(first_name="Low", score=5)
    LeadFactory(first_name="High", score=95)
    html = client_for(marketer).get("/leads/?sort=-score").content.decode()
    assert html.index("High") < html.index("Low")
    html = client_for(marketer).get("/leads/?sort=score").content.decode()
    assert html.index("Low") < html.index("High")


def test_the_list_is_paginated_and_keeps_the_filters_in_page_links(client_for, marketer):
    for i in range(55):
        LeadFactory(source="webinar", first_name=f"P{i}")
    html = client_for(marketer).get("/leads/?source=webinar").content.decode()
    assert "Page 1 of 2" in html
    assert "?source=webinar&page=2" in html
    assert (
        "Page 2 of 2" in client_for(marketer).get("/leads/?source=webinar&page=2").content.decode()
    )


def test_empty_states_say_what_to_do(client_for, marketer):
    html = client_for(marketer).get("/leads/").content.decode()
    assert "No leads yet" in html
    LeadFactory()
    html = client_for(marketer).get("/leads/?q=zzz-nobody").content.decode()
    assert "No lead matches these filters" in html


def test_htmx_requests_get_only_the_table(client_for, marketer):
    LeadFactory(first_name="Ann")
    response = client_for(marketer).get("/leads/?q=ann", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Ann" in html and "<nav" not in html.split("lead-count")[0]
    assert "<html" not in html


def test_the_list_page_query_count_does_not_grow_with_leads(
    client_for, marketer, rep, django_assert_max_num_queries
):
    for i in range(60):
        LeadFactory(owner=rep if i % 2 else None, stage=stage("mql" if i % 3 else "lead"))
    client = client_for(marketer)
    with django_assert_max_num_queries(12):
        response = client.get("/leads/?sort=-score")
    assert response.status_code == 200


def test_people_without_a_role_cannot_see_leads(client_for, outsider):
    lead = LeadFactory()
    client = client_for(outsider)
    assert client.get("/leads/").status_code == 403
    assert client.get(f"/leads/{lead.pk}/").status_code == 403


# --- detail --------------------------------------------------------------------------------


def test_the_timeline_merges_activities_and_stage_changes_newest_first(client_for, marketer):
    lead = LeadFactory()
    base = timezone.now() - timedelta(days=5)
    StageChange.objects.create(lead=lead, to_stage=stage("lead"), rule="created", changed_at=base)
    ActivityFactory(lead=lead, type="webinar_attended", occurred_at=base + timedelta(days=1))
    StageChange.objects.create(
        lead=lead,
        from_stage=stage("lead"),
        to_stage=stage("mql"),
        rule="score",
        changed_at=base + timedelta(days=2),
    )
    ActivityFactory(lead=lead, type="demo_request", occurred_at=base + timedelta(days=3))
    html = client_for(marketer).get(f"/leads/{lead.pk}/").content.decode()
    timeline = html.split('data-testid="timeline"')[1]
    order = [
        timeline.index(s) for s in ("Demo requested", "Lead → ", "Webinar attended", "by created")
    ]
    assert order == sorted(order)


def test_the_detail_page_query_count_is_bounded(
    client_for, marketer, django_assert_max_num_queries
):
    from leads.handoff.models import RoutingDecision, Touch
    from tests.leads.queue_fixtures import make_handoff

    handoff = make_handoff()
    lead = handoff.lead
    for _ in range(30):
        ActivityFactory(lead=lead)
    for n in range(3):
        RoutingDecision.objects.create(
            handoff=handoff, target_kind="pool", reason=f"step {n}", decided_at=handoff.created_at
        )
        Touch.objects.create(
            handoff=handoff,
            lead=lead,
            rep=marketer,
            kind="call",
            outcome="no_answer",
            touched_at=handoff.created_at,
        )
    client = client_for(marketer)
    with django_assert_max_num_queries(16):
        body = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Handed to Sales" in body and "Routing: step 2" in body and "no answer" in body


def test_the_stage_form_offers_only_allowed_transitions(client_for, marketer):
    lead = LeadFactory(stage=stage("customer"))
    html = client_for(marketer).get(f"/leads/{lead.pk}/").content.decode()
    form = html.split('name="to_stage"')[1].split("</select>")[0]
    assert "Recycled" in form and "MQL" not in form


def test_changing_the_stage_records_who_and_why(client_for, marketer):
    lead = LeadFactory()
    response = client_for(marketer).post(
        f"/leads/{lead.pk}/stage/", {"to_stage": stage("mql").pk, "reason": "asked for a demo"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage.slug == "mql"
    change = StageChange.objects.get(lead=lead)
    assert (change.changed_by, change.reason, change.from_stage.slug) == (
        marketer,
        "asked for a demo",
        "lead",
    )


def test_a_forbidden_transition_is_refused_with_a_message(client_for, marketer):
    lead = LeadFactory()
    response = client_for(marketer).post(
        f"/leads/{lead.pk}/stage/", {"to_stage": stage("customer").pk}, follow=True
    )
    assert "Pick one of the stages offered" in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage.slug == "lead"


def test_a_rep_may_look_at_a_lead_but_not_move_it(client_for, rep):
    lead = LeadFactory()
    client = client_for(rep)
    html = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Change stage" not in html
    assert client.post(f"/leads/{lead.pk}/stage/", {"to_stage": stage("mql").pk}).status_code == 403


def test_time_in_each_stage_is_shown(client_for, marketer):
    with time_machine.travel("2026-11-01 09:00Z", tick=False):
        lead = LeadFactory()
        StageChange.objects.create(
            lead=lead, to_stage=stage("lead"), rule="created", changed_at=timezone.now()
        )
    with time_machine.travel("2026-11-04 09:00Z", tick=False):
        lead_change_stage(lead=lead, to_stage=stage("mql"), now=timezone.now())
    with time_machine.travel("2026-11-06 09:00Z", tick=False):
        html = client_for(marketer).get(f"/leads/{lead.pk}/").content.decode()
    assert "3\xa0days" in html and "2\xa0days" in html


# --- export and erasure --------------------------------------------------------------------


def test_export_downloads_everything_about_the_person_and_is_audited(client_for, marketer):
    lead = LeadFactory(email="ann@acme.test", attributes={"shoe": "42"})
    ActivityFactory(lead=lead, type="email_open")
    response = client_for(marketer).get(f"/leads/{lead.pk}/export/")
    assert response["Content-Disposition"] == f'attachment; filename="lead-{lead.pk}.json"'
    data = json.loads(response.content)["lead"]
    assert data["email"] == "ann@acme.test"
    assert data["attributes"] == {"shoe": "42"}
    assert data["activities"][0]["type"] == "email_open"
    audit = AuditLog.objects.get(action="lead.export")
    assert (audit.actor, audit.object_id) == (marketer, str(lead.pk))


def test_erasure_needs_the_permission(client_for, marketer, rep):
    lead = LeadFactory()
    assert client_for(marketer).get(f"/leads/{lead.pk}/erase/").status_code == 403
    assert (
        client_for(rep)
        .post(f"/leads/{lead.pk}/erase/", {"confirm": "on", "reason": "x"})
        .status_code
        == 403
    )


def test_erasure_asks_for_confirmation_first(client_for, marketing_manager):
    lead = LeadFactory(email="ann@acme.test")
    client = client_for(marketing_manager)
    assert "cannot be undone" in client.get(f"/leads/{lead.pk}/erase/").content.decode()
    response = client.post(f"/leads/{lead.pk}/erase/", {"reason": "request"})
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.email == "ann@acme.test"


def test_erasure_removes_personal_data_keeps_history_and_is_audited(client_for, marketing_manager):
    lead = LeadFactory(
        email="ann@acme.test",
        external_id="crm-1",
        phone="+1 555",
        title="CTO",
        company="Acme",
        industry="Software",
        attributes={"linkedin": "ann"},
    )
    StageChange.objects.create(lead=lead, to_stage=stage("lead"), changed_at=timezone.now())
    ActivityFactory(
        lead=lead,
        type="content_download",
        properties={
            "url": "https://acme.test/e-book?email=ann@acme.test",
            "content": "ROI guide",
            "ip": "203.0.113.9",
        },
    )
    response = client_for(marketing_manager).post(
        f"/leads/{lead.pk}/erase/", {"confirm": "on", "reason": "GDPR request #12"}, follow=True
    )
    assert "was erased" in response.content.decode()
    lead.refresh_from_db()
    assert (lead.email, lead.external_id, lead.first_name, lead.phone, lead.title) == ("",) * 5
    assert lead.attributes == {} and lead.is_erased
    assert lead.do_not_email and lead.do_not_call
    # Firmographics and history stay for the funnel.
    assert (lead.company, lead.industry) == ("Acme", "Software")
    assert lead.stage_changes.count() == 1
    activity = lead.activities.get()
    assert activity.properties == {"url": "https://acme.test/e-book", "content": "ROI guide"}
    audit = AuditLog.objects.get(action="lead.erase")
    assert audit.actor == marketing_manager
    assert "ann" not in json.dumps(audit.details)
    assert "Erased lead" in client_for(marketing_manager).get(f"/leads/{lead.pk}/").content.decode()


def test_an_erased_lead_is_not_rebuilt_by_new_intake(client_for, marketing_manager):
    from leads.services import lead_upsert

    lead = LeadFactory(email="ann@acme.test")
    client_for(marketing_manager).post(f"/leads/{lead.pk}/erase/", {"confirm": "on", "reason": "x"})
    new, created = lead_upsert(data={"email": "ann@acme.test"}, now=timezone.now())
    # The person comes back as a new lead (they gave their email again); the erased row
    # keeps nothing that links the two.
    assert created and new.pk != lead.pk


def test_search_with_many_matches_still_finds_them_all(client_for, marketer, monkeypatch):
    from leads import selectors

    monkeypatch.setattr(selectors, "SEARCH_ID_LIMIT", 1)
    LeadFactory(first_name="Ann", company="Acme")
    LeadFactory(first_name="Bob", company="Acme")
    html = client_for(marketer).get("/leads/?q=acme").content.decode()
    assert "Ann" in html and "Bob" in html and "2 leads" in html


def test_the_list_filters_by_the_best_fit_persona(client_for, marketer):
    from leads.scoring.models import LeadScore, ScoringModel
    from personas.models import Persona

    persona = Persona.objects.create(**_persona_fields("Ops Olivia"))
    model = ScoringModel.objects.create(name="v1", version=1, created_at=timezone.now())
    fits = LeadFactory(first_name="Fits")
    LeadFactory(first_name="Other")
    LeadScore.objects.create(
        lead=fits, model=model, fit=40, engagement=10, total=50, is_mql=False,
        persona=persona, scored_at=timezone.now(),
    )  # fmt: skip
    html = client_for(marketer).get(f"/leads/?persona={persona.pk}").content.decode()
    assert "Fits" in html and "Other" not in html
    assert "Ops Olivia" in html
    html = client_for(marketer).get("/leads/?persona=null").content.decode()
    assert "Other" in html and "Fits" not in html


def _persona_fields(name: str) -> dict:
    now = timezone.now()
    return {"name": name, "created_at": now, "updated_at": now}


def test_content_in_won_deals_counts_cited_content_by_outcome(client_for, marketer, rep):
    from leads.handoff.models import Touch
    from tests.factories import ContentPieceFactory
    from tests.leads.queue_fixtures import make_handoff

    guide = ContentPieceFactory(title="ROI guide")
    ContentPieceFactory(title="Never sent")
    won, lost = make_handoff(), make_handoff()
    won.lead.attributes = {"outcome": "won"}
    won.lead.save(update_fields=["attributes"])
    for handoff in (won, won, lost):
        Touch.objects.create(
            handoff=handoff,
            lead=handoff.lead,
            rep=rep,
            kind="email",
            outcome="connected",
            content=guide,
            touched_at=handoff.created_at,
        )
    rows = selectors.content_in_won_deals()
    assert [(r.content.title, r.touches, r.leads, r.won) for r in rows] == [("ROI guide", 3, 2, 1)]
    body = client_for(marketer).get("/leads/content-wins/").content.decode()
    assert "ROI guide" in body and "50%" in body and "Never sent" not in body


def test_past_the_count_cap_the_list_says_more_than_and_stops_paging(
    client_for, marketer, monkeypatch
):
    from leads import views

    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    monkeypatch.setattr(views, "COUNT_CAP", 10)
    for i in range(12):
        LeadFactory(source="webinar", first_name=f"P{i}")
    client = client_for(marketer)
    html = client.get("/leads/?source=webinar").content.decode()
    assert "More than 10 leads match" in html
    assert "Page 1 of 2+" in html
    last = client.get("/leads/?source=webinar&page=2").content.decode()
    assert "Page 2 of 2+" in last and "page=3" not in last
    assert 'data-testid="past-the-cap"' in last
    # Under the cap the count is exact again.
    assert (
        "3 leads match" in client.get("/leads/?source=webinar&q=P1").content.decode()
    )  # 1, 10, 11


def test_the_source_menu_lists_each_source_once_in_order(client_for, marketer):
    for source in ("webinar", "ads", "webinar", "", "Partner"):
        LeadFactory(source=source)
    assert selectors.lead_sources() == sorted({"webinar", "ads", "Partner"})
    html = client_for(marketer).get("/leads/?source=ads").content.decode()
    assert '<option value="ads" selected>' in html


def test_the_owner_menu_keeps_the_chosen_owner(client_for, marketer, rep):
    LeadFactory(owner=rep)
    html = client_for(marketer).get(f"/leads/?owner={rep.pk}").content.decode()
    label = rep.get_full_name() or rep.username
    assert f'<option value="{rep.pk}" selected>{label}</option>' in html
