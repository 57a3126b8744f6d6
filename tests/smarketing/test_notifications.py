"""The outbox and its channels: one row per key, one send per claim, email in text and
HTML, Standard Webhooks signatures, retries with backoff, Retry-After, 410, timeouts and
the SSRF guard, against a real HTTP receiver on 127.0.0.1."""

import base64
import hashlib
import hmac
import json
import random
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connections
from django.utils import timezone

from smarketing.errors import ApplicationError
from smarketing.notifications import services, webhooks
from smarketing.notifications.models import (
    BodyFormat,
    Channel,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
)
from smarketing.notifications.testing import LocalReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_webhooks(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 5
    settings.NOTIFICATION_MAX_ATTEMPTS = 10


@pytest.fixture
def relayed(monkeypatch):
    """Tasks the services asked for (id, countdown) instead of a broker."""
    from smarketing.notifications import tasks

    sent = []
    monkeypatch.setattr(tasks.deliver_task, "delay", lambda pk: sent.append((pk, None)))
    monkeypatch.setattr(
        tasks.deliver_task,
        "apply_async",
        lambda args, countdown=None: sent.append((args[0], countdown)),
    )
    return sent


def _enqueue(*, key="k1", channel=Channel.WEBHOOK, endpoint=None, recipient=None, now=None):
    return services.notification_enqueue(
        kind="handoff.ready",
        key=key,
        channel=channel,
        endpoint=endpoint,
        recipient=recipient,
        title="Ready for a call: Ana Ruiz, VP Operations at Northwind",
        body="Why it qualified: fit 25 and engagement 21.",
        link="/leads/1/",
        payload={"handoff_id": 1, "lead_id": 1, "lead": {"name": "Ana Ruiz"}},
        now=now or timezone.now(),
    )


def _endpoint(url, *, body_format=BodyFormat.STANDARD):
    endpoint, secret = services.webhook_endpoint_create(
        name="Receiver", url=url, body_format=body_format, actor=None, now=timezone.now()
    )
    return endpoint, secret


def _deliver_until_settled(notification, *, start, max_rounds=20):
    """Run the relay as often as the row asks, each time at its next_attempt_at."""
    now = start
    for _ in range(max_rounds):
        services.notification_deliver(notification_id=notification.pk, now=now)
        notification.refresh_from_db()
        if notification.status not in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING):
            return notification
        now = notification.next_attempt_at
    return notification


# --- the outbox


def test_enqueueing_the_same_key_twice_keeps_one_row(
    rep, relayed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = _enqueue(key="handoff:1:email:7", channel=Channel.EMAIL, recipient=rep)
        second = _enqueue(key="handoff:1:email:7", channel=Channel.EMAIL, recipient=rep)
    assert first.pk == second.pk
    assert Notification.objects.count() == 1
    assert relayed == [(first.pk, None)]  # one wake-up, for the one new row


def test_an_in_app_notification_is_delivered_by_being_stored(rep, relayed):
    row = _enqueue(channel=Channel.IN_APP, recipient=rep)
    assert row.status == DeliveryStatus.SENT
    assert row.sent_at is not None
    assert row.next_attempt_at is None
    assert relayed == []


def test_a_new_row_is_relayed_only_after_its_transaction_commits(
    rep, relayed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _enqueue(channel=Channel.EMAIL, recipient=rep)
    assert relayed == []
    callbacks[0]()
    assert len(relayed) == 1


def test_two_relays_racing_for_one_row_send_it_once(rep, relayed, monkeypatch):
    row = _enqueue(channel=Channel.EMAIL, recipient=rep)
    now = timezone.now()
    nested = []
    real_send = services.send_email

    def send_while_another_relay_tries(**kwargs):
        # The second relay arrives while the first is still sending.
        nested.append(services.notification_deliver(notification_id=row.pk, now=now))
        real_send(**kwargs)

    monkeypatch.setattr(services, "send_email", send_while_another_relay_tries)
    assert services.notification_deliver(notification_id=row.pk, now=now) == DeliveryStatus.SENT
    assert nested == [None]
    assert len(mail.outbox) == 1
    assert services.notification_deliver(notification_id=row.pk, now=now) is None
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.delivery_attempts.count()) == ("sent", 1, 1)


def test_a_claimed_row_whose_worker_died_is_sent_after_the_lease_expires(rep, relayed):
    row = _enqueue(channel=Channel.EMAIL, recipient=rep)
    now = timezone.now()
    # A relay claimed it and died before sending: the lease is all that is left.
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=now + services.CLAIM_LEASE)
    assert services.notification_deliver(notification_id=row.pk, now=now) is None
    assert services.notifications_due(now=now) == []
    later = now + services.CLAIM_LEASE
    assert services.notifications_due(now=later) == [row.pk]
    assert services.notification_deliver(notification_id=row.pk, now=later) == "sent"
    assert len(mail.outbox) == 1


