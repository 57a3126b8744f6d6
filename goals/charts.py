"""Funnel charts (chartkick, drawn by Chart.js from our own static files)."""

from chartkick.django import BarChart

from goals.calculator import FunnelPlan
from goals.selectors import FUNNEL_ORDER, STAGE_LABELS, GoalFigures

# Visits outnumber deals a thousand to one; on a linear axis the bottom of the funnel
# would be invisible.
_LOG_AXIS = {"scales": {"x": {"type": "logarithmic"}}}


def plan_chart(plan: FunnelPlan) -> BarChart:
    data = [[STAGE_LABELS[key], plan.needed(key)] for key in FUNNEL_ORDER if plan.needed(key)]
    return BarChart(data, height="260px", library=_LOG_AXIS, thousands=",", colors=["#0d6efd"])


def pacing_chart(figures: GoalFigures) -> BarChart:
    series = [
        ("Needed", "needed", "#adb5bd"),
        ("Expected by now", "target_to_date", "#0d6efd"),
        ("Actual", "actual", "#198754"),
    ]
    data = [
        {
            "name": name,
            "data": [[s.label, float(getattr(s, attr) or 0)] for s in figures.stages],
        }
        for name, attr, _ in series
    ]
    return BarChart(
        data,
        height="320px",
        library=_LOG_AXIS,
        thousands=",",
        colors=[color for _, _, color in series],
    )
