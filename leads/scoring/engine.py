"""The one scoring function: (lead, its activities, the model, now) -> fit, engagement, total,
whether it is an MQL and a breakdown that explains every point.

Pure: no database, no clock. Incremental scoring, the decay sweep, the bulk rescore and the
backtest all call `score_lead` on rows they fetched; tests prove they agree.

A "lead" is anything with the lead's field names (a model instance or a dict from
`.values()`); activities are `Fact`s. Rules arrive compiled (see `compile_model`), so a
bulk run pays for parsing conditions once, not once per lead.
"""

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

Check = Callable[[Any], bool | None]  # lead -> matched / missed / unknown

FIT, ENGAGEMENT, GATE = "fit", "engagement", "gate"


@dataclass(frozen=True)
class Fact:
    """One activity as scoring sees it."""

    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonaMatch:
    """The lead's best persona, from the fit engine."""

    name: str
    fit: int  # 0-100
    agreed: bool


@dataclass(frozen=True)
class FitRule:
    key: str
    description: str  # "Industry is one of Logistics, Retail"
    points: int
    check: Check | None = None  # None: a persona-fit rule, points scaled by the best fit


@dataclass(frozen=True)
class EngagementRule:
    key: str
    activity_type: str
    points: float  # per occurrence; negative for unsubscribes and bounces
    description: str = ""
    property_check: Callable[[Mapping[str, Any]], bool] | None = None
    property_name: str | None = None  # the key property_check reads (None: it may read any)
    cap: int | None = None  # most points (in magnitude) this rule can give
    window_days: int | None = None  # only activities this recent count
    half_life_days: float | None = None  # an activity's points halve every this many days


@dataclass(frozen=True)
class Exclusion:
    description: str  # "Email domain is a competitor's"
    check: Check


@dataclass(frozen=True)
class MqlRule:
    min_fit: int = 0
    min_engagement: int = 0
    min_total: int | None = None  # when set, total alone decides instead of fit and engagement
    require_agreed_persona: bool = False
    min_persona_fit: int = 0
    block_do_not_contact: bool = True
    exclusions: tuple[Exclusion, ...] = ()
    hand_raisers: tuple[str, ...] = ("demo_request",)
    hand_raiser_days: int = 30  # a demo request older than this no longer qualifies alone


@dataclass(frozen=True)
class CompiledModel:
    version: int | None
    fit_rules: tuple[FitRule, ...]
    engagement_rules: tuple[EngagementRule, ...]
    mql: MqlRule

    @cached_property
    def fact_types(self) -> frozenset[str]:
        """The activity types that can change a score under this model: no other fact
        needs to be read."""
        return frozenset(r.activity_type for r in self.engagement_rules) | frozenset(
            self.mql.hand_raisers
        )

    @cached_property
    def property_types(self) -> frozenset[str]:
        """The activity types whose properties a rule looks into."""
        return frozenset(r.activity_type for r in self.engagement_rules if r.property_check)

    @cached_property
    def property_names(self) -> frozenset[str] | None:
        """The property keys the rules read (None when a rule may read any of them)."""
        checks = [r for r in self.engagement_rules if r.property_check]
        if any(r.property_name is None for r in checks):
            return None
        return frozenset(r.property_name for r in checks)


@dataclass(frozen=True)
class Line:
    """One explained contribution: a rule's points, or a gate that decided the MQL verdict."""

    kind: str  # fit / engagement / gate
    rule: str
    points: int
    text: str


