"""Notification writes: put a message in the outbox once, deliver it with retries, mark it
read, and manage webhook endpoints and channel preferences.

The outbox row is the promise; delivery is a separate step that may run many times (on
commit, on retry, from the sweep) but sends at most once per claim: a conditional UPDATE
takes a lease on the row (next_attempt_at pushed forward, attempts + 1) and only the
caller whose UPDATE matched sends. A worker that dies mid-send leaves the lease to expire,
and the sweep tries again: webhooks are at-least-once, receivers dedupe on `webhook-id`."""

import json
import logging
import random
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from smarketing import crypto
from smarketing.errors import ApplicationError
from smarketing.models import AuditLog
from smarketing.notifications import webhooks
from smarketing.notifications.email import send_email, template_prefix_for
from smarketing.notifications.models import (
    BodyFormat,
    Channel,
    ChannelPreference,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

DUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
# Longer than any send can take (webhook timeout 5 s, SMTP a few seconds): while it runs,
# nobody else may claim the row; if the worker dies, the sweep retries after it.
CLAIM_LEASE = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=1)
RETRY_AFTER_CAP = timedelta(hours=24)
# Retries due sooner than this are sent as a countdown task; later ones wait for the sweep,
# so the broker never holds long ETAs (see CELERY_BROKER_TRANSPORT_OPTIONS).
COUNTDOWN_MAX = timedelta(minutes=2)
# How long the old secret keeps signing after a rotation (Svix and others use 24 hours too).
ROTATION_GRACE = timedelta(hours=24)


def max_attempts() -> int:
    return settings.NOTIFICATION_MAX_ATTEMPTS


def retry_delay(*, attempts: int, retry_after: float | None = None, rng=random) -> timedelta:
    """Exponential backoff with "equal jitter" after `attempts` failed attempts: half the
    step is fixed, half random, so receivers that fail together do not retry together. A
    Retry-After from the receiver is a floor."""
    base = float(settings.NOTIFICATION_RETRY_BASE_SECONDS)
    step = min(RETRY_CAP.total_seconds(), base * 2 ** max(attempts - 1, 0))
    seconds = step / 2 + rng.uniform(0, step / 2)
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, RETRY_AFTER_CAP.total_seconds()))
    return timedelta(seconds=seconds)


def outbox_row(
    *,
    kind: str,
    key: str,
    channel: str,
    recipient=None,
    endpoint: WebhookEndpoint | None = None,
    title: str,
    body: str = "",
    link: str = "",
    payload: dict | None = None,
    now: datetime,
    skip_reason: str = "",
) -> Notification:
    """An unsaved outbox row: in-app messages are delivered by being stored, the others
    wait for the relay; `skip_reason` records a message the recipient opted out of."""
    if skip_reason:
        status, sent_at, due = DeliveryStatus.SKIPPED, None, None
    elif channel == Channel.IN_APP:
        status, sent_at, due = DeliveryStatus.SENT, now, None
    else:
        status, sent_at, due = DeliveryStatus.PENDING, None, now
    return Notification(
        kind=kind,
        key=key,
        channel=channel,
        recipient=recipient,
        endpoint=endpoint,
        title=title[:200],
        body=body,
        link=link,
        payload=payload or {},
        status=status,
        sent_at=sent_at,
        next_attempt_at=due,
        last_error=skip_reason,
        created_at=now,
    )


def notification_enqueue(*, key: str, now: datetime, relay: bool = True, **fields) -> Notification:
    """The outbox row for `key` (the other fields as outbox_row takes them), created on the
    first call and returned on every later one (the key is unique, so racing callers end
    with the same row). In-app messages are delivered by being stored; the others are
    relayed after commit. `skip_reason` records a message the recipient opted out of, so
    admins can see why nothing was sent."""
    row = outbox_row(key=key, now=now, **fields)
    fields = [
        f.attname for f in Notification._meta.concrete_fields if f.attname not in ("id", "key")
    ]
    notification, created = Notification.objects.get_or_create(
        key=key, defaults={name: getattr(row, name) for name in fields}
    )
    if created and row.status == DeliveryStatus.PENDING and relay:
        relay_on_commit(notification.pk)
    return notification


