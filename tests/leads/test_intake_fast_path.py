"""The events intake's fast path: EventInputValidator answers exactly what
EventInputSerializer answers (the same validated data, types, time zones and key order, or
the same errors), for a table of good and bad inputs and for generated ones; and the rows
the batch insert writes are the rows the ORM would write."""

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.validators import validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from leads.api import _as_field_errors
from leads.models import Activity
from leads.serializers import COMMON_EMAIL, EventInputSerializer, EventInputValidator
from leads.services import ACTIVITY_COLUMNS
from tests.leads.factories import LeadFactory

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
GOOD = {
    "event_id": "e-1",
    "type": "page_view",
    "occurred_at": "2026-11-20T10:00:00Z",
    "properties": {"url": "https://acme.test/pricing", "n": 3},
    "source": "web",
    "lead": {"email": "Ann@Acme.test"},
}


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"x": value}
    return value


def exact(value):
    """A comparable form that keeps what == forgets: types (True is not 1), time zones
    (the same instant in two zones is equal) and the order of keys."""
    if isinstance(value, dict):
        return ("dict", [(key, exact(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [exact(item) for item in value])
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo))
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def answer(validate, item):
    try:
        return ("valid", exact(validate(item)))
    except serializers.ValidationError as exc:
        return ("invalid", _as_field_errors(serializers.as_serializer_error(exc)))


def assert_same_as_the_serializer(item):
    expected = answer(EventInputSerializer().run_validation, item)
    validator = EventInputValidator()
    assert answer(validator.run_validation, item) == expected, item
    fast = validator.validate_fast(item)
    if fast is not None:  # what the fast checks vouch for, the serializer accepts as such
        assert ("valid", exact(fast)) == expected, item
    return expected, fast


def with_event(**fields) -> dict:
    return {**GOOD, **fields}


def with_lead(**fields) -> dict:
    return {**GOOD, "lead": {"email": "ann@acme.test", **fields}}


def without(name: str) -> dict:
    return {k: v for k, v in GOOD.items() if k != name}


TEXT_VALUES = [
    "",
    "   ",
    " padded\t",
    "café",
    "a\x00b",
    "\ud800",
    "x" * 200,
    "x" * 201,
    42,
    1.5,
    True,
    None,
    [],
    {},
]
DATES = [
    "2026-11-20T10:00:00Z",
    "2026-11-20T10:00:00+02:00",
    "2026-11-20T10:00:00.123456-14:00",
    "2026-11-20T10:00:00",
    "2026-11-20",
    "2026-11-20 10:00",
    "20261120T100000Z",
    "2026-11-20T10:00:00,5Z",
    "2026-02-30T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00+00:01",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    (NOW + timedelta(minutes=59)).isoformat(),
    (NOW + timedelta(minutes=61)).isoformat(),
    "2999-01-01T00:00:00Z",
    "not a date",
    "",
    12,
    None,
    ["2026-11-20T10:00:00Z"],
]
EVERY_LEAD_FIELD = {
    **GOOD,
    "lead": {
        "email": "pat@initech.test",
        "external_id": "77",
        "first_name": "Pat",
        "last_name": "Lee",
        "title": "CTO",
        "seniority": "c_level",
        "department": "IT",
        "phone": "+1 555 0100",
        "company": "Initech",
        "website": "initech.test",
        "industry": "Software",
        "employees": 120,
        "annual_revenue": None,
        "country": "us",
        "region": "CA",
        "source": "crm",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "fall",
        "utm_term": "crm",
        "utm_content": "ad-1",
        "do_not_email": False,
        "do_not_call": True,
        "attributes": {"tier": "gold"},
        "favourite_colour": "teal",
    },
    "extra_event_key": "ignored",
}
ITEMS = [
    GOOD,
    *[with_event(event_id=v) for v in TEXT_VALUES],
    *[with_event(source=v) for v in TEXT_VALUES],
    *[
        with_event(type=v)
        for v in [
            "page_view",
            " email_open ",
            "unsubscribe",
            "trial_started",
            "crm.deal:won-2",
            "Page View!",
            "page\x00view",
            "a" * 60,
            "a" * 61,
            "1abc",
            "ünïcode",
            *TEXT_VALUES,
        ]
    ],
    *[with_event(occurred_at=v) for v in DATES],
    *[
        with_event(properties=v)
        for v in [
            {},
            {"a": None, "b": [1, 2.5, True, "x"], "c": {"d": "é"}},
            nested(6),
            nested(7),
            nested(40),
            {f"k{i}": i for i in range(499)},
            {f"k{i}": i for i in range(500)},
            {"ba\x00d": 1},
            {"a": "b\x00"},
            {"a": float("nan")},
            {"a": float("inf")},
            {"a": 2**53},
            {"a": 2**53 + 1},
            {"a": -(2**60)},
            {"a": 1e308},
            [],
            "x",
            None,
        ]
    ],
    *[without(name) for name in GOOD],
    *[
        {**GOOD, "lead": v}
        for v in [
            None,
            "ann@acme.test",
            [],
            {},
            {"email": ""},
            {"email": "  ", "external_id": "  "},
            {"external_id": "crm-1"},
            {"external_id": "crm-1", "source": "crm"},
            {"email": "", "external_id": "x"},
        ]
    ],
    *[
        with_lead(email=v)
        for v in [
            "bad",
            "a@b",
            "ann@localhost",
            "ann@[127.0.0.1]",
            "ann@[::1]",
            "üñí@example.com",
            "ann@exämple.com",
            "ann@xn--exmple-cua.com",
            '"quoted name"@example.com',
            "a..b@example.com",
            ".a@example.com",
            "a@-example.com",
            "a@example-.com",
            "a@example.c",
            "a@example.123",
            "ann+tag@sub.example.co.uk",
            "ANN@EXAMPLE.COM",
            " ann@example.com ",
            "ann@example.com\n",
            "x" * 245 + "@a.co",
            "x" * 250 + "@a.co",
            5,
            None,
            "\u212aelvin@example.com",
        ]
    ],
    *[with_lead(country=v) for v in ["de", "DE", " de ", "d", "DEU", "", " ", "ß", 12, None]],
    *[with_lead(seniority=v) for v in ["vp", "VP", "", " vp", "owner", "boss", None, 1]],
    *[
        with_lead(employees=v)
        for v in [0, 250, -1, 2_147_483_647, 2**31, "12", " 12 ", 12.0, 12.5, True, None]
    ],
    *[
        with_lead(annual_revenue=v)
        for v in [None, "", 1000, "1000.50", 1.005, "0.001", "NaN", "1e400", 10**20, -1, True]
    ],
    *[
        with_lead(do_not_email=v)
        for v in [True, False, "true", "False", 1, 0, "yes", "off", None, "maybe", 2]
    ],
    *[with_lead(employees=v) for v in ["", "abc", "1" * 40, [1]]],
    *[with_lead(annual_revenue=v) for v in ["12345678901234.56", "123456789012345.6", [1]]],
    *[with_lead(first_name=v) for v in TEXT_VALUES],
    *[with_lead(external_id=v, source=v) for v in TEXT_VALUES],
    *[
        with_lead(attributes=v)
        for v in [{}, {"tier": "gold"}, nested(7), nested(8), {"a": "\x00"}, "x", None]
    ],
    with_lead(plan="pro", tier={"level": 2}),
    with_lead(plan="pro", attributes={"plan": "enterprise", "seats": 5}),
    with_lead(plan="a\x00b"),
    with_lead(plan=nested(8)),
    with_lead(plan=float("nan")),
    with_lead(**{f"x{i}": i for i in range(499)}),
    with_lead(**{f"x{i}": i for i in range(250)}, attributes={f"y{i}": i for i in range(250)}),
    EVERY_LEAD_FIELD,
    {**GOOD, "type": "Page View!", "occurred_at": "soon", "lead": {"email": "bad"}},
    None,
    "not an object",
    42,
    [],
    [GOOD],
]


@pytest.mark.parametrize("item", ITEMS, ids=range(len(ITEMS)))
def test_the_validator_answers_what_the_serializer_answers(item):
    with time_machine.travel(NOW, tick=False):
        assert_same_as_the_serializer(item)


@pytest.mark.parametrize(
    "item",
    [
        GOOD,
        {k: v for k, v in GOOD.items() if k not in ("occurred_at", "event_id", "source")},
        with_event(type="trial_started", occurred_at="2026-11-20T10:00:00.5+01:00"),
        with_lead(external_id="crm-7", source="crm", employees=12, do_not_email=True),
        with_lead(plan="pro", attributes={"tier": "gold"}, country="de", seniority="vp"),
        EVERY_LEAD_FIELD,
    ],
)
def test_the_shapes_senders_send_take_the_fast_path(item):
    with time_machine.travel(NOW, tick=False):
        expected, fast = assert_same_as_the_serializer(item)
    assert expected[0] == "valid"
    assert fast is not None


def test_the_fast_email_pattern_is_a_subset_of_what_django_accepts():
    # Mirrors the hypothesis test below with a few hand-picked borderline cases.
    for email in ["a@b.co", "a.b-c_d+e@x-1.y.zz", "A@B.CO", "1@2.ab"]:
        assert COMMON_EMAIL.fullmatch(email)
        validate_email(email)
    for email in ["a@b", "a..b@c.de", "a@-b.de", "a@b-.de", "a@b.c", "a@b.d1", "\u212a@b.de"]:
        assert not COMMON_EMAIL.fullmatch(email)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(COMMON_EMAIL, fullmatch=True).filter(lambda email: len(email) <= 254))
