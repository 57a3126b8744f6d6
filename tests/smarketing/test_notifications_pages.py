"""The inbox, its badge, channel preferences, the webhook endpoints page and the API. A
user only ever sees and touches their own notifications."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from smarketing.models import IngestKey
from smarketing.notifications import services
from smarketing.notifications.models import (
    Channel,
    ChannelPreference,
    DeliveryAttempt,
    Notification,
    WebhookEndpoint,
)

pytestmark = pytest.mark.django_db


def notify(user, n: int = 1, *, read: bool = False) -> Notification:
    row = services.notification_enqueue(
        kind="handoff.ready",
        key=f"test:{user.pk}:{n}",
        channel=Channel.IN_APP,
        recipient=user,
        title=f"Ready for a call: Lead {n}",
        body="Why it qualified: fit 25",
        link=f"/leads/{n}/",
        now=timezone.now(),
    )
    if read:
        Notification.objects.filter(pk=row.pk).update(read_at=timezone.now())
    return row


@pytest.fixture
def api_for():
    def make(user):
        api = APIClient()
        api.force_authenticate(user)
        return api

    return make


# --- pages


def test_the_inbox_lists_only_the_users_own_notifications(client_for, rep, rep2):
    notify(rep, 1)
    notify(rep2, 2)
    page = client_for(rep).get(reverse("notifications:inbox")).content.decode()
    assert "Ready for a call: Lead 1" in page
    assert "Ready for a call: Lead 2" not in page
    assert "1 unread" in page


def test_an_empty_inbox_says_what_will_appear_there(client_for, rep):
    page = client_for(rep).get(reverse("notifications:inbox")).content.decode()
    assert "No notifications yet." in page


def test_the_unread_filter_hides_what_was_read(client_for, rep):
    notify(rep, 1, read=True)
    notify(rep, 2)
    page = client_for(rep).get(reverse("notifications:inbox") + "?unread=1").content.decode()
    assert "Lead 2" in page
    assert "Lead 1" not in page


def test_every_page_has_the_inbox_link_and_a_badge_that_htmx_refreshes(client_for, rep):
    page = client_for(rep).get(reverse("home")).content.decode()
    assert 'data-testid="nav-inbox"' in page
    assert f'hx-get="{reverse("notifications:badge")}"' in page
    assert 'hx-trigger="load, every 10s, notifications-changed from:body"' in page


def test_the_badge_counts_unread_notifications(client_for, rep, rep2):
    client = client_for(rep)
    assert "unread-count" not in client.get(reverse("notifications:badge")).content.decode()
    notify(rep, 1)
    notify(rep, 2)
    notify(rep, 3, read=True)
    notify(rep2, 4)
    response = client.get(reverse("notifications:badge"))
    assert '<span class="badge rounded-pill text-bg-danger" data-testid="unread-count">2' in (
        response.content.decode()
    )
    assert "no-cache" in response["Cache-Control"]


def test_mark_read_marks_one_and_returns_to_the_inbox(client_for, rep):
    first, second = notify(rep, 1), notify(rep, 2)
    response = client_for(rep).post(reverse("notifications:read", args=[first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None
    assert second.read_at is None


def test_mark_read_through_htmx_swaps_the_row(client_for, rep):
    row = notify(rep)
    response = client_for(rep).post(
        reverse("notifications:read", args=[row.pk]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response["HX-Trigger"] == "notifications-changed"
    assert f'id="notification-{row.pk}"' in html
    assert "Mark read" not in html


def test_nobody_can_mark_or_open_someone_elses_notification(client_for, rep, rep2):
    theirs = notify(rep2)
    client = client_for(rep)
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_leaves_other_users_alone(client_for, rep, rep2):
    notify(rep, 1)
    notify(rep, 2)
    theirs = notify(rep2, 3)
    response = client_for(rep).post(reverse("notifications:read_all"), follow=True)
    assert "Marked 2 notifications as read." in response.content.decode()
    assert not Notification.objects.filter(recipient=rep, read_at=None).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_follows_its_link(client_for, rep):
    row = notify(rep, 5)
    response = client_for(rep).get(reverse("notifications:open", args=[row.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/leads/5/"
    row.refresh_from_db()
    assert row.read_at is not None


def test_the_inbox_page_takes_a_bounded_number_of_queries(
    client_for, rep, django_assert_max_num_queries
):
    for n in range(40):
        notify(rep, n)
    client = client_for(rep)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("notifications:inbox"))
    assert response.content.decode().count('data-testid="notification"') == 25


def test_a_rep_chooses_their_channels(client_for, rep):
    client = client_for(rep)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'id="id_email" checked' in page  # every channel until the rep says otherwise
    response = client.post(reverse("notifications:preferences"), {"in_app": "on"}, follow=True)
    assert "Your notification channels are saved." in response.content.decode()
    preference = ChannelPreference.objects.get(user=rep)
    assert (preference.in_app, preference.email) == (True, False)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'id="id_in_app" checked' in page
    assert 'id="id_email" checked' not in page


# --- webhook endpoints page


def test_reps_and_marketers_cannot_manage_webhooks(client_for, rep, marketer):
    for user in (rep, marketer):
        assert client_for(user).get(reverse("notifications:webhooks")).status_code == 403


def test_a_sales_manager_adds_an_endpoint_and_sees_its_secret_once(
    client_for, sales_manager, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    client = client_for(sales_manager)
    response = client.post(
        reverse("notifications:webhooks"),
        {"name": "EMEA Slack", "url": "http://127.0.0.1:9000/hook", "body_format": "slack"},
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.created_by == sales_manager
    html = response.content.decode()
    assert endpoint.secret in html
    assert endpoint.secret not in client.get(reverse("notifications:webhooks")).content.decode()
    detail = client.get(reverse("notifications:webhook_detail", args=[endpoint.pk]))
    assert endpoint.secret not in detail.content.decode()


def test_a_private_url_is_refused_with_a_field_error(client_for, sales_manager, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = client_for(sales_manager).post(
        reverse("notifications:webhooks"),
        {"name": "Metadata", "url": "http://169.254.169.254/latest", "body_format": "standard"},
    )
    assert response.status_code == 200
    assert "link-local or private" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_admin_disables_and_enables_an_endpoint_and_sees_its_attempts(
    client_for, admin_user, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint, _ = services.webhook_endpoint_create(
        name="CRM",
        url="http://127.0.0.1:9/x",
        body_format="standard",
        actor=None,
        now=timezone.now(),
    )
    row = services.notification_enqueue(
        kind="handoff.ready",
        key="hook:1",
        channel=Channel.WEBHOOK,
        endpoint=endpoint,
        title="Ready for a call: Lead 1",
        now=timezone.now(),
    )
    DeliveryAttempt.objects.create(
        notification=row,
        attempted_at=timezone.now(),
        ok=False,
        status_code=503,
        error="HTTP 503 Service Unavailable",
    )
    client = client_for(admin_user)
    url = reverse("notifications:webhook_set_active", args=[endpoint.pk])
    client.post(url, {"active": "0"})
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert "Disabled by" in endpoint.disabled_reason
    page = client.get(reverse("notifications:webhook_detail", args=[endpoint.pk])).content.decode()
    assert "503" in page
    assert "Disabled by" in page
    client.post(url, {"active": "1"})
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason) == (True, "")


# --- API


def test_the_api_lists_the_callers_notifications_with_an_unread_filter(api_for, rep, rep2):
    notify(rep, 1, read=True)
    mine = notify(rep, 2)
    notify(rep2, 3)
    api = api_for(rep)
    body = api.get("/api/v1/notifications/").json()
    assert body["count"] == 2
    assert body["unread_count"] == 1
    unread = api.get("/api/v1/notifications/?unread=true").json()
    assert [n["id"] for n in unread["results"]] == [mine.pk]
    assert unread["results"][0]["unread"] is True
    assert unread["results"][0]["title"] == "Ready for a call: Lead 2"


def test_the_api_marks_one_read_but_not_someone_elses(api_for, rep, rep2):
    mine, theirs = notify(rep, 1), notify(rep2, 2)
    api = api_for(rep)
    response = api.post(f"/api/v1/notifications/{mine.pk}/read/")
    assert response.status_code == 200
    assert response.json()["unread"] is False
    assert api.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_api_marks_all_read(api_for, rep, rep2):
    notify(rep, 1)
    notify(rep, 2)
    notify(rep2, 3)
    assert api_for(rep).post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert Notification.objects.filter(read_at=None).count() == 1


def test_the_api_needs_a_user_not_an_ingest_key(db):
    assert APIClient().get("/api/v1/notifications/").status_code in (401, 403)
    _, raw = IngestKey.issue(name="site", now=timezone.now())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert api.get("/api/v1/notifications/").status_code == 403


def test_a_manager_edits_an_endpoints_teams_and_sends_it_a_signed_test_message(
    client_for, sales_manager, settings, django_capture_on_commit_callbacks, monkeypatch
):
    from leads.routing.models import SalesTeam
    from smarketing.notifications import tasks, webhooks
    from smarketing.notifications.testing import LocalReceiver

    woken = []
    monkeypatch.setattr(tasks.deliver_task, "delay", woken.append)

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    emea = SalesTeam.objects.create(name="EMEA")
    client = client_for(sales_manager)
    with LocalReceiver() as receiver:
        endpoint, secret = services.webhook_endpoint_create(
            name="CRM", url=receiver.url, body_format="standard", actor=None, now=timezone.now()
        )
        detail = reverse("notifications:webhook_detail", args=[endpoint.pk])
        response = client.post(
            detail, {"name": "CRM (EMEA)", "body_format": "standard", "teams": [emea.pk]}
        )
        assert response.status_code == 302
        endpoint.refresh_from_db()
        assert endpoint.name == "CRM (EMEA)"
        assert list(endpoint.teams.all()) == [emea]

        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("notifications:webhook_ping", args=[endpoint.pk]))
        (row,) = Notification.objects.filter(endpoint=endpoint, kind="webhook.test")
        assert woken == [row.pk]  # run what the relay would
        services.notification_deliver(notification_id=row.pk, now=timezone.now())
    (request,) = receiver.received
    webhooks.verify(secret=secret, headers=request.headers, body=request.body)
    assert b'"type":"webhook.test"' in request.body
    assert "200 OK" in client.get(detail).content.decode()
