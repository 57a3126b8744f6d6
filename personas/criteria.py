"""What a persona criterion may name and how its value is written down.

One place checks a criterion's (field, operator, value) for forms, the API and the seed, so
the fit engine can trust what it compiles.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from personas.models import CriterionKind, Operator

TEXT, NUMBER, ANY = "text", "number", "any"


@dataclass(frozen=True)
class LeadField:
    name: str
    label: str
    kind: str  # CriterionKind
    type: str  # TEXT / NUMBER


LEAD_FIELDS: dict[str, LeadField] = {
    f.name: f
    for f in [
        LeadField("industry", "Industry", CriterionKind.FIRMOGRAPHIC, TEXT),
        LeadField("employees", "Employees", CriterionKind.FIRMOGRAPHIC, NUMBER),
        LeadField("annual_revenue", "Annual revenue", CriterionKind.FIRMOGRAPHIC, NUMBER),
        LeadField("country", "Country", CriterionKind.FIRMOGRAPHIC, TEXT),
        LeadField("region", "Region", CriterionKind.FIRMOGRAPHIC, TEXT),
        LeadField("company", "Company", CriterionKind.FIRMOGRAPHIC, TEXT),
        LeadField("title", "Job title", CriterionKind.DEMOGRAPHIC, TEXT),
        LeadField("seniority", "Seniority", CriterionKind.DEMOGRAPHIC, TEXT),
        LeadField("department", "Department", CriterionKind.DEMOGRAPHIC, TEXT),
    ]
}
# The lead columns the fit engine may read; selectors fetch only these.
FIT_COLUMNS = (*LEAD_FIELDS, "attributes")

LIST_OPERATORS = {Operator.IN, Operator.NOT_IN, Operator.CONTAINS}
NUMBER_OPERATORS = {Operator.BETWEEN, Operator.GTE, Operator.LTE}
NO_VALUE_OPERATORS = {Operator.IS_EMPTY, Operator.IS_NOT_EMPTY}
OPERATORS_FOR_TYPE = {
    TEXT: {
        Operator.EQUALS,
        Operator.IN,
        Operator.NOT_IN,
        Operator.CONTAINS,
        *NO_VALUE_OPERATORS,
    },
    NUMBER: {Operator.EQUALS, Operator.IN, Operator.NOT_IN, *NUMBER_OPERATORS, *NO_VALUE_OPERATORS},
    ANY: set(Operator),
}
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .\-]{0,99}$")
_SUFFIXES = {"k": 1_000, "m": 1_000_000, "mm": 1_000_000, "bn": 1_000_000_000, "b": 1_000_000_000}
_NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(k|mm|m|bn|b)?$", re.IGNORECASE)


def field_info(kind: str, field: str) -> tuple[str, str]:
    """(label, type) of a criterion's field."""
    if kind == CriterionKind.CUSTOM:
        return field, ANY
    info = LEAD_FIELDS.get(field)
    return (info.label, info.type) if info else (field, ANY)


