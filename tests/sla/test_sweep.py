"""The SLA sweep with frozen time: a handoff goes at risk, breaches and is escalated, across
a weekend and a holiday, in two time zones; a kept promise is met; running the sweep twice
fires nothing new."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads.handoff.models import Handoff, HandoffStatus, RoutingDecision, Touch
from leads.models import StageChange
from leads.routing.models import SalesTeam
from sla import services
from sla.models import (
    AgreementStatus,
    BusinessCalendar,
    ClockKind,
    ClockStatus,
    SlaAgreement,
    SlaClock,
    SlaEvent,
)
from tests.leads.scoring_fixtures import make_lead

pytestmark = pytest.mark.django_db

HOURS = {str(d): [["09:00", "17:00"]] for d in range(1, 6)}


def berlin(*args):
    return datetime(*args, tzinfo=ZoneInfo("Europe/Berlin"))


def new_york(*args):
    return datetime(*args, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def agreement():
    return SlaAgreement.objects.create(
        version=1,
        status=AgreementStatus.ACTIVE,
        accept_within_minutes=60,
        first_touch_within_minutes=5,
        min_attempts=3,
        attempts_within_days=7,
        created_at=berlin(2026, 1, 1, 9),
    )


@pytest.fixture
def teams():
    emea = SalesTeam.objects.create(name="EMEA", timezone="Europe/Berlin")
    us = SalesTeam.objects.create(name="US", timezone="America/New_York")
    BusinessCalendar.objects.create(
        name="Berlin", team=emea, timezone="Europe/Berlin", weekly_hours=HOURS, holiday_country="DE"
    )
    BusinessCalendar.objects.create(
        name="New York",
        team=us,
        timezone="America/New_York",
        weekly_hours=HOURS,
        holiday_country="US",
    )
    return emea, us


def handoff_for(n, *, team, owner, at):
    lead = make_lead(n)
    change = StageChange.objects.create(
        lead=lead, from_stage=lead.stage, to_stage=lead.stage, changed_at=at, rule="test"
    )
    return Handoff.objects.create(
        lead=lead,
        lead_stage_id=lead.stage_id,
        qualification=change,
        why="test",
        team=team,
        owner=owner,
        status=HandoffStatus.ASSIGNED if owner else HandoffStatus.POOL,
        created_at=at,
        assigned_at=at if owner else None,
    )


def sweep(at):
    with time_machine.travel(at, tick=False):
        return services.sla_sweep(now=at)


def test_an_ignored_lead_goes_at_risk_breaches_and_is_escalated_over_christmas(
    agreement, teams, rep
):
    emea, _ = teams
    created = berlin(2026, 12, 24, 16, 30)  # Thursday; Fri 25 and Sat 26 are holidays
    handoff = handoff_for(1, team=emea, owner=rep, at=created)
    services.clocks_start(handoff=handoff, now=created)
    accept = SlaClock.objects.get(handoff=handoff, kind=ClockKind.ACCEPT)
    assert accept.due_at == berlin(2026, 12, 28, 9, 30)  # 30 min Thu + 30 min Mon
    assert accept.warn_at == berlin(2026, 12, 28, 9, 15)  # 75% of 60 business minutes
    handoff.refresh_from_db()
    assert handoff.accept_due_at == accept.due_at

    sweep(berlin(2026, 12, 27, 12, 0))  # Sunday: nothing is due yet
    accept.refresh_from_db()
    assert accept.status == ClockStatus.ON_TRACK
    first_touch = SlaClock.objects.get(handoff=handoff, kind=ClockKind.FIRST_TOUCH)
    assert first_touch.status == ClockStatus.BREACHED  # 5 minutes ran out on Thursday

    sweep(berlin(2026, 12, 28, 9, 20))
    accept.refresh_from_db()
    assert accept.status == ClockStatus.AT_RISK
    sweep(berlin(2026, 12, 28, 9, 31))
    accept.refresh_from_db()
    handoff.refresh_from_db()
    assert accept.status == ClockStatus.BREACHED
    assert (handoff.status, handoff.owner) == (HandoffStatus.POOL, None)
    assert (
        "did not accept or reject in time; back to the pool" in RoutingDecision.objects.get().reason
    )
    kinds = sorted(SlaEvent.objects.filter(clock=accept).values_list("kind", flat=True))
    assert kinds == ["breached", "escalated", "warned"]

    before = SlaEvent.objects.count()
    sweep(berlin(2026, 12, 28, 9, 32))
    sweep(berlin(2026, 12, 28, 9, 33))
    assert SlaEvent.objects.count() == before


def test_a_lead_touched_in_time_is_met_in_new_york_over_thanksgiving(agreement, teams, rep):
    _, us = teams
    created = new_york(2026, 11, 25, 16, 58)  # Wednesday before Thanksgiving
    handoff = handoff_for(2, team=us, owner=rep, at=created)
    services.clocks_start(handoff=handoff, now=created)
    first_touch = SlaClock.objects.get(handoff=handoff, kind=ClockKind.FIRST_TOUCH)
    assert first_touch.due_at == new_york(2026, 11, 27, 9, 3)  # Thursday is a holiday

    touched = new_york(2026, 11, 27, 9, 1)
    Touch.objects.create(
        handoff=handoff,
        lead=handoff.lead,
        rep=rep,
        kind="call",
        outcome="connected",
        touched_at=touched,
    )
    Handoff.objects.filter(pk=handoff.pk).update(
        first_touch_at=touched, accepted_at=touched, status=HandoffStatus.ACCEPTED
    )
    sweep(new_york(2026, 11, 27, 9, 10))
    first_touch.refresh_from_db()
    assert (first_touch.status, first_touch.met_at) == (ClockStatus.MET, touched)
    accept = SlaClock.objects.get(handoff=handoff, kind=ClockKind.ACCEPT)
    assert accept.status == ClockStatus.MET
    assert not SlaEvent.objects.exists()


def test_attempts_are_met_at_the_nth_touch(agreement, teams, rep):
    emea, _ = teams
    created = berlin(2026, 12, 1, 10, 0)
    handoff = handoff_for(3, team=emea, owner=rep, at=created)
    services.clocks_start(handoff=handoff, now=created)
    for hours in (1, 5, 30):
        Touch.objects.create(
            handoff=handoff,
            lead=handoff.lead,
            rep=rep,
            kind="call",
            outcome="no_answer",
            touched_at=created + timedelta(hours=hours),
        )
    sweep(created + timedelta(days=2))
    attempts = SlaClock.objects.get(handoff=handoff, kind=ClockKind.ATTEMPTS)
    assert (attempts.status, attempts.met_at) == (ClockStatus.MET, created + timedelta(hours=30))


def test_a_pool_lead_owes_a_claim_then_an_answer(agreement, teams, rep):
    emea, _ = teams
    created = berlin(2026, 12, 1, 10, 0)
    handoff = handoff_for(4, team=emea, owner=None, at=created)
    services.clocks_start(handoff=handoff, now=created)
    assert set(handoff.sla_clocks.values_list("kind", flat=True)) == {
        "first_touch",
        "attempts",
        "pool_claim",
    }
    claimed = created + timedelta(minutes=10)
    Handoff.objects.filter(pk=handoff.pk).update(
        status=HandoffStatus.ASSIGNED, owner=rep, assigned_at=claimed
    )
    sweep(created + timedelta(minutes=12))
    assert (
        SlaClock.objects.get(handoff=handoff, kind=ClockKind.POOL_CLAIM).status == ClockStatus.MET
    )
    accept = SlaClock.objects.get(handoff=handoff, kind=ClockKind.ACCEPT)
    assert accept.started_at == claimed and accept.due_at == claimed + timedelta(minutes=60)


def test_a_bad_row_does_not_stop_the_sweep(agreement, teams, rep, monkeypatch):
    emea, _ = teams
    created = berlin(2026, 12, 1, 10, 0)
    first = handoff_for(5, team=emea, owner=rep, at=created)
    second = handoff_for(6, team=emea, owner=rep, at=created)
    services.clocks_start(handoff=first, now=created)
    services.clocks_start(handoff=second, now=created)
    real_check = services._check

    def flaky(clock, now):
        if clock.handoff_id == first.pk:
            raise RuntimeError("boom")
        return real_check(clock, now)

    monkeypatch.setattr(services, "_check", flaky)
    at = created + timedelta(hours=3)
    counts = sweep(at)
    # First touch and accept are due on both; the 7-day attempts clock is not yet.
    assert counts["failed"] == 2 and counts["checked"] == 2
    assert (
        SlaClock.objects.filter(handoff=first, next_check_at=at + services.RETRY_BAD_ROW).count()
        == 2
    )
    assert SlaClock.objects.filter(handoff=second, status=ClockStatus.BREACHED).count() == 2


def test_no_agreement_means_no_clocks(rep, teams):
    handoff = handoff_for(7, team=teams[0], owner=rep, at=berlin(2026, 12, 1, 10))
    assert services.clocks_start(handoff=handoff, now=berlin(2026, 12, 1, 10)) == []