# --- email


def test_an_email_goes_out_as_text_and_html_rendered_from_the_templates(rep, relayed):
    row = _enqueue(channel=Channel.EMAIL, recipient=rep)
    services.notification_deliver(notification_id=row.pk, now=timezone.now())
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [rep.email]
    assert message.subject == "Ready for a call: Ana Ruiz, VP Operations at Northwind"
    assert "Why it qualified: fit 25 and engagement 21." in message.body
    assert "http://localhost:8000/leads/1/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert 'href="http://localhost:8000/leads/1/"' in html
    assert "<h1" in html


def test_an_email_to_a_user_without_an_address_is_skipped_not_retried(rep, relayed):
    rep.email = ""
    rep.save(update_fields=["email"])
    row = _enqueue(channel=Channel.EMAIL, recipient=rep)
    assert services.notification_deliver(notification_id=row.pk, now=timezone.now()) == "skipped"
    row.refresh_from_db()
    assert row.last_error == "The recipient has no email address."
    assert mail.outbox == []


def test_a_failing_mail_server_is_retried(rep, relayed, monkeypatch):
    row = _enqueue(channel=Channel.EMAIL, recipient=rep)

    def smtp_down(**kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(services, "send_email", smtp_down)
    now = timezone.now()
    assert services.notification_deliver(notification_id=row.pk, now=now) == "retrying"
    row.refresh_from_db()
    assert "Connection refused" in row.last_error
    assert row.next_attempt_at > now


# --- signatures


def test_the_signature_verifies_with_the_helper_and_an_independent_computation():
    secret = webhooks.secret_generate()
    assert secret.startswith("whsec_")
    body = b'{"type":"handoff.ready","data":{"lead_id":1}}'
    headers = webhooks.headers_for(secret=secret, msg_id="msg_42", body=body, timestamp=1700000000)
    assert headers["webhook-id"] == "msg_42"
    assert headers["webhook-timestamp"] == "1700000000"

    webhooks.verify(secret=secret, headers=headers, body=body, now=1700000000 + 10)

    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(
        hmac.new(key, b"msg_42.1700000000." + body, hashlib.sha256).digest()
    ).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


def test_the_spec_example_signature_is_reproduced():
    # The example from the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = webhooks.sign(
        secret=secret, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body=body
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_verify_refuses_a_changed_body_a_wrong_secret_and_an_old_timestamp():
    secret = webhooks.secret_generate()
    body = b'{"a":1}'
    now = time.time()
    headers = webhooks.headers_for(secret=secret, msg_id="m", body=body, timestamp=int(now))
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(secret=secret, headers=headers, body=b'{"a":2}', now=now)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(secret=webhooks.secret_generate(), headers=headers, body=body, now=now)
    with pytest.raises(webhooks.WebhookVerificationError, match="tolerance"):
        webhooks.verify(secret=secret, headers=headers, body=body, now=now + 301)
    webhooks.verify(secret=secret, headers=headers, body=body, now=now + 299)
    with pytest.raises(webhooks.WebhookVerificationError, match="missing"):
        webhooks.verify(secret=secret, headers={}, body=body, now=now)


# --- webhooks against a local receiver


def test_a_webhook_is_posted_signed_with_a_thin_standard_body(relayed):
    with LocalReceiver() as receiver:
        endpoint, secret = _endpoint(receiver.url)
        row = _enqueue(endpoint=endpoint)
        assert services.notification_deliver(notification_id=row.pk, now=timezone.now()) == "sent"
    (request,) = receiver.received
    webhooks.verify(secret=secret, headers=request.headers, body=request.body)
    assert request.headers["webhook-id"] == f"msg_{row.pk}"
    message = json.loads(request.body)
    assert message["type"] == "handoff.ready"
    assert message["data"] == {"handoff_id": 1, "lead_id": 1, "lead": {"name": "Ana Ruiz"}}


def test_a_slack_endpoint_gets_a_readable_message(relayed):
    with LocalReceiver() as receiver:
        endpoint, _ = _endpoint(receiver.url, body_format=BodyFormat.SLACK)
        row = _enqueue(endpoint=endpoint)
        services.notification_deliver(notification_id=row.pk, now=timezone.now())
    message = json.loads(receiver.received[0].body)
    assert message["text"].startswith("Ready for a call: Ana Ruiz")
    assert (
        "<http://localhost:8000/leads/1/|Open in smarketing>"
        in (message["blocks"][0]["text"]["text"])
    )


def test_a_receiver_that_fails_twice_then_succeeds_gets_one_delivery_after_three_attempts(
    relayed, django_capture_on_commit_callbacks
):
    with LocalReceiver([500, 500]) as receiver:
        endpoint, secret = _endpoint(receiver.url)
        row = _enqueue(endpoint=endpoint)
        relayed.clear()
        with django_capture_on_commit_callbacks(execute=True):
            row = _deliver_until_settled(row, start=timezone.now())
    assert row.status == DeliveryStatus.SENT
    assert [r.status for r in receiver.received] == [500, 500, 200]
    assert len(receiver.accepted) == 1
    attempts = list(DeliveryAttempt.objects.filter(notification=row))
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 500), (False, 500), (True, 200)]
    assert "HTTP 500" in attempts[0].error
    # The same message id on every try, so the receiver can tell retries from new messages.
    assert {r.headers["webhook-id"] for r in receiver.received} == {f"msg_{row.pk}"}
    for request in receiver.received:
        webhooks.verify(secret=secret, headers=request.headers, body=request.body)
    # Short retries are re-sent by a countdown task, not left for the sweep.
    assert [countdown is not None for _, countdown in relayed] == [True, True]


