"""Routing: which rep or pool gets a handoff, decided by ordered rules, written to the ledger
with its reason."""

from datetime import datetime

from leads.handoff.models import Handoff, HandoffStatus, RoutingDecision
from leads.routing.models import TargetKind


def route_handoff(*, handoff: Handoff, now: datetime) -> RoutingDecision:
    # The routing rules engine replaces this first cut: with no rules, a handoff waits in
    # the shared pool and the ledger says so.
    handoff.status = HandoffStatus.POOL
    handoff.save(update_fields=["status"])
    return RoutingDecision.objects.create(
        handoff=handoff,
        target_kind=TargetKind.POOL,
        reason="No routing rule matched: left in the shared pool for any rep to claim",
        decided_at=now,
    )
