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
from decimal import Decimal
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


_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_SEQUENCES = (list, tuple, set, frozenset)
_ABSENT = object()


@lru_cache(maxsize=131_072)
def _padded(value: str) -> str:
    """ " key " so keyword tests can demand whole words with a plain substring test."""
    return f" {text_key(value)} "


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    key = text_key(str(value))
    return True if key in _TRUE else False if key in _FALSE else None


# --- checks. An item test judges one present value: True (matched), False (missed) or
# None (cannot be compared). `_lift` adds what every criterion shares: missing data is
# unknown, and a list value (a custom attribute such as "tools used") matches when any of
# its items does. The hot paths avoid isinstance on ABCs and re-normalising text, because
# bulk scoring calls these millions of times.


def _lift(item_test: Callable[[Any], bool | None]) -> Callable[[Any], bool | None]:
    def check(actual):
        if actual is None:
            return None
        kind = type(actual)
        if kind in _SEQUENCES:
            verdicts = [item_test(v) for v in actual if not _is_missing(v)]
            if True in verdicts:
                return True
            return False if False in verdicts else None
        if kind is dict:
            return None
        return item_test(actual)

    return check


def _text_item_test(operator: str, expected: Any) -> Callable[[Any], bool | None]:
    if operator == Operator.EQUALS:
        if isinstance(expected, bool):
            return lambda v: None if (b := _as_bool(v)) is None else b == expected
        if isinstance(expected, int | float):
            return _number_item_test(operator, expected)
        wanted = text_key(str(expected))

        def equals(v):
            key = text_key(v if type(v) is str else str(v))
            return (key == wanted) if key else None

        return equals
    if operator in (Operator.IN, Operator.NOT_IN):
        keys = frozenset(text_key(str(v)) for v in expected)
        numbers = frozenset(n for n in (parse_number(v) for v in expected) if n is not None)

        def is_in(v):
            key = text_key(v if type(v) is str else str(v))
            if not key:
                return None
            if key in keys:
                return True
            return bool(numbers) and parse_number(v) in numbers

        return is_in
    if operator == Operator.CONTAINS:
        # Whole words only: "cto" must not match "Director".
        needles = tuple(f" {k} " for k in (text_key(str(x)) for x in expected) if k)

        def contains(v):
            padded = _padded(v if type(v) is str else str(v))
            if padded == "  ":
                return None
            for needle in needles:  # noqa: SIM110 - a loop beats any() on this hot path
                if needle in padded:
                    return True
            return False

        return contains
    return _number_item_test(operator, expected)


def _number_item_test(operator: str, expected: Any) -> Callable[[Any], bool | None]:
    if operator == Operator.BETWEEN:
        low, high = expected
        if low is None:

            def test(n):
                return n <= high
        elif high is None:

            def test(n):
                return n >= low
        else:

            def test(n):
                return low <= n <= high
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

        def test(n):
            return n in wanted
    else:
        raise ValueError(f"operator {operator!r} does not compare numbers")

    def item(v):
        kind = type(v)
        if kind is int or kind is float or kind is Decimal:
            return test(v)
        n = parse_number(v)  # text from an import, "1,200", "50k"; None if not a number
        return None if n is None else test(n)

    return item


def _make_check(kind: str, field_name: str, operator: str, expected: Any):
    if operator == Operator.IS_EMPTY:
        return _is_missing
    if operator == Operator.IS_NOT_EMPTY:
        return lambda actual: not _is_missing(actual)
    _, type_ = field_info(kind, field_name)
    if type_ == NUMBER:
        item_test = _number_item_test(operator, expected)
    else:
        item_test = _text_item_test(operator, expected)
    # not_in: none of the values is listed; judged as the negation of "in" over all values.
    negate = operator == Operator.NOT_IN
    check = _lift(item_test)
    if not negate:
        return check
    return lambda actual: None if (r := check(actual)) is None else not r


def _make_getter(kind: str, field_name: str) -> Callable[[Any], Any]:
    if kind == CriterionKind.CUSTOM:
        # Imports spell headers freely; "Uses Salesforce" and "uses_salesforce" agree.
        wanted = text_key(field_name)

        def get_custom(lead):
            if type(lead) is dict:
                attrs = lead.get("attributes")
            else:
                attrs = getattr(lead, "attributes", _ABSENT)
                if attrs is _ABSENT:
                    attrs = lead.get("attributes") if isinstance(lead, Mapping) else None
            if not attrs or not isinstance(attrs, dict | Mapping):
                return None
            if field_name in attrs:
                return attrs[field_name]
            for key, value in attrs.items():
                if text_key(str(key)) == wanted:
                    return value
            return None

        return get_custom

    def get(lead):
        if type(lead) is dict:
            return lead.get(field_name)
        value = getattr(lead, field_name, _ABSENT)
        if value is _ABSENT:
            return lead.get(field_name) if isinstance(lead, Mapping) else None
        return value

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
    expected: str  # the value as typed, e.g. "200..2k"
    rule: str  # the description without the field label: "is between 200 and 2k"


def _reason(c: _Compiled, outcome: str, actual: Any, shown: str) -> str:
    if c.operator == Operator.IS_EMPTY:
        return f"{c.label} is empty" if outcome == MATCHED else f"{c.label} is {shown!r}"
    if c.operator == Operator.IS_NOT_EMPTY:
        return f"{c.label} is {shown!r}" if outcome == MATCHED else f"{c.label} is empty"
    if outcome == UNKNOWN:
        if _is_missing(actual):
            return f"{c.label} is not known for this lead"
        return f"{c.label} {shown!r} cannot be compared with {c.expected}"
    verdict = "fits" if outcome == MATCHED else "does not fit"
    return f"{c.label} {shown!r} {verdict}: {c.rule}"


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
            description = describe_criterion(crit)
            checks.append(
                _Compiled(
                    get=_make_getter(crit.kind, crit.field),
                    check=_make_check(crit.kind, crit.field, crit.operator, crit.value),
                    weight=weight,
                    kind=crit.kind,
                    field=crit.field,
                    operator=crit.operator,
                    value=crit.value,
                    description=description,
                    label=label,
                    expected=format_value(crit.operator, crit.value),
                    rule=description[len(label) + 1 :],
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
            shown = _show(actual)
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
                    expected=c.expected,
                    actual=shown,
                    outcome=outcome,
                    weight=c.weight,
                    points=points,
                    reason=_reason(c, outcome, actual, shown),
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
