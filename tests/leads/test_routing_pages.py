"""The routing pages: only sales managers and admins may see or change routing; rules, teams and
reps are edited in the browser; the distribution table and the ledger show what happened."""

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from leads.handoff.models import HandoffStatus
from leads.routing.models import RoutingChange, RoutingRule, SalesTeam, TargetKind, TeamMember

# The fixtures come from the engine tests (same team, names without random last names).
# ruff: noqa: F401, F811
from tests.leads.test_routing import (
    NOW,
    inbound,
    make_rule,
    make_team,
    rep,
    rep2,
    route,
    sales_manager,
)

PAGES = [
    ("leads:routing", []),
    ("leads:routing_ledger", []),
    ("leads:routing_rule_new", []),
    ("leads:routing_team_new", []),
    ("leads:routing_preview", []),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_a_rep_or_a_marketer_gets_403_on_routing_pages(
    db, client_for, rep, marketing_manager, name, args
):
    for user in (rep, marketing_manager):
        assert client_for(user).get(reverse(name, args=args)).status_code == 403


def test_a_rep_cannot_change_a_rule_or_a_team(db, client_for, rep, inbound):
    rule = RoutingRule.objects.get()
    client = client_for(rep)
    assert client.post(reverse("leads:routing_rule_toggle", args=[rule.pk])).status_code == 403
    assert client.get(reverse("leads:routing_rule_edit", args=[rule.pk])).status_code == 403
    assert client.get(reverse("leads:routing_team", args=[inbound.pk])).status_code == 403
    member = TeamMember.objects.first()
    url = reverse("leads:routing_member_remove", args=[inbound.pk, member.pk])
    assert client.post(url).status_code == 403
    assert RoutingRule.objects.get().active and TeamMember.objects.filter(pk=member.pk).exists()


@pytest.mark.parametrize("who", ["sales_manager", "admin_user"])
def test_sales_managers_and_admins_see_routing_in_the_navigation(db, client_for, request, who):
    response = client_for(request.getfixturevalue(who)).get(reverse("leads:routing"))
    assert response.status_code == 200
    assert 'href="/leads/routing/"' in response.content.decode()


def test_a_rep_has_no_routing_item_in_the_navigation(db, client_for, rep):
    assert 'href="/leads/routing/"' not in client_for(rep).get(reverse("home")).content.decode()


def test_the_empty_routing_page_says_leads_wait_in_the_shared_pool(db, client_for, sales_manager):
    page = client_for(sales_manager).get(reverse("leads:routing")).content.decode()
    assert "No routing rules yet" in page
    assert "No sales teams yet" in page


def test_a_manager_adds_a_rule_in_the_browser(db, client_for, sales_manager, inbound):
    client = client_for(sales_manager)
    response = client.post(
        reverse("leads:routing_rule_new"),
        {
            "name": "DACH enterprise",
            "countries": "de, at, ch",
            "field": "employees",
            "operator": "gte",
            "value": "1000",
            "target_kind": TargetKind.ROUND_ROBIN,
            "target_team": inbound.pk,
            "active": "on",
        },
    )
    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="DACH enterprise")
    assert (rule.countries, rule.value, rule.updated_by) == (
        ["DE", "AT", "CH"],
        1000,
        sales_manager,
    )
    page = client.get(reverse("leads:routing")).content.decode()
    assert "country is one of DE, AT, CH; and Employees is at least 1k" in page
    assert "Added rule &#x27;DACH enterprise&#x27;" in page


