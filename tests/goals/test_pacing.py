"""Actuals from the lead data and pacing against a goal, with time frozen mid-November."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from goals import selectors
from goals.models import PacingCurve
from goals.selectors import elapsed_fraction, funnel_actuals, goal_figures
from tests.factories import FunnelGoalFactory
from tests.goals.helpers import at, make_leads, move, november_funnel, page_views

NOW = datetime(2026, 11, 16, tzinfo=UTC)  # 15 of November's 30 days gone


@pytest.fixture
def funnel(db):
    return november_funnel()


def test_actuals_count_each_stage_in_the_window_only(funnel):
    actuals = funnel_actuals(start=at("2026-11-01", 0), end=NOW)
    assert (actuals.visits, actuals.leads, actuals.mqls, actuals.sqls, actuals.deals) == (
        170,
        40,
        12,
        6,
        2,
    )
    # One deal has a numeric deal value; the other ("n/a") is estimated.
    assert actuals.deals_with_value == 1
    assert actuals.known_revenue == Decimal(30000)
    assert actuals.revenue(Decimal(10000)) == (Decimal(40000), True)


def test_actuals_take_a_bounded_number_of_queries(funnel, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        funnel_actuals(start=at("2026-11-01", 0), end=NOW)
    more = make_leads(200, created=at("2026-11-04"), prefix="more")
    move(more, "mql", when=at("2026-11-08"))
    move(more, "customer", when=at("2026-11-09"))
    with django_assert_max_num_queries(4):
        actuals = funnel_actuals(start=at("2026-11-01", 0), end=NOW)
    assert actuals.mqls == 212
    assert actuals.deals == 202


@time_machine.travel(NOW, tick=False)
def test_pacing_mid_month_against_a_linear_target(funnel):
    goal = FunnelGoalFactory(alert_below_pct=80)
    figures = goal_figures(goal, now=NOW)
    assert figures.status == "running"
    assert figures.elapsed_pct == Decimal("50.00")
    rows = {
        s.key: (s.needed, s.target_to_date, s.actual, s.pacing_pct, s.projected, s.projected_gap)
        for s in figures.stages
    }
    assert rows == {
        "visits": (400, Decimal(200), 170, Decimal("85.00"), 340, -60),
        "leads": (80, Decimal(40), 40, Decimal("100.00"), 80, 0),
        "mqls": (40, Decimal(20), 12, Decimal("60.00"), 24, -16),
        "sqls": (20, Decimal(10), 6, Decimal("60.00"), 12, -8),
        "deals": (10, Decimal(5), 2, Decimal("40.00"), 4, -6),
    }
    assert [s.key for s in figures.stages] == ["visits", "leads", "mqls", "sqls", "deals"]
    assert next(s for s in figures.stages if s.key == "mqls").gap_to_date == Decimal(-8)
    assert figures.revenue_actual == Decimal(40000)
    assert figures.revenue_estimated
    assert figures.revenue_target_to_date == Decimal(50000)
    assert figures.revenue_projected == Decimal(80000)
    # lead -> MQL converts at 30% against 50% planned: the worst ratio of the four.
    assert figures.leak.key == "lead_to_mql"
    assert figures.leak.actual_pct == Decimal("30.00")
    assert figures.leak.ratio_pct == Decimal("60.00")
    assert [s.key for s in figures.alert_stages] == ["mqls", "sqls", "deals"]
    assert figures.worst_pacing_pct == Decimal("40.00")


def test_weekday_curve_counts_only_weekdays(db):
    # November 2026 has 21 weekdays; by Monday the 16th, ten of them (2nd-13th) are gone.
    goal = FunnelGoalFactory(pacing_curve=PacingCurve.WEEKDAYS)
    from fractions import Fraction

    assert elapsed_fraction(goal, now=NOW) == Fraction(10, 21)
    # Saturday noon: no weekday time passes over the weekend.
    assert elapsed_fraction(goal, now=datetime(2026, 11, 14, 12, tzinfo=UTC)) == Fraction(10, 21)
    # Monday noon: half a weekday more.
    assert elapsed_fraction(goal, now=datetime(2026, 11, 16, 12, tzinfo=UTC)) == Fraction(21, 42)


def test_upcoming_and_finished_periods(funnel):
    goal = FunnelGoalFactory()
    before = goal_figures(goal, now=datetime(2026, 10, 15, tzinfo=UTC))
    assert before.status == "upcoming"
    assert all(s.actual == 0 and s.projected is None for s in before.stages)
    assert before.leak is None
    after = goal_figures(goal, now=datetime(2027, 1, 5, tzinfo=UTC))
    assert after.status == "finished"
    visits = next(s for s in after.stages if s.key == "visits")
    # The page views of the 20th count once the month is over; projection equals actual.
    assert (visits.actual, visits.projected, visits.target_to_date) == (177, 177, Decimal(400))


def test_no_alert_stages_early_in_the_period(funnel):
    goal = FunnelGoalFactory(alert_below_pct=80)
    # Two days in (under 10% of the month) one slow day must not page anyone.
    figures = goal_figures(goal, now=datetime(2026, 11, 3, tzinfo=UTC))
    assert figures.alert_stages == []


def test_blank_rates_default_to_the_last_periods_actuals(db):
    # August-October: 100 visits, 10 leads, 5 MQLs, 2 SQLs, 1 won.
    leads = make_leads(10, created=at("2026-09-02"))
    page_views(100, lead=leads[0], when=at("2026-08-15"))
    move(leads[:5], "mql", when=at("2026-09-10"))
    move(leads[:2], "sql", when=at("2026-10-01"))
    move(leads[:1], "customer", when=at("2026-10-30"))
    # Before the lookback window: must not count.
    page_views(900, lead=leads[0], when=at("2026-07-31"))
    goal = FunnelGoalFactory(
        rate_visit_to_lead=None, rate_lead_to_mql=None, rate_mql_to_sql=None, rate_sql_to_won=None
    )
    rates = {r.key: (r.used, r.actual, r.source) for r in selectors.goal_rates(goal)}
    assert rates == {
        "visit_to_lead": (Decimal("10.00"), Decimal("10.00"), "actuals"),
        "lead_to_mql": (Decimal("50.00"), Decimal("50.00"), "actuals"),
        "mql_to_sql": (Decimal("40.00"), Decimal("40.00"), "actuals"),
        "sql_to_won": (Decimal("50.00"), Decimal("50.00"), "actuals"),
    }
    # 10 deals / 50% = 20 SQLs / 40% = 50 MQLs / 50% = 100 leads / 10% = 1,000 visits.
    assert selectors.goal_plan(goal).as_dict() == {
        "deals": 10,
        "sqls": 20,
        "mqls": 50,
        "leads": 100,
        "visits": 1000,
    }
    # An override wins, and the actual is still shown beside it.
    goal.rate_sql_to_won = Decimal(25)
    sql_to_won = next(r for r in selectors.goal_rates(goal) if r.key == "sql_to_won")
    assert (sql_to_won.used, sql_to_won.actual, sql_to_won.source) == (
        Decimal(25),
        Decimal("50.00"),
        "override",
    )


def test_rates_without_history_fall_back_to_benchmarks(db):
    goal = FunnelGoalFactory(rate_visit_to_lead=None, rate_sql_to_won=None)
    rates = {r.key: (r.used, r.actual, r.source) for r in selectors.goal_rates(goal)}
    assert rates["visit_to_lead"] == (Decimal("2.00"), None, "benchmark")
    assert rates["sql_to_won"] == (Decimal("25.00"), None, "benchmark")
    assert rates["lead_to_mql"][2] == "override"


def test_goal_for_period_prefers_the_most_specific_goal_of_the_team(db):
    quarter = FunnelGoalFactory(period_kind="quarter", period_start=date(2026, 10, 1))
    month = FunnelGoalFactory()
    marketing = FunnelGoalFactory(
        team="marketing", period_kind="year", period_start=date(2026, 1, 1)
    )
    assert selectors.goal_for_period(on=date(2026, 11, 30)) == month
    assert selectors.goal_for_period(on=date(2026, 12, 1)) == quarter
    assert selectors.goal_for_period(team="marketing", on=date(2026, 12, 1)) == marketing
    assert selectors.goal_for_period(team="sales", on=date(2026, 12, 1)) is None
    assert selectors.goal_for_period(on=date(2027, 1, 1)) is None


def test_required_mqls_and_sqls_come_from_the_plan(db):
    goal = FunnelGoalFactory()
    assert selectors.goal_required_mqls(goal) == 40
    assert selectors.goal_required_sqls(goal) == 20


def test_unusable_actual_rates_fall_back_to_benchmarks_and_say_why(db):
    # October: 3 page views but 5 new leads (traffic is only known leads' page views), and
    # 5 MQLs that never became SQLs.
    leads = make_leads(5, created=at("2026-10-02"))
    page_views(3, lead=leads[0], when=at("2026-10-03"))
    move(leads, "mql", when=at("2026-10-04"))
    goal = FunnelGoalFactory(rate_visit_to_lead=None, rate_mql_to_sql=None, lookback_periods=1)
    rates = {r.key: r for r in selectors.goal_rates(goal)}
    assert rates["visit_to_lead"].actual == Decimal("166.67")
    assert (rates["visit_to_lead"].used, rates["visit_to_lead"].source) == (
        Decimal("2.00"),
        "benchmark",
    )
    assert "above 100%" in rates["visit_to_lead"].note
    assert rates["mql_to_sql"].actual == Decimal(0)
    assert rates["mql_to_sql"].source == "benchmark"
    assert "unreachable" in rates["mql_to_sql"].note
    assert selectors.goal_plan(goal).is_reachable
