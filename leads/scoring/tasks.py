"""Thin tasks: take ids (or the backlog), re-read rows, call a service. A second run changes
nothing."""

import contextlib
import logging
import time
from collections.abc import Iterable

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from leads.scoring import services
from leads.scoring.models import RescoreJob, RescoreStatus
from smarketing.notifications.services import relay_inline

logger = logging.getLogger(__name__)

# At most one drainer is awake at a time (more would be safe, since rows are taken with SKIP
# LOCKED, but wasteful): the first event after a quiet spell wakes it, later ones find it
# awake and only add rows. The drainer renews the flag after every pass, so one that died
# (or whose message was lost with the broker) frees it within WAKE_TTL, and the next event
# wakes a new one; the reconciler covers leads no event comes for. A pass that outlasts the
# flag at worst lets a second drainer start, which is harmless.
WAKE_KEY = "scoring:drainer-awake"
WAKE_TTL = 10  # seconds
DRAIN_BATCH = 500
DRAIN_SLICE = 30.0  # seconds a drainer works before it hands over to a fresh task
# After a pass that found only a few leads, the drainer waits this long before the next one
# so that a steady stream gathers into batches: a pass costs about 2.6 ms of fixed work
# (backlog rows, scorer check, leads, activities, store, commit) and 0.15 ms per lead, so
# passes of one lead each cost 3 ms per event and passes of 25 leads 0.25 ms. The first
# event after a quiet spell is still scored at once (the wait comes after its pass), and a
# hand-raiser never waits (score_now scores it in a task of its own).
DRAIN_GATHER = 0.05  # seconds
DRAIN_GATHER_BELOW = 50  # leads: a pass that took this many or more goes straight on


def leads_score_soon(lead_ids: list[int], *, urgent: Iterable[int] = ()) -> None:
    """Rescore these leads soon: put them on the scoring backlog and make sure a drainer
    runs. Inside a transaction the rows commit with it (so the events and the promise to
    score them are one) and the wake-up waits for the commit; outside one, both happen now.
    `urgent` leads (a hand-raiser: someone asked for a call) are also scored at once by a
    task of their own instead of waiting for the drainer's current batch.

    Outside a transaction it never raises (it runs after the events were stored, so an
    outage must not turn an accepted request into a 500): the reconciler re-drives what
    this could not record."""
    if not lead_ids:
        return
    if transaction.get_connection().in_atomic_block:
        services.backlog_add(lead_ids=lead_ids, now=timezone.now())
        backlog_added(urgent=urgent)
        return
    try:
        services.backlog_add(lead_ids=lead_ids, now=timezone.now())
    except Exception:
        logger.exception("Could not put %s leads on the scoring backlog", len(lead_ids))
        return
    backlog_added(urgent=urgent)


def backlog_added(*, urgent: Iterable[int] = ()) -> None:
    """Leads were put on the backlog (by leads_score_soon, or by the caller's own statement
    together with their events): make sure a drainer runs, and score the `urgent` ones at
    once. Inside a transaction this waits for its commit. Never raises."""
    urgent = sorted(set(urgent))

    def wake():
        if urgent:
            score_now(urgent)
        drainer_wake()

    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(wake)
    else:
        wake()


def drainer_wake(*, force: bool = False) -> None:
    """Enqueue a drainer unless one is awake (`force`: regardless). Never raises."""
    try:
        if not cache.add(WAKE_KEY, 1, WAKE_TTL) and not force:
            return
    except Exception:
        logger.warning("Cache unavailable; waking a scoring drainer anyway")
    try:
        drain_backlog_task.delay()
    except Exception:
        logger.exception("Could not enqueue a scoring drainer; the reconciler will")
        # Otherwise the flag would hold back the next wake-up for WAKE_TTL.
        with contextlib.suppress(Exception):
            cache.delete(WAKE_KEY)


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
def drain_backlog_task() -> None:
    """Score the backlog in batches until it is empty, then go to sleep. Under steady load
    one drainer keeps going and scores tens to hundreds of leads per pass (after a small
    pass it waits DRAIN_GATHER for more to arrive); when it is quiet, a pass holds the one
    lead whose event just arrived."""
    started = time.monotonic()
    try:
        while True:
            taken = services.backlog_drain(now=timezone.now(), limit=DRAIN_BATCH)
            if taken:
                cache.touch(WAKE_KEY, WAKE_TTL)
                if time.monotonic() - started > DRAIN_SLICE:
                    # Hand over so a long burst does not hit the task time limit.
                    cache.delete(WAKE_KEY)
                    drainer_wake()
                    return
                if taken < DRAIN_GATHER_BELOW:
                    time.sleep(DRAIN_GATHER)  # let the next events gather (see above)
                continue
            cache.delete(WAKE_KEY)
            # An event committed after our last look found the flag still set and did not
            # wake anyone: look once more now that the flag is down.
            if services.backlog_waiting() and cache.add(WAKE_KEY, 1, WAKE_TTL):
                continue
            return
    except Exception:
        # The batch's rows went back with the rollback; let the next event (or the retry,
        # or the reconciler) wake a drainer.
        with contextlib.suppress(Exception):
            cache.delete(WAKE_KEY)
        raise


def score_now(lead_ids: list[int]) -> None:
    """Enqueue scoring of these waiting leads ahead of the batch. Never raises: they are on
    the backlog, so the drainer scores them anyway."""
    try:
        score_now_task.delay(lead_ids)
    except Exception:
        logger.exception("Could not enqueue scoring of %s urgent leads", len(lead_ids))


@shared_task(ignore_result=True, acks_late=True, **TRANSIENT)
def score_now_task(lead_ids: list[int]) -> None:
    """Score these leads now if they are still waiting (the drainer may have taken them
    first, and then it scores them), and deliver their "ready for a call" messages from
    here right after commit rather than through the relay's queue."""
    with relay_inline():
        services.backlog_drain(now=timezone.now(), only=lead_ids)


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
