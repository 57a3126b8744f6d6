"""The notify step of the SLA sweep: every warning reaches the rep, every breach the
manager, every escalation the team's pool, once; a second sweep sends nothing."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from leads.routing.models import SalesTeam, TeamMember
from sla import services
from sla.models import (
    AgreementStatus,
    BusinessCalendar,
    ClockKind,
    SlaAgreement,
    SlaClock,
    SlaEvent,
)
from smarketing.notifications.models import Channel, ChannelPreference, DeliveryStatus, Notification
from tests.sla.test_sweep import handoff_for

pytestmark = pytest.mark.django_db

HOURS = {str(d): [["09:00", "17:00"]] for d in range(1, 6)}


def berlin(*args):
    return datetime(*args, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture
def setup(rep, rep2, sales_manager):
    SlaAgreement.objects.create(
        version=1,
        status=AgreementStatus.ACTIVE,
        accept_within_minutes=60,
        first_touch_within_minutes=5,
        created_at=berlin(2026, 1, 1, 9),
    )
    team = SalesTeam.objects.create(name="EMEA", timezone="Europe/Berlin", manager=sales_manager)
    TeamMember.objects.create(team=team, user=rep)
    TeamMember.objects.create(team=team, user=rep2)
    BusinessCalendar.objects.create(
        name="Berlin", team=team, timezone="Europe/Berlin", weekly_hours=HOURS, holiday_country="DE"
    )
    return team


def sweep(at):
    with time_machine.travel(at, tick=False):
        return services.sla_sweep(now=at)


def in_app(user):
    return list(Notification.objects.filter(recipient=user, channel=Channel.IN_APP).order_by("id"))


def test_warning_breach_and_escalation_each_reach_the_right_people_once(
    setup, rep, rep2, sales_manager
):
    created = berlin(2026, 12, 1, 10, 0)  # Tuesday
    handoff = handoff_for(1, team=setup, owner=rep, at=created)
    handoff.lead.first_name, handoff.lead.last_name = "Ada", "Lovelace"
    handoff.lead.company = "Engines Ltd"
    handoff.lead.save()
    services.clocks_start(handoff=handoff, now=created)

    counts = sweep(created + timedelta(minutes=4))  # first touch at 75% of 5 minutes
    assert counts["notified"] == 1
    [warning] = in_app(rep)
    assert warning.kind == "sla.warned"
    assert warning.title == "At risk: first touch for Ada Lovelace (Engines Ltd) due 10:05 CET"
    assert warning.link == f"/leads/{handoff.lead_id}/"
    assert not in_app(sales_manager)

    sweep(created + timedelta(minutes=6))
    [breach] = in_app(sales_manager)
    assert breach.kind == "sla.breached"
    assert breach.title.startswith("Breached: first touch for Ada Lovelace")
    assert "Owner: Dana" in breach.body

    sweep(created + timedelta(minutes=61))  # accept: warned at 45', breached and escalated
    kinds = sorted(n.kind for n in in_app(rep2))
    assert kinds == ["sla.escalated"]
    assert in_app(rep2)[0].title == "Back in the EMEA pool: Ada Lovelace (Engines Ltd)"
    assert sorted(n.kind for n in in_app(sales_manager)) == ["sla.breached", "sla.breached"]

    total = Notification.objects.count()
    assert not SlaEvent.objects.filter(notified_at=None).exists()
    assert sweep(created + timedelta(minutes=62))["notified"] == 0
    assert sweep(created + timedelta(minutes=63))["notified"] == 0
    assert Notification.objects.count() == total


def test_each_message_also_goes_out_by_email_unless_turned_off(setup, rep):
    ChannelPreference.objects.create(user=rep, in_app=True, email=False)
    created = berlin(2026, 12, 1, 10, 0)
    handoff = handoff_for(2, team=setup, owner=rep, at=created)
    services.clocks_start(handoff=handoff, now=created)
    sweep(created + timedelta(minutes=4))
    email = Notification.objects.get(recipient=rep, channel=Channel.EMAIL)
    assert email.status == DeliveryStatus.SKIPPED


def test_the_email_renders_from_the_sla_templates(setup, rep, settings):
    from smarketing.notifications.services import notification_deliver

    created = berlin(2026, 12, 1, 10, 0)
    handoff = handoff_for(3, team=setup, owner=rep, at=created)
    services.clocks_start(handoff=handoff, now=created)
    at = created + timedelta(minutes=4)
    sweep(at)
    email = Notification.objects.get(recipient=rep, channel=Channel.EMAIL)
    assert notification_deliver(notification_id=email.pk, now=at) == DeliveryStatus.SENT
    [message] = mail.outbox
    assert message.subject.startswith("At risk: first touch for")
    assert "Open the lead: " in message.body


def test_a_due_time_reads_in_the_reps_zone_with_the_day_when_not_today(setup, rep):
    created = berlin(2026, 12, 4, 16, 50)  # Friday; accept due Monday 09:50
    handoff = handoff_for(4, team=setup, owner=rep, at=created)
    services.clocks_start(handoff=handoff, now=created)
    sweep(berlin(2026, 12, 7, 9, 40))
    titles = [n.title for n in in_app(rep)]
    assert f"At risk: accept or reject for lead #{handoff.lead_id} due 09:50 CET" in titles

    due = berlin(2026, 12, 7, 9, 50)
    friday = berlin(2026, 12, 4, 17, 0)
    from sla.calendar import Calendar

    assert services.local_due_text(due, calendar=Calendar("Europe/Berlin"), now=friday) == (
        "Mon 07 Dec 09:50 CET"
    )
    new_york = Calendar("America/New_York")
    assert services.local_due_text(due, calendar=new_york, now=friday) == "Mon 07 Dec 03:50 EST"


def test_without_a_team_manager_every_sales_manager_hears_of_a_breach(rep, sales_manager):
    SlaAgreement.objects.create(
        version=1, status=AgreementStatus.ACTIVE, created_at=berlin(2026, 1, 1, 9)
    )
    created = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("UTC"))
    handoff = handoff_for(5, team=None, owner=rep, at=created)
    services.clocks_start(handoff=handoff, now=created)
    sweep(created + timedelta(minutes=10))
    assert [n.kind for n in in_app(sales_manager)] == ["sla.breached"]


def test_an_unclaimed_pool_lead_warns_the_whole_team(setup, rep, rep2):
    created = berlin(2026, 12, 1, 10, 0)
    handoff = handoff_for(6, team=setup, owner=None, at=created)
    services.clocks_start(handoff=handoff, now=created)
    sweep(created + timedelta(minutes=12))  # 75% of the 15-minute pool claim
    for user in (rep, rep2):
        assert any(n.title.startswith("At risk: claim from the pool") for n in in_app(user)), user


def test_an_event_claimed_by_another_sweep_is_not_notified_again(setup, rep):
    created = berlin(2026, 12, 1, 10, 0)
    handoff = handoff_for(7, team=setup, owner=rep, at=created)
    services.clocks_start(handoff=handoff, now=created)
    clock = SlaClock.objects.get(handoff=handoff, kind=ClockKind.FIRST_TOUCH)
    event = SlaEvent.objects.create(clock=clock, kind="warned", at=created)
    SlaEvent.objects.filter(pk=event.pk).update(notified_at=created)  # the other sweep won
    assert services.sla_events_notify(now=created) == 0
    assert not Notification.objects.exists()


def test_a_failing_event_is_retried_and_does_not_block_the_others(setup, rep, monkeypatch):
    created = berlin(2026, 12, 1, 10, 0)
    first = handoff_for(8, team=setup, owner=rep, at=created)
    second = handoff_for(9, team=setup, owner=rep, at=created)
    for handoff in (first, second):
        services.clocks_start(handoff=handoff, now=created)
    real = services._event_notify

    def flaky(event, **kwargs):
        if event.clock.handoff_id == first.pk:
            raise RuntimeError("outbox down")
        return real(event, **kwargs)

    monkeypatch.setattr(services, "_event_notify", flaky)
    sweep(created + timedelta(minutes=4))
    assert SlaEvent.objects.get(clock__handoff=first).notified_at is None
    assert SlaEvent.objects.get(clock__handoff=second).notified_at is not None
    monkeypatch.setattr(services, "_event_notify", real)
    assert services.sla_events_notify(now=created + timedelta(minutes=5)) == 1


def test_an_escalated_lead_owes_a_claim_from_the_pool_and_the_team_is_warned(setup, rep, rep2):
    created = berlin(2026, 12, 1, 10, 0)
    handoff = handoff_for(10, team=setup, owner=rep, at=created)
    services.clocks_start(handoff=handoff, now=created)
    escalated_at = created + timedelta(minutes=61)
    sweep(escalated_at)
    claim = SlaClock.objects.get(handoff=handoff, kind=ClockKind.POOL_CLAIM)
    assert (claim.started_at, claim.due_at) == (escalated_at, escalated_at + timedelta(minutes=15))
    sweep(escalated_at + timedelta(minutes=12))
    assert any(n.title.startswith("At risk: claim from the pool") for n in in_app(rep2))
