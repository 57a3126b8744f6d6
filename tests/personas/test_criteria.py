"""How a criterion is written down and checked before the fit engine sees it."""

import pytest
from django.core.exceptions import ValidationError

from personas.criteria import clean_criterion, describe_criterion, format_value, parse_number
from personas.models import PersonaCriterion


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("250", 250),
        ("1,200", 1200),
        ("50k", 50_000),
        ("2.5m", 2_500_000),
        ("1bn", 10**9),
        (12.0, 12),
        ("abc", None),
        (True, None),
        ("", None),
    ],
)
def test_parse_number_reads_what_people_type(raw, number):
    assert parse_number(raw) == number


def test_lists_are_split_on_commas_and_trimmed():
    row = clean_criterion(
        kind="demographic", field="title", operator="contains", value="VP,  head of ,,"
    )
    assert row["value"] == ["VP", "head of"]


def test_ranges_are_written_min_dot_dot_max():
    row = clean_criterion(
        kind="firmographic", field="annual_revenue", operator="between", value="10m..50m"
    )
    assert row["value"] == [10_000_000, 50_000_000]
    open_end = clean_criterion(
        kind="firmographic", field="employees", operator="between", value="200.."
    )
    assert open_end["value"] == [200, None]


@pytest.mark.parametrize(
    ("field", "operator", "value", "message"),
    [
        ("employees", "between", "500..100", "minimum is larger"),
        ("employees", "between", "..", "minimum, a maximum or both"),
        ("employees", "gte", "many", "must be a number"),
        ("employees", "contains", "5", "cannot use"),
        ("title", "gte", "5", "cannot use"),
        ("title", "in", "", "at least one value"),
        ("shoe_size", "equals", "9", "no field"),
    ],
)
def test_bad_criteria_are_refused_with_a_field_message(field, operator, value, message):
    with pytest.raises(ValidationError) as exc:
        clean_criterion(kind="firmographic", field=field, operator=operator, value=value)
    assert message in str(exc.value)


def test_the_field_decides_the_kind():
    row = clean_criterion(kind="firmographic", field="title", operator="is_not_empty", value="x")
    assert row == {
        "kind": "demographic",
        "field": "title",
        "operator": "is_not_empty",
        "value": None,
    }


def test_custom_attribute_accepts_any_operator_and_needs_a_name():
    row = clean_criterion(kind="custom", field="fleet_size", operator="gte", value="50")
    assert row["value"] == 50
    with pytest.raises(ValidationError):
        clean_criterion(kind="custom", field="", operator="gte", value="50")


def test_description_reads_as_a_sentence():
    c = PersonaCriterion(
        kind="firmographic", field="employees", operator="between", value=[200, 2000]
    )
    assert describe_criterion(c) == "Employees is between 200 and 2k"
    assert format_value(c.operator, c.value) == "200..2k"
    c2 = PersonaCriterion(kind="demographic", field="title", operator="contains", value=["vp"])
    assert str(c2) == "Job title contains any keyword: vp"
