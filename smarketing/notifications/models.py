"""The notification outbox: one row per (event, channel, recipient), unique by its key, so a
message exists once however often the code that wants it runs; delivery is a separate,
retried step that records every attempt.

Imported by smarketing/models.py so Django registers these models in the smarketing app."""

from datetime import datetime

from django.conf import settings
from django.db import models

from smarketing import crypto


class Channel(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    RETRYING = "retrying", "Failed, will retry"
    SENT = "sent", "Delivered"
    DEAD = "dead", "Gave up"
    SKIPPED = "skipped", "Not sent (opted out or endpoint disabled)"


class BodyFormat(models.TextChoices):
    STANDARD = "standard", "JSON (Standard Webhooks)"
    SLACK = "slack", "Slack-compatible"


class WebhookEndpoint(models.Model):
    """A URL that receives signed webhooks. The secret is shown once, when created or
    rotated, and stored encrypted (smarketing/crypto.py).

    The columns hold only Fernet tokens; `secret` decrypts on access. A property rather
    than a field that decrypts on load: pages, the admin, `.values()` and any serializer
    see ciphertext at most, and a missing key fails the one send that needs it (a clear,
    retried delivery error) instead of every page that lists endpoints."""

    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500)
    secret_encrypted = models.TextField(
        editable=False, help_text="The whsec_ signing secret, encrypted (Fernet token)."
    )
    # After a rotation the old secret keeps signing for a while (a second signature in the
    # same header), so receivers can switch without rejecting messages.
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    body_format = models.CharField(
        max_length=20, choices=BodyFormat.choices, default=BodyFormat.STANDARD
    )
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted, what=f"the secret of webhook {self.pk}")

    @secret.setter
    def secret(self, plain: str) -> None:
        self.secret_encrypted = crypto.encrypt(plain)

    def previous_secret_signs(self, *, now: datetime) -> bool:
        """Whether the secret before the last rotation still signs (its grace period)."""
        return bool(
            self.previous_secret_encrypted
            and self.previous_secret_until
            and now < self.previous_secret_until
        )

    def signing_secrets(self, *, now: datetime) -> list[str]:
        """The secrets to sign with now: the current one, then the previous one while its
        grace period lasts."""
        secrets = [self.secret]
        if self.previous_secret_signs(now=now):
            secrets.append(
                crypto.decrypt(
                    self.previous_secret_encrypted,
                    what=f"the previous secret of webhook {self.pk}",
                )
            )
        return secrets


class Notification(models.Model):
    kind = models.CharField(max_length=60, help_text='What happened, e.g. "handoff.ready".')
    key = models.CharField(
        max_length=200, unique=True, help_text="(event, channel, recipient): one message each."
    )
    channel = models.CharField(max_length=20, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,  # notification_inbox leads with the recipient
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The relay's and the sweep's work list: only undelivered rows.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due",
                condition=models.Q(status__in=["pending", "retrying"]),
            ),
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox"),
        ]

    def __str__(self):
        return f"{self.channel} {self.kind} ({self.status})"


class DeliveryAttempt(models.Model):
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    attempted_at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self):
        return f"attempt on {self.notification_id}: {'ok' if self.ok else 'failed'}"


class ChannelPreference(models.Model):
    """Which channels a user wants; absent means every channel."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_preference"
    )
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    def __str__(self):
        return f"channels of {self.user_id}"
