"""Turn a ScoringModel's rows into the engine's compiled rules, and say in words what each
rule means. Conditions compare the same way persona criteria do (personas.fit)."""

from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError

from leads.scoring.engine import CompiledModel, EngagementRule, Exclusion, FitRule, MqlRule
from leads.scoring.models import RuleKind, ScoringModel, ScoringRule
from personas.criteria import NUMBER, TEXT, clean_criterion, format_value
from personas.fit import condition_check
from personas.models import CriterionKind, Operator

# Lead fields a rule may name, with their label and type; "attributes.<name>" names a
# custom attribute and "email_domain" is derived from the email.
RULE_FIELDS: dict[str, tuple[str, str]] = {
    "industry": ("Industry", TEXT),
    "employees": ("Employees", NUMBER),
    "annual_revenue": ("Annual revenue", NUMBER),
    "country": ("Country", TEXT),
    "region": ("Region", TEXT),
    "company": ("Company", TEXT),
    "title": ("Job title", TEXT),
    "seniority": ("Seniority", TEXT),
    "department": ("Department", TEXT),
    "source": ("Source", TEXT),
    "utm_source": ("UTM source", TEXT),
    "utm_medium": ("UTM medium", TEXT),
    "utm_campaign": ("UTM campaign", TEXT),
    "email_domain": ("Email domain", TEXT),
}
ATTRIBUTE_PREFIX = "attributes."
# Columns the bulk paths fetch so `lead_value` can answer every rule.
SCORING_COLUMNS = (
    "id",
    "email",
    "do_not_email",
    "do_not_call",
    "attributes",
    *(f for f in RULE_FIELDS if f != "email_domain"),
)


def field_label(field: str) -> str:
    if field.startswith(ATTRIBUTE_PREFIX):
        return field[len(ATTRIBUTE_PREFIX) :]
    return RULE_FIELDS.get(field, (field, TEXT))[0]


def lead_value(lead: Any, field: str) -> Any:
    """A lead's value for a rule field, from a model instance or a `.values()` dict."""
    # `type(...) is dict` first: the bulk paths' rows are plain dicts, and an isinstance
    # check against the Mapping ABC was a seventh of a rescore chunk's Python.
    mapping = type(lead) is dict or isinstance(lead, Mapping)
    get = lead.get if mapping else lambda name: getattr(lead, name, None)
    if field.startswith(ATTRIBUTE_PREFIX):
        attributes = get("attributes") or {}
        return attributes.get(field[len(ATTRIBUTE_PREFIX) :])
    if field == "email_domain":
        email = get("email") or ""
        return email.rsplit("@", 1)[1] if "@" in email else None
    return get(field)


def clean_condition(*, field: str, operator: str, value: Any) -> Any:
    """Check a rule's condition; return the value in the shape the comparison expects.
    Raises ValidationError with field messages."""
    field = (field or "").strip()
    if field.startswith(ATTRIBUTE_PREFIX):
        kind, name = CriterionKind.CUSTOM, field[len(ATTRIBUTE_PREFIX) :]
    elif field in RULE_FIELDS:
        # Reuse the persona rules for types and value shapes; text fields that personas do
        # not know (source, utm_*, email_domain) compare like custom attributes.
        number = RULE_FIELDS[field][1] == NUMBER
        kind, name = (
            (CriterionKind.FIRMOGRAPHIC, "employees") if number else (CriterionKind.CUSTOM, field)
        )
    else:
        raise ValidationError({"field": f"Rules cannot read {field!r}."})
    return clean_criterion(kind=kind, field=name, operator=operator, value=value)["value"]


def condition_description(rule: ScoringRule) -> str:
    label = field_label(rule.field)
    if rule.operator in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY):
        return f"{label} {Operator(rule.operator).label}"
    return f"{label} {Operator(rule.operator).label} {format_value(rule.operator, rule.value)}"


def rule_description(rule: ScoringRule) -> str:
    if rule.label:
        return rule.label
    if rule.kind == RuleKind.PERSONA_FIT:
        return "Fit with the best persona"
    if rule.kind == RuleKind.ENGAGEMENT:
        what = rule.activity_type.replace("_", " ")
        if rule.property_name:
            what += f" where {rule.property_name} contains {rule.property_value!r}"
        return what
    return condition_description(rule)


def _lead_check(rule: ScoringRule) -> Callable[[Any], bool | None]:
    field_type = NUMBER if RULE_FIELDS.get(rule.field, ("", TEXT))[1] == NUMBER else TEXT
    compare = condition_check(field_type=field_type, operator=rule.operator, expected=rule.value)
    field = rule.field
    plain = field in RULE_FIELDS and field != "email_domain"

    def check(lead: Any) -> bool | None:
        if plain and type(lead) is dict:  # a bulk path's row: skip lead_value's type checks
            return compare(lead.get(field))
        return compare(lead_value(lead, field))

    return check


def _property_check(rule: ScoringRule) -> Callable[[Mapping[str, Any]], bool] | None:
    if not rule.property_name:
        return None
    name, needle = rule.property_name, rule.property_value.casefold()
    return lambda props: needle in str(props.get(name) or "").casefold()


def compile_model(model: ScoringModel, rules: list[ScoringRule] | None = None) -> CompiledModel:
    rules = list(model.rules.all()) if rules is None else rules
    fit, engagement, exclusions = [], [], []
    for rule in rules:
        key = f"r{rule.pk}"
        if rule.kind == RuleKind.FIT:
            fit.append(FitRule(key, rule_description(rule), rule.points, _lead_check(rule)))
        elif rule.kind == RuleKind.PERSONA_FIT:
            fit.append(FitRule(key, rule_description(rule), rule.points))
        elif rule.kind == RuleKind.EXCLUSION:
            check = _lead_check(rule)
            exclusions.append(
                Exclusion(rule_description(rule), lambda lead, c=check: bool(c(lead)))
            )
        else:
            engagement.append(
                EngagementRule(
                    key=key,
                    activity_type=rule.activity_type,
                    points=rule.points,
                    description=rule_description(rule),
                    property_check=_property_check(rule),
                    property_name=rule.property_name or None,
                    cap=rule.cap,
                    window_days=rule.window_days,
                    half_life_days=rule.half_life_days,
                )
            )
    mql = MqlRule(
        min_fit=model.min_fit,
        min_engagement=model.min_engagement,
        min_total=model.min_total,
        require_agreed_persona=model.require_agreed_persona,
        min_persona_fit=model.min_persona_fit,
        block_do_not_contact=model.block_do_not_contact,
        exclusions=tuple(exclusions),
        hand_raisers=tuple(model.hand_raisers or ()),
        hand_raiser_days=model.hand_raiser_days,
    )
    return CompiledModel(
        version=model.version,
        fit_rules=tuple(fit),
        engagement_rules=tuple(engagement),
        mql=mql,
    )
