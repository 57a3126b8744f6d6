"""The fit engine, criterion by criterion. Pure: no database needed."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from personas.fit import (
    MATCHED,
    MISSED,
    UNKNOWN,
    best_persona,
    compile_persona,
    persona_fit,
    text_key,
)
from personas.models import PersonaCriterion


def crit(field, operator, value=None, weight=1, kind=None):
    from personas.criteria import LEAD_FIELDS

    if kind is None:
        kind = LEAD_FIELDS[field].kind if field in LEAD_FIELDS else "custom"
    return PersonaCriterion(kind=kind, field=field, operator=operator, value=value, weight=weight)


def persona(*criteria, name="P", pk=1, threshold=60):
    return SimpleNamespace(pk=pk, name=name, fit_threshold=threshold, criteria=list(criteria))


def lead(**values):
    base = {
        "title": "",
        "seniority": "",
        "department": "",
        "company": "",
        "industry": "",
        "employees": None,
        "annual_revenue": None,
        "country": "",
        "region": "",
        "attributes": {},
    }
    return SimpleNamespace(**{**base, **values})


def outcome(lead_obj, criterion):
    result = persona_fit(lead_obj, persona(criterion))
    assert len(result.criteria) == 1
    return result.criteria[0].outcome


# --- each operator


@pytest.mark.parametrize(
    ("actual", "expected"),
    [("Logistics", MATCHED), ("logistics", MATCHED), ("Retail", MISSED), ("", UNKNOWN)],
)
def test_equals_compares_text_ignoring_case(actual, expected):
    assert outcome(lead(industry=actual), crit("industry", "equals", "Logistics")) == expected


def test_equals_compares_numbers_as_numbers():
    assert outcome(lead(employees=250), crit("employees", "equals", 250)) == MATCHED
    assert outcome(lead(employees=251), crit("employees", "equals", 250)) == MISSED


@pytest.mark.parametrize(
    ("country", "expected"),
    [("DE", MATCHED), ("fr", MATCHED), ("US", MISSED), ("", UNKNOWN), (None, UNKNOWN)],
)
def test_in_matches_any_listed_value(country, expected):
    assert outcome(lead(country=country), crit("country", "in", ["DE", "FR", "NL"])) == expected


def test_not_in_is_the_opposite_of_in_but_missing_data_stays_unknown():
    c = crit("industry", "not_in", ["Government", "Education"])
    assert outcome(lead(industry="Logistics"), c) == MATCHED
    assert outcome(lead(industry="government"), c) == MISSED
    assert outcome(lead(industry=""), c) == UNKNOWN


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("VP Operations", MATCHED),
        ("Vice President, Supply Chain", MATCHED),
        ("Head of Ops", MATCHED),
        ("Software Engineer", MISSED),
    ],
)
def test_contains_matches_any_keyword(title, expected):
    c = crit("title", "contains", ["vp", "vice president", "head of"])
    assert outcome(lead(title=title), c) == expected


def test_contains_matches_whole_words_only():
    # "cto" is inside "Director"; it must not count.
    assert outcome(lead(title="Director of Sales"), crit("title", "contains", ["cto"])) == MISSED
    assert outcome(lead(title="CTO & co-founder"), crit("title", "contains", ["cto"])) == MATCHED


@pytest.mark.parametrize(
    ("employees", "expected"),
    [(199, MISSED), (200, MATCHED), (1000, MATCHED), (2000, MATCHED), (2001, MISSED)],
)
def test_between_includes_both_ends(employees, expected):
    c = crit("employees", "between", [200, 2000])
    assert outcome(lead(employees=employees), c) == expected


def test_between_with_an_open_end():
    at_least = crit("annual_revenue", "between", [10_000_000, None])
    at_most = crit("annual_revenue", "between", [None, 5_000_000])
    big = lead(annual_revenue=Decimal("25000000.00"))
    assert outcome(big, at_least) == MATCHED
    assert outcome(big, at_most) == MISSED


def test_gte_and_lte():
    assert outcome(lead(employees=50), crit("employees", "gte", 50)) == MATCHED
    assert outcome(lead(employees=49), crit("employees", "gte", 50)) == MISSED
    assert outcome(lead(employees=50), crit("employees", "lte", 50)) == MATCHED
    assert outcome(lead(employees=51), crit("employees", "lte", 50)) == MISSED


def test_is_empty_and_is_not_empty_never_say_unknown():
    assert outcome(lead(department=""), crit("department", "is_empty")) == MATCHED
    assert outcome(lead(department="IT"), crit("department", "is_empty")) == MISSED
    assert outcome(lead(department="IT"), crit("department", "is_not_empty")) == MATCHED
    assert outcome(lead(department="  "), crit("department", "is_not_empty")) == MISSED


# --- custom attributes


def test_custom_attribute_is_read_from_attributes_by_name():
    c = crit("crm", "in", ["Salesforce", "HubSpot"], kind="custom")
    assert outcome(lead(attributes={"crm": "hubspot"}), c) == MATCHED
    assert outcome(lead(attributes={"crm": "Pipedrive"}), c) == MISSED
    assert outcome(lead(attributes={}), c) == UNKNOWN


def test_custom_attribute_names_match_however_the_import_spelled_them():
    c = crit("fleet_size", "gte", 50, kind="custom")
    assert outcome(lead(attributes={"Fleet Size": "120"}), c) == MATCHED


def test_custom_attribute_that_is_not_a_number_is_unknown_for_a_numeric_operator():
    result = persona_fit(
        lead(attributes={"fleet_size": "lots"}),
        persona(crit("fleet_size", "gte", 50, kind="custom")),
    )
    assert result.criteria[0].outcome == UNKNOWN
    assert "cannot be compared" in result.criteria[0].reason


def test_custom_boolean_attribute_understands_yes_and_no():
    c = crit("uses_tms", "equals", True, kind="custom")
    assert outcome(lead(attributes={"uses_tms": "Yes"}), c) == MATCHED
    assert outcome(lead(attributes={"uses_tms": "no"}), c) == MISSED
    assert outcome(lead(attributes={"uses_tms": "maybe"}), c) == UNKNOWN


def test_custom_list_attribute_matches_when_any_item_does():
    c = crit("tools", "contains", ["excel"], kind="custom")
    assert outcome(lead(attributes={"tools": ["SAP", "Excel 365"]}), c) == MATCHED
    assert outcome(lead(attributes={"tools": []}), c) == UNKNOWN


# --- titles: case and accents


@pytest.mark.parametrize(
    "title",
    ["Directeur Général", "DIRECTEUR GENERAL", "directeur  général ", "Directeur-Général"],
)
def test_titles_match_regardless_of_case_accents_and_punctuation(title):
    c = crit("title", "contains", ["directeur general"])
    assert outcome(lead(title=title), c) == MATCHED


def test_keywords_with_accents_match_titles_without():
    keyword = crit("title", "contains", ["gérente"])
    assert outcome(lead(title="Gerente de Operaciones"), keyword) == MATCHED


def test_text_key_normalises_compatibility_characters():
    full_width = "\uff36\uff50\u3000Sales"  # "Vp Sales" in full-width letters and space
    assert text_key(full_width) == "vp sales"
    assert text_key("R&D") == "r d"


# --- scoring and explanation


def _ops_persona():
    return persona(
        crit("title", "contains", ["vp", "head of"], weight=3),
        crit("employees", "between", [200, 2000], weight=2),
        crit("industry", "in", ["Logistics"], weight=1),
        crit("country", "in", ["DE"], weight=2),
        name="Ops VP",
    )


def test_score_is_matched_weight_over_total_weight():
    result = persona_fit(
        lead(title="VP Ops", employees=500, industry="Retail", country="DE"), _ops_persona()
    )
    assert (result.matched_weight, result.total_weight) == (7, 8)
    assert result.score == 88  # 7/8 = 87.5, rounded half up


def test_every_criterion_is_explained_with_points_and_reason():
    result = persona_fit(
        lead(title="VP Ops", employees=None, industry="Retail", country="DE"), _ops_persona()
    )
    rows = {c.field: c for c in result.criteria}
    assert [c.field for c in result.criteria] == ["title", "employees", "industry", "country"]
    assert rows["title"].outcome == MATCHED and rows["title"].points == 3
    assert "VP Ops" in rows["title"].reason
    assert rows["employees"].outcome == UNKNOWN and rows["employees"].points == 0
    assert rows["employees"].reason == "Employees is not known for this lead"
    assert rows["industry"].outcome == MISSED
    assert "does not fit" in rows["industry"].reason
    assert result.unknown_weight == 2
    assert result.coverage == 75


def test_lead_with_no_data_scores_zero_and_everything_is_unknown():
    result = persona_fit(lead(), _ops_persona())
    assert result.score == 0
    assert {c.outcome for c in result.criteria} == {UNKNOWN}
    assert result.coverage == 0


def test_persona_without_criteria_scores_zero():
    result = persona_fit(lead(title="VP"), persona())
    assert result.score == 0
    assert result.criteria == ()


def test_a_dict_lead_scores_like_an_object_lead():
    values = {"title": "Head of Logistics", "employees": 300, "industry": "logistics"}
    compiled = compile_persona(_ops_persona())
    assert compiled.score(values) == compiled.score(lead(**values)) == 75


def test_fast_score_equals_the_explained_score():
    compiled = compile_persona(_ops_persona())
    for values in [
        {},
        {"title": "VP"},
        {"title": "Head of", "employees": 2000, "country": "de"},
        {"employees": 199, "industry": "Logistics", "country": "US"},
    ]:
        assert compiled.score(lead(**values)) == compiled.explain(lead(**values)).score


def test_best_persona_picks_the_highest_fit():
    ops = _ops_persona()
    it = persona(crit("department", "in", ["IT"], weight=1), name="IT", pk=2)
    chosen, fit = best_persona(lead(department="IT", title="Engineer"), [ops, it])
    assert chosen is it
    assert fit.score == 100 and fit.persona_name == "IT"


def test_best_persona_is_none_when_nothing_fits():
    assert best_persona(lead(title="Intern"), [_ops_persona()]) == (None, None)


def test_best_persona_ties_go_to_the_first_listed():
    a = persona(crit("country", "in", ["DE"]), name="A", pk=1)
    b = persona(crit("country", "in", ["DE"]), name="B", pk=2)
    assert best_persona(lead(country="DE"), [a, b])[0] is a


def test_zero_weight_criteria_are_ignored():
    result = persona_fit(
        lead(country="US"),
        persona(crit("country", "in", ["DE"], weight=0), crit("country", "in", ["US"])),
    )
    assert result.score == 100
    assert len(result.criteria) == 1