def test_every_email_the_fast_pattern_accepts_django_accepts(email):
    # Within the field's 254 characters, which the fast path checks first (Django's
    # validator refuses past 320).
    validate_email(email)


# --- generated items ------------------------------------------------------------------------

texts = st.one_of(
    st.text(max_size=8),
    st.text(alphabet=st.characters(categories=("Cs", "Ll", "Lu", "Zs", "Cc", "Nd")), max_size=6),
    st.sampled_from(["", " ", "\x00", "\ud800", "page_view", "trial.started", "x" * 201]),
)
scalars = st.one_of(
    texts,
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)
    ),
    max_leaves=20,
)
dates = st.one_of(
    st.datetimes(
        min_value=datetime(1960, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=datetime(2030, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, None]) | st.timezones(),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(DATES),
    scalars,
)
emails = st.one_of(
    st.from_regex(COMMON_EMAIL, fullmatch=True),
    st.emails().map(str),
    texts,
    st.sampled_from(["ann@localhost", "a@[10.0.0.1]", "ü@x.de", "ANN@ACME.TEST "]),
)
lead_fields = {
    "email": emails,
    "external_id": texts,
    "source": texts,
    "first_name": texts,
    "country": st.one_of(texts, st.sampled_from(["de", "US", " fr "])),
    "seniority": st.one_of(texts, st.sampled_from(["vp", "owner", "VP"])),
    "employees": scalars,
    "annual_revenue": st.one_of(scalars, st.decimals().map(str)),
    "do_not_email": scalars,
    "attributes": json_values,
}
leads = st.one_of(
    st.fixed_dictionaries({}, optional=lead_fields).flatmap(
        lambda lead: st.dictionaries(texts, json_values, max_size=3).map(
            lambda extra: {**extra, **lead}
        )
    ),
    json_values,
)
events = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "event_id": st.one_of(texts, scalars),
            "type": st.one_of(texts, st.sampled_from(["page_view", "email_open", "a.b"])),
            "occurred_at": dates,
            "properties": json_values,
            "source": texts,
            "lead": leads,
            "other": json_values,
        },
    ),
    json_values,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_generated_items_get_the_serializers_answer(item):
    with time_machine.travel(NOW, tick=False):
        assert_same_as_the_serializer(item)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["page_view", "email_open", "crm.sync"]),
            "lead": st.fixed_dictionaries(
                {"email": st.from_regex(COMMON_EMAIL, fullmatch=True)},
                optional={"first_name": st.text(max_size=20), "country": st.just("de")},
            ),
        },
        optional={
            "event_id": st.text(max_size=40),
            "occurred_at": st.datetimes(
                min_value=datetime(1971, 1, 1),  # noqa: DTZ001
                max_value=datetime(2026, 11, 27),  # noqa: DTZ001
                timezones=st.just(UTC) | st.timezones(),
            ).map(lambda d: d.isoformat()),
            "properties": st.dictionaries(st.text(max_size=5), st.integers(-1000, 1000)),
        },
    )
)
def test_generated_good_items_take_the_fast_path(item):
    with time_machine.travel(NOW, tick=False):
        expected, fast = assert_same_as_the_serializer(item)
    if expected[0] == "valid":
        assert fast is not None, item


