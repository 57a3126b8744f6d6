"""Goal pages: who may do what, setting a goal in the browser, the live what-if, pacing."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from goals.models import FunnelGoal, FunnelGoalChange
from tests.factories import FunnelGoalFactory
from tests.goals.helpers import november_funnel

NOW = datetime(2026, 11, 16, tzinfo=UTC)

FORM = {
    "period_kind": "quarter",
    "period_start": "2026-11-20",  # any day of Q4
    "team": "",
    "revenue_target": "1000000",
    "marketing_share_pct": "40",
    "average_deal_size": "25000",
    "rate_visit_to_lead": "2.5",
    "rate_lead_to_mql": "20",
    "rate_mql_to_sql": "30",
    "rate_sql_to_won": "25",
    "lookback_periods": "3",
    "pacing_curve": "linear",
    "alert_below_pct": "80",
    "notes": "Board number for Q4.",
}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize(
    ("actor", "list_status", "create_status"),
    [
        ("marketer", 200, 403),
        ("marketing_manager", 200, 200),
        ("sales_manager", 200, 200),
        ("admin_user", 200, 200),
        ("rep", 403, 403),
        ("outsider", 403, 403),
    ],
)
def test_who_may_see_and_set_goals(request, client_for, actor, list_status, create_status):
    client = client_for(request.getfixturevalue(actor))
    assert client.get(reverse("goals:list")).status_code == list_status
    assert client.get(reverse("goals:create")).status_code == create_status


def test_rep_and_marketer_cannot_open_edit_or_post(client_for, rep, marketer):
    goal = FunnelGoalFactory()
    rep_client = client_for(rep)
    assert rep_client.get(reverse("goals:detail", args=[goal.pk])).status_code == 403
    assert rep_client.post(reverse("goals:preview"), FORM).status_code == 403
    client = client_for(marketer)
    assert client.get(reverse("goals:detail", args=[goal.pk])).status_code == 200
    assert client.get(reverse("goals:edit", args=[goal.pk])).status_code == 403
    assert client.post(reverse("goals:create"), FORM).status_code == 403
    assert FunnelGoal.objects.count() == 1


def test_empty_list_invites_a_manager_to_set_the_first_goal(client_for, marketing_manager):
    body = client_for(marketing_manager).get(reverse("goals:list")).content.decode()
    assert 'data-testid="goals-empty"' in body
    assert "Set this quarter&#x27;s goal" in body or "Set this quarter's goal" in body


def test_manager_sets_a_quarterly_goal_and_sees_needed_vs_actual(client_for, sales_manager):
    november_funnel()
    client = client_for(sales_manager)
    response = client.post(reverse("goals:create"), FORM)
    goal = FunnelGoal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("goals:detail", args=[goal.pk])
    # The day picked is moved to the quarter's first day; the end is stored.
    assert (goal.period_start, goal.period_end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert goal.created_by == sales_manager
    assert FunnelGoalChange.objects.get(goal=goal).changed_by == sales_manager

    page = client.get(response["Location"])
    body = page.content.decode()
    rows = {s.key: s for s in page.context["figures"].stages}
    assert rows["mqls"].needed == 214
    # The quarter began in October: five October MQLs count too.
    assert rows["mqls"].actual == 17
    assert rows["visits"].needed == 42800
    assert 'data-testid="pacing-table"' in body
    assert "Q4 2026" in body
    assert "estimated" in body  # one won deal has no deal value
    assert "Chartkick" in body or "chartkick" in body


def test_form_errors_are_shown_with_a_400(client_for, marketing_manager):
    client = client_for(marketing_manager)
    bad = {**FORM, "revenue_target": "-5", "rate_sql_to_won": "0", "marketing_share_pct": "140"}
    response = client.post(reverse("goals:create"), bad)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"revenue_target", "rate_sql_to_won", "marketing_share_pct"}
    assert FunnelGoal.objects.count() == 0


def test_second_goal_for_the_same_period_is_refused_on_the_field(client_for, marketing_manager):
    client = client_for(marketing_manager)
    assert client.post(reverse("goals:create"), FORM).status_code == 302
    response = client.post(reverse("goals:create"), {**FORM, "period_start": "2026-12-31"})
    assert response.status_code == 400
    assert "already a quarter goal for Q4 2026" in str(response.context["form"].errors)
    # A team goal for the same quarter is a different goal.
    assert client.post(reverse("goals:create"), {**FORM, "team": "sales"}).status_code == 302


def test_edit_records_what_changed(client_for, marketing_manager):
    goal = FunnelGoalFactory()
    client = client_for(marketing_manager)
    data = {
        "period_kind": "month",
        "period_start": "2026-11-01",
        "team": "",
        "revenue_target": "150000",
        "marketing_share_pct": "100",
        "average_deal_size": "10000",
        "rate_visit_to_lead": "20",
        "rate_lead_to_mql": "50",
        "rate_mql_to_sql": "50",
        "rate_sql_to_won": "",
        "lookback_periods": "3",
        "pacing_curve": "linear",
        "alert_below_pct": "",
        "notes": "",
    }
    page = client.get(reverse("goals:edit", args=[goal.pk]))
    assert page.status_code == 200
    assert page.context["plan"].as_dict()["visits"] == 400  # the funnel shows from the start
    response = client.post(reverse("goals:edit", args=[goal.pk]), data)
    assert response.status_code == 302
    goal.refresh_from_db()
    assert goal.revenue_target == Decimal(150000)
    assert goal.rate_sql_to_won is None
    change = goal.changes.get()
    assert change.changes == {
        "revenue_target": ["100000.00", "150000"],
        "rate_sql_to_won": ["50.00", None],
    }
    assert "revenue_target" in client.get(reverse("goals:detail", args=[goal.pk])).content.decode()


def test_what_if_preview_renders_the_funnel_for_the_typed_numbers(client_for, marketer):
    client = client_for(marketer)
    response = client.post(reverse("goals:preview"), FORM, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.context["plan"].as_dict() == {
        "deals": 16,
        "sqls": 64,
        "mqls": 214,
        "leads": 1070,
        "visits": 42800,
    }
    body = response.content.decode()
    assert "42,800" in body
    assert "<html" not in body  # a partial, not a page
    assert "new Chartkick" in body


def test_what_if_with_a_zero_rate_says_why_instead_of_crashing(client_for, marketer):
    response = client_for(marketer).post(reverse("goals:preview"), {**FORM, "rate_mql_to_sql": "0"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "∞" in body
    assert "0% MQL → SQL" in body


def test_what_if_with_missing_numbers_names_them(client_for, marketer):
    response = client_for(marketer).post(
        reverse("goals:preview"), {**FORM, "average_deal_size": "", "revenue_target": "x"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Average deal size" in body
    assert "Revenue target" in body


def test_forms_wire_htmx_live_preview(client_for, marketing_manager):
    goal = FunnelGoalFactory()
    client = client_for(marketing_manager)
    for url in [reverse("goals:create"), reverse("goals:detail", args=[goal.pk])]:
        body = client.get(url).content.decode()
        assert f'hx-post="{reverse("goals:preview")}"' in body
        assert 'hx-trigger="input changed delay:300ms, change"' in body
        assert "chartkick/chartkick.js" in body


def test_list_page_query_count_is_bounded(
    client_for, marketing_manager, django_assert_max_num_queries
):
    november_funnel()
    for kind, start in [("month", date(2026, 11, 1)), ("quarter", date(2026, 10, 1))]:
        for team in ["", "marketing", "sales"]:
            FunnelGoalFactory(period_kind=kind, period_start=start, team=team)
    client = client_for(marketing_manager)
    # Six goals in two periods: actuals are counted once per period window, not per goal.
    with django_assert_max_num_queries(24):
        response = client.get(reverse("goals:list"))
    assert len(response.context["rows"]) == 6


def test_detail_page_query_count_is_bounded(client_for, marketer, django_assert_max_num_queries):
    november_funnel()
    goal = FunnelGoalFactory(rate_visit_to_lead=None)
    client = client_for(marketer)
    with django_assert_max_num_queries(16):
        assert client.get(reverse("goals:detail", args=[goal.pk])).status_code == 200
