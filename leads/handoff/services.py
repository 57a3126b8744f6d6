"""Handoff writes. `handoff_create` runs inside the qualification's transaction; the actions
Sales takes on a handoff (claim, accept, reject, touch, qualify) live here too."""

from datetime import datetime

from django.db import transaction

from leads.handoff.models import Handoff, HandoffStatus
from leads.handoff.signals import handoff_created
from leads.models import Lead, StageChange
from leads.routing.services import route_handoff


def handoff_create(
    *, lead: Lead, qualification: StageChange, score: dict, why: str, scoring_model, now: datetime
) -> Handoff:
    """Hand a lead that just qualified to Sales: one Handoff per qualification (the MQL
    StageChange is unique on Handoff), routed at once, with its notifications enqueued after
    commit. Call it inside the transaction that recorded the qualification."""
    handoff, created = Handoff.objects.get_or_create(
        qualification=qualification,
        defaults={
            "lead": lead,
            "scoring_model": scoring_model,
            "score": score,
            "why": why,
            "status": HandoffStatus.POOL,
            "created_at": now,
        },
    )
    if created:
        route_handoff(handoff=handoff, now=now)
        handoff_created.send(sender=Handoff, handoff=handoff, now=now)
        transaction.on_commit(lambda: _notify_soon(handoff.pk))
    return handoff


def _notify_soon(handoff_id: int) -> None:
    from leads.handoff.tasks import handoff_notify_task

    handoff_notify_task.delay(handoff_id)
