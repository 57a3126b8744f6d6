"""Compliance figures behind the SLA dashboards, the API and the weekly review.

Everything is set-based: counts come from conditional aggregation (`Count(filter=Q(...))`)
in a handful of queries whatever the number of handoffs. Medians and p90s use PostgreSQL's
`percentile_cont` when we run on it; elsewhere (SQLite) we fetch the one duration column of
the filtered handoffs and interpolate the same way in Python (tests prove both agree).

Definitions (the dashboard says them in words too):
- the period filters handoffs by `created_at` in [start, end);
- an MQL delivered is a handoff (one per qualification);
- time to first touch runs from the handoff to `first_touch_at`; handoffs never touched
  count in the "never" bin but not in the median;
- "touched within the SLA" is the share of first-touch clocks met among those met or
  breached (running and cancelled clocks are not decided yet);
- accept time runs from the handoff to its answer (accepted, or closed when rejected);
- acceptance rate = accepted / (accepted + rejected); not-ICP share = rejections with the
  reason "not our ICP" / (accepted + rejected): pending handoffs are not decided yet;
- SQL: the handoff was qualified or the lead is now at SQL, opportunity or customer;
  won: the lead is now a customer;
- persona and source are the lead's when it was handed over, like the scoring model: a
  later rescore or edit does not move a handoff to another persona's row.
"""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from math import ceil, floor

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from leads.handoff.models import Handoff, HandoffStatus, RejectReason
from leads.models import StageKind
from sla.models import ClockKind, ClockStatus, SlaAgreement, SlaClock
from sla.services import active_agreement

# Minutes from handoff to first touch: (label, lower bound inclusive, upper bound exclusive).
SPEED_BINS: list[tuple[str, int, int | None]] = [
    ("0-5 min", 0, 5),
    ("5-15 min", 5, 15),
    ("15-30 min", 15, 30),
    ("30-60 min", 30, 60),
    ("1-4 h", 60, 240),
    ("4-24 h", 240, 1440),
    ("> 24 h", 1440, None),
]
NEVER = "never"
TREND_WEEKS = 12
SQL_KINDS = [StageKind.SQL, StageKind.OPPORTUNITY, StageKind.CUSTOMER]


@dataclass(frozen=True)
class ComplianceFilters:
    start: datetime
    end: datetime  # exclusive
    team_id: int | None = None
    rep_id: int | None = None
    persona_id: int | None = None
    source: str | None = None
    model_id: int | None = None

    def as_params(self) -> dict[str, str]:
        """The query string that reproduces these filters (for links and CSV exports)."""
        tz = timezone.get_current_timezone()
        params = {
            "start": self.start.astimezone(tz).date().isoformat(),
            "end": (self.end.astimezone(tz) - timedelta(days=1)).date().isoformat(),
        }
        for key in ("team", "rep", "persona", "source", "model"):
            value = getattr(self, f"{key}_id" if key != "source" else key)
            if value not in (None, ""):
                params[key] = str(value)
        return params


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def filters_for_days(first: date, last: date, **rest) -> ComplianceFilters:
    """Filters for whole local days from `first` to `last`, both included."""
    return ComplianceFilters(
        start=day_start(first), end=day_start(last + timedelta(days=1)), **rest
    )


def default_period(*, now: datetime) -> tuple[date, date]:
    """This month so far."""
    today = timezone.localdate(now)
    return today.replace(day=1), today


# --- Building blocks


def _duration(start_field: str, end_field) -> ExpressionWrapper:
    end = F(end_field) if isinstance(end_field, str) else end_field
    return ExpressionWrapper(end - F(start_field), output_field=DurationField())


ANSWERED_AT = Coalesce("accepted_at", "closed_at")
DURATIONS = {
    "first_touch": ("created_at", "first_touch_at"),
    "accept": ("created_at", ANSWERED_AT),
    "notify": ("created_at", "notified_at"),  # ours: qualify -> rep notified
    "notified_to_touch": ("notified_at", "first_touch_at"),  # theirs
}


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile; nulls are skipped like any aggregate input. Given
    several fractions, it answers them all from one sort, as an array in the same order."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression, fraction: float | tuple[float, ...], **extra):
        # Literals we control (0.5, 0.9), never user input.
        if isinstance(fraction, tuple):
            from django.contrib.postgres.fields import ArrayField

            extra["output_field"] = ArrayField(DurationField())
            literal = "ARRAY[" + ", ".join(repr(float(f)) for f in fraction) + "]"
        else:
            literal = repr(float(fraction))
        super().__init__(expression, fraction=literal, **extra)