@dataclass(frozen=True)
class Score:
    fit: int
    engagement: int
    total: int
    is_mql: bool
    verdict: str  # plain words: why it is or is not an MQL
    lines: tuple[Line, ...]
    version: int | None = None

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "fit": self.fit,
            "engagement": self.engagement,
            "total": self.total,
            "is_mql": self.is_mql,
            "verdict": self.verdict,
            "lines": [
                {"kind": ln.kind, "rule": ln.rule, "points": ln.points, "text": ln.text}
                for ln in self.lines
            ],
        }

    def as_json(self) -> str:
        """`as_dict` as the text PostgreSQL prints for it as jsonb (keys by length, then
        bytes; ", " and ": " between), so a stored explanation compares by its digest."""
        return json.dumps(
            {
                "fit": self.fit,
                "lines": [
                    {"kind": ln.kind, "rule": ln.rule, "text": ln.text, "points": ln.points}
                    for ln in self.lines
                ],
                "total": self.total,
                "is_mql": self.is_mql,
                "verdict": self.verdict,
                "version": self.version,
                "engagement": self.engagement,
            },
            ensure_ascii=False,
        )


def round_points(value: float) -> int:
    """Half away from zero, so +2.5 and -2.5 mirror each other (Python's round would not)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _field(lead: Any, name: str) -> Any:
    if type(lead) is dict:  # the bulk paths' rows: skip the slower ABC check
        return lead.get(name)
    return lead.get(name) if isinstance(lead, Mapping) else getattr(lead, name, None)


def _signed(points: int) -> str:
    return f"+{points}" if points > 0 else str(points)


def score_fit(lead: Any, model: CompiledModel, persona: PersonaMatch | None) -> list[Line]:
    lines = []
    for rule in model.fit_rules:
        if rule.check is None:
            if persona is None:
                lines.append(Line(FIT, rule.key, 0, "No persona matches this lead (0)"))
                continue
            points = round_points(rule.points * persona.fit / 100)
            lines.append(
                Line(
                    FIT,
                    rule.key,
                    points,
                    f"Fits persona {persona.name} at {persona.fit}% of {rule.points} "
                    f"({_signed(points)})",
                )
            )
            continue
        outcome = rule.check(lead)
        if outcome:
            lines.append(
                Line(FIT, rule.key, rule.points, f"{rule.description} ({_signed(rule.points)})")
            )
        elif outcome is None:
            lines.append(Line(FIT, rule.key, 0, f"Unknown: {rule.description} (no data, 0)"))
        else:
            lines.append(Line(FIT, rule.key, 0, f"Not met: {rule.description} (0)"))
    return lines


AgedFacts = list[tuple[float, Mapping[str, Any]]]  # [(age in days, properties)]
Aged = dict[str, AgedFacts]  # by activity type


def age_facts(facts: Iterable[Fact], types: frozenset[str], now: datetime) -> Aged:
    """The facts a model can count, grouped by type with their age in days worked out once
    (a bulk rescore scores millions of facts; each rule then reads only its own type). The
    bulk path on PostgreSQL reads this shape straight from SQL, with the same arithmetic."""
    aged: Aged = {}
    for fact in facts:
        if fact.type in types:
            age = (now - fact.occurred_at).total_seconds() / 86400
            aged.setdefault(fact.type, []).append((age if age > 0 else 0.0, fact.properties))
    return aged


def _engagement_line(rule: EngagementRule, facts: AgedFacts) -> Line | None:
    raw = 0.0
    count = 0
    points, window, check = rule.points, rule.window_days, rule.property_check
    # Penalties do not fade: an unsubscribe or a bounce counts in full for as long as its
    # window lasts, so decay can only ever lower a score.
    half_life = rule.half_life_days if rule.half_life_days and points > 0 else None
    for age_days, properties in facts:
        if window is not None and age_days > window:
            continue
        if check is not None and not check(properties):
            continue
        raw += points * 0.5 ** (age_days / half_life) if half_life else points
        count += 1
    if not count:
        return None
    capped = raw
    if rule.cap is not None and abs(raw) > rule.cap:
        capped = math.copysign(rule.cap, raw)
    points = round_points(capped)
    what = rule.description or rule.activity_type.replace("_", " ")
    detail = f"{count} x {what} at {_signed(round_points(rule.points))} each"
    if rule.half_life_days and rule.points > 0:
        detail += f", halving every {rule.half_life_days:g} days"
    if rule.window_days is not None:
        detail += f", last {rule.window_days} days"
    if capped != raw:
        detail += f", capped at {rule.cap}"
    return Line(ENGAGEMENT, rule.key, points, f"{detail} ({_signed(points)})")


def _engagement_lines(aged: Aged, model: CompiledModel) -> list[Line]:
    lines = []
    for rule in model.engagement_rules:
        facts = aged.get(rule.activity_type)
        if facts and (line := _engagement_line(rule, facts)) is not None:
            lines.append(line)
    return lines


def _mql_verdict(
    *,
    lead: Any,
    aged: Aged,
    model: CompiledModel,
    persona: PersonaMatch | None,
    fit: int,
    engagement: int,
    total: int,
) -> tuple[bool, str, list[Line]]:
    mql = model.mql
    blockers: list[str] = []
    if mql.block_do_not_contact and _field(lead, "do_not_email") and _field(lead, "do_not_call"):
        blockers.append("the lead asked not to be emailed or called")
    for exclusion in mql.exclusions:
        if exclusion.check(lead):
            blockers.append(f"excluded: {exclusion.description}")
    if mql.require_agreed_persona:
        if persona is None or not persona.agreed:
            blockers.append("no agreed persona matches")
        elif persona.fit < mql.min_persona_fit:
            blockers.append(
                f"fits {persona.name} at {persona.fit}%, below the {mql.min_persona_fit}% needed"
            )
    if blockers:
        return (
            False,
            "Not an MQL: " + "; ".join(blockers) + ".",
            [Line(GATE, "gate", 0, b[0].upper() + b[1:]) for b in blockers],
        )

    raised = [
        (min(age for age, _ in aged[type_]), type_) for type_ in mql.hand_raisers if type_ in aged
    ]
    if raised:
        age, type_ = min(raised)  # the most recent hand raised
        if age <= mql.hand_raiser_days:
            what = type_.replace("_", " ")
            return (
                True,
                f"MQL: hand-raiser ({what} {int(age)} days ago).",
                [Line(GATE, "hand_raiser", 0, f"Hand-raiser: {what} qualifies at once")],
            )

    if mql.min_total is not None:
        if total >= mql.min_total:
            return True, f"MQL: total {total} ≥ {mql.min_total}.", []
        return False, f"Not an MQL yet: total {total} < {mql.min_total}.", []
    missing = []
    if fit < mql.min_fit:
        missing.append(f"fit {fit} < {mql.min_fit}")
    if engagement < mql.min_engagement:
        missing.append(f"engagement {engagement} < {mql.min_engagement}")
    if missing:
        return False, "Not an MQL yet: " + ", ".join(missing) + ".", []
    return (
        True,
        f"MQL: fit {fit} ≥ {mql.min_fit} and engagement {engagement} ≥ {mql.min_engagement}.",
        [],
    )


def score_lead(
    *,
    lead: Any,
    facts: Iterable[Fact] = (),
    model: CompiledModel,
    now: datetime,
    persona: PersonaMatch | None = None,
    aged: Aged | None = None,
) -> Score:
    """`aged`: the facts already grouped and aged (see age_facts), instead of `facts`."""
    if aged is None:
        aged = age_facts(facts, model.fact_types, now)
    fit_lines = score_fit(lead, model, persona)
    engagement_lines = _engagement_lines(aged, model)
    fit = sum(line.points for line in fit_lines)
    engagement = sum(line.points for line in engagement_lines)
    total = fit + engagement
    is_mql, verdict, gate_lines = _mql_verdict(
        lead=lead,
        aged=aged,
        model=model,
        persona=persona,
        fit=fit,
        engagement=engagement,
        total=total,
    )
    return Score(
        fit=fit,
        engagement=engagement,
        total=total,
        is_mql=is_mql,
        verdict=verdict,
        lines=(*fit_lines, *engagement_lines, *gate_lines),
        version=model.version,
    )
