"""A rep works the queue in the browser (through the test client): claim, accept, touch,
qualify; reject with a reason, which Marketing then sees in the rejection report."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from leads.handoff.models import Handoff, HandoffStatus, Touch
from leads.models import Lead, StageKind
from tests.factories import ContentPieceFactory
from tests.leads.queue_fixtures import NOW, make_handoff, make_team

pytestmark = pytest.mark.django_db
QUEUE = "/leads/queue/"
MINE = "/leads/queue/?tab=mine"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        yield


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_rep_works_the_whole_queue_and_marketing_sees_the_rejection(
    rep, marketer, client_for, django_user_model
):
    piece = ContentPieceFactory(title="ROI guide")
    keep = make_handoff(first_name="Ada", last_name="Byrne", company="Northwind")
    drop = make_handoff(first_name="Bo", last_name="Chen", company="Contoso", source="webinar")
    client = client_for(rep)

    page = client.get(QUEUE)
    assert page.status_code == 200
    assert b"Ada Byrne" in page.content and b"Bo Chen" in page.content
    assert reverse("leads:queue_claim", args=[keep.pk]).encode() in page.content

    claimed = client.post(reverse("leads:queue_claim", args=[keep.pk]), HTTP_HX_REQUEST="true")
    assert claimed.status_code == 200
    assert b"Ada Byrne is yours" in claimed.content
    assert f'id="handoff-{keep.pk}"'.encode() in claimed.content

    response = client.post(reverse("leads:queue_accept", args=[keep.pk]), follow=True)
    assert "Accepted Ada Byrne: it is now Sales accepted (SAL)." in _messages(response)
    for kind, outcome, content in (("call", "no_answer", ""), ("email", "connected", piece.pk)):
        response = client.post(
            reverse("leads:queue_touch", args=[keep.pk]),
            {"kind": kind, "outcome": outcome, "content": content, "note": "Followed up"},
            follow=True,
        )
        assert response.status_code == 200
    assert Touch.objects.filter(handoff=keep).count() == 2
    page = client.get(MINE)
    assert b"2 touches" in page.content and b"ROI guide" in page.content
    response = client.post(reverse("leads:queue_qualify", args=[keep.pk]), follow=True)
    assert "Qualified Ada Byrne: it is now Sales qualified (SQL)." in _messages(response)
    assert Lead.objects.get(pk=keep.lead_id).stage.kind == StageKind.SQL

    response = client.post(reverse("leads:queue_claim_next"), follow=True)
    assert "Bo Chen is yours: the most urgent lead in your pools." in _messages(response)
    response = client.post(
        reverse("leads:queue_reject", args=[drop.pk]),
        {"reason": "bad_contact", "note": "Phone number is a fax"},
        follow=True,
    )
    assert any("Rejected Bo Chen (Bad contact data)" in m for m in _messages(response))
    assert b"You have no open leads" in response.content

    report = client_for(marketer).get(reverse("leads:rejections"))
    assert report.status_code == 200
    assert report.context["report"].total == 1
    assert b"Bad contact data" in report.content and b"Phone number is a fax" in report.content
    assert b"webinar" in report.content


def test_a_losing_claim_says_who_won(rep, rep2, client_for):
    handoff = make_handoff(first_name="Ada", last_name="Byrne")
    client_for(rep2).post(reverse("leads:queue_claim", args=[handoff.pk]))
    client = client_for(rep)
    response = client.post(reverse("leads:queue_claim", args=[handoff.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"Already claimed by Lee" in response.content
    response = client.post(reverse("leads:queue_claim", args=[handoff.pk]), follow=True)
    assert any(m.startswith("Already claimed by Lee") for m in _messages(response))


def test_reject_form_errors_are_shown_and_nothing_changes(rep, client_for):
    handoff = make_handoff(owner=rep, status=HandoffStatus.ASSIGNED)
    response = client_for(rep).post(
        reverse("leads:queue_reject", args=[handoff.pk]), {"reason": "other"}, follow=True
    )
    assert any("Say why when the reason is 'Other'" in m for m in _messages(response))
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.ASSIGNED


def test_marketers_and_outsiders_cannot_work_the_queue(marketer, outsider, client_for):
    handoff = make_handoff()
    for user in (marketer, outsider):
        client = client_for(user)
        assert client.get(QUEUE).status_code == 403
        assert client.post(reverse("leads:queue_claim", args=[handoff.pk])).status_code == 403
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.POOL


def test_a_rep_cannot_act_on_another_reps_lead_in_the_browser(rep, rep2, client_for):
    handoff = make_handoff(owner=rep2, status=HandoffStatus.ASSIGNED)
    client = client_for(rep)
    for name in ("queue_accept", "queue_qualify", "queue_disqualify"):
        assert client.post(reverse(f"leads:{name}", args=[handoff.pk])).status_code == 403
    response = client.post(
        reverse("leads:queue_touch", args=[handoff.pk]), {"kind": "call", "outcome": "connected"}
    )
    assert response.status_code == 403
    assert Handoff.objects.get(pk=handoff.pk).status == HandoffStatus.ASSIGNED


def test_reps_and_marketers_without_a_manager_role_do_not_see_the_report(rep, client_for):
    assert client_for(rep).get(reverse("leads:rejections")).status_code == 403


def test_sales_manager_sees_the_report_and_marketing_has_the_nav_link(
    sales_manager, marketer, client_for
):
    assert client_for(sales_manager).get(reverse("leads:rejections")).status_code == 200
    page = client_for(marketer).get("/")
    assert reverse("leads:rejections").encode() in page.content
    empty = client_for(marketer).get(reverse("leads:rejections"))
    assert b"No rejected leads yet" in empty.content


def test_the_pool_shows_only_the_reps_teams_most_urgent_first(rep, rep2, client_for):
    mine = make_team("EMEA", rep)
    make_team("US", rep2)
    late = make_handoff(team=mine, first_name="Late", accept_due_at=NOW + timedelta(hours=3))
    urgent = make_handoff(first_name="Urgent", accept_due_at=NOW + timedelta(minutes=20))
    make_handoff(team=mine.__class__.objects.get(name="US"), first_name="Theirs")
    page = client_for(rep).get(QUEUE)
    assert [h.pk for h in page.context["pool"]] == [urgent.pk, late.pk]
    assert b"Accept due in 10" in page.content


def test_empty_states(rep, client_for):
    client = client_for(rep)
    assert b"Nothing waiting to be claimed" in client.get(QUEUE).content
    assert b"You have no open leads" in client.get(MINE).content


def test_the_queue_page_needs_a_fixed_number_of_queries(
    rep, client_for, django_assert_max_num_queries
):
    team = make_team("EMEA", rep)
    for i in range(3):
        make_handoff(team=team if i % 2 else None)
        make_handoff(owner=rep, status=HandoffStatus.ACCEPTED)
    client = client_for(rep)
    # Session, user, permissions (2), the user's teams, pool, my leads, content, roles.
    for url in (QUEUE, MINE):
        with django_assert_max_num_queries(9):
            assert client.get(url).status_code == 200
    for i in range(20):
        make_handoff(team=team if i % 2 else None)
        make_handoff(owner=rep, status=HandoffStatus.ACCEPTED)
    for url in (QUEUE, MINE):
        with django_assert_max_num_queries(9):
            page = client.get(url)
    assert len(page.context["mine"]) == 23


def test_an_htmx_claim_on_another_teams_pool_says_why_in_the_row(rep, rep2, client_for):
    theirs = make_handoff(team=make_team("US", rep2))
    response = client_for(rep).post(
        reverse("leads:queue_claim", args=[theirs.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert b"waits in the US pool; you are not in that team" in response.content
    assert Handoff.objects.get(pk=theirs.pk).status == HandoffStatus.POOL


def test_the_pool_page_shows_the_most_urgent_page_and_counts_both_tabs(
    rep, client_for, monkeypatch
):
    from leads.handoff import selectors

    monkeypatch.setattr(selectors, "QUEUE_PAGE_SIZE", 3)
    for minutes in (50, 10, 40, 20, 30):
        make_handoff(first_name=f"Due{minutes}", accept_due_at=NOW + timedelta(minutes=minutes))
    make_handoff(owner=rep, status=HandoffStatus.ACCEPTED)
    client = client_for(rep)
    page = client.get(QUEUE)
    assert [h.first_name for h in (r.lead for r in page.context["pool"])] == [
        "Due10",
        "Due20",
        "Due30",
    ]
    html = page.content.decode()
    assert '<span class="badge text-bg-secondary" data-testid="pool-count">5</span>' in html
    assert '<span class="badge text-bg-secondary" data-testid="mine-count">1</span>' in html
    assert "the 3 most urgent of 5" in html
    mine = client.get(MINE).content.decode()
    assert (
        'data-testid="pool-count">5</span>' in mine and 'data-testid="mine-count">1</span>' in mine
    )
