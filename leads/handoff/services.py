"""Handoff writes. `handoff_create` runs inside the qualification's transaction; the actions
Sales takes on a handoff (claim, accept, reject, touch, qualify) live here too."""

import logging
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, Q

from leads.handoff.models import (
    Handoff,
    HandoffStatus,
    RejectReason,
    Touch,
    TouchKind,
    TouchOutcome,
)
from leads.handoff.notify import handoff_notify
from leads.handoff.signals import handoff_created
from leads.models import Lead, Stage, StageChange, StageKind
from leads.routing.models import SalesTeam
from leads.routing.services import route_handoff
from leads.services import lead_change_stage
from personas.models import ContentPiece
from smarketing.errors import ApplicationError, Conflict

logger = logging.getLogger(__name__)


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
        # The outbox rows commit with the handoff: the in-app message exists the moment the
        # handoff does, and email and webhooks are relayed right after commit (no extra
        # task hop in between; the reconciler still re-drives a handoff never notified).
        handoff_notify(handoff_id=handoff.pk, now=now)
    return handoff


# --- What Sales does with a handoff -------------------------------------------------------
#
# Every action locks the handoff row first (then, through lead_change_stage, the lead), in
# that order everywhere, so two actions on one lead queue up instead of deadlocking. The
# status check happens after the lock: whoever reads the row second sees the first one's
# write and gets a Conflict that names the winner.

QUEUE_PERMISSION = "leads.work_queue"
# The most urgent first: the accept deadline the SLA set, then arrival for those without one.
QUEUE_ORDER = (F("accept_due_at").asc(nulls_last=True), "created_at", "id")


def _display_name(user) -> str:
    if user is None:
        return "someone else"
    return user.get_full_name() or user.username


def _require_queue_role(user) -> None:
    if not user.has_perm(QUEUE_PERMISSION):
        raise ApplicationError(
            "Only Sales reps and Sales managers work the sales queue.", status_code=403
        )


def _handoff_for_update(handoff_id: int) -> Handoff:
    """The handoff, row-locked until the transaction ends. Tests replace this with an
    unlocked read to prove the race tests can fail."""
    handoff = Handoff.objects.select_for_update().filter(pk=handoff_id).first()
    if handoff is None:
        raise ApplicationError("No such handoff.", status_code=404)
    return handoff


def _next_pool_handoff(user) -> Handoff | None:
    """The most urgent pool handoff this user may claim that nobody else is claiming now.
    SKIP LOCKED lets twenty reps take twenty different leads at once instead of queueing
    behind the same row; SQLite has no row locks, and its IMMEDIATE transactions already
    serialise writers."""
    qs = claimable_handoffs(user).order_by(*QUEUE_ORDER)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    return qs.first()


def user_team_ids(user) -> list[int]:
    """Teams whose pool this user works: where they are an active member or the manager."""
    return list(
        SalesTeam.objects.filter(Q(members__user=user, members__active=True) | Q(manager=user))
        .values_list("pk", flat=True)
        .distinct()
    )


def claimable_handoffs(user):
    """Pool handoffs of the user's teams, plus those routed to no team (any rep may take
    those). Superusers see every pool."""
    qs = Handoff.objects.filter(status=HandoffStatus.POOL)
    if user.is_superuser:
        return qs
    return qs.filter(Q(team__isnull=True) | Q(team_id__in=user_team_ids(user)))


def _check_claimable(handoff: Handoff, user) -> None:
    if handoff.status in (HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED):
        if handoff.owner_id == user.pk:
            raise Conflict("You already have this lead.")
        raise Conflict(f"Already claimed by {_display_name(handoff.owner)}.")
    if handoff.status != HandoffStatus.POOL:
        raise Conflict(f"This lead is closed ({handoff.get_status_display().lower()}).")
    if (
        handoff.team_id is not None
        and not user.is_superuser
        and handoff.team_id not in user_team_ids(user)
    ):
        raise ApplicationError(
            f"This lead waits in the {handoff.team.name} pool; you are not in that team.",
            status_code=403,
        )


def _take(handoff: Handoff, user, now: datetime) -> Handoff:
    handoff.status = HandoffStatus.ASSIGNED
    handoff.owner = user
    handoff.assigned_at = now
    handoff.save(update_fields=["status", "owner", "assigned_at"])
    Lead.objects.filter(pk=handoff.lead_id).update(owner=user, updated_at=now)
    return handoff


def handoff_claim(*, handoff_id: int, user, now: datetime) -> Handoff:
    """Take a lead from the pool. When two reps click at once, the row lock makes one wait;
    it then sees the lead taken and gets a Conflict naming the winner."""
    _require_queue_role(user)
    with transaction.atomic():
        handoff = _handoff_for_update(handoff_id)
        _check_claimable(handoff, user)
        return _take(handoff, user, now)


def handoff_claim_next(*, user, now: datetime) -> Handoff:
    """Take the most urgent lead in the user's pools that no one else is taking right now."""
    _require_queue_role(user)
    with transaction.atomic():
        handoff = _next_pool_handoff(user)
        if handoff is None:
            raise Conflict("Nothing left to claim: your pools are empty.")
        return _take(handoff, user, now)


def _owned_for_update(handoff_id: int, user, *, allowed: tuple[str, ...], action: str) -> Handoff:
    """Lock the handoff and check that `user` owns it and that its status allows `action`."""
    _require_queue_role(user)
    handoff = _handoff_for_update(handoff_id)
    if handoff.owner_id != user.pk:
        if handoff.status == HandoffStatus.POOL:
            raise ApplicationError(f"Claim this lead before you {action} it.")
        raise ApplicationError(
            f"This lead belongs to {_display_name(handoff.owner)}; only its owner can {action} it.",
            status_code=403,
        )
    if handoff.status not in allowed:
        raise Conflict(
            f"You cannot {action} this lead: it is {handoff.get_status_display().lower()}."
        )
    return handoff


