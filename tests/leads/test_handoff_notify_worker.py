"""Through the real pipes: events posted to the API cross the MQL line in a real Celery
worker, and the rep hears about it once on every channel: in the app, by email, and by a
signed webhook to a local receiver that fails twice before it accepts."""

import time
from datetime import timedelta

from django.core import mail
from django.utils import timezone

from leads.handoff.models import Handoff, HandoffStatus
from leads.models import Lead
from leads.routing.models import RoutingRule, SalesTeam, TargetKind, TeamMember
from leads.scoring.models import LeadScore
from smarketing.notifications import services, webhooks
from smarketing.notifications.models import Channel, DeliveryAttempt, Notification
from smarketing.notifications.testing import LocalReceiver
from tests.conftest import wait_for
from tests.leads.scoring_fixtures import make_model


def _events(prefix: str, email: str) -> list[dict]:
    at = (timezone.now() - timedelta(minutes=5)).isoformat()
    lead = {
        "email": email,
        "first_name": "Ana",
        "last_name": "Ruiz",
        "title": "VP Operations",
        "company": "Northwind",
        "industry": "Logistics",
        "employees": 300,
    }
    return [
        {"event_id": f"{prefix}-1", "type": "webinar_attended", "occurred_at": at, "lead": lead},
        {"event_id": f"{prefix}-2", "type": "content_download", "occurred_at": at, "lead": lead},
        {
            "event_id": f"{prefix}-3",
            "type": "page_view",
            "occurred_at": at,
            "lead": lead,
            "properties": {"url": "/blog"},
        },
    ]


def test_a_lead_that_qualifies_reaches_its_rep_once_on_every_channel(
    celery_worker, key_client, rep, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 0.2
    make_model()
    team = SalesTeam.objects.create(name="EMEA")
    TeamMember.objects.create(team=team, user=rep)
    RoutingRule.objects.create(
        name="Everything to Dana",
        is_default=True,
        target_kind=TargetKind.REP,
        target_user=rep,
        target_team=team,
    )
    email = "ana.ruiz@northwind.test"
    with LocalReceiver([500, 500]) as receiver:
        endpoint, secret = services.webhook_endpoint_create(
            name="EMEA Slack",
            url=receiver.url,
            body_format="standard",
            actor=None,
            now=timezone.now(),
            teams=[team],
        )
        response = key_client.post("/api/v1/events/", _events("burst", email), format="json")
        returned = time.monotonic()
        assert response.status_code == 200, response.json()

        in_app = wait_for(
            lambda: Notification.objects.filter(channel=Channel.IN_APP).first(), timeout=30
        )
        stored = time.monotonic()
        receiver.wait(accepted=1, timeout=30)
        first_try = receiver.received[0].at
        print(  # noqa: T201 - shown with -s
            f"API return -> in-app stored {1000 * (stored - returned):.0f} ms (polled), "
            f"-> first webhook attempt {1000 * (first_try - returned):.0f} ms"
        )
        wait_for(lambda: len(mail.outbox) == 1, timeout=30)

        lead = Lead.objects.get(email=email)
        handoff = Handoff.objects.get(lead=lead)
        assert (handoff.status, handoff.owner_id, handoff.team_id) == (
            HandoffStatus.ASSIGNED,
            rep.pk,
            team.pk,
        )
        assert handoff.notified_at is not None
        assert in_app.recipient_id == rep.pk
        assert in_app.title == "Ready for a call: Ana Ruiz, VP Operations at Northwind"

        (message,) = mail.outbox
        assert message.to == [rep.email]
        assert message.alternatives[0][1] == "text/html"

        assert [r.status for r in receiver.received] == [500, 500, 200]
        for request in receiver.received:
            webhooks.verify(secret=secret, headers=request.headers, body=request.body)
        # The receiver answers before the worker records the answer.
        hook = wait_for(
            lambda: Notification.objects.filter(
                channel=Channel.WEBHOOK, endpoint=endpoint, status="sent"
            ).first()
        )
        assert DeliveryAttempt.objects.filter(notification=hook).count() == 3

        # The same events again are duplicates; a later event rescores the lead, which is
        # already an MQL: no new handoff, nothing new sent anywhere.
        again = key_client.post("/api/v1/events/", _events("burst", email), format="json")
        assert again.json()["duplicate"] == 3
        engagement = LeadScore.objects.get(lead=lead).engagement
        key_client.post("/api/v1/events/", _events("later", email)[:1], format="json")
        wait_for(lambda: LeadScore.objects.get(lead=lead).engagement > engagement, timeout=30)
        time.sleep(1.5)  # room for any wrongly queued follow-up to arrive
        assert Handoff.objects.filter(lead=lead).count() == 1
        assert Notification.objects.count() == 3
        assert len(mail.outbox) == 1
        assert len(receiver.received) == 3
        assert len(receiver.accepted) == 1