# Set while a worker task delivers its own rows right after commit (see relay_inline).
_relay_inline: ContextVar[bool] = ContextVar("relay_inline", default=False)


@contextmanager
def relay_inline():
    """Inside this block (in a worker task), rows that relay_many_on_commit would hand to the
    relay are delivered by the task itself once its transaction commits: no queue, no hop.
    For the few rows that must go out at once (a hand-raiser's "ready for a call"); a row
    that fails stays due for the retry schedule and the sweep, as with the relay."""
    token = _relay_inline.set(True)
    try:
        yield
    finally:
        _relay_inline.reset(token)


def relay_many_on_commit(groups: list[list[Notification]], *, now: datetime) -> None:
    """Relay pending rows the caller is about to insert in this transaction, once per group
    of rows (not once per row) after commit: a handoff's webhook goes in one task and its
    emails in another, so neither waits behind a queue of single-row tasks and the two can
    run side by side on two worker processes.

    Inside relay_inline the task sends them itself right after commit instead. The rows are
    then inserted already leased to it, as the relay's claim would lease them (attempts 1,
    not due until CLAIM_LEASE from now), so it needs no claim transaction; if it dies before
    sending, the lease runs out and the sweep sends them."""
    groups = [group for group in groups if group]
    if not groups:
        return
    inline = _relay_inline.get()
    if inline:
        for row in (row for group in groups for row in group):
            row.attempts = 1
            row.next_attempt_at = now + CLAIM_LEASE

    def deliver_here():
        rows = [row for group in groups for row in group]  # in order: webhooks first
        try:
            _send_and_record(rows, now=timezone.now())
        except Exception:
            logger.exception("Could not deliver notifications %s; the sweep will", rows)

    def send():
        from smarketing.notifications.tasks import deliver_many_task

        for group in groups:
            ids = [row.pk for row in group]
            try:
                deliver_many_task.delay(ids)
            except Exception:
                # The broker is down: the rows stay due and the sweep sends them.
                logger.exception("Could not enqueue delivery of notifications %s", ids)

    transaction.on_commit(deliver_here if inline else send)


def relay_on_commit(notification_id: int, *, countdown: float | None = None) -> None:
    """Wake the relay for one row once the transaction that made it due has committed."""

    def send():
        from smarketing.notifications.tasks import deliver_task

        try:
            if countdown:
                deliver_task.apply_async((notification_id,), countdown=countdown)
            else:
                deliver_task.delay(notification_id)
        except Exception:
            # The broker is down: the row stays due and the sweep sends it.
            logger.exception("Could not enqueue delivery of notification %s", notification_id)

    transaction.on_commit(send)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None
    skip: bool = False  # nothing to send to (opted out, endpoint disabled, no address)
    permanent: bool = False  # retrying cannot help
    gone: bool = False  # the receiver said 410: disable its endpoint


def notification_deliver(*, notification_id: int, now: datetime) -> str | None:
    """Send one due outbox row if this caller wins its claim. Returns the row's new status,
    or None when there was nothing to do (already sent, not due, or claimed by another)."""
    return notifications_deliver(notification_ids=[notification_id], now=now).get(notification_id)


def notifications_deliver(*, notification_ids: list[int], now: datetime) -> dict[int, str]:
    """Send the due rows among `notification_ids` that this caller wins, in the given order,
    with two commits for the lot: the claim (a lease on each row, so no other relay sends
    them meanwhile) and the record of every outcome. Returns {id: new status} for the rows
    this caller sent or tried; rows it did not win are absent. A worker that dies between
    the two leaves the leases to expire and the sweep to send again (at least once)."""
    with transaction.atomic():
        claimed = set(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk__in=notification_ids, status__in=DUE_STATUSES, next_attempt_at__lte=now)
            .values_list("pk", flat=True)
        )
        if not claimed:
            return {}
        Notification.objects.filter(pk__in=claimed).update(
            next_attempt_at=now + CLAIM_LEASE, attempts=F("attempts") + 1
        )
    rows = Notification.objects.select_related("recipient", "endpoint").in_bulk(claimed)
    # Absent: not ours, or deleted with its endpoint or user in the meantime.
    return _send_and_record([rows[pk] for pk in notification_ids if pk in rows], now=now)