def _stage_of_kind(kind: str) -> Stage:
    stage = Stage.objects.filter(kind=kind).order_by("order", "id").first()
    if stage is None:
        raise ApplicationError(f"No lifecycle stage of kind '{kind}' is set up.")
    return stage


def _move_lead(handoff: Handoff, *, kind: str, user, now: datetime, reason: str) -> None:
    """Move the lead along with the handoff, leaving a StageChange. A lead someone already
    moved there by hand stays put rather than failing the rep's action."""
    stage = _stage_of_kind(kind)
    lead = Lead.objects.select_related("stage").get(pk=handoff.lead_id)
    if lead.stage_id == stage.pk:
        return
    lead_change_stage(
        lead=lead,
        to_stage=stage,
        now=now,
        actor=user,
        rule="sales queue",
        reason=reason,
        force=True,
    )


def handoff_accept(*, handoff_id: int, user, now: datetime) -> Handoff:
    """The owner accepts the lead: it becomes Sales accepted (SAL)."""
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id, user, allowed=(HandoffStatus.ASSIGNED,), action="accept"
        )
        handoff.status = HandoffStatus.ACCEPTED
        handoff.accepted_at = now
        handoff.save(update_fields=["status", "accepted_at"])
        _move_lead(handoff, kind=StageKind.SAL, user=user, now=now, reason="Accepted by Sales")
        return handoff


def handoff_reject(*, handoff_id: int, user, reason: str, note: str = "", now: datetime) -> Handoff:
    """Send the lead back to Marketing with a reason: it is recycled to nurture and may
    qualify again later, which makes a new handoff."""
    if reason not in RejectReason.values:
        raise ApplicationError(
            "Pick a reason for the rejection.",
            extra={"reason": [f"One of: {', '.join(RejectReason.values)}."]},
        )
    note = (note or "").strip()
    if reason == RejectReason.OTHER and not note:
        raise ApplicationError(
            "Say why when the reason is 'Other'.",
            extra={"note": ["A note is required with 'Other'."]},
        )
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id,
            user,
            allowed=(HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED),
            action="reject",
        )
        handoff.status = HandoffStatus.REJECTED
        handoff.reject_reason = reason
        handoff.reject_note = note
        handoff.closed_at = now
        handoff.save(update_fields=["status", "reject_reason", "reject_note", "closed_at"])
        label = RejectReason(reason).label
        _move_lead(
            handoff,
            kind=StageKind.RECYCLED,
            user=user,
            now=now,
            reason=f"Rejected by Sales: {label}" + (f" ({note})" if note else ""),
        )
        Lead.objects.filter(pk=handoff.lead_id).update(owner=None, updated_at=now)
        return handoff


def touch_log(
    *,
    handoff_id: int,
    user,
    kind: str,
    outcome: str,
    content_id: int | None = None,
    note: str = "",
    now: datetime,
) -> Touch:
    """Record a follow-up attempt. The first one stamps the handoff's first touch (the
    moment speed-to-lead is measured against), once, even when two land together."""
    errors = {}
    if kind not in TouchKind.values:
        errors["kind"] = [f"One of: {', '.join(TouchKind.values)}."]
    if outcome not in TouchOutcome.values:
        errors["outcome"] = [f"One of: {', '.join(TouchOutcome.values)}."]
    content = None
    if content_id:
        content = ContentPiece.objects.filter(pk=content_id).first()
        if content is None:
            errors["content"] = ["No such content piece."]
    if errors:
        raise ApplicationError("Check the touch: " + ", ".join(errors) + ".", extra=errors)
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id,
            user,
            allowed=(HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED),
            action="log a touch on",
        )
        touch = Touch.objects.create(
            handoff=handoff,
            lead_id=handoff.lead_id,
            rep=user,
            kind=kind,
            outcome=outcome,
            content=content,
            note=(note or "").strip(),
            touched_at=now,
        )
        Handoff.objects.filter(pk=handoff.pk, first_touch_at__isnull=True).update(
            first_touch_at=now
        )
        return touch


def handoff_qualify(*, handoff_id: int, user, now: datetime, note: str = "") -> Handoff:
    """The owner qualifies an accepted lead: it becomes Sales qualified (SQL)."""
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id, user, allowed=(HandoffStatus.ACCEPTED,), action="qualify"
        )
        handoff.status = HandoffStatus.QUALIFIED
        handoff.closed_at = now
        handoff.save(update_fields=["status", "closed_at"])
        _move_lead(
            handoff,
            kind=StageKind.SQL,
            user=user,
            now=now,
            reason=(note or "").strip() or "Qualified by Sales",
        )
        return handoff


def handoff_disqualify(*, handoff_id: int, user, now: datetime, note: str = "") -> Handoff:
    """The owner closes the lead as not a buyer: it becomes Disqualified."""
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id,
            user,
            allowed=(HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED),
            action="disqualify",
        )
        handoff.status = HandoffStatus.DISQUALIFIED
        handoff.closed_at = now
        handoff.save(update_fields=["status", "closed_at"])
        _move_lead(
            handoff,
            kind=StageKind.DISQUALIFIED,
            user=user,
            now=now,
            reason=(note or "").strip() or "Disqualified by Sales",
        )
        Lead.objects.filter(pk=handoff.lead_id).update(owner=None, updated_at=now)
        return handoff
