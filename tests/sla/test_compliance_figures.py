# ruff: noqa: E501 -- expected tables, one row per line.
"""The compliance selectors against a fixture whose figures are computed by hand (see the
table in compliance_fixture.py)."""

import pytest
from django.db import connection

from sla import selectors
from tests.sla import compliance_fixture as fx

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(rep, rep2):
    return fx.build(users={"dana": rep, "lee": rep2})


def test_sales_headline_figures_match_the_hand_computed_ones(data):
    sales = selectors.sales_figures(fx.november())
    assert sales["handoffs"] == 11  # rows 1-11; row 12 is in October
    assert sales["accepted"] == 6  # rows 1, 2, 3, 5, 6, 8
    assert sales["rejected"] == 3  # rows 4, 7, 11
    assert sales["touched"] == 9  # all but 9 and 10
    # Touch minutes sorted: 2 3 4 10 20 45 90 300 2000 (n=9). Median: rank 4 -> 20.
    assert sales["median_first_touch_min"] == 20.0
    # p90: rank 0.9 * 8 = 7.2 -> 300 + 0.2 * (2000 - 300) = 640.
    assert sales["p90_first_touch_min"] == 640.0
    # Answer minutes sorted: 5 10 20 30 40 50 60 120 200 -> median 40.
    assert sales["median_accept_min"] == 40.0
    # First-touch clocks: met 1, 2, 11; breached 3-9; 10 still running -> 3 / 10.
    assert (sales["first_touch_met"], sales["first_touch_breached"]) == (3, 7)
    assert sales["within_sla_pct"] == 30.0
    # All breached clocks: 7 first-touch + accept of 7, 8, 9.
    assert sales["breaches"] == 10


def test_speed_to_lead_histogram_puts_each_handoff_in_one_bin(data):
    bins = {
        b["bin"]: b["handoffs"] for b in selectors.sales_figures(fx.november())["speed_to_lead"]
    }
    assert bins == {
        "0-5 min": 3,  # 3, 4, 2 minutes (rows 1, 2, 11)
        "5-15 min": 1,  # 10
        "15-30 min": 1,  # 20
        "30-60 min": 1,  # 45
        "1-4 h": 1,  # 90
        "4-24 h": 1,  # 300
        "> 24 h": 1,  # 2000
        "never": 2,  # rows 9 and 10
    }


def test_attempts_are_counted_against_the_policy_minimum(data):
    attempts = selectors.sales_figures(fx.november())["attempts"]
    # Rejected rows 4, 7, 11 owe no attempts: 8 leads with 3+1+3+2+4+3+0+0 = 16 touches.
    assert attempts["leads"] == 8
    assert attempts["touches"] == 16
    assert attempts["average"] == 2.0
    assert attempts["meeting_policy"] == 4  # rows 1, 3, 6, 8 have 3 or more
    assert attempts["meeting_policy_pct"] == 50.0
    assert attempts["distribution"] == [
        {"touches": "0", "leads": 2},
        {"touches": "1", "leads": 1},
        {"touches": "2", "leads": 1},
        {"touches": "3+", "leads": 4},
    ]


def test_the_rep_table_has_one_row_per_rep(data, rep, rep2):
    reps = selectors.sales_figures(fx.november())["reps"]
    assert reps == [
        {
            "rep_id": rep.pk,
            "rep": rep.get_full_name(),
            "handoffs": 6,  # rows 1-5, 11
            "accepted": 4,  # 1, 2, 3, 5
            "rejected": 2,  # 4, 11
            "touched": 6,
            "median_first_touch_min": 7.0,  # 2 3 4 10 20 45 -> (4 + 10) / 2
            "within_sla_pct": 50.0,  # met 1, 2, 11; breached 3, 4, 5
            "breaches": 3,
        },
        {
            "rep_id": rep2.pk,
            "rep": rep2.get_full_name(),
            "handoffs": 4,  # rows 6-9
            "accepted": 2,  # 6, 8
            "rejected": 1,  # 7
            "touched": 3,
            "median_first_touch_min": 300.0,  # 90 300 2000
            "within_sla_pct": 0.0,  # 4 first-touch breaches, no met
            "breaches": 7,  # 4 first touch + 3 accept
        },
    ]