def test_a_rule_with_errors_comes_back_with_field_messages(db, client_for, sales_manager):
    response = client_for(sales_manager).post(
        reverse("leads:routing_rule_new"),
        {"name": "Someone", "target_kind": TargetKind.REP, "countries": "Germany"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose the rep who gets these leads." in page
    assert "Use two-letter country codes" in page
    assert not RoutingRule.objects.exists()


def test_a_manager_edits_moves_and_deactivates_rules(db, client_for, sales_manager, inbound):
    first = make_rule("First", order=1, countries=["US"], target_kind="pool", target_team=inbound)
    second = make_rule("Second", order=2, countries=["CA"], target_kind="pool", target_team=inbound)
    client = client_for(sales_manager)
    edit = client.get(reverse("leads:routing_rule_edit", args=[first.pk])).content.decode()
    assert 'value="US"' in edit
    response = client.post(
        reverse("leads:routing_rule_edit", args=[first.pk]),
        {
            "name": "First",
            "countries": "US, MX",
            "target_kind": "pool",
            "target_team": inbound.pk,
            "active": "on",
        },
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.countries == ["US", "MX"]
    client.post(reverse("leads:routing_rule_move", args=[second.pk, "up"]))
    assert [r.name for r in RoutingRule.objects.all()] == ["Second", "First", "Everyone else"]
    client.post(reverse("leads:routing_rule_toggle", args=[second.pk]))
    second.refresh_from_db()
    assert not second.active
    assert RoutingChange.objects.filter(rule=second).count() == 2


def test_a_manager_creates_a_team_and_sets_a_reps_week(db, client_for, sales_manager, rep):
    client = client_for(sales_manager)
    response = client.post(
        reverse("leads:routing_team_new"), {"name": "Partners", "timezone": "Europe/Berlin"}
    )
    team = SalesTeam.objects.get(name="Partners")
    assert response.url == reverse("leads:routing_team", args=[team.pk])
    client.post(
        reverse("leads:routing_member_add", args=[team.pk]),
        {"user": rep.pk, "weight": 3, "active": "on"},
    )
    member = TeamMember.objects.get(team=team, user=rep)
    assert member.weight == 3
    response = client.post(
        reverse("leads:routing_member_edit", args=[team.pk, member.pk]),
        {
            "weight": 3,
            "max_open_leads": 5,
            "out_of_office_until": "2026-12-03",
            "work_days": ["1", "2", "3", "4", "5"],
            "work_start": "09:00",
            "work_end": "17:30",
            "active": "on",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.out_of_office_until == date(2026, 12, 3)
    assert (member.max_open_leads, member.work_days) == (5, [1, 2, 3, 4, 5])
    page = client.get(reverse("leads:routing_team", args=[team.pk])).content.decode()
    assert "until Thu Dec 3" in page and "Mon-Fri, 09:00\u201317:30" in page
    assert "Changed" in page and "out_of_office_until" in page


def test_working_hours_need_both_ends(db, client_for, sales_manager, inbound, rep):
    member = TeamMember.objects.get(user=rep)
    response = client_for(sales_manager).post(
        reverse("leads:routing_member_edit", args=[inbound.pk, member.pk]),
        {"weight": 2, "work_start": "09:00", "active": "on"},
    )
    assert response.status_code == 200
    assert "Give both the start and the end" in response.content.decode()


def test_a_team_name_must_be_unique(db, client_for, sales_manager, inbound):
    response = client_for(sales_manager).post(
        reverse("leads:routing_team_new"), {"name": "inbound", "timezone": "UTC"}
    )
    assert response.status_code == 200
    assert "Another team has this name." in response.content.decode()


@time_machine.travel(NOW + timedelta(hours=1), tick=False)
def test_the_distribution_table_counts_per_rep_in_bounded_queries(
    db,
    client_for,
    sales_manager,
    inbound,
    django_assert_max_num_queries,
):
    decisions = [route() for _ in range(9)]  # weights 2:1 -> 6 Dana, 3 Lee
    handoff = decisions[0].handoff
    handoff.status = HandoffStatus.ACCEPTED
    handoff.save()
    client = client_for(sales_manager)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("leads:routing"))
    rows = response.context["rows"]
    assert [(r.user.username, r.assigned, r.open, r.accepted) for r in rows] == [
        ("dana", 6, 6, 0),
        ("lee", 3, 3, 0),
    ]
    assert round(rows[0].share) == 67 and round(rows[0].weight_share) == 67
    page = response.content.decode()
    assert "Dana, next in turn" in page
    # More decisions do not mean more queries.
    for _ in range(20):
        route()
    with django_assert_max_num_queries(20):
        client.get(reverse("leads:routing"))


@time_machine.travel(NOW + timedelta(hours=1), tick=False)
def test_the_ledger_filters_by_rep(db, client_for, sales_manager, rep2, inbound):
    for _ in range(6):
        route()
    response = client_for(sales_manager).get(reverse("leads:routing_ledger"), {"rep": rep2.pk})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 2
    assert all(d.assigned_to == rep2 for d in response.context["page"].object_list)


def test_a_team_without_reps_cannot_take_round_robin(db, client_for, sales_manager):
    team = make_team("Empty")
    response = client_for(sales_manager).post(
        reverse("leads:routing_rule_new"),
        {"name": "Empty RR", "target_kind": "round_robin", "target_team": team.pk, "active": "on"},
    )
    assert response.status_code == 200
    assert "no active rep" in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_trying_a_lead_shows_where_it_would_go_without_using_a_turn(
    db, client_for, sales_manager, inbound
):
    from tests.leads.factories import LeadFactory

    lead = LeadFactory(email="ana@northwind.example", country="US")
    client = client_for(sales_manager)
    response = client.get(
        reverse("leads:routing_preview"), {"lead": "ANA@northwind.example"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert "<html" not in page
    assert "default rule Everyone else -&gt; round robin -&gt; Dana, next in turn" in page
    # A second try gives the same answer: the preview moved no counter.
    again = client.get(reverse("leads:routing_preview"), {"lead": str(lead.pk)})
    assert "Dana, next in turn" in again.content.decode() and "<html" in again.content.decode()
    assert set(TeamMember.objects.values_list("rr_current", flat=True)) == {0}
    missing = client.get(reverse("leads:routing_preview"), {"lead": "nobody@example.com"})
    assert "No lead with the id or email" in missing.content.decode()


@time_machine.travel(NOW + timedelta(hours=1), tick=False)
def test_the_team_and_ledger_pages_stay_within_a_fixed_number_of_queries(
    db, client_for, sales_manager, inbound, django_assert_max_num_queries
):
    for _ in range(30):
        route()
    client = client_for(sales_manager)
    with django_assert_max_num_queries(15):
        assert client.get(reverse("leads:routing_team", args=[inbound.pk])).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("leads:routing_ledger")).status_code == 200
