"""The agreement as people read it: its sections in order, its measurable terms in plain
words (with the MQL definition and the funnel goal it leans on), and what changed between
two versions. Pure reads; the pages and the API share them."""

import difflib
from dataclasses import dataclass, field
from datetime import date

from sla.models import SlaAgreement

SECTIONS: list[tuple[str, str]] = [
    ("marketing_responsibilities", "What Marketing is responsible for"),
    ("sales_responsibilities", "What Sales is responsible for"),
    ("shared_responsibilities", "What we do together"),
    ("communication", "How we communicate"),
    ("handoff_criteria", "When a lead passes to Sales"),
    ("nurture_policy", "Leads that are not ready to buy"),
    ("quota_needs", "How many qualified leads Sales needs"),
    ("touch_policy", "Calls and emails per lead"),
    ("review_cadence", "How often we meet to review"),
]

TERMS: list[tuple[str, str]] = [
    ("accept_within_minutes", "Accept or reject within (business minutes)"),
    ("first_touch_within_minutes", "First touch within (business minutes)"),
    ("min_attempts", "Attempts before a lead may be recycled"),
    ("attempts_within_days", "Days for those attempts"),
    ("pool_claim_within_minutes", "Pool leads claimed within (business minutes)"),
    ("warn_at_percent", "Warn the rep at (% of a window)"),
    ("min_mqls_per_month", "MQLs per month (empty: from the funnel goal)"),
    ("min_acceptance_percent", "Acceptance rate at least (%)"),
    ("max_not_icp_percent", "Rejected as not our ICP at most (%)"),
    ("review_weekday", "Weekly review on (ISO weekday)"),
    ("effective_from", "Effective from"),
    ("effective_to", "Effective to"),
]
LABELS = dict(SECTIONS) | dict(TERMS) | {"title": "Title"}
WEEKDAYS = ["", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}


def _minutes(n: int) -> str:
    text = f"{n} business minute{'s' if n != 1 else ''}"
    if n % 60 == 0 and n >= 120:
        text += f" ({n // 60} hours)"
    return text


@dataclass(frozen=True)
class Context:
    """What the agreement links to, looked up once per page."""

    mql_model: object | None = None  # the active ScoringModel
    goal: object | None = None  # the FunnelGoal in force today
    goal_mqls: int | None = None
    goal_sqls: int | None = None

    @property
    def goal_months(self) -> int:
        return _MONTHS_IN.get(getattr(self.goal, "period_kind", ""), 1)

    @property
    def goal_mqls_per_month(self) -> int | None:
        if self.goal_mqls is None:
            return None
        return -(-self.goal_mqls // self.goal_months)  # round up: a promise, not an average


def context_today(*, today: date) -> Context:
    from goals.selectors import goal_for_period, goal_plan
    from leads.scoring.services import active_model

    goal = goal_for_period(on=today) or goal_for_period(team="marketing", on=today)
    # One plan for both numbers (goal_required_mqls/sqls would each compute it).
    plan = goal_plan(goal) if goal else None
    return Context(
        mql_model=active_model(),
        goal=goal,
        goal_mqls=(plan.needed("mqls") or 0) if plan else None,
        goal_sqls=(plan.needed("sqls") or 0) if plan else None,
    )


@dataclass(frozen=True)
class Term:
    team: str  # "sales" or "marketing"
    text: str
    field_names: tuple[str, ...] = field(default=())


def mqls_per_month(agreement: SlaAgreement, ctx: Context) -> int | None:
    if agreement.min_mqls_per_month is not None:
        return agreement.min_mqls_per_month
    return ctx.goal_mqls_per_month


def terms_in_words(agreement: SlaAgreement, ctx: Context | None = None) -> list[Term]:
    """Every measurable promise as one sentence, in the order the teams discuss them."""
    ctx = ctx or Context()
    a = agreement
    mqls = mqls_per_month(a, ctx)
    if mqls is None:
        mql_text = (
            "Marketing delivers the MQLs the funnel goal asks for (no goal is set for this"
            " period yet)."
        )
    elif a.min_mqls_per_month is None:
        mql_text = (
            f"Marketing delivers at least {mqls} MQLs a month, from the funnel goal"
            f" ({ctx.goal_mqls} in {ctx.goal})."
        )
    else:
        mql_text = f"Marketing delivers at least {mqls} MQLs a month."
    return [
        Term(
            "sales",
            f"Sales accepts or rejects a lead within {_minutes(a.accept_within_minutes)}.",
            ("accept_within_minutes",),
        ),
        Term(
            "sales",
            f"Sales makes the first touch within {_minutes(a.first_touch_within_minutes)}.",
            ("first_touch_within_minutes",),
        ),
        Term(
            "sales",
            f"Sales makes at least {a.min_attempts} attempts within {a.attempts_within_days}"
            " days before a lead may be recycled as unreachable.",
            ("min_attempts", "attempts_within_days"),
        ),
        Term(
            "sales",
            f"A lead in a team pool is claimed within {_minutes(a.pool_claim_within_minutes)}.",
            ("pool_claim_within_minutes",),
        ),
        Term(
            "sales",
            f"The rep is warned when {a.warn_at_percent}% of a window has passed; the manager"
            " hears of every breach, and an unanswered lead goes back to the pool.",
            ("warn_at_percent",),
        ),
        Term("marketing", mql_text, ("min_mqls_per_month",)),
        Term(
            "marketing",
            f"At least {a.min_acceptance_percent}% of the MQLs Marketing sends are accepted"
            " by Sales.",
            ("min_acceptance_percent",),
        ),
        Term(
            "marketing",
            f"At most {a.max_not_icp_percent}% are rejected as not our ICP.",
            ("max_not_icp_percent",),
        ),
        Term(
            "both",
            f"The teams review the figures together every {WEEKDAYS[a.review_weekday]}.",
            ("review_weekday",),
        ),
    ]


# --- What changed between two versions


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: str
    after: str
    # For text sections: [(op, words)] with op "equal", "delete" or "insert".
    words: list[tuple[str, str]] | None = None


def _show(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _word_diff(before: str, after: str) -> list[tuple[str, str]]:
    # Split on spaces but keep line breaks as their own tokens, so paragraphs survive.
    a = before.replace("\n", " \n ").split(" ")
    b = after.replace("\n", " \n ").split(" ")
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(("delete", " ".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(("insert", " ".join(b[j1:j2])))
    return [(op, text) for op, text in out if text.strip(" ")]


def agreement_diff(old: SlaAgreement, new: SlaAgreement) -> list[Change]:
    """The fields whose value differs, sections with a word-level diff."""
    changes = []
    # The effective dates belong to each version's life, not to what it says.
    said = [f for f, _ in TERMS if f not in ("effective_from", "effective_to")]
    for name in ["title", *[f for f, _ in SECTIONS], *said]:
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        words = None
        if name in dict(SECTIONS) or name == "title":
            words = _word_diff(before or "", after or "")
        changes.append(Change(name, LABELS[name], _show(before), _show(after), words))
    return changes
