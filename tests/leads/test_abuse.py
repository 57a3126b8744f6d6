"""Hostile and broken input to the intake endpoints answers 400 or 413 with a message,
never a server error, and stores nothing half-way."""

import json

import pytest
from rest_framework.test import APIClient

from leads.models import Activity, Lead
from tests.leads.factories import FormSiteFactory

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/events/"
LEADS = "/api/v1/leads/"
ORIGIN = "https://www.example.com"


def event(**overrides) -> dict:
    item = {"type": "page_view", "lead": {"email": "ada@example.com"}}
    item.update(overrides)
    return item


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"x": value}
    return value


def post_raw(client: APIClient, path: str, body: bytes, content_type="application/json"):
    return client.generic("POST", path, body, content_type=content_type, HTTP_ORIGIN=ORIGIN)


def assert_refused(response, *codes):
    assert response.status_code in codes, (response.status_code, response.content[:300])
    assert response.content  # a message, not an empty refusal


def test_a_body_over_the_limit_is_refused_before_it_is_read(key_client):
    body = json.dumps(event(properties={"blob": "x" * (6 * 1024 * 1024)})).encode()

    assert_refused(post_raw(key_client, EVENTS, body), 413)
    assert_refused(
        post_raw(key_client, LEADS, b'{"email": "a@b.co", "x": "' + b"y" * 300_000 + b'"}'), 413
    )
    assert not Activity.objects.exists()


def test_a_batch_over_a_thousand_events_is_refused(key_client):
    response = key_client.post(EVENTS, [event(event_id=str(i)) for i in range(1001)], format="json")

    assert_refused(response, 413)
    assert "1000" in response.json()["detail"]


def test_deeply_nested_properties_are_refused_with_a_message(key_client):
    response = key_client.post(EVENTS, event(properties=nested(40)), format="json")

    assert_refused(response, 400)
    assert "nest" in json.dumps(response.json()["results"][0]["errors"]).lower()


def test_nesting_deeper_than_the_json_parser_allows_is_a_400_not_a_crash(key_client):
    body = (
        '{"type": "page_view", "lead": {"email": "a@b.co"}, "properties": '
        + "[" * 100_000
        + "]" * 100_000
        + "}"
    ).encode()

    assert_refused(post_raw(key_client, EVENTS, body), 400, 413)


def test_too_many_property_keys_are_refused(key_client):
    response = key_client.post(
        EVENTS, event(properties={f"k{i}": i for i in range(1000)}), format="json"
    )

    assert_refused(response, 400)


def test_deeply_nested_lead_attributes_are_refused(key_client):
    response = key_client.post(
        LEADS, {"email": "ada@example.com", "attributes": nested(40)}, format="json"
    )

    assert_refused(response, 400)
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "item",
    [
        event(lead={"email": "ada@example.com", "first_name": "Ada\x00"}),
        event(properties={"url": "https://example.com/\x00"}),
        event(properties={"ba\x00d": 1}),
        event(event_id="id\x00"),
        event(type="page\x00view"),
    ],
    ids=["lead field", "property value", "property key", "event id", "type"],
)
def test_nul_bytes_are_refused(key_client, item):
    response = key_client.post(EVENTS, item, format="json")

    assert_refused(response, 400)
    assert not Activity.objects.exists()


def test_a_nul_byte_in_a_lead_attribute_is_refused(key_client):
    response = key_client.post(LEADS, {"email": "ada@example.com", "note": "a\x00b"}, format="json")

    assert_refused(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "page_view", "lead": {"email": "\xff\xfe@example.com"}}',
        b"\xc3\x28",
        # A lone surrogate: valid-looking bytes that are not UTF-8.
        b'{"type": "page_view", "lead": {"email": "ada@example.com"}, '
        b'"properties": {"a": "\xed\xa0\x80"}}',
        b"",
        b"not json",
        b"[",
        b"null",
        b"42",
        b'"a string"',
        b"[1, 2, 3]",
        b"[[]]",
    ],
)
def test_invalid_utf8_or_malformed_json_is_a_400(key_client, body):
    assert_refused(post_raw(key_client, EVENTS, body), 400)