def test_decimal_revenue_keeps_the_serializers_precision():
    validator = EventInputValidator()
    with time_machine.travel(NOW, tick=False):
        data = validator.run_validation(with_lead(annual_revenue="1000.5"))
    assert data["lead"]["annual_revenue"] == Decimal("1000.50")
    assert str(data["lead"]["annual_revenue"]) == "1000.50"


# --- the rows the batch insert writes -------------------------------------------------------


def test_the_batch_insert_writes_every_column_of_an_activity():
    # A new column on Activity must be filled by events_ingest too (ACTIVITY_COLUMNS).
    columns = {f.name for f in Activity._meta.concrete_fields if not f.primary_key}
    assert set(ACTIVITY_COLUMNS) == columns


@pytest.mark.django_db
def test_stored_events_hold_exactly_what_was_sent(key_client):
    lead = LeadFactory(email="ann@acme.test")
    body = key_client.post(
        "/api/v1/events/",
        [
            {
                "event_id": "x1",
                "type": "crm.deal:won",
                "occurred_at": "2026-11-20T10:00:00.250+02:00",
                "properties": {"é": ["ü", 1.5, None, {"deep": True}], "n": 2**53},
                "source": " crm ",
                "lead": {"email": "ANN@acme.test"},
            },
            {"type": "page_view", "lead": {"email": "ann@acme.test"}},
        ],
        format="json",
    ).json()
    assert body["accepted"] == 2, body
    first = Activity.objects.get(event_id="x1")
    assert first.lead_id == lead.pk
    assert first.type == "crm.deal:won"
    assert first.occurred_at == datetime(2026, 11, 20, 8, 0, 0, 250000, tzinfo=UTC)
    assert first.properties == {"é": ["ü", 1.5, None, {"deep": True}], "n": 2**53}
    assert first.source == "crm"
    second = Activity.objects.get(pk=body["results"][1]["activity_id"])
    assert (second.event_id, second.source, second.properties) == ("", "", {})
    assert second.occurred_at == second.received_at == first.received_at


