"""Thin tasks: take ids, re-read rows, call a service. A second run changes nothing."""

import contextlib
import logging

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from leads.scoring import services
from leads.scoring.models import RescoreJob, RescoreStatus

logger = logging.getLogger(__name__)

PENDING_KEY = "scoring:pending:{}"
PENDING_TTL = 300  # seconds; a lost task frees the key by itself


def score_lead_soon(lead_id: int) -> None:
    """Enqueue a rescore of one lead unless one is already waiting: a burst of events for
    the same lead coalesces into one task, which reads all of them when it runs.

    Never raises: it runs on commit, after the events are stored, so a broker or cache
    outage must not turn an accepted request into a 500. The reconciler re-drives from the
    database whatever this could not enqueue."""
    key = PENDING_KEY.format(lead_id)
    try:
        if not cache.add(key, 1, PENDING_TTL):
            return
    except Exception:
        logger.warning("Cache unavailable; enqueueing the rescore of lead %s anyway", lead_id)
    try:
        score_lead_task.delay(lead_id)
    except Exception:
        logger.exception("Could not enqueue the rescore of lead %s; the reconciler will", lead_id)
        # Otherwise the key would hold back the next event's enqueue for PENDING_TTL (if
        # the cache is down too, the key expires by itself).
        with contextlib.suppress(Exception):
            cache.delete(key)


def leads_score_soon(lead_ids: list[int]) -> None:
    """Rescore these leads soon (see score_lead_soon). Never raises."""
    for lead_id in lead_ids:
        score_lead_soon(lead_id)


# A database that is restarting is transient: retry with exponential backoff and jitter
# (capped well under the broker's visibility timeout); the reconciler covers the rest.
TRANSIENT = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(ignore_result=True, acks_late=True, **TRANSIENT)
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