def test_retry_after_from_a_429_is_honoured(relayed, django_capture_on_commit_callbacks):
    with LocalReceiver([(429, {"Retry-After": "300"})]) as receiver:
        endpoint, _ = _endpoint(receiver.url)
        row = _enqueue(endpoint=endpoint)
        relayed.clear()
        now = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.notification_deliver(notification_id=row.pk, now=now) == "retrying"
        row.refresh_from_db()
        assert row.next_attempt_at >= now + timedelta(seconds=300)
        # Not before the receiver said so.
        assert (
            services.notification_deliver(notification_id=row.pk, now=now + timedelta(seconds=60))
            is None
        )
        # Too far off for a countdown: the sweep picks it up when it is due.
        assert relayed == []
        assert (
            services.notification_deliver(notification_id=row.pk, now=row.next_attempt_at) == "sent"
        )
    assert [r.status for r in receiver.received] == [429, 200]


def test_a_410_disables_the_endpoint_and_its_other_messages_are_skipped(relayed):
    with LocalReceiver([410]) as receiver:
        endpoint, _ = _endpoint(receiver.url)
        first = _enqueue(key="a", endpoint=endpoint)
        second = _enqueue(key="b", endpoint=endpoint)
        now = timezone.now()
        assert services.notification_deliver(notification_id=first.pk, now=now) == "dead"
        assert services.notification_deliver(notification_id=second.pk, now=now) == "skipped"
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert "410 Gone" in endpoint.disabled_reason
    assert len(receiver.received) == 1