def parse_number(raw: Any) -> int | float | None:
    """A number from what people type ("250", "1,200", "50k", "2.5m") or from JSON; None if
    it is not one. Booleans are not numbers."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float | Decimal):
        value = float(raw)
        return int(value) if value.is_integer() else value
    text = str(raw).strip().replace(",", "").replace("_", "").replace(" ", "")
    match = _NUMBER.match(text)
    if not match:
        return None
    try:
        value = Decimal(match.group(1)) * _SUFFIXES.get((match.group(2) or "").lower(), 1)
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _as_list(raw: Any) -> list:
    if isinstance(raw, list | tuple):
        items = list(raw)
    elif isinstance(raw, str):
        items = re.split(r"[,;\n]", raw)
    elif raw is None:
        items = []
    else:
        items = [raw]
    return [i.strip() if isinstance(i, str) else i for i in items if str(i).strip() != ""]


def _number_or_error(raw: Any, what: str) -> int | float:
    number = parse_number(raw)
    if number is None:
        raise ValidationError({"value": f"{what} must be a number (e.g. 250, 50k, 2.5m)."})
    return number


def clean_criterion(*, kind: str, field: str, operator: str, value: Any) -> dict:
    """Check a criterion and put its value in the one shape the fit engine expects.
    Returns {kind, field, operator, value}; raises ValidationError with field messages."""
    field = (field or "").strip()
    if not kind:
        # A lead field names its own kind; anything else is a custom attribute.
        kind = LEAD_FIELDS[field].kind if field in LEAD_FIELDS else CriterionKind.CUSTOM
    if kind not in CriterionKind.values:
        raise ValidationError({"kind": f"Unknown kind {kind!r}."})
    if operator not in Operator.values:
        raise ValidationError({"operator": f"Unknown operator {operator!r}."})
    if kind == CriterionKind.CUSTOM:
        if not _ATTRIBUTE_NAME.match(field):
            raise ValidationError(
                {"field": "Name the custom attribute (letters, digits, _ . - and spaces)."}
            )
        type_ = ANY
    else:
        info = LEAD_FIELDS.get(field)
        if info is None:
            raise ValidationError({"field": f"Leads have no field {field!r}."})
        if info.kind != kind:
            kind = info.kind  # the field decides; callers need not get this right
        type_ = info.type
    if operator not in OPERATORS_FOR_TYPE[type_]:
        label = field_info(kind, field)[0]
        raise ValidationError({"operator": f"{label} cannot use '{Operator(operator).label}'."})

    if operator in NO_VALUE_OPERATORS:
        cleaned = None
    elif operator in LIST_OPERATORS:
        items = _as_list(value)
        if type_ == NUMBER:
            items = [_number_or_error(i, "Each value") for i in items]
        if not items:
            raise ValidationError({"value": "Give at least one value (separate with commas)."})
        cleaned = items
    elif operator == Operator.BETWEEN:
        cleaned = _clean_range(value)
    elif operator in (Operator.GTE, Operator.LTE):
        cleaned = _number_or_error(value, "The value")
    else:  # equals
        if type_ == NUMBER:
            cleaned = _number_or_error(value, "The value")
        elif isinstance(value, bool | int | float):
            cleaned = value
        else:
            cleaned = str(value if value is not None else "").strip()
            if not cleaned:
                raise ValidationError({"value": "Give the value to compare with."})
    return {"kind": kind, "field": field, "operator": operator, "value": cleaned}


def _clean_range(value: Any) -> list:
    """[min, max], either end may be open (None) but not both. Typed as "50..500",
    "50k..", "..2m"; JSON as [min, max] or {"min": .., "max": ..}."""
    if isinstance(value, dict):
        low, high = value.get("min"), value.get("max")
    elif isinstance(value, list | tuple) and len(value) == 2:
        low, high = value
    elif isinstance(value, str) and ".." in value:
        low, high = value.split("..", 1)
    else:
        raise ValidationError({"value": "Write a range as min..max (e.g. 50..500, 50.., ..2m)."})
    low = None if _blank(low) else _number_or_error(low, "The minimum")
    high = None if _blank(high) else _number_or_error(high, "The maximum")
    if low is None and high is None:
        raise ValidationError({"value": "Give a minimum, a maximum or both."})
    if low is not None and high is not None and low > high:
        raise ValidationError({"value": "The minimum is larger than the maximum."})
    return [low, high]


def _blank(value: Any) -> bool:
    return value is None or str(value).strip() == ""


def format_number(value: int | float | None) -> str:
    if value is None:
        return ""
    for size, suffix in ((1_000_000_000, "bn"), (1_000_000, "m"), (1_000, "k")):
        if abs(value) >= size and (value / size) * 10 == int((value / size) * 10):
            short = value / size
            return f"{int(short) if short == int(short) else short}{suffix}"
    return f"{int(value) if value == int(value) else value}"


def format_value(operator: str, value: Any) -> str:
    """The value as people would type it back into the form."""
    if operator in NO_VALUE_OPERATORS:
        return ""
    if operator == Operator.BETWEEN and isinstance(value, list):
        return f"{format_number(value[0])}..{format_number(value[1])}"
    if isinstance(value, list):
        return ", ".join(format_number(v) if _is_num(v) else str(v) for v in value)
    if _is_num(value):
        return format_number(value)
    return "" if value is None else str(value)


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def describe_criterion(criterion) -> str:
    """ "Job title contains any keyword: vp, head of" """
    label, _ = field_info(criterion.kind, criterion.field)
    op = Operator(criterion.operator).label
    shown = format_value(criterion.operator, criterion.value)
    if criterion.operator == Operator.BETWEEN and isinstance(criterion.value, list):
        low, high = criterion.value
        if low is None:
            return f"{label} is at most {format_number(high)}"
        if high is None:
            return f"{label} is at least {format_number(low)}"
        return f"{label} is between {format_number(low)} and {format_number(high)}"
    return f"{label} {op}" + (f": {shown}" if shown else "")