def percentile(values: list[float], fraction: float) -> float | None:
    """`percentile_cont` in Python: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = floor(rank), ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 2)


def _use_database_percentiles(force_python: bool) -> bool:
    return connection.vendor == "postgresql" and not force_python


def _percentile_aggregates() -> dict[str, PercentileCont]:
    """Median and p90 of each duration: one sort per duration."""
    return {
        f"{key}_percentiles": PercentileCont(_duration(start, end), (0.5, 0.9))
        for key, (start, end) in DURATIONS.items()
    }


def _percentile_rows(row: dict) -> dict[str, dict[str, float | None]]:
    rows = {}
    for key in DURATIONS:
        # An aggregate over no row is NULL, not an array of NULLs.
        median, p90 = row[f"{key}_percentiles"] or (None, None)
        rows[key] = {"median": _minutes(median), "p90": _minutes(p90)}
    return rows


def duration_stats(
    handoffs: QuerySet, *, force_python: bool = False
) -> dict[str, dict[str, float | None]]:
    """Median and p90 in minutes of every duration in DURATIONS: one query on PostgreSQL,
    one single-column fetch per duration elsewhere."""
    if _use_database_percentiles(force_python):
        return _percentile_rows(handoffs.order_by().aggregate(**_percentile_aggregates()))
    stats = {}
    for key, (start, end) in DURATIONS.items():
        values = [
            d.total_seconds()
            for d in handoffs.order_by()
            .annotate(d=_duration(start, end))
            .filter(d__isnull=False)
            .values_list("d", flat=True)
        ]
        median, p90 = percentile(values, 0.5), percentile(values, 0.9)
        stats[key] = {
            "median": None if median is None else round(median / 60, 2),
            "p90": None if p90 is None else round(p90 / 60, 2),
        }
    return stats


def _first_touch_median_by(handoffs: QuerySet, group: str) -> dict[object, float | None]:
    """Median minutes to first touch per `group` value, interpolated in Python (where the
    database has no percentile_cont; rep_table asks PostgreSQL in its own query)."""
    duration = _duration("created_at", "first_touch_at")
    grouped: dict[object, list[float]] = defaultdict(list)
    for key, value in (
        handoffs.order_by().annotate(d=duration).filter(d__isnull=False).values_list(group, "d")
    ):
        grouped[key].append(value.total_seconds())
    return {key: round(percentile(values, 0.5) / 60, 2) for key, values in grouped.items()}


def _share(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


def policy() -> SlaAgreement:
    """The agreement in force, or the default terms when none is signed yet."""
    return active_agreement() or SlaAgreement(version=0)


def handoffs_for(f: ComplianceFilters) -> QuerySet:
    period = Q(created_at__gte=f.start, created_at__lt=f.end)
    return Handoff.objects.filter(period, _narrowing(f)).order_by()


def _narrowing(f: ComplianceFilters) -> Q:
    """Every filter but the period, on the handoffs (an empty Q when there is none)."""
    q = Q()
    if f.team_id:
        q &= Q(team_id=f.team_id)
    if f.rep_id:
        q &= Q(owner_id=f.rep_id)
    if f.persona_id:
        q &= Q(persona_id=f.persona_id)
    if f.source:
        q &= Q(source=f.source)
    if f.model_id:
        q &= Q(scoring_model_id=f.model_id)
    return q


def clocks_for(f: ComplianceFilters) -> QuerySet:
    """The SLA clocks of the handoffs `handoffs_for(f)` selects. The period is a range over
    the handoff creation time each clock carries (index `slaclock_period`, no join); other
    filters still go through the handoffs."""
    qs = SlaClock.objects.filter(handoff_created_at__gte=f.start, handoff_created_at__lt=f.end)
    if narrowing := _narrowing(f):
        qs = qs.filter(handoff__in=Handoff.objects.filter(narrowing).values("pk"))
    return qs.order_by()


# --- Sales side


def _speed_bins() -> dict[str, Count]:
    counts = {}
    for n, (_, low, high) in enumerate(SPEED_BINS):
        condition = Q(first_touch_at__gte=F("created_at") + timedelta(minutes=low))
        if high is not None:
            condition &= Q(first_touch_at__lt=F("created_at") + timedelta(minutes=high))
        counts[f"bin{n}"] = Count("pk", filter=condition)
    counts["never"] = Count("pk", filter=Q(first_touch_at__isnull=True))
    return counts


def _speed_rows(row: dict) -> list[dict]:
    bins = [
        {"bin": label, "handoffs": row[f"bin{n}"]} for n, (label, _, _) in enumerate(SPEED_BINS)
    ]
    return [*bins, {"bin": NEVER, "handoffs": row["never"]}]


def handoff_totals(
    handoffs: QuerySet,
    *,
    force_python: bool = False,
    with_durations: bool = True,
    min_attempts: int | None = None,
) -> dict:
    """Every count over the period's handoffs that both sides show, the speed-to-lead bins,
    the attempts against `min_attempts` (when given) and the duration percentiles (in the
    same pass on PostgreSQL): one pass over the handoffs whatever the number of figures."""
    aggregates = {
        "handoffs": Count("pk"),
        "accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
        "rejected": Count("pk", filter=Q(status=HandoffStatus.REJECTED)),
        "not_icp": Count(
            "pk", filter=Q(status=HandoffStatus.REJECTED, reject_reason=RejectReason.NOT_ICP)
        ),
        "touched": Count("pk", filter=Q(first_touch_at__isnull=False)),
        **_speed_bins(),
        **(_attempt_counts(min_attempts) if min_attempts is not None else {}),
    }
    database_percentiles = with_durations and _use_database_percentiles(force_python)
    if database_percentiles:
        aggregates.update(_percentile_aggregates())
    totals = handoffs.order_by().aggregate(**aggregates)
    if database_percentiles:
        totals["durations"] = _percentile_rows(totals)
    elif with_durations:
        totals["durations"] = duration_stats(handoffs, force_python=True)
    return totals


def _attempt_counts(min_attempts: int) -> dict:
    """The handoffs that owe attempts (rejected ones do not) by the touch count each
    carries: 0, 1, ... min_attempts or more, and their touches in all."""
    owed = ~Q(status=HandoffStatus.REJECTED)
    counts = {
        f"touches_{n}": Count("pk", filter=owed & Q(touch_count=n)) for n in range(min_attempts)
    }
    counts["touches_enough"] = Count("pk", filter=owed & Q(touch_count__gte=min_attempts))
    counts["touches_owed"] = Count("pk", filter=owed)
    counts["touches_logged"] = Coalesce(Sum("touch_count", filter=owed), 0)
    return counts


def attempts(totals: dict, *, min_attempts: int) -> dict:
    """Touches per lead against the policy's minimum: average, share meeting it, and a
    distribution 0, 1, ... min_attempts or more, from `handoff_totals(...,
    min_attempts=min_attempts)`."""
    total, touches = totals["touches_owed"], totals["touches_logged"]
    meeting = totals["touches_enough"]
    distribution = [
        {"touches": str(n), "leads": totals[f"touches_{n}"]} for n in range(min_attempts)
    ]
    distribution.append({"touches": f"{min_attempts}+", "leads": meeting})
    return {
        "min_attempts": min_attempts,
        "leads": total,
        "touches": touches,
        "average": None if not total else round(touches / total, 2),
        "meeting_policy": meeting,
        "meeting_policy_pct": _share(meeting, total),
        "distribution": distribution,
    }


def clock_counts(f: ComplianceFilters) -> dict[int | None, dict]:
    """Per clock owner (None: nobody owned the clock), the first-touch clocks met and
    missed and the breaches of any promise, over the clocks of the filtered handoffs: one
    query serves the headline figures (summed) and the rep table. Clocks count against the
    rep who owned them, so a lead escalated away still counts against the rep who let it
    lapse."""
    rows = (
        clocks_for(f)
        .values("owner_id")
        .annotate(
            # Counting the (never null) status, not the id: every column read is in
            # `slaclock_period`, so the index answers alone (an index-only scan).
            met=Count("status", filter=Q(kind=ClockKind.FIRST_TOUCH, status=ClockStatus.MET)),
            missed=Count(
                "status", filter=Q(kind=ClockKind.FIRST_TOUCH, status=ClockStatus.BREACHED)
            ),
            breaches=Count("status", filter=Q(status=ClockStatus.BREACHED)),
        )
    )
    return {row["owner_id"]: row for row in rows}


def rep_table(
    handoffs: QuerySet,
    *,
    clocks: dict[int | None, dict],
    force_python: bool = False,
) -> list[dict]:
    """One row per rep who owns handoffs in the period, busiest first. Breaches and the SLA
    share count the clocks each rep owned (see `clock_counts`)."""
    User = get_user_model()
    owned = handoffs.filter(owner__isnull=False).order_by()
    counts = {
        "handoffs": Count("pk"),
        "accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
        "rejected": Count("pk", filter=Q(status=HandoffStatus.REJECTED)),
        "touched": Count("pk", filter=Q(first_touch_at__isnull=False)),
    }
    if _use_database_percentiles(force_python):
        counts["median"] = PercentileCont(_duration("created_at", "first_touch_at"), 0.5)
        rows = {r["owner_id"]: r for r in owned.values("owner_id").annotate(**counts)}
        medians = {owner_id: _minutes(r["median"]) for owner_id, r in rows.items()}
    else:
        rows = {r["owner_id"]: r for r in owned.values("owner_id").annotate(**counts)}
        medians = _first_touch_median_by(owned, "owner_id")
    owner_ids = set(rows) | {owner_id for owner_id in clocks if owner_id is not None}
    names = {
        pk: f"{first} {last}".strip() or username
        for pk, username, first, last in User.objects.filter(pk__in=owner_ids).values_list(
            "pk", "username", "first_name", "last_name"
        )
    }
    table = []
    for owner_id in owner_ids:
        base = rows.get(owner_id, {})
        clock = clocks.get(owner_id, {})
        met, missed = clock.get("met", 0), clock.get("missed", 0)
        table.append(
            {
                "rep_id": owner_id,
                "rep": names.get(owner_id, f"#{owner_id}"),
                "handoffs": base.get("handoffs", 0),
                "accepted": base.get("accepted", 0),
                "rejected": base.get("rejected", 0),
                "touched": base.get("touched", 0),
                "median_first_touch_min": medians.get(owner_id),
                "within_sla_pct": _share(met, met + missed),
                "breaches": clock.get("breaches", 0),
            }
        )
    table.sort(key=lambda r: (-r["handoffs"], r["rep"]))
    return table


def weekly_trend(f: ComplianceFilters, *, weeks: int = TREND_WEEKS) -> list[dict]:
    """The last `weeks` weeks (Monday to Sunday, local time) up to the period's end, with
    the period filter widened to cover them and every other filter kept."""
    tz = timezone.get_current_timezone()
    last_day = (f.end.astimezone(tz) - timedelta(microseconds=1)).date()
    first_monday = last_day - timedelta(days=last_day.weekday()) - timedelta(weeks=weeks - 1)
    wide = replace(f, start=day_start(first_monday))
    # Two single-table reads: the handoffs per week, and their first-touch clocks per week
    # of the handoff (one clock per handoff and kind) straight from the clock index.
    handoff_rows = (
        handoffs_for(wide)
        .annotate(week=TruncWeek("created_at", tzinfo=tz))
        .values("week")
        .annotate(  # non-null columns of `handoff_created`: an index-only scan
            handoffs=Count("created_at"),
            accepted=Count("created_at", filter=Q(accepted_at__isnull=False)),
        )
    )
    clock_rows = (
        clocks_for(wide)
        .filter(kind=ClockKind.FIRST_TOUCH)
        .annotate(week=TruncWeek("handoff_created_at", tzinfo=tz))
        .values("week")
        .annotate(  # index-only, as in clock_counts
            met=Count("status", filter=Q(status=ClockStatus.MET)),
            missed=Count("status", filter=Q(status=ClockStatus.BREACHED)),
        )
    )

    def local_monday(value) -> date:
        return value.astimezone(tz).date() if isinstance(value, datetime) else value

    by_week = {local_monday(row["week"]): row for row in handoff_rows}
    clocks_by_week = {local_monday(row["week"]): row for row in clock_rows}
    trend = []
    for n in range(weeks):
        monday = first_monday + timedelta(weeks=n)
        row = by_week.get(monday, {})
        clock = clocks_by_week.get(monday, {})
        met, missed = clock.get("met", 0), clock.get("missed", 0)
        trend.append(
            {
                "week": monday.isoformat(),
                "handoffs": row.get("handoffs", 0),
                "accepted": row.get("accepted", 0),
                "within_sla_pct": _share(met, met + missed),
            }
        )
    return trend


def sales_figures(
    f: ComplianceFilters,
    *,
    terms: SlaAgreement | None = None,
    force_python: bool = False,
    totals: dict | None = None,
) -> dict:
    handoffs = handoffs_for(f)
    terms = terms or policy()
    if totals is None:
        totals = handoff_totals(
            handoffs, force_python=force_python, min_attempts=terms.min_attempts
        )
    clocks = clock_counts(f)
    met = sum(row["met"] for row in clocks.values())
    breached = sum(row["missed"] for row in clocks.values())
    durations = totals["durations"]
    return {
        "handoffs": totals["handoffs"],
        "accepted": totals["accepted"],
        "rejected": totals["rejected"],
        "touched": totals["touched"],
        "first_touch_within_minutes": terms.first_touch_within_minutes,
        "accept_within_minutes": terms.accept_within_minutes,
        "median_first_touch_min": durations["first_touch"]["median"],
        "p90_first_touch_min": durations["first_touch"]["p90"],
        "median_accept_min": durations["accept"]["median"],
        "first_touch_met": met,
        "first_touch_breached": breached,
        "within_sla_pct": _share(met, met + breached),
        "breaches": sum(row["breaches"] for row in clocks.values()),
        "speed_to_lead": _speed_rows(totals),
        "attempts": attempts(totals, min_attempts=terms.min_attempts),
        "reps": rep_table(handoffs, clocks=clocks, force_python=force_python),
        "weekly": weekly_trend(f),
        "latency": _latency(durations),
    }


def _latency(durations: dict) -> list[dict]:
    return [
        {
            "step": "Qualified -> rep notified (ours)",
            "median_min": durations["notify"]["median"],
            "p90_min": durations["notify"]["p90"],
        },
        {
            "step": "Rep notified -> first touch (theirs)",
            "median_min": durations["notified_to_touch"]["median"],
            "p90_min": durations["notified_to_touch"]["p90"],
        },
    ]


# --- Marketing side


def committed_mqls(f: ComplianceFilters, terms: SlaAgreement) -> tuple[int | None, str]:
    """Marketing's MQL commitment for the period, pro rata by day: the agreement's monthly
    minimum, else the funnel goal's required MQLs. (None, why) when neither is set."""
    from goals.selectors import goal_for_period, goal_required_mqls

    tz = timezone.get_current_timezone()
    first = f.start.astimezone(tz).date()
    last = (f.end.astimezone(tz) - timedelta(microseconds=1)).date()
    if terms.min_mqls_per_month:
        total, day = 0.0, first
        while day <= last:
            month_end = _month_end(day)
            span_end = min(month_end, last)
            days = (span_end - day).days + 1
            total += terms.min_mqls_per_month * days / month_end.day
            day = span_end + timedelta(days=1)
        return round(total), f"SLA v{terms.version}: {terms.min_mqls_per_month} MQLs a month"
    goal = goal_for_period(on=first)
    if goal is None:
        return None, "No monthly minimum in the SLA and no funnel goal for the period"
    needed = goal_required_mqls(goal)
    goal_days = (goal.period_end - goal.period_start).days + 1
    overlap = (min(last, goal.period_end) - max(first, goal.period_start)).days + 1
    share = max(overlap, 0) / goal_days
    return round(needed * share), f"Funnel goal {goal}: {needed} MQLs in its period"


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


