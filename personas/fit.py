"""The fit engine: how well a lead matches a persona, 0-100, explained criterion by criterion.

Pure functions over plain data. A "lead" is anything with the lead's field names, either as
attributes (a `leads.models.Lead`, a namedtuple) or as keys (a dict from `.values()`);
custom attributes live in its `attributes` mapping. A persona is anything with `criteria`
(a related manager or an iterable of criterion-like objects with kind, field, operator,
value, weight).

Scoring: each criterion is matched, missed or unknown (the lead lacks the data). The score
is the matched weight over the total weight. Unknown criteria earn nothing, like a miss, but
are reported as unknown so nobody mistakes missing data for a bad fit; `coverage` says how
much of the weight could be judged at all.

For bulk work, `compile_persona` turns a persona into closures once; `CompiledPersona.score`
then skips building explanations.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from personas.criteria import (
    NUMBER,
    describe_criterion,
    field_info,
    format_number,
    format_value,
    parse_number,
)
from personas.models import CriterionKind, Operator

MATCHED, MISSED, UNKNOWN = "matched", "missed", "unknown"
_NON_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=131_072)
def text_key(value: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a text: "Directeur Général, R&D"
    becomes "directeur general r d". Cached because titles and industries repeat a lot."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", stripped.casefold()).split())


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | dict):
        return not value
    return False


def _values(actual: Any) -> list:
    """Custom attributes may hold a list (e.g. tools used); each item counts."""
    if isinstance(actual, list | tuple | set):
        return [v for v in actual if not _is_missing(v)]
    return [actual]


_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    key = text_key(str(value))
    return True if key in _TRUE else False if key in _FALSE else None


# --- checks: each takes the lead's value and returns True (matched), False (missed) or
# None (unknown: no data, or data that cannot be compared).


def _text_check(operator: str, expected: Any) -> Callable[[Any], bool | None]:
    if operator == Operator.EQUALS:
        if isinstance(expected, bool):

            def check(actual):
                results = [_as_bool(v) for v in _values(actual)]
                if all(r is None for r in results):
                    return None
                return expected in results

            return check
        if isinstance(expected, int | float):
            return _number_check(operator, expected)
        key = text_key(str(expected))
        return lambda actual: any(text_key(str(v)) == key for v in _values(actual))
    if operator in (Operator.IN, Operator.NOT_IN):
        keys = frozenset(text_key(str(v)) for v in expected)
        numbers = frozenset(n for n in (parse_number(v) for v in expected) if n is not None)

        def is_in(actual):
            for v in _values(actual):
                if text_key(str(v)) in keys:
                    return True
                if numbers and parse_number(v) in numbers:
                    return True
            return False

        if operator == Operator.IN:
            return is_in
        return lambda actual: not is_in(actual)
    if operator == Operator.CONTAINS:
        # Whole words only: "cto" must not match "Director".
        needles = tuple(f" {text_key(str(k))} " for k in expected if text_key(str(k)))
        return lambda actual: any(
            n in f" {text_key(str(v))} " for v in _values(actual) for n in needles
        )
    return _number_check(operator, expected)


def _number_check(operator: str, expected: Any) -> Callable[[Any], bool | None]:
    if operator == Operator.BETWEEN:
        low, high = expected

        def test(n):
            return (low is None or n >= low) and (high is None or n <= high)
    elif operator == Operator.GTE:

        def test(n):
            return n >= expected
    elif operator == Operator.LTE:

        def test(n):
            return n <= expected
    elif operator == Operator.EQUALS:

        def test(n):
            return n == expected
    elif operator in (Operator.IN, Operator.NOT_IN):
        wanted = frozenset(expected)
        inside = operator == Operator.IN

        def test(n):
            return (n in wanted) == inside
    else:
        raise ValueError(f"operator {operator!r} does not compare numbers")

    def check(actual):
        numbers = [parse_number(v) for v in _values(actual)]
        numbers = [n for n in numbers if n is not None]
        if not numbers:
            return None  # present but not a number: we cannot judge, say so
        return any(test(n) for n in numbers)

    return check


def _make_check(kind: str, field_name: str, operator: str, expected: Any):
    if operator == Operator.IS_EMPTY:
        return _is_missing
    if operator == Operator.IS_NOT_EMPTY:
        return lambda actual: not _is_missing(actual)
    _, type_ = field_info(kind, field_name)
    if type_ == NUMBER:
        check = _number_check(operator, expected)
    else:
        check = _text_check(operator, expected)
    return lambda actual: None if _is_missing(actual) else check(actual)


def _make_getter(kind: str, field_name: str) -> Callable[[Any], Any]:
    if kind == CriterionKind.CUSTOM:

        def get(lead):
            attrs = (
                lead.get("attributes")
                if isinstance(lead, Mapping)
                else getattr(lead, "attributes", None)
            )
            if not isinstance(attrs, Mapping):
                return None
            if field_name in attrs:
                return attrs[field_name]
            # Imports spell headers freely; "Uses Salesforce" and "uses_salesforce" agree.
            wanted = text_key(field_name)
            for key, value in attrs.items():
                if text_key(str(key)) == wanted:
                    return value
            return None

        return get

    def get(lead):
        if isinstance(lead, Mapping):
            return lead.get(field_name)
        return getattr(lead, field_name, None)

    return get


# --- results


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criterion: str  # "Employees is between 200 and 2k"
    kind: str
    field: str
    operator: str
    expected: str
    actual: str
    outcome: str  # matched / missed / unknown
    weight: int
    points: int
    reason: str

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class FitResult:
    persona_id: int | None
    persona_name: str
    score: int
    matched_weight: int
    total_weight: int
    unknown_weight: int
    criteria: tuple[CriterionResult, ...] = field(default_factory=tuple)

    @property
    def coverage(self) -> int:
        """Percent of the weight the lead's data let us judge."""
        if not self.total_weight:
            return 100
        return _percent(self.total_weight - self.unknown_weight, self.total_weight)

    @property
    def matched(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.outcome == MATCHED]

    @property
    def missed(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.outcome == MISSED]

    @property
    def unknown(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.outcome == UNKNOWN]

    def as_dict(self) -> dict:
        return {
            "persona_id": self.persona_id,
            "persona_name": self.persona_name,
            "score": self.score,
            "matched_weight": self.matched_weight,
            "total_weight": self.total_weight,
            "unknown_weight": self.unknown_weight,
            "coverage": self.coverage,
            "criteria": [c.as_dict() for c in self.criteria],
        }


