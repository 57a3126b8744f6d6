"""Lead fields come from strangers' forms: markup in them is shown as text on every page
and in every email that quotes them, never run."""

import pytest
from django.core import mail
from django.utils import timezone

from leads.handoff.models import HandoffStatus
from leads.handoff.notify import handoff_notify
from smarketing.notifications.models import Notification
from smarketing.notifications.services import notification_deliver
from tests.leads.queue_fixtures import make_handoff, make_team

pytestmark = pytest.mark.django_db
SCRIPT = '<script>alert("x")</script>'
ATTR = '"><img src=x onerror=alert(1)>'
HOSTILE = {
    "first_name": SCRIPT,
    "last_name": ATTR,
    "title": "VP <b>bold</b> & 'quoted'",
    "company": "</td><script>steal()</script>",
}


def assert_escaped(html: str) -> None:
    # Pages carry scripts of their own (htmx, charts); the lead's must not be among them.
    assert "<script>alert(" not in html and "<script>steal(" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html  # shown as text, not dropped


@pytest.fixture
def hostile_handoff(rep, sales_manager):
    team = make_team("West", rep, manager=sales_manager)
    return make_handoff(team=team, **HOSTILE)


def test_the_lead_pages_show_markup_as_text(hostile_handoff, marketer, client_for):
    client = client_for(marketer)
    lead = hostile_handoff.lead

    for url in (f"/leads/{lead.pk}/", "/leads/", f"/leads/?q={lead.email}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content.decode())


def test_the_queue_shows_markup_as_text(hostile_handoff, rep, client_for):
    response = client_for(rep).get("/leads/queue/")

    assert response.status_code == 200
    assert_escaped(response.content.decode())


def test_the_owners_queue_tab_shows_markup_as_text(rep, sales_manager, client_for):
    make_handoff(
        team=make_team("East", rep, manager=sales_manager),
        owner=rep,
        status=HandoffStatus.ASSIGNED,
        **HOSTILE,
    )

    response = client_for(rep).get("/leads/queue/?tab=mine")

    assert_escaped(response.content.decode())


def test_the_notification_inbox_shows_markup_as_text(hostile_handoff, rep, client_for):
    handoff_notify(handoff_id=hostile_handoff.pk, now=timezone.now())

    for url in ("/notifications/", "/notifications/badge/"):
        html = client_for(rep).get(url).content.decode()
        assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in client_for(rep).get("/notifications/").content.decode()


def test_the_handoff_email_escapes_markup_in_its_html_part(hostile_handoff, rep):
    mail.outbox.clear()
    handoff_notify(handoff_id=hostile_handoff.pk, now=timezone.now())
    email = Notification.objects.get(channel="email", recipient=rep)

    notification_deliver(notification_id=email.pk, now=timezone.now())

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    html = next(body for body, kind in message.alternatives if kind == "text/html")
    assert_escaped(html)
    assert "\n" not in message.subject and "\r" not in message.subject


def test_the_rejection_report_shows_markup_as_text(rep, sales_manager, marketer, client_for):
    from leads.handoff import services

    handoff = make_handoff(
        team=make_team("North", rep, manager=sales_manager),
        owner=rep,
        status=HandoffStatus.ASSIGNED,
        **HOSTILE,
    )
    services.handoff_reject(
        handoff_id=handoff.pk, user=rep, reason="not_icp", note=SCRIPT, now=timezone.now()
    )

    html = client_for(marketer).get("/leads/queue/rejections/").content.decode()

    assert "<script>alert(" not in html