BREAKDOWNS = [
    ("by_persona", "persona__name", "persona"),
    ("by_source", "source", "source"),
    ("by_model", "scoring_model__version", "model_version"),
]


def conversions(handoffs: QuerySet) -> dict[str, list[dict]]:
    """MQL -> SQL -> won by persona, by source and by model version: one scan of the
    handoffs (each carries its lead's stage, persona and source) grouped by the three
    together, then summed per dimension over those few group rows."""
    groups = [field for _, field, _ in BREAKDOWNS]
    rows = handoffs.values(*groups).annotate(
        mqls=Count("pk"),
        sqls=Count(
            "pk", filter=Q(status=HandoffStatus.QUALIFIED) | Q(lead_stage__kind__in=SQL_KINDS)
        ),
        won=Count("pk", filter=Q(lead_stage__kind=StageKind.CUSTOMER)),
    )
    sums: dict[str, dict] = {name: defaultdict(lambda: [0, 0, 0]) for name, _, _ in BREAKDOWNS}
    for row in rows:
        for name, field_name, _ in BREAKDOWNS:
            total = sums[name][row[field_name]]
            total[0] += row["mqls"]
            total[1] += row["sqls"]
            total[2] += row["won"]
    result = {}
    for name, _, label in BREAKDOWNS:
        table = [
            {
                label: "(none)" if key in (None, "") else str(key),
                "mqls": mqls,
                "sqls": sqls,
                "won": won,
                "mql_to_sql_pct": _share(sqls, mqls),
                "sql_to_won_pct": _share(won, sqls),
            }
            for key, (mqls, sqls, won) in sums[name].items()
        ]
        # Busiest first; "(none)" after named groups of the same size.
        table.sort(key=lambda r: (-r["mqls"], r[label] == "(none)", r[label]))
        result[name] = table
    return result