@pytest.mark.parametrize("body", [b"\xc3\x28", b"", b"[1]", b"null", b'"x"'])
def test_the_lead_endpoint_refuses_bodies_that_are_not_a_lead(key_client, body):
    assert_refused(post_raw(key_client, LEADS, body), 400)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_nan_infinity_and_overflowing_floats_are_refused(key_client, token):
    body = (
        '{"type": "page_view", "lead": {"email": "ada@example.com"}, '
        f'"properties": {{"value": {token}}}}}'
    ).encode()

    assert_refused(post_raw(key_client, EVENTS, body), 400)
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"employees": 10**30},
        {"employees": -1},
        {"annual_revenue": "1e400"},
        {"annual_revenue": "NaN"},
        {"annual_revenue": 10**20},
    ],
)
def test_huge_or_impossible_numbers_in_lead_fields_are_refused(key_client, fields):
    response = key_client.post(LEADS, {"email": "ada@example.com", **fields}, format="json")

    assert_refused(response, 400)
    assert not Lead.objects.exists()


def test_a_huge_integer_in_properties_is_refused(key_client):
    response = key_client.post(EVENTS, event(properties={"n": 10**100}), format="json")

    assert_refused(response, 400)


@pytest.mark.parametrize(
    "occurred_at",
    [
        "1969-12-31T23:59:59Z",
        "1900-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "2999-01-01T00:00:00Z",
        "not a date",
        12,
    ],
)
def test_far_past_and_far_future_timestamps_are_refused(key_client, occurred_at):
    response = key_client.post(EVENTS, event(occurred_at=occurred_at), format="json")

    assert_refused(response, 400)
    assert "occurred_at" in response.json()["results"][0]["errors"]


def test_one_bad_item_does_not_spoil_the_batch(key_client):
    batch = [event(event_id="good"), event(event_id="bad", properties=nested(40))]

    response = key_client.post(EVENTS, batch, format="json")

    assert response.status_code == 207
    assert Activity.objects.filter(event_id="good").exists()
    assert not Activity.objects.filter(event_id="bad").exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "ada@example.com", "first_name": "Ada\x00"},
        {"email": "ada@example.com", "company": "x" * 5000},
        {"email": "not-an-email"},
        {"email": "ada@example.com", "employees": "1" * 40},
    ],
)
def test_the_public_form_refuses_bad_fields_with_a_400(fields):
    site = FormSiteFactory()
    client = APIClient()

    response = client.post(f"/api/v1/forms/{site.site_key}/", fields, HTTP_ORIGIN=ORIGIN)

    assert_refused(response, 400)


def test_the_public_form_refuses_invalid_utf8():
    site = FormSiteFactory()

    response = post_raw(APIClient(), f"/api/v1/forms/{site.site_key}/", b'{"email": "\xff"}')

    assert_refused(response, 400)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/leads/{pk}/stage/", {"stage": "x\x00", "reason": "r\x00"}),
        ("/api/v1/leads/{pk}/stage/", {"stage": ["mql"], "reason": {"a": 1}}),
        ("/api/v1/personas/", {"name": "P\x00", "criteria": [{"field": None}]}),
        (
            "/api/v1/goals/",
            {"period_kind": "month", "period_start": "0001-01-01", "revenue_target": 10**40},
        ),
        ("/api/v1/sla/calendars/", {"name": "C", "timezone": "Mars/Olympus", "weekly_hours": "x"}),
    ],
)
def test_other_write_endpoints_answer_bad_input_with_a_400(path, body, admin_user):
    lead = Lead.objects.create(
        email="ada@example.com",
        stage_id=1,
        stage_entered_at="2026-11-01T00:00:00Z",
        created_at="2026-11-01T00:00:00Z",
        updated_at="2026-11-01T00:00:00Z",
    )
    api = APIClient()
    api.force_authenticate(admin_user)

    response = api.post(path.format(pk=lead.pk), body, format="json")

    assert_refused(response, 400)
