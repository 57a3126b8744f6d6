"""/api/v1/goals/: computed figures and pacing; managers write, marketers read, reps 403."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from goals.models import FunnelGoal
from tests.factories import FunnelGoalFactory
from tests.goals.helpers import november_funnel

NOW = datetime(2026, 11, 16, tzinfo=UTC)
URL = "/api/v1/goals/"
NEW = {
    "period_kind": "quarter",
    "period_start": "2026-10-15",
    "revenue_target": "1000000",
    "marketing_share_pct": "40",
    "average_deal_size": "25000",
    "rate_visit_to_lead": "2.5",
    "rate_lead_to_mql": "20",
    "rate_mql_to_sql": "30",
    "rate_sql_to_won": "25",
}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_detail_carries_plan_rates_and_pacing(marketer):
    november_funnel()
    goal = FunnelGoalFactory(alert_below_pct=80, rate_visit_to_lead=None)
    body = api_for(marketer).get(f"{URL}{goal.pk}/").json()
    assert body["period_label"] == "November 2026"
    assert body["period_end"] == "2026-11-30"
    needed = {s["key"]: s["needed"] for s in body["plan"]["stages"]}
    # The lookback (August-October) has 30 page views and 5 new leads: visit -> lead is
    # 16.67%, so 80 leads need 480 visits.
    assert needed == {"deals": 10, "sqls": 20, "mqls": 40, "leads": 80, "visits": 480}
    rates = {r["key"]: (r["used"], r["source"]) for r in body["rates"]}
    assert rates["visit_to_lead"] == ("16.67", "actuals")
    assert rates["sql_to_won"] == ("50.00", "override")
    pacing = body["pacing"]
    assert pacing["status"] == "running"
    assert pacing["elapsed_pct"] == "50.00"
    mqls = next(s for s in pacing["stages"] if s["key"] == "mqls")
    assert (mqls["actual"], mqls["target_to_date"], mqls["pacing_pct"], mqls["projected"]) == (
        12,
        "20.00",
        "60.00",
        24,
    )
    assert pacing["revenue_actual"] == "40000.00"
    assert pacing["revenue_estimated"] is True
    assert pacing["biggest_leak"]["key"] == "lead_to_mql"
    # Visits: 170 against 240 expected by now (71%), below the 80% alert level too.
    assert pacing["below_alert"] == ["visits", "mqls", "sqls", "deals"]


def test_manager_creates_a_goal_and_gets_the_plan_back(marketing_manager):
    response = api_for(marketing_manager).post(URL, NEW, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["period_start"] == "2026-10-01"
    assert {s["key"]: s["needed"] for s in body["plan"]["stages"]}["visits"] == 42800
    assert FunnelGoal.objects.get().created_by == marketing_manager


def test_duplicate_period_is_a_400_with_a_field_message(sales_manager):
    client = api_for(sales_manager)
    assert client.post(URL, NEW, format="json").status_code == 201
    response = client.post(URL, {**NEW, "period_start": "2026-12-01"}, format="json")
    assert response.status_code == 400
    assert "already a quarter goal for Q4 2026" in response.json()["period_start"][0]


def test_invalid_values_are_400_with_field_messages(marketing_manager):
    response = api_for(marketing_manager).post(
        URL, {**NEW, "rate_sql_to_won": "0", "marketing_share_pct": "120"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"rate_sql_to_won", "marketing_share_pct"}


def test_manager_patches_a_goal_and_the_change_is_recorded(sales_manager):
    goal = FunnelGoalFactory()
    response = api_for(sales_manager).patch(
        f"{URL}{goal.pk}/", {"revenue_target": "200000"}, format="json"
    )
    assert response.status_code == 200
    needed = {s["key"]: s["needed"] for s in response.json()["plan"]["stages"]}
    assert needed["deals"] == 20
    assert goal.changes.get().changed_by == sales_manager


@pytest.mark.parametrize("actor", ["rep", "outsider"])
def test_reps_and_role_less_users_are_refused(db, request, actor):
    goal = FunnelGoalFactory()
    client = api_for(request.getfixturevalue(actor))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{goal.pk}/").status_code == 403
    assert client.post(URL, NEW, format="json").status_code == 403


def test_marketer_reads_but_cannot_write(marketer):
    goal = FunnelGoalFactory()
    client = api_for(marketer)
    assert client.get(URL).status_code == 200
    assert client.post(URL, NEW, format="json").status_code == 403
    assert client.patch(f"{URL}{goal.pk}/", {"notes": "x"}, format="json").status_code == 403


def test_anonymous_gets_401_or_403(db):
    assert APIClient().get(URL).status_code in (401, 403)


def test_list_filters_and_bounded_queries(marketer, django_assert_max_num_queries):
    november_funnel()
    FunnelGoalFactory()
    FunnelGoalFactory(team="marketing")
    FunnelGoalFactory(period_kind="quarter", period_start=date(2026, 10, 1))
    FunnelGoalFactory(period_kind="year", period_start=date(2025, 1, 1))
    client = api_for(marketer)
    with django_assert_max_num_queries(26):
        body = client.get(URL).json()
    assert body["count"] == 4
    active = client.get(URL, {"active_on": "2026-11-16"}).json()
    assert {g["period_kind"] for g in active["results"]} == {"month", "quarter"}
    assert client.get(URL, {"team": "marketing"}).json()["count"] == 1


def test_schema_documents_the_goals_endpoint(marketer):
    schema = api_for(marketer).get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/goals/" in schema["paths"]
    assert "Pacing" in schema["components"]["schemas"]
