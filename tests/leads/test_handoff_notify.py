"""'Ready for a call': who gets it, on which channels, what it says, and that it is made
once however often the task runs."""

import json
from datetime import timedelta

import pytest
from django.core import mail

from leads.handoff.models import Handoff, HandoffStatus
from leads.handoff.notify import handoff_notify
from leads.models import Stage, StageChange, StageKind
from leads.routing.models import SalesTeam, TeamMember
from smarketing.notifications import services
from smarketing.notifications.models import Channel, DeliveryStatus, Notification
from tests.leads.scoring_fixtures import NOW, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from smarketing.notifications import tasks

    monkeypatch.setattr(tasks.deliver_task, "delay", lambda pk: None)


def make_handoff(*, n=1, status=HandoffStatus.POOL, team=None, owner=None) -> Handoff:
    lead = make_lead(
        n,
        first_name="Ana",
        last_name="Ruiz",
        title="VP Operations",
        company="Northwind",
        email=f"ana{n}@northwind.test",
        phone="+44 20 7946 0001",
    )
    mql = Stage.objects.filter(kind=StageKind.MQL).order_by("order").first()
    qualification = StageChange.objects.create(
        lead=lead, from_stage=lead.stage, to_stage=mql, rule="Scoring model v1", changed_at=NOW
    )
    return Handoff.objects.create(
        lead=lead,
        lead_stage_id=lead.stage_id,
        qualification=qualification,
        score={"fit": 25, "engagement": 21, "total": 46, "lines": [{"text": "Logistics +15"}]},
        why="Fit 25 (at least 20) and engagement 21 (at least 20)",
        status=status,
        team=team,
        owner=owner,
        created_at=NOW,
    )


def _rows(handoff, channel=None):
    rows = Notification.objects.filter(key__startswith=f"handoff:{handoff.pk}:")
    return rows.filter(channel=channel) if channel else rows


def test_an_assigned_lead_notifies_its_owner_in_the_app_and_by_email(rep, rep2):
    handoff = make_handoff(status=HandoffStatus.ASSIGNED, owner=rep)
    rows = handoff_notify(handoff_id=handoff.pk, now=NOW)
    assert sorted((r.channel, r.recipient_id) for r in rows) == [
        ("email", rep.pk),
        ("in_app", rep.pk),
    ]
    in_app = _rows(handoff, Channel.IN_APP).get()
    assert in_app.title == "Ready for a call: Ana Ruiz, VP Operations at Northwind"
    assert "Why it qualified: Fit 25 (at least 20) and engagement 21 (at least 20)" in in_app.body
    assert in_app.link == f"/leads/{handoff.lead_id}/"
    assert in_app.status == DeliveryStatus.SENT
    assert _rows(handoff, Channel.EMAIL).get().status == DeliveryStatus.PENDING
    handoff.refresh_from_db()
    assert handoff.notified_at == NOW


def test_the_payload_is_thin_no_email_address_or_phone_number(rep):
    handoff = make_handoff(status=HandoffStatus.ASSIGNED, owner=rep)
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    payload = _rows(handoff, Channel.IN_APP).get().payload
    text = json.dumps(payload)
    assert "northwind.test" not in text
    assert "7946" not in text
    assert payload["lead"] == {"name": "Ana Ruiz", "title": "VP Operations", "company": "Northwind"}
    assert payload["score"] == {"fit": 25, "engagement": 21, "total": 46}
    assert payload["links"]["lead"] == f"http://localhost:8000/leads/{handoff.lead_id}/"
    assert payload["handoff_id"] == handoff.pk


def test_a_lead_in_a_team_pool_notifies_every_active_member_of_that_team(
    rep, rep2, sales_manager, django_user_model
):
    team = SalesTeam.objects.create(name="EMEA")
    other = SalesTeam.objects.create(name="Americas")
    away = django_user_model.objects.create(username="gone", email="gone@example.com")
    TeamMember.objects.create(team=team, user=rep)
    TeamMember.objects.create(team=team, user=away, active=False)
    TeamMember.objects.create(team=other, user=rep2)
    handoff = make_handoff(team=team)
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    assert set(_rows(handoff).values_list("recipient_id", flat=True)) == {rep.pk}
    assert "Waiting in the EMEA pool" in _rows(handoff, Channel.IN_APP).get().body


def test_a_lead_in_the_shared_pool_without_a_team_notifies_every_sales_rep(
    rep, rep2, sales_manager, marketer
):
    handoff = make_handoff(team=None)
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    recipients = set(_rows(handoff, Channel.IN_APP).values_list("recipient_id", flat=True))
    assert recipients == {rep.pk, rep2.pk}


def test_a_channel_the_rep_turned_off_is_recorded_as_skipped_and_not_sent(rep):
    services.channel_preference_set(user=rep, in_app=True, email=False)
    handoff = make_handoff(status=HandoffStatus.ASSIGNED, owner=rep)
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    email = _rows(handoff, Channel.EMAIL).get()
    assert email.status == DeliveryStatus.SKIPPED
    assert email.last_error == "The recipient turned this channel off."
    assert services.notifications_due(now=NOW) == []
    assert mail.outbox == []
    assert _rows(handoff, Channel.IN_APP).get().status == DeliveryStatus.SENT