def test_latency_splits_our_part_from_theirs(data):
    latency = selectors.sales_figures(fx.november())["latency"]
    # Notify minutes (row 10 never notified): 1 1 1 2 2 3 5 5 10 10 -> median (2+3)/2,
    # p90 rank 8.1 -> 10.
    assert (latency[0]["median_min"], latency[0]["p90_min"]) == (2.5, 10.0)
    # Notified -> touch: 1 2 3 8 18 42 85 295 1990 -> median 18,
    # p90 rank 7.2 -> 295 + 0.2 * 1695 = 634.
    assert (latency[1]["median_min"], latency[1]["p90_min"]) == (18.0, 634.0)


def test_weekly_trend_covers_twelve_weeks_including_the_one_before_the_period(data):
    weekly = selectors.sales_figures(fx.november())["weekly"]
    assert len(weekly) == 12
    assert weekly[0]["week"] == "2026-09-14"  # Monday 30 Nov minus 11 weeks
    by_week = {w["week"]: w for w in weekly}
    assert by_week["2026-10-26"] == {
        "week": "2026-10-26",
        "handoffs": 1,
        "accepted": 1,
        "within_sla_pct": 100.0,
    }  # row 12
    # Rows 1-4: accepted 1, 2, 3; first touch met 1, 2 of 1-4.
    assert by_week["2026-11-02"] == {
        "week": "2026-11-02",
        "handoffs": 4,
        "accepted": 3,
        "within_sla_pct": 50.0,
    }
    assert by_week["2026-11-09"]["within_sla_pct"] == 0.0  # rows 5-8 all breached
    # Rows 9-11: 11 met, 9 breached, 10 still running.
    assert by_week["2026-11-16"] == {
        "week": "2026-11-16",
        "handoffs": 3,
        "accepted": 0,
        "within_sla_pct": 50.0,
    }
    assert by_week["2026-11-30"]["handoffs"] == 0


def test_marketing_figures_match_the_hand_computed_ones(data):
    marketing = selectors.marketing_figures(fx.november())
    assert marketing["mqls_delivered"] == 11
    assert marketing["mqls_committed"] == 10  # 10 a month, the whole of November
    assert marketing["delivered_pct"] == 110.0
    assert marketing["acceptance_pct"] == 66.7  # 6 accepted / (6 + 3)
    assert marketing["acceptance_target_pct"] == 70
    assert marketing["not_icp"] == 2  # rows 4 and 11
    assert marketing["not_icp_pct"] == 22.2  # 2 / 9
    assert marketing["rejection_reasons"] == [
        {"reason": "Not our ICP", "code": "not_icp", "rejected": 2, "share_pct": 66.7},
        {"reason": "No budget or authority", "code": "no_budget", "rejected": 1, "share_pct": 33.3},
    ]


def test_conversion_by_source_persona_and_model_version(data):
    marketing = selectors.marketing_figures(fx.november())
    # SQL: rows 1 and 3 qualified, row 6's lead is an opportunity; won: row 3's lead.
    assert marketing["by_source"] == [
        {"source": "ads", "mqls": 4, "sqls": 1, "won": 1, "mql_to_sql_pct": 25.0, "sql_to_won_pct": 100.0},
        {"source": "webinar", "mqls": 4, "sqls": 2, "won": 0, "mql_to_sql_pct": 50.0, "sql_to_won_pct": 0.0},
        {"source": "(none)", "mqls": 3, "sqls": 0, "won": 0, "mql_to_sql_pct": 0.0, "sql_to_won_pct": None},
    ]  # fmt: skip
    assert marketing["by_persona"] == [
        {"persona": "Founder", "mqls": 4, "sqls": 1, "won": 0, "mql_to_sql_pct": 25.0, "sql_to_won_pct": 0.0},
        {"persona": "Ops leader", "mqls": 4, "sqls": 2, "won": 1, "mql_to_sql_pct": 50.0, "sql_to_won_pct": 50.0},
        {"persona": "(none)", "mqls": 3, "sqls": 0, "won": 0, "mql_to_sql_pct": 0.0, "sql_to_won_pct": None},
    ]  # fmt: skip
    assert marketing["by_model"] == [
        {"model_version": "1", "mqls": 6, "sqls": 3, "won": 1, "mql_to_sql_pct": 50.0, "sql_to_won_pct": 33.3},
        {"model_version": "2", "mqls": 5, "sqls": 0, "won": 0, "mql_to_sql_pct": 0.0, "sql_to_won_pct": None},
    ]  # fmt: skip


