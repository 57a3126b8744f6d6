import hashlib
import secrets
from datetime import datetime

from django.conf import settings
from django.db import models


class Heartbeat(models.Model):
    """When a Celery worker last ran the heartbeat task; /healthz reads it."""

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"


class IngestKey(models.Model):
    """A key for machines that push leads and events (website, marketing tool). Only a
    SHA-256 of the key is stored: keys are long random strings, so a fast hash is enough and
    lets us look a key up by its hash. The prefix is kept in clear so people can tell keys
    apart in lists and logs."""

    PREFIX_LENGTH = 8

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        state = " (revoked)" if self.revoked_at else ""
        return f"{self.name} [{self.prefix}…]{state}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_key(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, name: str, now: datetime, created_by=None) -> tuple["IngestKey", str]:
        """Create a key; return it and the raw secret, which is shown once and never again."""
        raw = f"{secrets.token_hex(cls.PREFIX_LENGTH // 2)}.{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            name=name,
            prefix=raw[: cls.PREFIX_LENGTH],
            key_hash=cls.hash_key(raw),
            created_by=created_by,
            created_at=now,
        )
        return key, raw

    def revoke(self, *, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now
            self.save(update_fields=["revoked_at"])
        from smarketing.authentication import key_forget  # authentication imports models

        key_forget()


class AuditLog(models.Model):
    """Who did what to which record, for actions that must be answerable afterwards
    (erasure, personal-data export, key changes). Rows are never edited; they keep no
    personal data of the subject, only its type and id."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self):
        who = self.actor_label or "system"
        return f"{self.at:%Y-%m-%d %H:%M} {who} {self.action} {self.object_type}:{self.object_id}"

    @classmethod
    def record(
        cls,
        *,
        action: str,
        obj: models.Model,
        now: datetime,
        actor=None,
        details: dict | None = None,
    ) -> "AuditLog":
        return cls.objects.create(
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=getattr(actor, "username", "") or "",
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            details=details or {},
            at=now,
        )


# The outbox lives in its own sub-package; importing it registers its models here.
from smarketing.notifications.models import (  # noqa: E402, F401
    ChannelPreference,
    DeliveryAttempt,
    Notification,
    WebhookEndpoint,
)