def test_each_active_webhook_of_the_team_gets_one_message(rep, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    team = SalesTeam.objects.create(name="EMEA")
    TeamMember.objects.create(team=team, user=rep)
    slack, _ = services.webhook_endpoint_create(
        name="Slack", url="http://127.0.0.1:9/a", body_format="slack", actor=None, now=NOW
    )
    crm, _ = services.webhook_endpoint_create(
        name="CRM", url="http://127.0.0.1:9/b", body_format="standard", actor=None, now=NOW
    )
    off, _ = services.webhook_endpoint_create(
        name="Old", url="http://127.0.0.1:9/c", body_format="standard", actor=None, now=NOW
    )
    services.webhook_endpoint_set_active(endpoint=off, active=False, reason="test")
    team.webhooks.set([slack, crm, off])
    handoff = make_handoff(status=HandoffStatus.ASSIGNED, team=team, owner=rep)
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    hooks = _rows(handoff, Channel.WEBHOOK)
    assert set(hooks.values_list("endpoint_id", flat=True)) == {slack.pk, crm.pk}
    assert set(hooks.values_list("key", flat=True)) == {
        f"handoff:{handoff.pk}:webhook:{slack.pk}",
        f"handoff:{handoff.pk}:webhook:{crm.pk}",
    }


def test_running_twice_adds_nothing_and_keeps_the_first_notified_time(rep):
    handoff = make_handoff(status=HandoffStatus.ASSIGNED, owner=rep)
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    later = NOW.replace(hour=13)
    handoff_notify(handoff_id=handoff.pk, now=later)
    assert _rows(handoff).count() == 2
    handoff.refresh_from_db()
    assert handoff.notified_at == NOW


def test_the_relay_is_woken_after_commit_once_per_channel_group_webhooks_first(
    rep, rep2, monkeypatch, django_capture_on_commit_callbacks
):
    from leads.routing.models import SalesTeam, TeamMember
    from smarketing.notifications import tasks
    from smarketing.notifications.models import WebhookEndpoint

    woken = []
    monkeypatch.setattr(tasks.deliver_many_task, "delay", woken.append)
    team = SalesTeam.objects.create(name="Enterprise")
    for user in (rep, rep2):
        TeamMember.objects.create(team=team, user=user)
    hook = WebhookEndpoint.objects.create(
        name="CRM", url="https://crm.example.com/hook", secret="whsec_x", created_at=NOW
    )
    hook.teams.add(team)
    handoff = make_handoff(status=HandoffStatus.POOL)
    handoff.team = team
    handoff.save(update_fields=["team"])
    with django_capture_on_commit_callbacks(execute=True):
        handoff_notify(handoff_id=handoff.pk, now=NOW)
    emails = sorted(_rows(handoff, Channel.EMAIL).values_list("pk", flat=True))
    assert len(emails) == 2  # in-app rows need no trip
    assert woken == [[_rows(handoff, Channel.WEBHOOK).get().pk], emails]


def test_a_missing_or_already_closed_handoff_is_left_quietly(rep):
    assert handoff_notify(handoff_id=987654, now=NOW) == []
    handoff = make_handoff(status=HandoffStatus.ACCEPTED, owner=rep)
    assert handoff_notify(handoff_id=handoff.pk, now=NOW) == []
    assert Notification.objects.count() == 0


def test_without_an_sla_the_message_names_no_due_time(rep):
    handoff = make_handoff(status=HandoffStatus.ASSIGNED, owner=rep)
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    row = _rows(handoff, Channel.IN_APP).get()
    assert "due" not in row.body
    assert row.payload["first_touch_due_at"] is None


def test_the_first_touch_due_time_is_said_in_the_teams_time_zone(rep):
    team = SalesTeam.objects.create(name="EMEA", timezone="Europe/Berlin")
    handoff = make_handoff(status=HandoffStatus.ASSIGNED, owner=rep, team=team)
    due = NOW + timedelta(hours=2)  # 14:00 UTC is 15:00 in Berlin in November
    Handoff.objects.filter(pk=handoff.pk).update(first_touch_due_at=due)
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    row = _rows(handoff, Channel.IN_APP).get()
    assert "First call due by 15:00 CET today." in row.body
    assert row.payload["first_touch_due_at"] == due.isoformat()


def test_a_due_time_on_another_day_names_the_day(rep):
    handoff = make_handoff(status=HandoffStatus.ASSIGNED, owner=rep)
    Handoff.objects.filter(pk=handoff.pk).update(first_touch_due_at=NOW + timedelta(days=3))
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    assert "First call due by Mon 30 Nov 12:00 UTC." in _rows(handoff, Channel.IN_APP).get().body


def test_a_lead_without_name_title_or_company_still_reads_well(rep):
    handoff = make_handoff(status=HandoffStatus.ASSIGNED, owner=rep)
    handoff.lead.__class__.objects.filter(pk=handoff.lead_id).update(
        first_name="", last_name="", title="", company=""
    )
    handoff_notify(handoff_id=handoff.pk, now=NOW)
    title = _rows(handoff, Channel.IN_APP).get().title
    assert title == f"Ready for a call: Lead #{handoff.lead_id}"
