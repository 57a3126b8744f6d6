"""The reconciler: Redis only carries work and may lose it; PostgreSQL knows what is owed.
Every few minutes this re-drives, from database state, what a lost message left undone:
leads with events newer than their score, and handoffs whose notifications were never made.
(Undelivered outbox rows have their own sweep in smarketing.notifications.)"""

from datetime import datetime, timedelta

from celery import shared_task
from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone

from leads.handoff.models import Handoff
from leads.models import Activity, Lead

# Leave the fast path time to do its job before we call the work lost.
GRACE = timedelta(minutes=2)
LOOKBACK = timedelta(days=2)
BATCH = 5000


def unscored_leads(*, now: datetime) -> list[int]:
    """Leads with an event received after their last score (or never scored), excluding the
    last GRACE, within LOOKBACK. Only matters while a scoring model is active."""
    recent = Activity.objects.filter(
        received_at__gte=now - LOOKBACK, received_at__lt=now - GRACE, lead_id=OuterRef("pk")
    )
    newest = (
        Lead.objects.filter(Exists(recent), erased_at__isnull=True)
        .annotate(last_event=Max("activities__received_at"))
        .filter(Q(current_score__isnull=True) | Q(last_event__gt=F("current_score__scored_at")))
        .values_list("pk", flat=True)[:BATCH]
    )
    return list(newest)


def unqualified_mqls() -> list[int]:
    """Leads whose score says MQL but that never moved to MQL (a crash between scoring and
    qualifying, or a bulk rescore cut short): rescoring them qualifies them, once."""
    from leads.scoring.services import PRE_MQL_KINDS

    return list(
        Lead.objects.filter(
            current_score__is_mql=True, stage__kind__in=PRE_MQL_KINDS, erased_at__isnull=True
        ).values_list("pk", flat=True)[:BATCH]
    )


def unnotified_handoffs(*, now: datetime) -> list[int]:
    return list(
        Handoff.objects.filter(notified_at__isnull=True, created_at__lt=now - GRACE)
        .order_by("created_at")
        .values_list("pk", flat=True)[:BATCH]
    )


def reconcile(*, now: datetime) -> dict[str, int]:
    from leads.handoff.tasks import handoff_notify_task
    from leads.scoring.services import active_model, backlog_add, backlog_waiting
    from leads.scoring.tasks import drainer_wake

    lead_ids = []
    if active_model():
        lead_ids = list(dict.fromkeys([*unscored_leads(now=now), *unqualified_mqls()]))
    if lead_ids:
        backlog_add(lead_ids=lead_ids, now=now)
    if lead_ids or backlog_waiting():
        # Forced: the flag that says a drainer is awake may belong to one that was lost
        # (reserved by a killed worker), which would silence the wake-up until it expires.
        # Two drainers at once are harmless: each takes rows the other does not hold.
        drainer_wake(force=True)
    handoff_ids = unnotified_handoffs(now=now)
    for handoff_id in handoff_ids:
        handoff_notify_task.delay(handoff_id)
    return {"leads_rescored": len(lead_ids), "handoffs_notified": len(handoff_ids)}


@shared_task(ignore_result=True)
def reconcile_task() -> dict[str, int]:
    return reconcile(now=timezone.now())