def rejection_reasons(handoffs: QuerySet) -> list[dict]:
    labels = dict(RejectReason.choices)
    rows = (
        handoffs.filter(status=HandoffStatus.REJECTED)
        .values("reject_reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reject_reason")
    )
    total = sum(r["n"] for r in rows)
    return [
        {
            "reason": labels.get(r["reject_reason"], r["reject_reason"] or "(no reason)"),
            "code": r["reject_reason"],
            "rejected": r["n"],
            "share_pct": _share(r["n"], total),
        }
        for r in rows
    ]


def marketing_figures(
    f: ComplianceFilters, *, terms: SlaAgreement | None = None, totals: dict | None = None
) -> dict:
    handoffs = handoffs_for(f)
    terms = terms or policy()
    if totals is None:
        totals = handoff_totals(handoffs, with_durations=False)
    decided = totals["accepted"] + totals["rejected"]
    committed, committed_from = committed_mqls(f, terms)
    return {
        "mqls_delivered": totals["handoffs"],
        "mqls_committed": committed,
        "mqls_committed_from": committed_from,
        "delivered_pct": _share(totals["handoffs"], committed) if committed else None,
        "accepted": totals["accepted"],
        "rejected": totals["rejected"],
        "acceptance_pct": _share(totals["accepted"], decided),
        "acceptance_target_pct": terms.min_acceptance_percent,
        "not_icp": totals["not_icp"],
        "not_icp_pct": _share(totals["not_icp"], decided),
        "not_icp_max_pct": terms.max_not_icp_percent,
        "rejection_reasons": rejection_reasons(handoffs),
        **conversions(handoffs),
    }