def _send_and_record(rows: list[Notification], *, now: datetime) -> dict[int, str]:
    """Send rows this caller holds the lease on, in order, then record every outcome in one
    commit. Returns {id: new status}."""
    outcomes = []
    for notification in rows:
        notification_id = notification.pk
        started = time.monotonic()
        try:
            outcome = _send(notification, now=now)
        except Exception as exc:
            logger.exception("Delivery of notification %s failed", notification_id)
            outcome = Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
        outcomes.append((notification, outcome, int((time.monotonic() - started) * 1000)))
    sent = [(n, o, ms) for n, o, ms in outcomes if o.ok and not o.skip]
    statuses = dict.fromkeys((n.pk for n, _, _ in sent), DeliveryStatus.SENT)
    with transaction.atomic():
        if sent:  # the common case, in two statements for the lot
            DeliveryAttempt.objects.bulk_create(_attempt(n, o, now, ms) for n, o, ms in sent)
            Notification.objects.filter(pk__in=list(statuses)).update(
                status=DeliveryStatus.SENT, sent_at=now, next_attempt_at=None, last_error=""
            )
        for notification, outcome, duration_ms in outcomes:
            if notification.pk not in statuses:
                statuses[notification.pk] = _record_unsent(
                    notification, outcome, now=now, duration_ms=duration_ms
                )
    return statuses


def _attempt(notification: Notification, outcome: Outcome, now: datetime, duration_ms: int):
    return DeliveryAttempt(
        notification=notification,
        attempted_at=now,
        ok=outcome.ok,
        status_code=outcome.status_code,
        error=outcome.error[:2000],
        duration_ms=duration_ms,
    )


def _record_unsent(
    notification: Notification, outcome: Outcome, *, now: datetime, duration_ms: int
):
    """A row that was skipped or failed: skipped, retried later, or given up on."""
    if outcome.skip:
        Notification.objects.filter(pk=notification.pk).update(
            status=DeliveryStatus.SKIPPED, next_attempt_at=None, last_error=outcome.error
        )
        return DeliveryStatus.SKIPPED
    _attempt(notification, outcome, now, duration_ms).save()
    if outcome.gone and notification.endpoint_id:
        webhook_endpoint_set_active(
            endpoint=notification.endpoint,
            active=False,
            reason=f"The receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC.",
        )
    if outcome.permanent or outcome.gone or notification.attempts >= max_attempts():
        Notification.objects.filter(pk=notification.pk).update(
            status=DeliveryStatus.DEAD, next_attempt_at=None, last_error=outcome.error
        )
        logger.warning(
            "Gave up on notification %s after %s attempts: %s",
            notification.pk,
            notification.attempts,
            outcome.error,
        )
        return DeliveryStatus.DEAD
    delay = retry_delay(attempts=notification.attempts, retry_after=outcome.retry_after)
    Notification.objects.filter(pk=notification.pk).update(
        status=DeliveryStatus.RETRYING, next_attempt_at=now + delay, last_error=outcome.error
    )
    if delay <= COUNTDOWN_MAX:
        # A hair late rather than early: an early task would find the row not yet due.
        relay_on_commit(notification.pk, countdown=delay.total_seconds() + 0.05)
    return DeliveryStatus.RETRYING


def _send(notification: Notification, *, now: datetime) -> Outcome:
    if notification.channel == Channel.IN_APP:
        return Outcome(ok=True)
    if notification.channel == Channel.EMAIL:
        return _send_email(notification)
    if notification.channel == Channel.WEBHOOK:
        return _send_webhook(notification, now=now)
    return Outcome(ok=False, error=f"Unknown channel {notification.channel}", permanent=True)


def absolute_url(path: str) -> str:
    if not path or path.startswith(("http://", "https://")):
        return path
    return settings.SITE_URL.rstrip("/") + path


