"""The SLA demo data: calendars for the routing teams, v1 superseded and v2 in force, both
signed by Marcus and Sofia, clocks for the demo's handoffs; a second run adds nothing."""

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads.routing.models import SalesTeam
from sla import seed
from sla.models import AgreementStatus, BusinessCalendar, SlaAgreement, SlaClock, SlaEvent
from tests.sla.test_sweep import handoff_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 11, 0, tzinfo=ZoneInfo("UTC"))  # a Wednesday


def test_the_seed_builds_calendars_agreements_and_clocks_once(
    marketing_manager, sales_manager, rep
):
    emea = SalesTeam.objects.create(name="EMEA", timezone="Europe/Berlin")
    inbound = SalesTeam.objects.create(name="Inbound", timezone="America/New_York")
    old = handoff_for(1, team=emea, owner=rep, at=NOW - timedelta(days=20))
    fresh = handoff_for(2, team=inbound, owner=rep, at=NOW - timedelta(minutes=3))
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        seed.run(now=NOW, stdout=out)

    calendars = {c.name: c for c in BusinessCalendar.objects.all()}
    assert set(calendars) == {"Company default", "EMEA (Berlin)", "Inbound (New York)"}
    assert (calendars["EMEA (Berlin)"].team, calendars["EMEA (Berlin)"].holiday_country) == (
        emea,
        "DE",
    )
    assert calendars["Inbound (New York)"].holiday_country == "US"
    assert calendars["Company default"].is_default

    v1, v2 = SlaAgreement.objects.order_by("version")
    assert (v1.status, v2.status) == (AgreementStatus.SUPERSEDED, AgreementStatus.ACTIVE)
    assert v1.effective_to == v2.effective_from
    for version in (v1, v2):
        signers = {(s.team, s.user.username) for s in version.sign_offs.all()}
        assert signers == {("marketing", "marcus"), ("sales", "sofia")}
    assert v2.first_touch_within_minutes == 5 and v2.min_attempts == 6

    # The old handoff was never answered: breached and escalated long ago, told nobody.
    old_accept = SlaClock.objects.get(handoff=old, kind="accept")
    assert old_accept.status == "breached"
    assert not SlaEvent.objects.filter(clock__handoff=old, notified_at__isnull=True).exists()
    # The fresh one is still running in New York's business hours (06:00 there: not yet).
    assert SlaClock.objects.get(handoff=fresh, kind="first_touch").status == "on_track"
    assert "sla: 3 calendars, 2 agreement versions created" in out.getvalue()

    before = (
        BusinessCalendar.objects.count(),
        SlaAgreement.objects.count(),
        SlaClock.objects.count(),
        SlaEvent.objects.count(),
    )
    with time_machine.travel(NOW, tick=False):
        seed.run(now=NOW, stdout=io.StringIO())
    after = (
        BusinessCalendar.objects.count(),
        SlaAgreement.objects.count(),
        SlaClock.objects.count(),
        SlaEvent.objects.count(),
    )
    assert after == before