def _percent(part: int, whole: int) -> int:
    # Integer round-half-up, so 2/3 -> 67 on every platform.
    return (200 * part + whole) // (2 * whole) if whole else 0


def _show(actual: Any) -> str:
    if _is_missing(actual):
        return ""
    if isinstance(actual, list | tuple | set):
        return ", ".join(str(v) for v in actual)
    number = parse_number(actual) if not isinstance(actual, str) else None
    return format_number(number) if number is not None else str(actual)


@dataclass(frozen=True, slots=True)
class _Compiled:
    get: Callable[[Any], Any]
    check: Callable[[Any], bool | None]
    weight: int
    kind: str
    field: str
    operator: str
    value: Any
    description: str
    label: str


def _reason(c: _Compiled, outcome: str, actual: Any) -> str:
    shown = _show(actual)
    if c.operator == Operator.IS_EMPTY:
        return f"{c.label} is empty" if outcome == MATCHED else f"{c.label} is {shown!r}"
    if c.operator == Operator.IS_NOT_EMPTY:
        return f"{c.label} is {shown!r}" if outcome == MATCHED else f"{c.label} is empty"
    if outcome == UNKNOWN:
        if _is_missing(actual):
            return f"{c.label} is not known for this lead"
        return f"{c.label} {shown!r} cannot be compared with {format_value(c.operator, c.value)}"
    verdict = "fits" if outcome == MATCHED else "does not fit"
    return f"{c.label} {shown!r} {verdict}: {c.description[len(c.label) + 1 :]}"


