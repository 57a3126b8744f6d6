"""Thin tasks: take ids, re-read rows, call a service. A second run changes nothing."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from leads.scoring import services
from leads.scoring.models import RescoreJob, RescoreStatus

PENDING_KEY = "scoring:pending:{}"
PENDING_TTL = 300  # seconds; a lost task frees the key by itself


def score_lead_soon(lead_id: int) -> None:
    """Enqueue a rescore of one lead unless one is already waiting: a burst of events for
    the same lead coalesces into one task, which reads all of them when it runs."""
    if cache.add(PENDING_KEY.format(lead_id), 1, PENDING_TTL):
        score_lead_task.delay(lead_id)


@shared_task(ignore_result=True, acks_late=True)
def score_lead_task(lead_id: int) -> None:
    # Free the key before reading, so events that arrive while we score enqueue again.
    cache.delete(PENDING_KEY.format(lead_id))
    services.lead_score(lead_id=lead_id, now=timezone.now())


@shared_task(ignore_result=True, acks_late=True)
def rescore_task(job_id: int) -> None:
    job = RescoreJob.objects.filter(pk=job_id, status=RescoreStatus.QUEUED).first()
    if job is None:
        return
    services.rescore_run(job=job, now=timezone.now())


@shared_task(ignore_result=True)
def decay_sweep() -> None:
    """Engagement decays with time even when nothing happens: rescore leads that still
    carry engagement points so their scores (and the queue order) stay true."""
    services.decay_sweep(now=timezone.now())