@pytest.mark.django_db
def test_events_without_an_event_id_get_their_own_activity_ids_in_order(key_client):
    leads = [LeadFactory(email=f"p{i}@acme.test") for i in range(3)]
    types = ["page_view", "email_open", "webinar_attended"]
    body = key_client.post(
        "/api/v1/events/",
        [{"type": t, "lead": {"email": lead.email}} for t, lead in zip(types, leads, strict=True)],
        format="json",
    ).json()
    stored = [Activity.objects.get(pk=r["activity_id"]) for r in body["results"]]
    assert [(a.type, a.lead_id) for a in stored] == [
        (t, lead.pk) for t, lead in zip(types, leads, strict=True)
    ]


@pytest.mark.django_db
def test_one_external_id_in_two_sources_names_two_people(key_client):
    crm = LeadFactory(email="", external_id="42", source="crm")
    shop = LeadFactory(email="", external_id="42", source="shop")
    body = key_client.post(
        "/api/v1/events/",
        [
            {"type": "page_view", "lead": {"external_id": "42", "source": "shop"}},
            {"type": "page_view", "lead": {"external_id": "42", "source": "crm"}},
            {"type": "page_view", "lead": {"external_id": "42", "source": "other"}},
        ],
        format="json",
    ).json()
    ids = [r["lead_id"] for r in body["results"]]
    assert ids[:2] == [shop.pk, crm.pk]
    assert ids[2] not in (shop.pk, crm.pk)
    assert [r["lead_created"] for r in body["results"]] == [False, False, True]


@pytest.mark.django_db
def test_a_batch_is_stored_in_lead_order(key_client):
    # The foreign key checks at commit lock the leads in row order: one order for every
    # writer keeps two of them from waiting on each other the other way round.
    leads = [LeadFactory(email=f"o{i}@acme.test") for i in range(4)]
    body = key_client.post(
        "/api/v1/events/",
        [
            {"event_id": f"o{i}", "type": "page_view", "lead": {"email": lead.email}}
            for i, lead in enumerate(reversed(leads))
        ]
        + [{"type": "email_open", "lead": {"email": lead.email}} for lead in reversed(leads)],
        format="json",
    ).json()
    assert body["accepted"] == 8
    for event_type in ("page_view", "email_open"):
        stored = Activity.objects.filter(type=event_type).order_by("pk")
        assert [a.lead_id for a in stored] == [lead.pk for lead in leads]
