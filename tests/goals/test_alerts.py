"""Pacing alerts: managers are emailed when a goal paces below its level, once a day."""

from datetime import UTC, datetime
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from goals import services, tasks
from goals.models import PacingAlert
from tests.factories import FunnelGoalFactory
from tests.goals.helpers import november_funnel

NOW = datetime(2026, 11, 16, tzinfo=UTC)  # half of November gone


@pytest.fixture
def funnel(db):
    return november_funnel()


@pytest.fixture
def managers(marketing_manager, sales_manager, marketer, rep):
    return marketing_manager, sales_manager


def test_managers_are_emailed_once_a_day_when_pacing_is_low(funnel, managers):
    goal = FunnelGoalFactory(alert_below_pct=80)
    assert services.pacing_alerts_send(now=NOW) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["marcus@example.com", "sofia@example.com"]
    assert "November 2026" in message.subject
    assert "MQLs: 12 so far against 20 expected by now (60%)" in message.body
    assert "Biggest leak: Lead → MQL" in message.body
    alert = PacingAlert.objects.get(goal=goal)
    assert alert.sent_at == NOW
    assert str(alert.pacing_pct) == "40.00"
    # Later runs the same day change nothing.
    assert services.pacing_alerts_send(now=NOW.replace(hour=8)) == 0
    assert services.pacing_alerts_send(now=NOW.replace(hour=23)) == 0
    assert len(mail.outbox) == 1
    # The next day is a new day.
    assert services.pacing_alerts_send(now=datetime(2026, 11, 17, 1, tzinfo=UTC)) == 1
    assert PacingAlert.objects.filter(goal=goal).count() == 2


def test_team_goal_alerts_only_that_teams_managers(funnel, managers):
    FunnelGoalFactory(alert_below_pct=80, team="sales")
    services.pacing_alerts_send(now=NOW)
    assert [m.to for m in mail.outbox] == [["sofia@example.com"]]


def test_no_alert_without_a_level_or_when_on_pace(funnel, managers):
    FunnelGoalFactory()  # no alert level
    FunnelGoalFactory(team="marketing", alert_below_pct=30)  # worst stage is at 40%
    assert services.pacing_alerts_send(now=NOW) == 0
    assert mail.outbox == []
    assert not PacingAlert.objects.exists()


def test_a_failed_send_is_retried_by_the_next_run(funnel, managers):
    goal = FunnelGoalFactory(alert_below_pct=80)
    with mock.patch("goals.services.send_mail", side_effect=OSError("smtp down")):
        assert services.pacing_alerts_send(now=NOW) == 0
    assert PacingAlert.objects.get(goal=goal).sent_at is None
    assert services.pacing_alerts_send(now=NOW.replace(hour=8)) == 1
    assert len(mail.outbox) == 1
    assert PacingAlert.objects.get(goal=goal).sent_at == NOW.replace(hour=8)


def test_the_beat_task_sends_through_the_service(funnel, managers):
    FunnelGoalFactory(alert_below_pct=80)
    with time_machine.travel(NOW, tick=False):
        assert tasks.send_pacing_alerts.apply().get() == 1
        assert tasks.send_pacing_alerts.apply().get() == 0
    assert len(mail.outbox) == 1


def test_beat_schedules_the_alert_task():
    entry = settings.CELERY_BEAT_SCHEDULE["goals-pacing-alerts"]
    assert entry["task"] == tasks.send_pacing_alerts.name
