"""The reverse funnel on worked examples, checked by hand."""

from decimal import Decimal
from fractions import Fraction

import pytest

from goals.calculator import CalculatorError, reverse_funnel

BASE = {
    "revenue_target": Decimal("1000000"),
    "marketing_share_pct": Decimal("40"),
    "average_deal_size": Decimal("25000"),
    "visit_to_lead": Decimal("2.5"),
    "lead_to_mql": Decimal("20"),
    "mql_to_sql": Decimal("30"),
    "sql_to_won": Decimal("25"),
}


def plan(**changes):
    return reverse_funnel(**{**BASE, **changes})


def test_worked_example_rounds_up_at_every_step():
    # 1,000,000 x 40% = 400,000 -> 16 deals; / 25% = 64 SQLs; / 30% = 213.33 -> 214 MQLs;
    # / 20% = 1,070 leads; / 2.5% = 42,800 visits.
    result = plan()
    assert result.marketing_revenue == Fraction(400000)
    assert result.as_dict() == {
        "deals": 16,
        "sqls": 64,
        "mqls": 214,
        "leads": 1070,
        "visits": 42800,
    }
    assert result.is_reachable


def test_rounding_uses_the_rounded_count_of_the_stage_below():
    # 30,001 / 10,000 = 3.0001 -> 4 deals (not 3); 4 / 30% = 13.33 -> 14 SQLs;
    # 14 / 33.33% = 42.004 -> 43 MQLs (carrying exact fractions to the end would say 31).
    result = plan(
        revenue_target=30001,
        marketing_share_pct=100,
        average_deal_size=10000,
        sql_to_won=30,
        mql_to_sql="33.33",
        lead_to_mql=50,
        visit_to_lead=10,
    )
    assert result.as_dict() == {"deals": 4, "sqls": 14, "mqls": 43, "leads": 86, "visits": 860}


def test_exact_arithmetic_does_not_round_up_a_whole_number():
    # 0.1 + 0.2 style float error would turn 3 into 3.0000000000000004 and ceil it to 4.
    result = plan(
        revenue_target="0.3",
        marketing_share_pct=100,
        average_deal_size="0.1",
        sql_to_won=100,
        mql_to_sql=100,
        lead_to_mql=100,
        visit_to_lead=100,
    )
    assert result.needed("deals") == 3


def test_hundred_percent_rates_pass_counts_through():
    result = plan(visit_to_lead=100, lead_to_mql=100, mql_to_sql=100, sql_to_won=100)
    assert set(result.as_dict().values()) == {16}


def test_zero_rate_marks_the_stages_above_unreachable_without_crashing():
    result = plan(mql_to_sql=0)
    assert result.as_dict() == {
        "deals": 16,
        "sqls": 64,
        "mqls": None,
        "leads": None,
        "visits": None,
    }
    assert result.blocked_by == "mql_to_sql"
    assert "0% MQL → SQL" in result.blocked_message
    assert not result.is_reachable


def test_zero_top_rate_only_blocks_visits():
    result = plan(visit_to_lead=0)
    assert result.needed("leads") == 1070
    assert result.needed("visits") is None
    assert result.blocked_by == "visit_to_lead"


def test_zero_target_needs_nothing_even_with_zero_rates():
    result = plan(revenue_target=0, sql_to_won=0, visit_to_lead=0)
    assert set(result.as_dict().values()) == {0}
    assert result.is_reachable


def test_zero_marketing_share_needs_nothing():
    assert plan(marketing_share_pct=0).as_dict()["visits"] == 0


def test_tiny_target_still_needs_one_deal():
    assert plan(revenue_target="0.01").needed("deals") == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"revenue_target": -1}, "revenue_target"),
        ({"average_deal_size": 0}, "average_deal_size"),
        ({"marketing_share_pct": "100.01"}, "marketing_share_pct"),
        ({"lead_to_mql": -5}, "lead_to_mql"),
        ({"sql_to_won": 101}, "sql_to_won"),
        ({"visit_to_lead": "abc"}, "visit_to_lead"),
    ],
)
def test_bad_inputs_raise_a_clear_error_naming_the_field(changes, field):
    with pytest.raises(CalculatorError) as info:
        plan(**changes)
    assert field in info.value.extra


def test_floats_are_refused():
    with pytest.raises(TypeError, match="not float"):
        plan(lead_to_mql=20.0)
