"""The reverse funnel: from a revenue target back to the traffic it takes.

A pure function on exact numbers. Every input is converted to a `Fraction` (from int, str or
Decimal, never from float noise), and each step is rounded UP: half a deal is a deal you still
have to find, so the count needed is always a whole number at least as large as the exact one.
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from smarketing.errors import ApplicationError

Number = int | str | Decimal | Fraction

# The stages from the bottom of the funnel up, and the conversion that feeds each one from the
# stage above it (None for the top).
STAGES = [
    ("deals", "Won deals"),
    ("sqls", "SQLs"),
    ("mqls", "MQLs"),
    ("leads", "Leads"),
    ("visits", "Visits"),
]
# rate key -> (label, the stage it feeds, the stage it draws from)
RATES = {
    "visit_to_lead": ("Visit → lead", "leads", "visits"),
    "lead_to_mql": ("Lead → MQL", "mqls", "leads"),
    "mql_to_sql": ("MQL → SQL", "sqls", "mqls"),
    "sql_to_won": ("SQL → won", "deals", "sqls"),
}
# Walking up the funnel: the rate that turns the stage above into the stage below.
_UPWARD = [
    ("sqls", "sql_to_won"),
    ("mqls", "mql_to_sql"),
    ("leads", "lead_to_mql"),
    ("visits", "visit_to_lead"),
]
_HUNDRED = Fraction(100)


class CalculatorError(ApplicationError):
    """An input the funnel cannot be computed from (negative, above 100%, no deal size)."""


@dataclass(frozen=True)
class StageNeed:
    key: str
    label: str
    needed: int | None  # None: no finite number is enough (a 0% rate below it)


@dataclass(frozen=True)
class FunnelPlan:
    marketing_revenue: Fraction
    stages: list[StageNeed]
    # Set when a 0% rate makes the stages above it unreachable; says which rate and why.
    blocked_by: str | None = None
    blocked_message: str = ""

    def needed(self, key: str) -> int | None:
        for stage in self.stages:
            if stage.key == key:
                return stage.needed
        raise KeyError(key)

    @property
    def marketing_revenue_amount(self) -> Decimal:
        """Marketing's revenue target in cents, for display."""
        exact = Decimal(self.marketing_revenue.numerator) / Decimal(
            self.marketing_revenue.denominator
        )
        return exact.quantize(Decimal("0.01"))

    @property
    def is_reachable(self) -> bool:
        return self.blocked_by is None

    def as_dict(self) -> dict[str, int | None]:
        return {stage.key: stage.needed for stage in self.stages}


def _exact(value: Number, field: str) -> Fraction:
    if isinstance(value, float):
        # A float already carries binary rounding error; refuse it rather than hide it.
        raise TypeError(f"{field}: pass int, str, Decimal or Fraction, not float")
    try:
        return Fraction(value)
    except (ValueError, TypeError, ZeroDivisionError):
        raise CalculatorError(
            f"{field} is not a number.", extra={field: ["Enter a number."]}
        ) from None


def _percent(value: Number, field: str) -> Fraction:
    pct = _exact(value, field)
    if pct < 0 or pct > _HUNDRED:
        raise CalculatorError(
            f"{field} must be between 0 and 100%.",
            extra={field: ["Enter a percentage between 0 and 100."]},
        )
    return pct / _HUNDRED


def reverse_funnel(
    *,
    revenue_target: Number,
    marketing_share_pct: Number,
    average_deal_size: Number,
    visit_to_lead: Number,
    lead_to_mql: Number,
    mql_to_sql: Number,
    sql_to_won: Number,
) -> FunnelPlan:
    """What it takes to reach `revenue_target`, marketing's share of it. Rates and the share
    are percentages (0-100). A 0% rate is not an error: the stages above it come back as None
    ("no number is enough") and `blocked_by` names the rate, unless nothing is needed below
    it anyway (then zero is enough)."""
    revenue = _exact(revenue_target, "revenue_target")
    if revenue < 0:
        raise CalculatorError(
            "The revenue target cannot be negative.",
            extra={"revenue_target": ["Enter zero or more."]},
        )
    share = _percent(marketing_share_pct, "marketing_share_pct")
    deal_size = _exact(average_deal_size, "average_deal_size")
    if deal_size <= 0:
        raise CalculatorError(
            "The average deal size must be more than zero.",
            extra={"average_deal_size": ["Enter an amount above zero."]},
        )
    rates = {
        "visit_to_lead": _percent(visit_to_lead, "visit_to_lead"),
        "lead_to_mql": _percent(lead_to_mql, "lead_to_mql"),
        "mql_to_sql": _percent(mql_to_sql, "mql_to_sql"),
        "sql_to_won": _percent(sql_to_won, "sql_to_won"),
    }

    marketing_revenue = revenue * share
    counts: dict[str, int | None] = {"deals": math.ceil(marketing_revenue / deal_size)}
    below = "deals"
    blocked_by = None
    for stage, rate_key in _UPWARD:
        previous = counts[below]
        rate = rates[rate_key]
        if previous is None:
            counts[stage] = None
        elif previous == 0:
            counts[stage] = 0
        elif rate == 0:
            counts[stage] = None
            blocked_by = blocked_by or rate_key
        else:
            counts[stage] = math.ceil(previous / rate)
        below = stage

    message = ""
    if blocked_by:
        label, feeds, draws = RATES[blocked_by]
        message = (
            f"At a 0% {label} rate no number of {dict(STAGES)[draws].lower()} produces the "
            f"{dict(STAGES)[feeds].lower()} needed; raise that rate to see the funnel above it."
        )
    return FunnelPlan(
        marketing_revenue=marketing_revenue,
        stages=[StageNeed(key, label, counts[key]) for key, label in STAGES],
        blocked_by=blocked_by,
        blocked_message=message,
    )
