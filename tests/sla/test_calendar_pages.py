"""Business calendars in the browser: sales managers keep them, everyone reads them, the
next holidays come from the holidays library and the calculator adds business minutes."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from leads.routing.models import SalesTeam
from sla.models import BusinessCalendar, CalendarHoliday
from sla.views import upcoming_holidays

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=ZoneInfo("UTC"))
HOURS = {str(d): [["09:00", "17:00"]] for d in range(1, 6)}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def berlin():
    team = SalesTeam.objects.create(name="EMEA", timezone="Europe/Berlin")
    calendar = BusinessCalendar.objects.create(
        name="Berlin", team=team, timezone="Europe/Berlin", weekly_hours=HOURS, holiday_country="DE"
    )
    CalendarHoliday.objects.create(calendar=calendar, day=date(2026, 12, 31), name="Company day")
    return calendar


def form_data(**overrides):
    data = {
        "name": "New York",
        "team": "",
        "timezone": "America/New_York",
        "holiday_country": "US",
        "holiday_subdivision": "NY",
        "extra_holidays": "2026-12-24 Christmas Eve\n\n2026-12-31 New Year's Eve",
        **{f"day_{d}_start": "09:00" for d in range(1, 6)},
        **{f"day_{d}_end": "17:30" for d in range(1, 6)},
        "day_6_start": "",
        "day_6_end": "",
        "day_7_start": "",
        "day_7_end": "",
    }
    data.update(overrides)
    return data


def test_the_next_ten_holidays_mix_public_and_company_days(berlin):
    days = upcoming_holidays(berlin, today=date(2026, 12, 20))
    assert days[:3] == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 26), "Second Day of Christmas"),
        (date(2026, 12, 31), "Company day"),
    ]
    assert days[3] == (date(2027, 1, 1), "New Year's Day")
    assert len(days) == 10


def test_everyone_with_a_role_reads_calendars_and_an_outsider_does_not(
    client_for, rep, outsider, berlin
):
    page = client_for(rep).get(reverse("sla:calendar_detail", args=[berlin.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Fri 25 Dec 2026</span> — Christmas Day" in text
    assert "Thu 31 Dec 2026</span> — Company day" in text
    assert reverse("sla:calendar_edit", args=[berlin.pk]) not in text
    assert client_for(rep).get(reverse("sla:calendar_list")).status_code == 200
    assert client_for(outsider).get(reverse("sla:calendar_list")).status_code == 403


def test_a_rep_and_a_marketing_manager_cannot_change_calendars(
    client_for, rep, marketing_manager, berlin
):
    for user in (rep, marketing_manager):
        client = client_for(user)
        assert client.get(reverse("sla:calendar_create")).status_code == 403
        response = client.post(reverse("sla:calendar_edit", args=[berlin.pk]), form_data())
        assert response.status_code == 403
    berlin.refresh_from_db()
    assert berlin.name == "Berlin"


def test_a_sales_manager_creates_a_calendar_with_hours_and_holidays(client_for, sales_manager):
    us = SalesTeam.objects.create(name="US", timezone="America/New_York")
    response = client_for(sales_manager).post(
        reverse("sla:calendar_create"), form_data(team=us.pk, is_default="on")
    )
    calendar = BusinessCalendar.objects.get(name="New York")
    assert response.status_code == 302
    assert calendar.team == us and calendar.is_default
    assert calendar.weekly_hours["1"] == [["09:00", "17:30"]] and "6" not in calendar.weekly_hours
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("US", "NY")
    assert list(calendar.holidays.values_list("day", "name")) == [
        (date(2026, 12, 24), "Christmas Eve"),
        (date(2026, 12, 31), "New Year's Eve"),
    ]


def test_a_new_default_calendar_takes_over_from_the_old_one(client_for, sales_manager, berlin):
    BusinessCalendar.objects.filter(pk=berlin.pk).update(is_default=True)
    client_for(sales_manager).post(reverse("sla:calendar_create"), form_data(is_default="on"))
    assert list(
        BusinessCalendar.objects.filter(is_default=True).values_list("name", flat=True)
    ) == ["New York"]


def test_editing_keeps_the_form_in_sync_with_the_stored_calendar(client_for, sales_manager, berlin):
    client = client_for(sales_manager)
    page = client.get(reverse("sla:calendar_edit", args=[berlin.pk]))
    form = page.context["form"]
    assert form.initial["day_1_start"] == "09:00" and form.initial["timezone"] == "Europe/Berlin"
    assert form.initial["extra_holidays"] == "2026-12-31 Company day"
    client.post(
        reverse("sla:calendar_edit", args=[berlin.pk]),
        form_data(
            name="Berlin",
            team=berlin.team_id,
            timezone="Europe/Berlin",
            holiday_country="de",
            holiday_subdivision="by",
            extra_holidays="",
            day_6_start="10:00",
            day_6_end="14:00",
        ),
    )
    berlin.refresh_from_db()
    assert (berlin.holiday_country, berlin.holiday_subdivision) == ("DE", "BY")
    assert berlin.weekly_hours["6"] == [["10:00", "14:00"]]
    assert not berlin.holidays.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "is not a time zone name"),
        ({"holiday_country": "XX"}, "holiday_country", "does not know 'XX'"),
        ({"holiday_subdivision": "ZZ"}, "holiday_subdivision", "US has no subdivision 'ZZ'"),
        ({"extra_holidays": "31.12.2026 Eve"}, "extra_holidays", "Line 1: '31.12.2026'"),
        ({"day_1_end": "08:00"}, "day_1_end", "must end after it starts"),
        ({"day_2_end": ""}, "day_2_start", "both a start and an end"),
        (
            {f"day_{d}_{p}": "" for d in range(1, 6) for p in ("start", "end")},
            "day_1_start",
            "at least one working day",
        ),
        ({"name": "Berlin"}, "name", "Another calendar has this name"),
    ],
)
def test_a_bad_calendar_is_refused_with_a_message_on_its_field(
    client_for, sales_manager, berlin, overrides, field, message
):
    response = client_for(sales_manager).post(
        reverse("sla:calendar_create"), form_data(**overrides)
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(message in e for e in errors.get(field, [])), errors
    assert BusinessCalendar.objects.count() == 1


def test_the_calculator_adds_business_minutes_over_a_holiday_weekend(client_for, rep, berlin):
    client = client_for(rep)
    url = reverse("sla:calendar_due", args=[berlin.pk])
    # Thursday 24 Dec 16:30 in Berlin + 60 minutes: 30 today, then Mon 28 Dec 09:30.
    response = client.get(url, {"start": "2026-12-24T16:30", "minutes": 60}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Due <strong>Mon 28 Dec 2026 09:30</strong>" in response.content.decode()
    assert "take 3 days 17 hours on the wall clock" in response.content.decode()
    assert b"<html" not in response.content  # the htmx partial only

    full = client.get(url, {"start": "2026-12-24T16:30", "minutes": 60})
    assert b"<html" in full.content

    bad = client.get(url, {"start": "yesterday", "minutes": 0})
    assert bad.status_code == 400
    assert b'data-testid="due-errors"' in bad.content


def test_the_list_names_teams_without_a_calendar(
    client_for, sales_manager, berlin, django_assert_max_num_queries
):
    SalesTeam.objects.create(name="APAC", timezone="Asia/Singapore")
    for n in range(5):
        BusinessCalendar.objects.create(name=f"Extra {n}", weekly_hours=HOURS)
    client = client_for(sales_manager)
    with django_assert_max_num_queries(9):
        page = client.get(reverse("sla:calendar_list"))
    text = page.content.decode()
    assert "Without a calendar of their own: APAC" in text
    assert "1 company day off" in text


def test_a_team_gets_its_own_calendar_before_the_default_in_one_query_and_its_holidays(
    django_assert_num_queries,
):
    from sla.services import calendar_for

    own = SalesTeam.objects.create(name="APAC", timezone="Asia/Tokyo")
    other = SalesTeam.objects.create(name="Americas", timezone="America/Chicago")
    assert calendar_for(own).timezone == "Asia/Tokyo"  # no rows: 9 to 5 in the team's zone
    assert calendar_for(None).timezone == "UTC"
    BusinessCalendar.objects.create(
        name="Default", timezone="Europe/London", weekly_hours=HOURS, is_default=True
    )
    BusinessCalendar.objects.create(
        name="Tokyo", team=own, timezone="Asia/Tokyo", weekly_hours=HOURS
    )
    with django_assert_num_queries(2):  # the row, its extra holidays
        assert calendar_for(own).timezone == "Asia/Tokyo"
    with django_assert_num_queries(2):
        assert calendar_for(other).timezone == "Europe/London"
    assert calendar_for(None).timezone == "Europe/London"