def test_a_stage_move_after_the_handoff_moves_its_conversion(data):
    from leads.models import Lead, Stage
    from leads.services import lead_change_stage

    # Row 2 (webinar, Ops leader, still an MQL) becomes a customer.
    lead = Lead.objects.get(pk=data.handoffs[1].lead_id)
    lead_change_stage(
        lead=lead, to_stage=Stage.objects.get(slug="customer"), now=fx.NOW, force=True
    )
    marketing = selectors.marketing_figures(fx.november())
    webinar = next(r for r in marketing["by_source"] if r["source"] == "webinar")
    assert (webinar["mqls"], webinar["sqls"], webinar["won"]) == (4, 3, 1)
    ops = next(r for r in marketing["by_persona"] if r["persona"] == "Ops leader")
    assert (ops["sqls"], ops["won"]) == (3, 2)


def test_persona_and_source_stay_those_of_the_handoff(data):
    from leads.models import Lead, LeadScore

    # Row 5's lead (ads, Founder) is later rescored as an Ops leader and its source edited.
    lead_id = data.handoffs[4].lead_id
    LeadScore.objects.filter(lead_id=lead_id).update(persona=data.personas["Ops leader"])
    Lead.objects.filter(pk=lead_id).update(source="webinar")
    marketing = selectors.marketing_figures(fx.november())
    assert {r["persona"]: r["mqls"] for r in marketing["by_persona"]} == {
        "Founder": 4,
        "Ops leader": 4,
        "(none)": 3,
    }
    assert {r["source"]: r["mqls"] for r in marketing["by_source"]} == {
        "ads": 4,
        "webinar": 4,
        "(none)": 3,
    }
    founder = selectors.marketing_figures(fx.november(persona_id=data.personas["Founder"].pk))
    assert founder["mqls_delivered"] == 4


def test_filters_narrow_every_figure(data, rep2):
    assert selectors.sales_figures(fx.november(rep_id=rep2.pk))["handoffs"] == 4
    us = selectors.sales_figures(fx.november(team_id=data.teams["US"].pk))
    assert (us["handoffs"], us["touched"], us["within_sla_pct"]) == (2, 1, 100.0)  # rows 10, 11
    ads = selectors.marketing_figures(fx.november(source="ads"))
    assert (ads["mqls_delivered"], ads["acceptance_pct"]) == (4, 50.0)  # rows 3-7 less 6: 2 of 4
    founder = selectors.sales_figures(fx.november(persona_id=data.personas["Founder"].pk))
    assert founder["median_first_touch_min"] == 195.0  # 45 90 300 2000 -> (90 + 300) / 2
    v2 = selectors.marketing_figures(fx.november(model_id=data.models[2].pk))
    assert v2["mqls_delivered"] == 5  # rows 7-11
    first_week = selectors.filters_for_days(fx.NOVEMBER[0], fx.NOVEMBER[0].replace(day=8))
    assert selectors.sales_figures(first_week)["handoffs"] == 4
    # Clocks are picked by their handoff's time and narrowed through the handoffs: Lee's
    # four handoffs (rows 6-9) breached every first-touch clock and three accept clocks.
    lee = selectors.sales_figures(fx.november(rep_id=rep2.pk))
    assert (lee["first_touch_met"], lee["first_touch_breached"], lee["breaches"]) == (0, 4, 7)
    lee_weeks = selectors.weekly_trend(fx.november(rep_id=rep2.pk))
    assert [w["within_sla_pct"] for w in lee_weeks if w["handoffs"]] == [0.0, 0.0]


def test_commitment_is_pro_rata_for_part_of_a_month(data):
    half = selectors.filters_for_days(fx.NOVEMBER[0], fx.NOVEMBER[0].replace(day=15))
    assert selectors.marketing_figures(half)["mqls_committed"] == 5  # 10 * 15 / 30


def test_an_empty_period_has_no_figures_rather_than_zero_percent(data):
    empty = selectors.filters_for_days(
        fx.NOVEMBER[1].replace(year=2030), fx.NOVEMBER[1].replace(year=2030)
    )
    sales = selectors.sales_figures(empty)
    assert (sales["handoffs"], sales["within_sla_pct"], sales["median_first_touch_min"]) == (
        0,
        None,
        None,
    )
    assert selectors.marketing_figures(empty)["acceptance_pct"] is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="percentile_cont is PostgreSQL's")
def test_postgres_percentiles_equal_the_python_fallback(data):
    handoffs = selectors.handoffs_for(fx.november())
    assert selectors.duration_stats(handoffs) == selectors.duration_stats(
        handoffs, force_python=True
    )
    clocks = selectors.clock_counts(fx.november())
    in_db = selectors.rep_table(handoffs, clocks=clocks)
    in_python = selectors.rep_table(handoffs, clocks=clocks, force_python=True)
    assert in_db == in_python
