"""Notification reads: the inbox, the unread badge, endpoints with their recent attempts."""

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from smarketing.notifications.models import (
    Channel,
    ChannelPreference,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    WebhookEndpoint,
)

INBOX_STATUSES = (DeliveryStatus.SENT,)


def inbox(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, status__in=INBOX_STATUSES
    ).order_by("-created_at", "-id")
    if unread_only:
        rows = rows.filter(read_at=None)
    return rows


def unread_count(*, user) -> int:
    if not user.is_authenticated:
        return 0
    return inbox(user=user, unread_only=True).count()


def notification_get_for_user(user, pk: int) -> Notification:
    """A notification of the caller's inbox, or 404 (another user's looks like no row)."""
    return get_object_or_404(inbox(user=user), pk=pk)


def channels_for(user_ids) -> dict[int, set[str]]:
    """The personal channels each user wants; a user without preferences gets all of them."""
    wanted = {uid: {Channel.IN_APP.value, Channel.EMAIL.value} for uid in user_ids}
    for pref in ChannelPreference.objects.filter(user_id__in=wanted):
        channels = set()
        if pref.in_app:
            channels.add(Channel.IN_APP.value)
        if pref.email:
            channels.add(Channel.EMAIL.value)
        wanted[pref.user_id] = channels
    return wanted


def endpoints_with_stats() -> QuerySet[WebhookEndpoint]:
    return (
        WebhookEndpoint.objects.select_related("created_by")
        .prefetch_related("teams")
        .annotate(
            sent_count=Count("notifications", filter=Q(notifications__status=DeliveryStatus.SENT)),
            failing_count=Count(
                "notifications",
                filter=Q(notifications__status__in=[DeliveryStatus.RETRYING, DeliveryStatus.DEAD]),
            ),
        )
    )


def endpoint_notifications(*, endpoint: WebhookEndpoint, limit: int = 50):
    return list(
        Notification.objects.filter(endpoint=endpoint)
        .prefetch_related(
            Prefetch("delivery_attempts", queryset=DeliveryAttempt.objects.order_by("id"))
        )
        .order_by("-created_at", "-id")[:limit]
    )
