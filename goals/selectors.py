"""Reads for goals: the funnel actuals from the lead data, the conversion rates a goal uses,
its plan, and pacing against the actuals.

What counts, in a window [start, end):
- visits: `Activity` rows of type "page_view" (every row, not distinct visitors: the lead data
  holds page views of known leads only, so this undercounts anonymous traffic);
- leads: leads whose `created_at` falls in the window;
- MQLs, SQLs, won deals: distinct leads with a `StageChange` into a stage of kind mql, sql or
  customer in the window;
- won revenue: the won leads' `attributes["deal_value"]` where it is a number, and the goal's
  average deal size for each won lead without one (shown as "estimated").

Rates from history are period-flow ratios (e.g. MQLs moved in the window / leads created in
the window), not cohorts: simple, explainable, and good enough to seed a plan.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import Count, DecimalField, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from goals.calculator import RATES, STAGES, FunnelPlan, reverse_funnel
from goals.models import FunnelGoal, PacingCurve
from goals.periods import add_periods, day_start, weekdays_between, window
from leads.models import Activity, ActivityType, Lead, StageChange, StageKind

# Used when a rate has no usable history (no data, or 0% which would make the plan
# unreachable). Typical B2B figures; every goal page says when one is in use.
BENCHMARK_RATES = {
    "visit_to_lead": Decimal("2.00"),
    "lead_to_mql": Decimal("25.00"),
    "mql_to_sql": Decimal("30.00"),
    "sql_to_won": Decimal("25.00"),
}
FUNNEL_ORDER = ["visits", "leads", "mqls", "sqls", "deals"]  # top of the funnel first
STAGE_LABELS = dict(STAGES)
# Pacing alerts wait until this share of the period has passed: a day into a quarter, one
# missing deal reads as 0% pacing.
ALERT_MIN_ELAPSED = Fraction(1, 10)
_NUMERIC = r"^-?[0-9]+(\.[0-9]+)?$"
_CENT = Decimal("0.01")


def _pct(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator) * 100).quantize(
        _CENT, rounding=ROUND_HALF_UP
    )


@dataclass(frozen=True)
class FunnelActuals:
    visits: int
    leads: int
    mqls: int
    sqls: int
    deals: int
    deals_with_value: int = 0
    known_revenue: Decimal = Decimal(0)

    def count(self, key: str) -> int:
        return getattr(self, key)

    def revenue(self, average_deal_size: Decimal) -> tuple[Decimal, bool]:
        """Won revenue and whether part of it is estimated from the average deal size."""
        missing = self.deals - self.deals_with_value
        return self.known_revenue + missing * average_deal_size, missing > 0


ActualsCache = dict[tuple[datetime, datetime, bool], FunnelActuals]


def funnel_actuals(
    *, start: datetime, end: datetime, with_revenue: bool = True, cache: ActualsCache | None = None
) -> FunnelActuals:
    """Counts for [start, end): four aggregate queries (three without revenue), whatever the
    number of leads. `cache` lets a page with several goals of one period count once."""
    key = (start, end, with_revenue)
    if cache is not None and key in cache:
        return cache[key]
    visits = Activity.objects.filter(
        type=ActivityType.PAGE_VIEW, occurred_at__gte=start, occurred_at__lt=end
    ).count()
    leads = Lead.objects.filter(created_at__gte=start, created_at__lt=end).count()
    moves = StageChange.objects.filter(
        changed_at__gte=start,
        changed_at__lt=end,
        to_stage__kind__in=[StageKind.MQL, StageKind.SQL, StageKind.CUSTOMER],
    ).aggregate(
        mqls=Count("lead", distinct=True, filter=Q(to_stage__kind=StageKind.MQL)),
        sqls=Count("lead", distinct=True, filter=Q(to_stage__kind=StageKind.SQL)),
        deals=Count("lead", distinct=True, filter=Q(to_stage__kind=StageKind.CUSTOMER)),
    )
    known_revenue, with_value = Decimal(0), 0
    if with_revenue and moves["deals"]:
        won = StageChange.objects.filter(
            changed_at__gte=start, changed_at__lt=end, to_stage__kind=StageKind.CUSTOMER
        ).values("lead_id")
        # Only values that are plain numbers: a text like "12k" would make PostgreSQL's cast fail.
        valued = Lead.objects.filter(pk__in=won, attributes__deal_value__regex=_NUMERIC).aggregate(
            total=Sum(
                Cast(
                    KeyTextTransform("deal_value", "attributes"),
                    DecimalField(max_digits=16, decimal_places=2),
                )
            ),
            n=Count("pk"),
        )
        known_revenue = valued["total"] or Decimal(0)
        with_value = valued["n"]
    result = FunnelActuals(
        visits=visits,
        leads=leads,
        mqls=moves["mqls"],
        sqls=moves["sqls"],
        deals=moves["deals"],
        deals_with_value=with_value,
        known_revenue=Decimal(known_revenue).quantize(_CENT),
    )
    if cache is not None:
        cache[key] = result
    return result


def actual_rates(actuals: FunnelActuals) -> dict[str, Decimal | None]:
    """Conversion per rate key in percent, None where nothing entered. Not capped: a flow
    ratio above 100% (more leads than recorded page views, say) is shown as it is, and
    `rate_choices` does not plan with it."""
    rates = {}
    for key, (_, feeds, draws) in RATES.items():
        denominator = actuals.count(draws)
        if denominator == 0:
            rates[key] = None
        else:
            rates[key] = _pct(Fraction(actuals.count(feeds), denominator))
    return rates


@dataclass(frozen=True)
class RateChoice:
    key: str
    label: str
    used: Decimal
    actual: Decimal | None  # from the lookback periods
    override: Decimal | None
    source: str  # "override", "actuals" or "benchmark"
    note: str = ""  # why the actual rate was not used, when it was not


def rate_choices(
    *,
    period_kind: str,
    period_start: date,
    lookback_periods: int,
    overrides: dict[str, Decimal | None],
    cache: ActualsCache | None = None,
) -> tuple[list[RateChoice], FunnelActuals]:
    """The rate each conversion uses for a goal: the override if set, else the actual rate of
    the `lookback_periods` periods before `period_start`, else a benchmark."""
    first = add_periods(period_kind, period_start, -lookback_periods)
    start, end = window(period_kind, first, lookback_periods)
    history = funnel_actuals(start=start, end=end, with_revenue=False, cache=cache)
    actual = actual_rates(history)
    choices = []
    for key, (label, _, _) in RATES.items():
        override, rate, note = overrides.get(key), actual[key], ""
        if override is not None:
            used, source = override, "override"
        elif rate is not None and 0 < rate <= 100:
            used, source = rate, "actuals"
        else:
            used, source = BENCHMARK_RATES[key], "benchmark"
            if rate is None:
                note = "no data in the lookback periods"
            elif rate == 0:
                note = "0% in the lookback periods would make the plan unreachable"
            else:
                # Page views are recorded for known leads only, so traffic can look smaller
                # than the leads it produced.
                note = "above 100% in the lookback periods: the stage above is undercounted"
        choices.append(RateChoice(key, label, used, rate, override, source, note))
    return choices, history


def plan_for(
    *,
    revenue_target: Decimal,
    marketing_share_pct: Decimal,
    average_deal_size: Decimal,
    rates: list[RateChoice],
) -> FunnelPlan:
    return reverse_funnel(
        revenue_target=revenue_target,
        marketing_share_pct=marketing_share_pct,
        average_deal_size=average_deal_size,
        **{choice.key: choice.used for choice in rates},
    )


def goal_rates(goal: FunnelGoal, *, cache: ActualsCache | None = None) -> list[RateChoice]:
    choices, _ = rate_choices(
        period_kind=goal.period_kind,
        period_start=goal.period_start,
        lookback_periods=goal.lookback_periods,
        overrides=goal.rate_overrides(),
        cache=cache,
    )
    return choices


def goal_plan(goal: FunnelGoal, *, cache: ActualsCache | None = None) -> FunnelPlan:
    return plan_for(
        revenue_target=goal.revenue_target,
        marketing_share_pct=goal.marketing_share_pct,
        average_deal_size=goal.average_deal_size,
        rates=goal_rates(goal, cache=cache),
    )


def goal_for_period(*, team: str | None = None, on: date) -> FunnelGoal | None:
    """The goal in force on `on` for `team` (None: the whole company). When a month, a
    quarter and a year goal all cover the day, the most specific one wins."""
    goals = list(
        FunnelGoal.objects.filter(period_start__lte=on, period_end__gte=on, team=team or "")
    )
    goals.sort(key=lambda g: (g.period_end - g.period_start).days)
    return goals[0] if goals else None


def goal_required_mqls(goal: FunnelGoal) -> int:
    """MQLs marketing must deliver in the goal's period (marketing's SLA commitment). Always a
    whole number: the rates a saved goal uses are never 0%."""
    return goal_plan(goal).needed("mqls") or 0


def goal_required_sqls(goal: FunnelGoal) -> int:
    """Qualified leads Sales needs in the goal's period to make marketing's share of quota."""
    return goal_plan(goal).needed("sqls") or 0


def goal_list():
    return FunnelGoal.objects.order_by("-period_start", "period_kind", "team")


# --- Pacing


@dataclass(frozen=True)
class StagePacing:
    key: str
    label: str
    needed: int | None
    target_to_date: Decimal | None
    actual: int
    pacing_pct: Decimal | None  # actual / target to date
    projected: int | None  # at the current run rate, by the end of the period
    gap_to_date: Decimal | None  # actual - target to date (negative: behind)
    projected_gap: int | None  # projected - needed


@dataclass(frozen=True)
class Leak:
    key: str
    label: str
    planned_pct: Decimal
    actual_pct: Decimal
    ratio_pct: Decimal  # actual conversion as a share of the planned one


@dataclass
class GoalFigures:
    goal: FunnelGoal
    rates: list[RateChoice]
    plan: FunnelPlan
    status: str  # "upcoming", "running" or "finished"
    elapsed_pct: Decimal
    stages: list[StagePacing]  # top of the funnel first
    actuals: FunnelActuals
    revenue_actual: Decimal
    revenue_estimated: bool
    revenue_target_to_date: Decimal
    revenue_projected: Decimal | None
    leak: Leak | None
    alert_stages: list[StagePacing] = field(default_factory=list)

    @property
    def worst_stage(self) -> StagePacing | None:
        paced = [s for s in self.stages if s.pacing_pct is not None]
        return min(paced, key=lambda s: s.pacing_pct) if paced else None

    @property
    def worst_pacing_pct(self) -> Decimal | None:
        worst = self.worst_stage
        return worst.pacing_pct if worst else None


def elapsed_fraction(goal: FunnelGoal, *, now: datetime) -> Fraction:
    """How much of the goal's period lies behind `now` (0..1), by the goal's pacing curve."""
    start = day_start(goal.period_start)
    end = day_start(add_periods(goal.period_kind, goal.period_start, 1))
    if now <= start:
        return Fraction(0)
    if now >= end:
        return Fraction(1)
    if goal.pacing_curve == PacingCurve.WEEKDAYS:
        end_day = add_periods(goal.period_kind, goal.period_start, 1)
        total = weekdays_between(goal.period_start, end_day)
        today = timezone.localdate(now)
        done = Fraction(weekdays_between(goal.period_start, today))
        if today.weekday() < 5:
            seconds = int((now - day_start(today)).total_seconds())
            done += Fraction(seconds, 86400)
        return done / total if total else Fraction(1)
    return Fraction(int((now - start).total_seconds()), int((end - start).total_seconds()))


def _leak(plan_rates: list[RateChoice], actuals: FunnelActuals) -> Leak | None:
    worst = None
    for choice in plan_rates:
        _, feeds, draws = RATES[choice.key]
        if actuals.count(draws) == 0 or not choice.used:
            continue
        actual = Fraction(actuals.count(feeds), actuals.count(draws))
        ratio = actual * 100 / Fraction(choice.used)
        if worst is None or ratio < worst[0]:
            worst = (ratio, choice, actual)
    if worst is None:
        return None
    ratio, choice, actual = worst
    return Leak(choice.key, choice.label, choice.used, _pct(actual), _pct(ratio))


def goal_figures(
    goal: FunnelGoal, *, now: datetime, cache: ActualsCache | None = None
) -> GoalFigures:
    """Plan and pacing for one goal at `now`: needed per stage, actual to date, the target to
    date by the pacing curve, the end-of-period projection at the current run rate, the gap,
    and the conversion that leaks most against plan."""
    rates = goal_rates(goal, cache=cache)
    plan = plan_for(
        revenue_target=goal.revenue_target,
        marketing_share_pct=goal.marketing_share_pct,
        average_deal_size=goal.average_deal_size,
        rates=rates,
    )
    start, end = window(goal.period_kind, goal.period_start)
    elapsed = elapsed_fraction(goal, now=now)
    status = "upcoming" if elapsed == 0 else "finished" if elapsed == 1 else "running"
    if status == "upcoming":
        actuals = FunnelActuals(0, 0, 0, 0, 0)
    else:
        actuals = funnel_actuals(start=start, end=min(end, now), cache=cache)

    stages = []
    for key in FUNNEL_ORDER:
        needed = plan.needed(key)
        actual = actuals.count(key)
        target = None if needed is None else _exact_decimal(needed * elapsed)
        pacing = None
        if target:
            pacing = _pct(Fraction(actual) / (needed * elapsed))
        projected = None if elapsed == 0 else round(Fraction(actual) / elapsed)
        stages.append(
            StagePacing(
                key=key,
                label=STAGE_LABELS[key],
                needed=needed,
                target_to_date=target,
                actual=actual,
                pacing_pct=pacing,
                projected=projected,
                gap_to_date=None if target is None else actual - target,
                projected_gap=None if needed is None or projected is None else projected - needed,
            )
        )

    revenue, estimated = actuals.revenue(goal.average_deal_size)
    marketing_revenue = plan.marketing_revenue
    figures = GoalFigures(
        goal=goal,
        rates=rates,
        plan=plan,
        status=status,
        elapsed_pct=_pct(elapsed),
        stages=stages,
        actuals=actuals,
        revenue_actual=revenue,
        revenue_estimated=estimated,
        revenue_target_to_date=_exact_decimal(marketing_revenue * elapsed),
        revenue_projected=None if elapsed == 0 else _exact_decimal(Fraction(revenue) / elapsed),
        leak=_leak(rates, actuals) if status != "upcoming" else None,
    )
    if goal.alert_below_pct is not None and elapsed >= ALERT_MIN_ELAPSED:
        figures.alert_stages = [
            s
            for s in stages
            if s.pacing_pct is not None
            and s.target_to_date is not None
            and s.target_to_date >= 1
            and s.pacing_pct < goal.alert_below_pct
        ]
    return figures


def _exact_decimal(value: Fraction | int) -> Decimal:
    value = Fraction(value)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        _CENT, rounding=ROUND_HALF_UP
    )
