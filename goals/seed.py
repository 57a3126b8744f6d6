"""Demo goals: this quarter's and last quarter's company-wide funnel goals. Idempotent: a
goal that exists for the period is left as it is (a demo user may have edited it)."""

from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from goals import services
from goals.models import FunnelGoal
from goals.periods import PeriodKind, add_periods, period_start


def _goals(this_quarter) -> list[dict]:
    return [
        {
            "period_kind": PeriodKind.QUARTER,
            "period_start": add_periods(PeriodKind.QUARTER, this_quarter, -1),
            "revenue_target": Decimal(900000),
            "marketing_share_pct": Decimal(35),
            "average_deal_size": Decimal(18000),
            "rate_visit_to_lead": Decimal("2.20"),
            "rate_lead_to_mql": Decimal("24.00"),
            "rate_mql_to_sql": Decimal("35.00"),
            "rate_sql_to_won": Decimal("22.00"),
            "lookback_periods": 2,
            "notes": "Last quarter's plan, agreed at the quarterly review.",
        },
        {
            "period_kind": PeriodKind.QUARTER,
            "period_start": this_quarter,
            "revenue_target": Decimal(800000),
            "marketing_share_pct": Decimal(40),
            "average_deal_size": Decimal(20000),
            # Visits are the page views of known leads, so the agreed visit -> lead rate is
            # far above a web-analytics one. Lead -> MQL and MQL -> SQL follow the actuals.
            "rate_visit_to_lead": Decimal("25.00"),
            "rate_sql_to_won": Decimal("25.00"),
            "lookback_periods": 2,
            "alert_below_pct": Decimal(75),
            "notes": "Board number: 800k new ARR, 40% marketing-sourced.",
        },
    ]


def run(*, now: datetime, stdout) -> None:
    this_quarter = period_start(PeriodKind.QUARTER, timezone.localdate(now))
    actor = get_user_model().objects.filter(username="marcus").first()
    created = 0
    for data in _goals(this_quarter):
        exists = FunnelGoal.objects.filter(
            period_kind=data["period_kind"], period_start=data["period_start"], team=""
        ).exists()
        if not exists:
            services.goal_create(data=data, actor=actor, now=now)
            created += 1
    stdout.write(f"goals: {created} demo goal(s) created, {2 - created} already there.")
