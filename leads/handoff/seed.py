"""Demo handoffs: every lead in MQL, SAL or SQL gets the handoff its qualification made
(through `handoff_create`, so routing and the SLA see it as they would live). SAL and SQL
leads show as accepted and qualified by their owners, with touches. Then Dana and Lee work
part of today's queue: some leads accepted and touched, a few rejected back to Marketing
with reasons, one qualified; the rest wait in the pools to be claimed.

Deterministic (fixed random seed, ordered by id) and safe to run again: handoffs are only
made for leads without one, and the worked examples only when no touch exists yet."""

import random
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, Subquery

from leads.handoff import services
from leads.handoff.models import Handoff, HandoffStatus, RejectReason, Touch
from leads.models import Lead, StageChange, StageKind
from personas.models import ContentPiece
from smarketing.errors import ApplicationError

SEED = 606
ACCEPTED = 4
REJECTED = [
    (RejectReason.NOT_ICP, "Two-person agency; we need 100+ seats."),
    (RejectReason.BAD_CONTACT, "Phone disconnected and the email bounced."),
    (RejectReason.NO_BUDGET, "Likes it, but budgets are frozen until April."),
    (RejectReason.EXISTING_CUSTOMER, "Already on the Pro plan via their parent company."),
    (RejectReason.OTHER, "Was researching for a university thesis."),
]
TOUCH_NOTES = [
    "Left a voicemail with the calendar link.",
    "Sent the case study they asked about.",
    "Good call: pains match the persona; demo booked.",
    "Connected on LinkedIn, shared the webinar recording.",
]


def run(*, now: datetime, stdout) -> None:
    users = get_user_model().objects.in_bulk(["dana", "lee"], field_name="username")
    if len(users) < 2:
        return
    rng = random.Random(SEED)
    contents = list(ContentPiece.objects.order_by("id").values_list("id", flat=True))
    fresh = not Touch.objects.exists()
    with transaction.atomic():
        made = _create_missing(now=now)
        _close_history(rng=rng, contents=contents, now=now)
    worked = 0
    if fresh:
        worked = _work_today(
            users=[users["dana"], users["lee"]], rng=rng, contents=contents, now=now
        )
    open_pool = Handoff.objects.filter(status=HandoffStatus.POOL).count()
    stdout.write(
        f"handoff: {made} handoffs created, {worked} worked by reps, {open_pool} waiting in pools"
    )


def _create_missing(*, now: datetime) -> int:
    """Handoffs for MQL/SAL/SQL leads that have none, from their latest MQL StageChange."""
    latest_mql = StageChange.objects.filter(
        lead=OuterRef("pk"), to_stage__kind=StageKind.MQL
    ).order_by("-changed_at", "-id")
    leads = (
        Lead.objects.filter(
            stage__kind__in=[StageKind.MQL, StageKind.SAL, StageKind.SQL], handoffs__isnull=True
        )
        .annotate(mql_change_id=Subquery(latest_mql.values("pk")[:1]))
        .filter(mql_change_id__isnull=False)
        .select_related("current_score__model")
        .order_by("id")
    )
    changes = StageChange.objects.in_bulk([lead.mql_change_id for lead in leads])
    for lead in leads:
        qualification = changes[lead.mql_change_id]
        current = getattr(lead, "current_score", None)
        score = {
            "fit": lead.fit_score,
            "engagement": lead.engagement_score,
            "total": lead.score,
            **({"version": current.model.version} if current else {}),
        }
        why = qualification.reason or (
            f"Fit {lead.fit_score} and engagement {lead.engagement_score} cleared the MQL line."
        )
        services.handoff_create(
            lead=lead,
            qualification=qualification,
            score=score,
            why=why,
            scoring_model=current.model if current else None,
            now=min(qualification.changed_at, now),
        )
    return len(leads)


