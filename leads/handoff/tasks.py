from celery import shared_task
from django.utils import timezone

from leads.handoff import notify
from leads.scoring.tasks import TRANSIENT


@shared_task(ignore_result=True, acks_late=True, **TRANSIENT)
def handoff_notify_task(handoff_id: int) -> None:
    """Create the handoff's outbox rows (once each) and deliver them."""
    notify.handoff_notify(handoff_id=handoff_id, now=timezone.now())