def _send_email(notification: Notification) -> Outcome:
    user = notification.recipient
    if user is None or not user.is_active:
        return Outcome(ok=False, skip=True, error="The recipient no longer exists or is inactive.")
    if not user.email:
        return Outcome(ok=False, skip=True, error="The recipient has no email address.")
    template = template_prefix_for(notification.kind)
    context = {
        "notification": notification,
        "payload": notification.payload,
        "user": user,
        "link": absolute_url(notification.link),
        "site_url": settings.SITE_URL,
    }
    send_email(to=user.email, template_prefix=template, context=context)
    return Outcome(ok=True)


def webhook_body(notification: Notification, *, body_format: str) -> bytes:
    """The bytes we sign and post. Standard: {type, timestamp, data} with the thin payload;
    Slack: a message Slack's incoming webhooks (and look-alikes) display as is."""
    if body_format == BodyFormat.SLACK:
        link = absolute_url(notification.link)
        text = f"*{notification.title}*"
        if notification.body:
            text += f"\n{notification.body}"
        if link:
            text += f"\n<{link}|Open in smarketing>"
        message = {
            "text": notification.title,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
        return json.dumps(message).encode()
    message = {
        "type": notification.kind,
        "timestamp": notification.created_at.isoformat(),
        "data": notification.payload,
    }
    return json.dumps(message, separators=(",", ":")).encode()


@sensitive_variables("current", "previous", "headers")
def _send_webhook(notification: Notification, *, now: datetime) -> Outcome:
    endpoint = notification.endpoint
    if endpoint is None or not endpoint.active:
        reason = endpoint.disabled_reason if endpoint else ""
        return Outcome(ok=False, skip=True, error=f"The endpoint is disabled. {reason}".strip())
    try:
        webhooks.url_check(endpoint.url)
    except webhooks.UnsafeUrl as exc:
        return Outcome(ok=False, error=f"Refused: {exc}", permanent=True)
    body = webhook_body(notification, body_format=endpoint.body_format)
    # Decrypted here, inside the send: a key problem is this attempt's error (retried, shown
    # on the endpoint's page), not a crash of the relay.
    current, *previous = endpoint.signing_secrets(now=now)
    headers = webhooks.headers_for(
        secret=current,
        previous_secrets=previous,
        msg_id=f"msg_{notification.pk}",
        body=body,
        timestamp=int(time.time()),
    )
    result = webhooks.post(
        url=endpoint.url, body=body, headers=headers, timeout=webhooks.TIMEOUT_SECONDS
    )
    return Outcome(
        ok=result.ok,
        status_code=result.status_code,
        error=result.error,
        retry_after=result.retry_after,
        gone=result.status_code == 410,
    )


def notifications_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Ids of undelivered rows whose time has come (the partial index `notification_due`)."""
    return list(
        Notification.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- The inbox


def notifications_mark_read(*, user, now: datetime, ids: list[int] | None = None) -> int:
    """Mark the user's unread in-app notifications read (all of them, or those in `ids`).
    Someone else's ids are ignored, never an error that would reveal they exist."""
    rows = Notification.objects.filter(recipient=user, channel=Channel.IN_APP, read_at=None)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(read_at=now)


def channel_preference_set(*, user, in_app: bool, email: bool) -> ChannelPreference:
    preference, _ = ChannelPreference.objects.update_or_create(
        user=user, defaults={"in_app": in_app, "email": email}
    )
    return preference


# --- Webhook endpoints


@sensitive_variables("secret")
def webhook_endpoint_create(
    *, name: str, url: str, body_format: str, actor, now: datetime, teams=()
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint and return it with its secret, which the caller shows once."""
    try:
        webhooks.url_check(url)
    except webhooks.UnsafeUrl as exc:
        raise ApplicationError(str(exc), extra={"url": [str(exc)]}) from exc
    secret = webhooks.secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        name=name,
        url=url,
        secret=secret,
        body_format=body_format,
        created_by=actor,
        created_at=now,
    )
    if teams:
        endpoint.teams.set(teams)
    AuditLog.record(
        action="webhook_endpoint.create", obj=endpoint, now=now, actor=actor, details={"url": url}
    )
    return endpoint, secret


@sensitive_variables("secret")
def webhook_endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, actor, now: datetime, keep_old: bool = True
) -> str:
    """Give the endpoint a new secret and return it, for the caller to show once. With
    `keep_old`, messages are signed with both secrets for ROTATION_GRACE, so the receiver
    can switch at its own pace; without (the old secret leaked), the old one stops now."""
    secret = webhooks.secret_generate()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted if keep_old else ""
        endpoint.previous_secret_until = now + ROTATION_GRACE if keep_old else None
        endpoint.secret = secret
        endpoint.save(
            update_fields=[
                "secret_encrypted",
                "previous_secret_encrypted",
                "previous_secret_until",
            ]
        )
        AuditLog.record(
            action="webhook_endpoint.rotate_secret",
            obj=endpoint,
            now=now,
            actor=actor,
            details={
                "old_secret_valid_until": (
                    endpoint.previous_secret_until.isoformat() if keep_old else None
                )
            },
        )
    return secret


def webhook_endpoint_set_active(
    *, endpoint: WebhookEndpoint, active: bool, reason: str = ""
) -> WebhookEndpoint:
    if active:
        try:
            webhooks.url_check(endpoint.url)
        except webhooks.UnsafeUrl as exc:
            raise ApplicationError(str(exc)) from exc
    endpoint.active = active
    endpoint.disabled_reason = "" if active else reason
    endpoint.save(update_fields=["active", "disabled_reason"])
    return endpoint


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, name: str, body_format: str, teams
) -> WebhookEndpoint:
    """Rename, change the body or the teams; the URL and the secret stay (a new URL is a
    new endpoint, with a new secret the receiver must learn)."""
    endpoint.name = name
    endpoint.body_format = body_format
    endpoint.save(update_fields=["name", "body_format"])
    endpoint.teams.set(teams)
    return endpoint


def webhook_endpoint_ping(*, endpoint: WebhookEndpoint, actor, now: datetime) -> Notification:
    """A signed test message, delivered like any other, so a manager can check the receiver
    and its signature check before the first real lead arrives."""
    who = actor.get_full_name() or actor.get_username()
    return notification_enqueue(
        kind="webhook.test",
        key=f"webhook-test:{endpoint.pk}:{now.timestamp():.6f}",
        channel=Channel.WEBHOOK,
        endpoint=endpoint,
        title=f"Test message from smarketing, sent by {who}",
        body="If you can read this, the endpoint works.",
        payload={"test": True, "endpoint_id": endpoint.pk},
        now=now,
    )


@dataclass(frozen=True)
class ReencryptReport:
    rewritten: int  # endpoints whose secrets were under an older key, now under the first
    current: int  # endpoints already under the first key
    failed: dict[int, str]  # endpoint id -> why no key opens its secret


def webhook_secrets_reencrypt(*, write: bool = True) -> ReencryptReport:
    """Put every endpoint's secrets under the first key of FIELD_ENCRYPTION_KEYS, one row
    at a time (locked, so a rotation at the same moment is not overwritten). Rows no key
    opens are reported, not changed. With write=False, only count."""
    rewritten = current = 0
    failed: dict[int, str] = {}
    for pk in WebhookEndpoint.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=pk).first()
            if endpoint is None:
                continue  # deleted meanwhile
            tokens = [endpoint.secret_encrypted, endpoint.previous_secret_encrypted]
            if all(crypto.is_current(token) for token in tokens if token):
                current += 1
                continue
            try:
                renewed = [crypto.reencrypt(token) if token else "" for token in tokens]
            except crypto.DecryptionError as exc:
                failed[pk] = str(exc)
                continue
            rewritten += 1
            if write:
                endpoint.secret_encrypted, endpoint.previous_secret_encrypted = renewed
                endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted"])
    return ReencryptReport(rewritten=rewritten, current=current, failed=failed)
