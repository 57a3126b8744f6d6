"""The relay: one task per outbox row, woken on commit (the fast path), and a beat sweep
every 30 s that re-drives whatever is due (retries, rows whose wake-up was lost with a
broker or a worker). Both call the same service; its claim makes running twice harmless."""

from celery import shared_task
from django.utils import timezone

from smarketing.notifications import services


@shared_task(ignore_result=True, acks_late=True)
def deliver_task(notification_id: int) -> None:
    services.notification_deliver(notification_id=notification_id, now=timezone.now())


@shared_task(ignore_result=True, acks_late=True)
def deliver_many_task(notification_ids: list[int]) -> None:
    """Deliver several rows in order, claimed together: a retry or the sweep running at the
    same time sends nothing twice."""
    services.notifications_deliver(notification_ids=notification_ids, now=timezone.now())


@shared_task(ignore_result=True)
def deliver_due() -> int:
    """The safety net: hand each due row to the relay; returns how many were queued."""
    due = services.notifications_due(now=timezone.now())
    for notification_id in due:
        deliver_task.delay(notification_id)
    return len(due)
