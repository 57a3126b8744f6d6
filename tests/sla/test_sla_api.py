"""/api/v1/sla/ and /api/v1/sla/calendars/: the agreement's versions and life with the
same role rules as the pages, and calendars with field messages on bad input."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads.routing.models import SalesTeam
from sla import services
from sla.models import AgreementStatus, BusinessCalendar, SlaAgreement

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("UTC"))
HOURS = {str(d): [["09:00", "17:00"]] for d in range(1, 6)}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def api(client_for):
    def as_user(user):
        client = client_for(user)
        return client

    return as_user


def test_anyone_with_a_role_lists_versions_and_sees_which_is_in_force(
    api, rep, marketing_manager, sales_manager
):
    v1 = services.agreement_create(actor=marketing_manager, now=NOW)
    services.agreement_propose(agreement=v1, now=NOW)
    services.agreement_sign(agreement=v1, user=marketing_manager, now=NOW)
    services.agreement_sign(agreement=v1, user=sales_manager, now=NOW)
    services.agreement_new_version(based_on=v1, actor=sales_manager, now=NOW)
    response = api(rep).get("/api/v1/sla/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["version"], r["status"], r["in_force"]) for r in rows] == [
        (2, "draft", False),
        (1, "active", True),
    ]
    active = rows[1]
    assert {s["team"] for s in active["sign_offs"]} == {"marketing", "sales"}
    assert active["accept_within_minutes"] == 60
    assert active["terms_in_words"][0] == {
        "team": "sales",
        "text": "Sales accepts or rejects a lead within 60 business minutes.",
        "fields": ["accept_within_minutes"],
    }
    assert active["effective_from"] == "2026-11-20"
    detail = api(rep).get(f"/api/v1/sla/{v1.pk}/")
    assert detail.json()["id"] == v1.pk


def test_an_outsider_reads_nothing(api, outsider):
    assert api(outsider).get("/api/v1/sla/").status_code == 403
    assert api(outsider).get("/api/v1/sla/calendars/").status_code == 403


def test_a_manager_creates_and_updates_a_draft(api, marketing_manager):
    client = api(marketing_manager)
    response = client.post(
        "/api/v1/sla/",
        {"title": "Ours", "first_touch_within_minutes": 10, "nurture_policy": "Monthly news."},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["version"], body["status"], body["first_touch_within_minutes"]) == (
        1,
        "draft",
        10,
    )
    assert body["created_by"] == "marcus"
    response = client.patch(
        f"/api/v1/sla/{body['id']}/", {"min_attempts": 8}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["min_attempts"] == 8


def test_bad_terms_answer_400_with_a_message_per_field(api, sales_manager):
    response = api(sales_manager).post(
        "/api/v1/sla/",
        {"accept_within_minutes": 0, "max_not_icp_percent": 150, "warn_at_percent": 100},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["accept_within_minutes"] == ["Must be between 1 and 43200 business minutes."]
    assert body["max_not_icp_percent"] == ["Must be between 0 and 100 %."]
    assert body["warn_at_percent"] == ["Must be between 1 and 99 %."]
    assert not SlaAgreement.objects.exists()


def test_a_rep_cannot_create_propose_or_sign(api, rep, marketing_manager):
    draft = services.agreement_create(actor=marketing_manager, now=NOW)
    client = api(rep)
    assert client.post("/api/v1/sla/", {}, content_type="application/json").status_code == 403
    assert client.post(f"/api/v1/sla/{draft.pk}/propose/").status_code == 403
    services.agreement_propose(agreement=draft, now=NOW)
    assert client.post(f"/api/v1/sla/{draft.pk}/sign/").status_code == 403
    assert not draft.sign_offs.exists()


def test_a_marketer_cannot_sign_and_an_admin_signs_for_no_team(
    api, marketer, admin_user, marketing_manager
):
    draft = services.agreement_create(actor=marketing_manager, now=NOW)
    services.agreement_propose(agreement=draft, now=NOW)
    assert api(marketer).post(f"/api/v1/sla/{draft.pk}/sign/").status_code == 403
    response = api(admin_user).post(f"/api/v1/sla/{draft.pk}/sign/")
    assert response.status_code == 403
    assert "Marketing or a Sales lead" in response.json()["detail"]


def test_the_signing_flow_puts_the_new_version_in_force(api, marketing_manager, sales_manager):
    v1 = services.agreement_create(actor=marketing_manager, now=NOW)
    services.agreement_propose(agreement=v1, now=NOW)
    services.agreement_sign(agreement=v1, user=marketing_manager, now=NOW)
    services.agreement_sign(agreement=v1, user=sales_manager, now=NOW)

    client = api(sales_manager)
    response = client.post(f"/api/v1/sla/{v1.pk}/new-version/")
    assert response.status_code == 201
    v2 = response.json()
    assert v2["version"] == 2 and v2["effective_from"] is None
    # A second draft while one is open: 409.
    assert client.post(f"/api/v1/sla/{v1.pk}/new-version/").status_code == 409
    client.patch(
        f"/api/v1/sla/{v2['id']}/", {"accept_within_minutes": 30}, content_type="application/json"
    )
    assert client.post(f"/api/v1/sla/{v2['id']}/propose/").json()["status"] == "proposed"
    # Frozen: changes now conflict.
    frozen = client.patch(
        f"/api/v1/sla/{v2['id']}/", {"accept_within_minutes": 20}, content_type="application/json"
    )
    assert frozen.status_code == 409
    assert client.post(f"/api/v1/sla/{v2['id']}/sign/").json()["status"] == "proposed"
    assert client.post(f"/api/v1/sla/{v2['id']}/sign/").status_code == 409  # Sales signed
    later = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(later, tick=False):
        signed = api(marketing_manager).post(f"/api/v1/sla/{v2['id']}/sign/").json()
    assert (signed["status"], signed["in_force"], signed["effective_from"]) == (
        "active",
        True,
        "2026-12-01",
    )
    v1.refresh_from_db()
    assert (v1.status, v1.effective_to) == (AgreementStatus.SUPERSEDED, date(2026, 12, 1))

    diff = client.get(f"/api/v1/sla/{v2['id']}/diff/").json()
    assert diff == [
        {
            "field": "accept_within_minutes",
            "label": "Accept or reject within (business minutes)",
            "before": "60",
            "after": "30",
        }
    ]


def test_a_draft_can_be_deleted_but_not_a_version_in_force(api, marketing_manager, sales_manager):
    v1 = services.agreement_create(actor=marketing_manager, now=NOW)
    client = api(sales_manager)
    services.agreement_propose(agreement=v1, now=NOW)
    services.agreement_sign(agreement=v1, user=marketing_manager, now=NOW)
    services.agreement_sign(agreement=v1, user=sales_manager, now=NOW)
    assert client.delete(f"/api/v1/sla/{v1.pk}/").status_code == 409
    v2 = services.agreement_new_version(based_on=v1, actor=sales_manager, now=NOW)
    assert client.delete(f"/api/v1/sla/{v2.pk}/").status_code == 204


def test_compliance_is_not_read_as_an_agreement_id(api, sales_manager):
    from django.urls import resolve

    assert resolve("/api/v1/sla/compliance/").url_name != "sla-agreement-detail"
    assert resolve("/api/v1/sla/calendars/").url_name == "sla-calendar-list"


def test_the_version_list_has_a_bounded_number_of_queries(
    api, rep, marketing_manager, sales_manager, django_assert_max_num_queries
):
    previous = None
    for _ in range(5):
        agreement = (
            services.agreement_new_version(based_on=previous, actor=sales_manager, now=NOW)
            if previous
            else services.agreement_create(actor=sales_manager, now=NOW)
        )
        services.agreement_propose(agreement=agreement, now=NOW)
        services.agreement_sign(agreement=agreement, user=marketing_manager, now=NOW)
        services.agreement_sign(agreement=agreement, user=sales_manager, now=NOW)
        previous = agreement
    client = api(rep)
    with django_assert_max_num_queries(12):
        assert len(client.get("/api/v1/sla/").json()["results"]) == 5


# --- calendars


def calendar_body(**overrides):
    body = {
        "name": "New York",
        "timezone": "America/New_York",
        "weekly_hours": HOURS,
        "holiday_country": "US",
        "extra_holidays": [{"day": "2026-12-24", "name": "Christmas Eve"}],
    }
    body.update(overrides)
    return body


def test_a_sales_manager_creates_a_calendar_and_reads_its_holidays(api, sales_manager, rep):
    team = SalesTeam.objects.create(name="US", timezone="America/New_York")
    response = api(sales_manager).post(
        "/api/v1/sla/calendars/", calendar_body(team=team.pk), content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["team"] == team.pk
    assert body["extra_holidays"] == [{"day": "2026-12-24", "name": "Christmas Eve"}]
    detail = api(rep).get(f"/api/v1/sla/calendars/{body['id']}/").json()
    assert detail["upcoming_holidays"][0] == {"day": "2026-11-26", "name": "Thanksgiving Day"}
    assert {"day": "2026-12-24", "name": "Christmas Eve"} in detail["upcoming_holidays"]


def test_reps_and_marketing_cannot_change_calendars(api, rep, marketing_manager):
    calendar = BusinessCalendar.objects.create(name="UTC", weekly_hours=HOURS)
    for user in (rep, marketing_manager):
        client = api(user)
        post = client.post(
            "/api/v1/sla/calendars/", calendar_body(), content_type="application/json"
        )
        assert post.status_code == 403
        patch = client.patch(
            f"/api/v1/sla/calendars/{calendar.pk}/", {"name": "x"}, content_type="application/json"
        )
        assert patch.status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "is not a time zone name"),
        ({"holiday_country": "XX"}, "holiday_country", "does not know 'XX'"),
        ({"weekly_hours": {"1": [["9am", "17:00"]]}}, "weekly_hours", "is not a time like 09:00"),
        ({"weekly_hours": {"1": [["17:00", "09:00"]]}}, "day_1", "must end after it starts"),
        ({"weekly_hours": {}}, "weekly_hours", "at least one working day"),
        ({"weekly_hours": {"9": [["09:00", "17:00"]]}}, "weekly_hours", "not an ISO weekday"),
    ],
)
def test_a_bad_calendar_answers_400_with_a_message_on_its_field(
    api, sales_manager, overrides, field, message
):
    response = api(sales_manager).post(
        "/api/v1/sla/calendars/", calendar_body(**overrides), content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert any(message in text for text in body[field]), body


def test_patching_a_calendar_keeps_what_was_not_sent(api, sales_manager):
    calendar = services.calendar_save(
        calendar=None,
        name="Berlin",
        timezone="Europe/Berlin",
        weekly_hours=HOURS,
        holiday_country="DE",
        extra_holidays=[(date(2026, 12, 31), "Company day")],
    )
    response = api(sales_manager).patch(
        f"/api/v1/sla/calendars/{calendar.pk}/",
        {"holiday_subdivision": "BY"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    calendar.refresh_from_db()
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("DE", "BY")
    assert calendar.weekly_hours == HOURS
    assert calendar.holidays.count() == 1


def test_the_due_calculator_reads_a_bare_time_as_the_calendars_wall_clock(api, rep):
    calendar = BusinessCalendar.objects.create(
        name="Berlin", timezone="Europe/Berlin", weekly_hours=HOURS, holiday_country="DE"
    )
    client = api(rep)
    url = f"/api/v1/sla/calendars/{calendar.pk}/due/"
    body = client.get(url, {"start": "2026-12-24T16:30", "minutes": 60}).json()
    assert body["due"] == "2026-12-28T09:30:00+01:00"
    body = client.get(url, {"start": "2026-12-24T15:30:00Z", "minutes": 60}).json()
    assert body["due"] == "2026-12-28T09:30:00+01:00"
    bad = client.get(url, {"start": "soon", "minutes": 0})
    assert bad.status_code == 400
    assert set(bad.json()) == {"start", "minutes"}