class CompiledPersona:
    """A persona's criteria turned into closures once, for scoring many leads."""

    __slots__ = ("_fast", "checks", "name", "persona", "persona_id", "threshold", "total_weight")

    def __init__(self, persona, criteria: Iterable):
        self.persona = persona
        self.persona_id = getattr(persona, "pk", None)
        self.name = str(getattr(persona, "name", ""))
        self.threshold = getattr(persona, "fit_threshold", None)
        checks = []
        for crit in criteria:
            weight = int(crit.weight or 0)
            if weight <= 0:
                continue
            label, _ = field_info(crit.kind, crit.field)
            checks.append(
                _Compiled(
                    get=_make_getter(crit.kind, crit.field),
                    check=_make_check(crit.kind, crit.field, crit.operator, crit.value),
                    weight=weight,
                    kind=crit.kind,
                    field=crit.field,
                    operator=crit.operator,
                    value=crit.value,
                    description=describe_criterion(crit),
                    label=label,
                )
            )
        self.checks = tuple(checks)
        self._fast = tuple((c.get, c.check, c.weight) for c in checks)
        self.total_weight = sum(c.weight for c in checks)

    def score(self, lead) -> int:
        """The fit, 0-100, without the explanation."""
        total = self.total_weight
        if not total:
            return 0
        got = 0
        for get, check, weight in self._fast:
            if check(get(lead)) is True:
                got += weight
        return (200 * got + total) // (2 * total)

    def matches(self, lead) -> bool:
        threshold = self.threshold if self.threshold is not None else 1
        return self.total_weight > 0 and self.score(lead) >= threshold

    def explain(self, lead) -> FitResult:
        results = []
        matched = unknown = 0
        for c in self.checks:
            actual = c.get(lead)
            verdict = c.check(actual)
            outcome = MATCHED if verdict is True else UNKNOWN if verdict is None else MISSED
            points = c.weight if outcome == MATCHED else 0
            matched += points
            if outcome == UNKNOWN:
                unknown += c.weight
            results.append(
                CriterionResult(
                    criterion=c.description,
                    kind=c.kind,
                    field=c.field,
                    operator=c.operator,
                    expected=format_value(c.operator, c.value),
                    actual=_show(actual),
                    outcome=outcome,
                    weight=c.weight,
                    points=points,
                    reason=_reason(c, outcome, actual),
                )
            )
        return FitResult(
            persona_id=self.persona_id,
            persona_name=self.name,
            score=_percent(matched, self.total_weight),
            matched_weight=matched,
            total_weight=self.total_weight,
            unknown_weight=unknown,
            criteria=tuple(results),
        )

    __call__ = explain


def _criteria_of(persona) -> Iterable:
    criteria = persona.criteria
    return criteria.all() if hasattr(criteria, "all") else criteria


def compile_persona(persona) -> CompiledPersona:
    if isinstance(persona, CompiledPersona):
        return persona
    return CompiledPersona(persona, _criteria_of(persona))


def persona_fit(lead, persona) -> FitResult:
    """How well `lead` fits `persona`, with a reason for every criterion."""
    return compile_persona(persona).explain(lead)


def best_persona(lead, personas: Iterable) -> tuple[Any, FitResult | None]:
    """The persona the lead fits best and that fit; (None, None) when it fits none at all
    (every score 0). Ties go to the persona listed first. Pass compiled personas when
    scoring many leads; scoring should pass agreed personas only."""
    best = None
    best_score = 0
    for persona in personas:
        compiled = compile_persona(persona)
        score = compiled.score(lead)
        if score > best_score:
            best, best_score = compiled, score
    if best is None:
        return None, None
    return best.persona, best.explain(lead)


def condition_check(
    *, field_type: str, operator: str, expected: Any
) -> Callable[[Any], bool | None]:
    """The comparison behind a criterion, for other rule engines (scoring) that read their
    own values: returns value -> matched / missed / unknown (None when the value is missing
    or cannot be compared). `field_type` is "number" or "text"."""
    kind = CriterionKind.FIRMOGRAPHIC if field_type == NUMBER else CriterionKind.CUSTOM
    field_name = "employees" if field_type == NUMBER else "value"
    return _make_check(kind, field_name, operator, expected)
