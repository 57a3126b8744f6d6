from datetime import UTC, date, datetime
from io import StringIO

from goals import seed
from goals.models import FunnelGoal
from goals.selectors import goal_figures


def test_seed_creates_this_and_last_quarters_goals_once_even_without_leads(db):
    now = datetime(2026, 11, 16, tzinfo=UTC)
    seed.run(now=now, stdout=StringIO())
    seed.run(now=now, stdout=StringIO())
    goals = list(FunnelGoal.objects.order_by("period_start"))
    assert [(g.period_kind, g.period_start) for g in goals] == [
        ("quarter", date(2026, 7, 1)),
        ("quarter", date(2026, 10, 1)),
    ]
    # No lead data yet: the blank rates fall back to benchmarks and pacing still computes.
    figures = goal_figures(goals[1], now=now)
    assert figures.plan.needed("deals") == 16
    assert {r.source for r in figures.rates} == {"benchmark", "override"}
    assert all(s.actual == 0 for s in figures.stages)