@dataclass
class Compliance:
    filters: ComplianceFilters
    terms: SlaAgreement
    sales: dict = field(default_factory=dict)
    marketing: dict = field(default_factory=dict)


def compliance(f: ComplianceFilters, *, sales: bool = True, marketing: bool = True) -> Compliance:
    terms = policy()
    # Both sides count the same handoffs: one pass serves the two.
    totals = handoff_totals(
        handoffs_for(f), with_durations=sales, min_attempts=terms.min_attempts if sales else None
    )
    return Compliance(
        filters=f,
        terms=terms,
        sales=sales_figures(f, terms=terms, totals=totals) if sales else {},
        marketing=marketing_figures(f, terms=terms, totals=totals) if marketing else {},
    )


# The tables a page can export as CSV: name -> (side, key in that side's figures).
TABLES = {
    "speed_to_lead": ("sales", "speed_to_lead"),
    "attempts": ("sales", ("attempts", "distribution")),
    "reps": ("sales", "reps"),
    "weekly": ("sales", "weekly"),
    "latency": ("sales", "latency"),
    "rejection_reasons": ("marketing", "rejection_reasons"),
    "by_persona": ("marketing", "by_persona"),
    "by_source": ("marketing", "by_source"),
    "by_model": ("marketing", "by_model"),
}


def table_rows(figures: Compliance, name: str) -> list[dict]:
    side, key = TABLES[name]
    data = getattr(figures, side)
    if isinstance(key, tuple):
        for part in key:
            data = data[part]
        return data
    return data[key]