def _close_history(*, rng: random.Random, contents: list[int], now: datetime) -> None:
    """SAL and SQL leads were accepted (and SQL ones qualified) by their owners earlier; their
    handoffs say so, with the touches that led there."""
    moves = {
        (c.lead_id, c.to_stage.kind): c.changed_at
        for c in StageChange.objects.filter(
            to_stage__kind__in=[StageKind.SAL, StageKind.SQL],
            lead__stage__kind__in=[StageKind.SAL, StageKind.SQL],
        ).select_related("to_stage")
    }
    handoffs = (
        Handoff.objects.filter(
            lead__stage__kind__in=[StageKind.SAL, StageKind.SQL],
            status__in=[HandoffStatus.POOL, HandoffStatus.ASSIGNED],
            lead__owner__isnull=False,
        )
        .select_related("lead__stage")
        .order_by("id")
    )
    for handoff in handoffs:
        lead = handoff.lead
        accepted = moves.get((lead.pk, StageKind.SAL), handoff.created_at + timedelta(hours=1))
        assigned = handoff.created_at + (accepted - handoff.created_at) / 3
        fields = {
            "owner_id": lead.owner_id,
            "status": HandoffStatus.ACCEPTED,
            "assigned_at": assigned,
            "accepted_at": accepted,
        }
        end = now
        if lead.stage.kind == StageKind.SQL:
            end = moves.get((lead.pk, StageKind.SQL), accepted + timedelta(days=2))
            fields.update(status=HandoffStatus.QUALIFIED, closed_at=end)
        touches = []
        for i in range(rng.randint(1, 3)):
            at = accepted + (end - accepted) * rng.uniform(0.05, 0.9) * (i + 1) / 3
            touches.append(
                Touch(
                    handoff=handoff,
                    lead=lead,
                    rep_id=lead.owner_id,
                    kind=rng.choice(["call", "email", "meeting", "social"]),
                    outcome=rng.choice(["connected", "no_answer", "voicemail", "connected"]),
                    content_id=rng.choice(contents) if contents and rng.random() < 0.4 else None,
                    note=rng.choice(TOUCH_NOTES),
                    touched_at=min(at, now),
                )
            )
        Touch.objects.bulk_create(touches)
        fields["first_touch_at"] = min(t.touched_at for t in touches)
        fields["touch_count"] = len(touches)
        Handoff.objects.filter(pk=handoff.pk).update(**fields)


def _work_today(*, users: list, rng: random.Random, contents: list[int], now: datetime) -> int:
    """Reps work part of the MQL queue through the same services the page uses."""
    handoffs = list(
        Handoff.objects.filter(
            lead__stage__kind=StageKind.MQL,
            status__in=[HandoffStatus.POOL, HandoffStatus.ASSIGNED],
        ).order_by("id")
    )
    plan = ["accept"] * ACCEPTED + [f"reject:{i}" for i in range(len(REJECTED))] + ["qualify"]
    worked = 0
    for handoff, step in zip(handoffs[::2], plan, strict=False):
        rep = handoff.owner or users[worked % len(users)]
        t = max(handoff.created_at, now - timedelta(days=2)) + timedelta(minutes=rng.randint(3, 40))
        try:
            if handoff.status == HandoffStatus.POOL:
                services.handoff_claim(handoff_id=handoff.pk, user=rep, now=min(t, now))
            if step.startswith("reject:"):
                reason, note = REJECTED[int(step.split(":")[1])]
                services.touch_log(
                    handoff_id=handoff.pk,
                    user=rep,
                    kind="call",
                    outcome="connected",
                    note="Discovery call.",
                    now=min(t + timedelta(minutes=10), now),
                )
                services.handoff_reject(
                    handoff_id=handoff.pk,
                    user=rep,
                    reason=reason,
                    note=note,
                    now=min(t + timedelta(minutes=25), now),
                )
            else:
                services.handoff_accept(
                    handoff_id=handoff.pk, user=rep, now=min(t + timedelta(minutes=5), now)
                )
                for i in range(rng.randint(1, 3)):
                    services.touch_log(
                        handoff_id=handoff.pk,
                        user=rep,
                        kind=rng.choice(["call", "email"]),
                        outcome=rng.choice(["no_answer", "voicemail", "connected"]),
                        content_id=rng.choice(contents) if contents and i == 1 else None,
                        note=rng.choice(TOUCH_NOTES),
                        now=min(t + timedelta(minutes=15 + 30 * i), now),
                    )
                if step == "qualify":
                    services.handoff_qualify(
                        handoff_id=handoff.pk,
                        user=rep,
                        note="Budget owner on the call; evaluation starts Monday.",
                        now=min(t + timedelta(hours=2), now),
                    )
        except ApplicationError:
            # A rep outside the handoff's team, say: leave it for someone else.
            continue
        worked += 1
    return worked