def test_a_timeout_is_recorded_and_retried(relayed, monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
    with LocalReceiver([("sleep", 1.0)]) as receiver:
        endpoint, _ = _endpoint(receiver.url)
        row = _enqueue(endpoint=endpoint)
        row = _deliver_until_settled(row, start=timezone.now())
        receiver.wait(received=2)
    assert row.status == DeliveryStatus.SENT
    first, second = DeliveryAttempt.objects.filter(notification=row)
    assert (first.ok, first.status_code) == (False, None)
    assert "Timed out" in first.error
    assert second.ok
    assert len(receiver.accepted) == 1


def test_a_receiver_that_is_down_is_retried_until_the_attempts_run_out(relayed, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    with LocalReceiver() as receiver:
        url = receiver.url  # the port is free again once the receiver stops
    endpoint, _ = _endpoint(url)
    row = _deliver_until_settled(_enqueue(endpoint=endpoint), start=timezone.now())
    assert row.status == DeliveryStatus.DEAD
    assert row.attempts == 3
    assert "Connection failed" in row.last_error
    assert DeliveryAttempt.objects.filter(notification=row, ok=False).count() == 3


def test_retry_delays_grow_exponentially_with_jitter():
    rng = random.Random(7)
    for attempts in range(1, 8):
        step = 5 * 2 ** (attempts - 1)
        for _ in range(20):
            delay = services.retry_delay(attempts=attempts, rng=rng).total_seconds()
            assert step / 2 <= delay <= step
    capped = services.retry_delay(attempts=30, rng=rng)
    assert capped <= services.RETRY_CAP
    assert services.retry_delay(attempts=1, retry_after=90, rng=rng) == timedelta(seconds=90)


# --- the SSRF guard


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.org/hook",
    ],
)
def test_webhook_urls_to_private_addresses_are_refused(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ApplicationError) as refused:
        _endpoint(url)
    assert "url" in refused.value.extra


def test_a_public_address_passes_the_guard(settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.setattr(
        webhooks.socket,
        "getaddrinfo",
        lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 443))],
    )
    webhooks.url_check("https://hooks.example.com/services/T000")


def test_the_guard_runs_again_at_send_time(relayed, settings):
    with LocalReceiver() as receiver:
        endpoint, _ = _endpoint(receiver.url)  # allowed when it was saved
        row = _enqueue(endpoint=endpoint)
        settings.WEBHOOKS_ALLOW_PRIVATE = False  # ... and the rule tightened since
        assert services.notification_deliver(notification_id=row.pk, now=timezone.now()) == "dead"
    assert receiver.received == []
    row.refresh_from_db()
    assert row.last_error.startswith("Refused:")


# --- the sweep


def test_the_sweep_queues_only_rows_that_are_due(rep, relayed, monkeypatch):
    from smarketing.notifications import tasks

    now = timezone.now()
    due = _enqueue(key="due", channel=Channel.EMAIL, recipient=rep, now=now - timedelta(minutes=1))
    _enqueue(key="in-app", channel=Channel.IN_APP, recipient=rep)
    later = _enqueue(key="later", channel=Channel.EMAIL, recipient=rep)
    Notification.objects.filter(pk=later.pk).update(
        status=DeliveryStatus.RETRYING, next_attempt_at=now + timedelta(hours=1)
    )
    relayed.clear()
    assert tasks.deliver_due.run() == 1
    assert relayed == [(due.pk, None)]


def test_a_kind_without_its_own_templates_is_sent_with_the_generic_email(rep, relayed):
    row = services.notification_enqueue(
        kind="sla.warning",
        key="sla:1:email:1",
        channel=Channel.EMAIL,
        recipient=rep,
        title="First touch due in 30 minutes: Ana Ruiz",
        body="The SLA gives 2 business hours.",
        link="/leads/1/",
        now=timezone.now(),
    )
    assert services.notification_deliver(notification_id=row.pk, now=timezone.now()) == "sent"
    (message,) = mail.outbox
    assert message.subject == "First touch due in 30 minutes: Ana Ruiz"
    assert "The SLA gives 2 business hours." in message.body
    assert "The SLA gives 2 business hours." in message.alternatives[0][0]


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL's concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_ten_relays_racing_for_one_webhook_send_it_once():
    with LocalReceiver() as receiver:
        endpoint, _ = _endpoint(receiver.url)
        row = _enqueue(endpoint=endpoint)
        now = timezone.now()
        barrier = threading.Barrier(10)
        results = []

        def relay():
            barrier.wait()
            try:
                results.append(services.notification_deliver(notification_id=row.pk, now=now))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=relay) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results, key=str) == [None] * 9 + ["sent"]
    assert len(receiver.received) == 1
    assert DeliveryAttempt.objects.filter(notification=row).count() == 1
