"""The agreement in the browser: read by everyone with a role, written by the managers,
signed by the two team leads, with its versions and what changed between them."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from sla import services
from sla.models import AgreementStatus, SlaAgreement
from tests.factories import FunnelGoalFactory
from tests.leads.scoring_fixtures import make_model

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("UTC"))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def active_v1(marketing_manager, sales_manager) -> SlaAgreement:
    v1 = services.agreement_create(
        actor=marketing_manager,
        now=NOW,
        sales_responsibilities="Call every MQL the same day.",
        accept_within_minutes=60,
    )
    services.agreement_propose(agreement=v1, now=NOW)
    services.agreement_sign(agreement=v1, user=marketing_manager, now=NOW)
    services.agreement_sign(agreement=v1, user=sales_manager, now=NOW)
    v1.refresh_from_db()
    return v1


def test_the_landing_page_says_so_when_no_agreement_is_in_force(client_for, rep):
    page = client_for(rep).get(reverse("sla:dashboard"))
    assert page.status_code == 200
    assert b'data-testid="no-agreement"' in page.content
    assert b"Write the first version" not in page.content  # a rep cannot write one


def test_the_landing_page_summarises_the_agreement_in_force_in_plain_words(
    client_for, rep, marketing_manager, sales_manager
):
    active_v1(marketing_manager, sales_manager)
    page = client_for(rep).get("/sla/")
    text = page.content.decode()
    assert "Sales accepts or rejects a lead within 60 business minutes." in text
    assert "Sales makes the first touch within 5 business minutes." in text
    assert "Marcus" in text and "Sofia" in text
    assert "/sla/compliance/" not in text  # reps do not see the dashboards link


def test_the_document_links_the_mql_definition_and_the_goal_of_the_period(
    client_for, rep, marketing_manager, sales_manager
):
    v1 = active_v1(marketing_manager, sales_manager)
    model = make_model(version=3)
    goal = FunnelGoalFactory()  # November 2026: 40 MQLs, 20 SQLs
    page = client_for(rep).get(reverse("sla:agreement_detail", args=[v1.pk]))
    text = page.content.decode()
    assert reverse("leads:scoring_detail", args=[model.pk]) in text
    assert reverse("goals:detail", args=[goal.pk]) in text
    assert "needs <strong>40</strong> MQLs and <strong>20</strong> SQLs" in text
    assert "Marketing delivers at least 40 MQLs a month, from the funnel goal" in text
    assert "Call every MQL the same day." in text


def test_a_fixed_mql_commitment_wins_over_the_goal(
    client_for, rep, marketing_manager, sales_manager
):
    v1 = active_v1(marketing_manager, sales_manager)
    SlaAgreement.objects.filter(pk=v1.pk).update(min_mqls_per_month=120)
    FunnelGoalFactory()
    text = client_for(rep).get(f"/sla/agreements/{v1.pk}/").content.decode()
    assert "Marketing delivers at least 120 MQLs a month." in text


def test_a_manager_writes_edits_and_sends_a_draft_for_signature(client_for, sales_manager):
    client = client_for(sales_manager)
    assert client.get(reverse("sla:agreement_create")).status_code == 200
    form = {
        "title": "Our SLA",
        "sales_responsibilities": "Call fast.",
        "accept_within_minutes": 30,
        "first_touch_within_minutes": 5,
        "min_attempts": 6,
        "attempts_within_days": 10,
        "pool_claim_within_minutes": 15,
        "warn_at_percent": 75,
        "min_mqls_per_month": "",
        "min_acceptance_percent": 70,
        "max_not_icp_percent": 15,
        "review_weekday": 1,
        "effective_from": "",
    }
    response = client.post(reverse("sla:agreement_create"), form)
    draft = SlaAgreement.objects.get()
    assert response.status_code == 302 and draft.status == AgreementStatus.DRAFT
    assert (draft.accept_within_minutes, draft.created_by) == (30, sales_manager)

    response = client.post(
        reverse("sla:agreement_edit", args=[draft.pk]), {**form, "accept_within_minutes": 45}
    )
    draft.refresh_from_db()
    assert draft.accept_within_minutes == 45

    client.post(reverse("sla:agreement_propose", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == AgreementStatus.PROPOSED
    # Frozen now: the edit page sends you back with a message.
    response = client.get(reverse("sla:agreement_edit", args=[draft.pk]))
    assert response.status_code == 302


def test_out_of_bounds_terms_are_shown_under_their_fields(client_for, sales_manager):
    draft = services.agreement_create(actor=sales_manager, now=NOW)
    response = client_for(sales_manager).post(
        reverse("sla:agreement_edit", args=[draft.pk]),
        {
            "title": "x",
            "accept_within_minutes": 0,
            "first_touch_within_minutes": 5,
            "min_attempts": 6,
            "attempts_within_days": 10,
            "pool_claim_within_minutes": 15,
            "warn_at_percent": 75,
            "min_acceptance_percent": 170,
            "max_not_icp_percent": 15,
            "review_weekday": 1,
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["accept_within_minutes"] == ["Must be between 1 and 43200 business minutes."]
    assert errors["min_acceptance_percent"] == ["Must be between 0 and 100 %."]
    draft.refresh_from_db()
    assert draft.accept_within_minutes == 60


def test_a_rep_reads_but_cannot_edit_propose_or_sign(
    client_for, rep, marketing_manager, sales_manager
):
    draft = services.agreement_create(actor=marketing_manager, now=NOW)
    client = client_for(rep)
    assert client.get(f"/sla/agreements/{draft.pk}/").status_code == 200
    assert client.get(f"/sla/agreements/{draft.pk}/edit/").status_code == 403
    assert client.get("/sla/agreements/new/").status_code == 403
    assert client.post(f"/sla/agreements/{draft.pk}/propose/").status_code == 403
    services.agreement_propose(agreement=draft, now=NOW)
    assert client.post(f"/sla/agreements/{draft.pk}/sign/").status_code == 403
    assert not draft.sign_offs.exists()


def test_a_marketer_cannot_sign_and_an_outsider_cannot_read(
    client_for, marketer, outsider, marketing_manager
):
    draft = services.agreement_create(actor=marketing_manager, now=NOW)
    services.agreement_propose(agreement=draft, now=NOW)
    assert client_for(marketer).post(f"/sla/agreements/{draft.pk}/sign/").status_code == 403
    assert client_for(outsider).get(f"/sla/agreements/{draft.pk}/").status_code == 403
    assert client_for(outsider).get("/sla/").status_code == 403


def test_both_leads_sign_and_the_new_version_supersedes_the_old(
    client_for, marketing_manager, sales_manager
):
    v1 = active_v1(marketing_manager, sales_manager)
    client = client_for(sales_manager)
    response = client.post(f"/sla/agreements/{v1.pk}/new-version/")
    v2 = SlaAgreement.objects.get(version=2)
    assert response.url == reverse("sla:agreement_edit", args=[v2.pk])
    assert v2.sales_responsibilities == v1.sales_responsibilities
    assert v2.effective_from is None  # its own dates, not v1's
    services.agreement_update(agreement=v2, now=NOW, accept_within_minutes=30)
    client.post(f"/sla/agreements/{v2.pk}/propose/")

    page = client.get(f"/sla/agreements/{v2.pk}/")
    assert b"Sign for Sales" in page.content
    client.post(f"/sla/agreements/{v2.pk}/sign/")
    v2.refresh_from_db()
    assert v2.status == AgreementStatus.PROPOSED
    page = client.get(f"/sla/agreements/{v2.pk}/")
    assert b"Sign for Sales" not in page.content  # signed once

    later = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(later, tick=False):
        response = client_for(marketing_manager).post(f"/sla/agreements/{v2.pk}/sign/")
    assert response.status_code == 302
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v2.status, v2.effective_from) == (AgreementStatus.ACTIVE, date(2026, 11, 23))
    assert (v1.status, v1.effective_to) == (AgreementStatus.SUPERSEDED, date(2026, 11, 23))


def test_a_second_draft_is_refused_while_one_is_open(client_for, marketing_manager, sales_manager):
    v1 = active_v1(marketing_manager, sales_manager)
    client = client_for(sales_manager)
    client.post(f"/sla/agreements/{v1.pk}/new-version/")
    response = client.post(f"/sla/agreements/{v1.pk}/new-version/", follow=True)
    assert "is already being written" in response.content.decode()
    assert SlaAgreement.objects.count() == 2


def test_a_draft_can_be_discarded_but_a_signed_version_cannot(
    client_for, marketing_manager, sales_manager
):
    v1 = active_v1(marketing_manager, sales_manager)
    draft = services.agreement_new_version(based_on=v1, actor=sales_manager, now=NOW)
    client = client_for(sales_manager)
    client.post(f"/sla/agreements/{draft.pk}/discard/")
    assert not SlaAgreement.objects.filter(pk=draft.pk).exists()
    client.post(f"/sla/agreements/{v1.pk}/discard/")
    assert SlaAgreement.objects.filter(pk=v1.pk).exists()


def test_history_lists_every_version_with_signers_and_dates(
    client_for, rep, marketing_manager, sales_manager, django_assert_max_num_queries
):
    v1 = active_v1(marketing_manager, sales_manager)
    for n in range(3):
        draft = services.agreement_new_version(based_on=v1, actor=sales_manager, now=NOW)
        services.agreement_update(agreement=draft, now=NOW, min_attempts=7 + n)
        services.agreement_propose(agreement=draft, now=NOW)
        services.agreement_sign(agreement=draft, user=marketing_manager, now=NOW)
        services.agreement_sign(agreement=draft, user=sales_manager, now=NOW)
        v1 = draft
    client = client_for(rep)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("sla:agreement_list"))
    text = page.content.decode()
    assert text.count("Sales: Sofia") == 4 and text.count("Marketing: Marcus") == 4
    assert "1 change since v3" in text
    assert "first version" in text


def test_the_diff_shows_changed_terms_and_words(client_for, rep, marketing_manager, sales_manager):
    v1 = active_v1(marketing_manager, sales_manager)
    v2 = services.agreement_new_version(based_on=v1, actor=sales_manager, now=NOW)
    services.agreement_update(
        agreement=v2,
        now=NOW,
        accept_within_minutes=30,
        sales_responsibilities="Call every MQL within the hour.",
    )
    page = client_for(rep).get(f"/sla/agreements/{v2.pk}/diff/")
    text = page.content.decode()
    assert "Accept or reject within (business minutes)" in text
    assert "<del>60</del>" in text and "<ins>30</ins>" in text
    assert "<ins>within</ins>" in text
    assert "<del>same day.</del>" in text and "<ins>hour.</ins>" in text
    same = client_for(rep).get(f"/sla/agreements/{v2.pk}/diff/?against={v2.pk}")
    assert b'data-testid="no-changes"' in same.content
    assert client_for(rep).get(f"/sla/agreements/{v2.pk}/diff/?against=999").status_code == 404


def test_the_detail_page_has_a_bounded_number_of_queries(
    client_for, rep, marketing_manager, sales_manager, django_assert_max_num_queries
):
    v1 = active_v1(marketing_manager, sales_manager)
    make_model(version=1)
    FunnelGoalFactory()
    client = client_for(rep)
    with django_assert_max_num_queries(15):
        assert client.get(f"/sla/agreements/{v1.pk}/").status_code == 200
    with django_assert_max_num_queries(15):
        assert client.get("/sla/").status_code == 200


def test_sending_for_signature_tells_both_team_leads_in_the_app(
    client_for, marketing_manager, sales_manager, rep
):
    from smarketing.notifications.models import Notification

    draft = services.agreement_create(actor=marketing_manager, now=NOW)
    client = client_for(marketing_manager)
    client.post(reverse("sla:agreement_propose", args=[draft.pk]))
    rows = Notification.objects.filter(kind="sla.proposed").order_by("recipient__username")
    assert [(n.recipient.username, n.title) for n in rows] == [
        ("marcus", "SLA v1 waits for your signature"),
        ("sofia", "SLA v1 waits for your signature"),
    ]
    assert rows[0].link == reverse("sla:agreement_detail", args=[draft.pk])
    client.post(reverse("sla:agreement_propose", args=[draft.pk]))  # 409 path: no new rows
    assert Notification.objects.filter(kind="sla.proposed").count() == 2
