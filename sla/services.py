"""SLA writes: start a handoff's clocks, the minute sweep (warn, breach, escalate, met), and
the life of an agreement. Built like healthchecks' sendalerts: find due rows through a
partial index, claim each with a conditional UPDATE, record an event row, notify in a
separate step that claims the event the same way, and push a failing row's next check
forward so one bad row cannot stall the sweep."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from leads.handoff.models import Handoff, HandoffStatus, RoutingDecision, Touch
from leads.routing.models import SalesTeam
from sla.calendar import STANDARD_HOURS, Calendar, add_business_minutes
from sla.models import (
    RUNNING,
    AgreementStatus,
    BusinessCalendar,
    ClockKind,
    ClockStatus,
    SlaAgreement,
    SlaClock,
    SlaEvent,
    SlaEventKind,
)

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
RETRY_BAD_ROW = timedelta(minutes=5)


def active_agreement() -> SlaAgreement | None:
    return SlaAgreement.objects.filter(status=AgreementStatus.ACTIVE).first()


def calendar_for(team: SalesTeam | None) -> Calendar:
    """The team's calendar, else the default one, else 9 to 5 on weekdays in UTC."""
    row = None
    if team is not None:
        row = BusinessCalendar.objects.filter(team=team).first()
    if row is None:
        row = BusinessCalendar.objects.filter(is_default=True).first()
    if row is None:
        return Calendar(timezone=team.timezone if team else "UTC", hours=STANDARD_HOURS)
    return row.as_calendar()


def _window(agreement: SlaAgreement, kind: str) -> float | None:
    """A promise's length in business minutes (attempts: calendar days, handled apart)."""
    return {
        ClockKind.ACCEPT: agreement.accept_within_minutes,
        ClockKind.FIRST_TOUCH: agreement.first_touch_within_minutes,
        ClockKind.POOL_CLAIM: agreement.pool_claim_within_minutes,
    }.get(kind)


def clock_start(
    *, handoff: Handoff, kind: str, agreement: SlaAgreement, calendar: Calendar, start: datetime
) -> SlaClock:
    if kind == ClockKind.ATTEMPTS:
        due = start + timedelta(days=agreement.attempts_within_days)
        warn = start + (due - start) * agreement.warn_at_percent / 100
    else:
        minutes = _window(agreement, kind)
        due = add_business_minutes(start, minutes, calendar)
        warn = add_business_minutes(start, minutes * agreement.warn_at_percent / 100, calendar)
    clock, _ = SlaClock.objects.get_or_create(
        handoff=handoff,
        kind=kind,
        defaults={
            "agreement": agreement,
            "owner_id": handoff.owner_id,
            "started_at": start,
            "warn_at": warn,
            "due_at": due,
            "next_check_at": warn,
        },
    )
    return clock


def clocks_start(*, handoff: Handoff, now: datetime) -> list[SlaClock]:
    """Start the promises that apply to a new handoff and put its due times on it. Called
    inside the qualification's transaction (through leads' handoff_created signal)."""
    agreement = active_agreement()
    if agreement is None:
        return []
    calendar = calendar_for(handoff.team)
    kinds = [ClockKind.FIRST_TOUCH, ClockKind.ATTEMPTS]
    kinds.append(ClockKind.ACCEPT if handoff.owner_id else ClockKind.POOL_CLAIM)
    clocks = [
        clock_start(handoff=handoff, kind=k, agreement=agreement, calendar=calendar, start=now)
        for k in kinds
    ]
    due = {c.kind: c.due_at for c in clocks}
    Handoff.objects.filter(pk=handoff.pk).update(
        accept_due_at=due.get(ClockKind.ACCEPT), first_touch_due_at=due[ClockKind.FIRST_TOUCH]
    )
    handoff.accept_due_at = due.get(ClockKind.ACCEPT)
    handoff.first_touch_due_at = due[ClockKind.FIRST_TOUCH]
    return clocks


def _accept_clocks_for_claimed(now: datetime) -> int:
    """A pool lead that someone claimed now owes an accept-or-reject answer."""
    agreement = active_agreement()
    if agreement is None:
        return 0
    waiting = (
        Handoff.objects.filter(status=HandoffStatus.ASSIGNED, owner__isnull=False)
        .exclude(sla_clocks__kind=ClockKind.ACCEPT)
        .select_related("team")[:SWEEP_BATCH]
    )
    started = 0
    for handoff in waiting:
        clock = clock_start(
            handoff=handoff,
            kind=ClockKind.ACCEPT,
            agreement=agreement,
            calendar=calendar_for(handoff.team),
            start=handoff.assigned_at or now,
        )
        Handoff.objects.filter(pk=handoff.pk).update(accept_due_at=clock.due_at)
        started += 1
    return started


def _mark_met(now: datetime) -> int:
    """Set-based: running clocks whose promise the handoff has kept. met_at is when it was
    kept, not when the sweep noticed; a clock already breached stays breached."""
    handoffs = Handoff.objects.filter(pk=OuterRef("handoff_id"))
    done = 0
    kept = {
        ClockKind.FIRST_TOUCH: Subquery(handoffs.values("first_touch_at")[:1]),
        ClockKind.POOL_CLAIM: Subquery(handoffs.values("assigned_at")[:1]),
        # Accepting or rejecting both answer the lead.
        ClockKind.ACCEPT: Subquery(
            handoffs.annotate(answered=Coalesce("accepted_at", "closed_at")).values("answered")[:1]
        ),
    }
    for kind, moment in kept.items():
        done += _met_by_rows(kind, moment)
    # Attempts: met at the N-th touch within the window.
    for clock in (
        SlaClock.objects.filter(kind=ClockKind.ATTEMPTS, status__in=RUNNING)
        .annotate(touches=Count("handoff__touches"))
        .filter(touches__gte=F("agreement__min_attempts"))
        .select_related("agreement")[:SWEEP_BATCH]
    ):
        nth = list(
            Touch.objects.filter(handoff_id=clock.handoff_id)
            .order_by("touched_at")
            .values_list("touched_at", flat=True)[: clock.agreement.min_attempts]
        )
        met_at = nth[-1] if nth else now
        done += SlaClock.objects.filter(pk=clock.pk, status__in=RUNNING).update(
            status=ClockStatus.MET, met_at=met_at
        )
    return done


def _met_by_rows(kind: str, moment) -> int:
    # Row by row with a conditional UPDATE each: portable across SQLite and PostgreSQL
    # (UPDATE ... FROM with an annotation is not), and bounded per sweep.
    done = 0
    rows = (
        SlaClock.objects.filter(kind=kind, status__in=RUNNING)
        .annotate(kept_at=moment)
        .filter(kept_at__isnull=False)
        .values_list("pk", "kept_at")[:SWEEP_BATCH]
    )
    for pk, kept_at in rows:
        done += SlaClock.objects.filter(pk=pk, status__in=RUNNING).update(
            status=ClockStatus.MET, met_at=kept_at
        )
    return done


def _cancel_closed(now: datetime) -> int:
    """Promises about handoffs that ended (rejected, qualified, disqualified) stop ticking;
    attempts are met when Sales qualified the lead."""
    closed = [HandoffStatus.REJECTED, HandoffStatus.QUALIFIED, HandoffStatus.DISQUALIFIED]
    return SlaClock.objects.filter(status__in=RUNNING, handoff__status__in=closed).update(
        status=ClockStatus.CANCELLED
    )


def _escalate(clock: SlaClock, now: datetime) -> str:
    """An unanswered lead goes back to the team's pool so someone else can take it."""
    handoff = clock.handoff
    previous = handoff.owner
    moved = Handoff.objects.filter(
        pk=handoff.pk, status=HandoffStatus.ASSIGNED, owner=previous
    ).update(status=HandoffStatus.POOL, owner=None, assigned_at=None)
    if not moved:
        return ""
    who = previous.get_full_name() or previous.username if previous else "nobody"
    reason = f"SLA escalation: {who} did not accept or reject in time; back to the pool"
    RoutingDecision.objects.create(
        handoff=handoff, target_kind="pool", team=handoff.team, reason=reason, decided_at=now
    )
    return reason


def _check(clock: SlaClock, now: datetime) -> None:
    if now >= clock.due_at:
        claimed = SlaClock.objects.filter(pk=clock.pk, status__in=RUNNING).update(
            status=ClockStatus.BREACHED, breached_at=clock.due_at
        )
        if not claimed:
            return
        SlaEvent.objects.get_or_create(
            clock=clock,
            kind=SlaEventKind.BREACHED,
            defaults={
                "at": now,
                "detail": f"{clock.get_kind_display()} was due {clock.due_at:%Y-%m-%d %H:%M %Z}",
            },
        )
        if clock.kind == ClockKind.ACCEPT:
            reason = _escalate(clock, now)
            if reason:
                SlaEvent.objects.get_or_create(
                    clock=clock, kind=SlaEventKind.ESCALATED, defaults={"at": now, "detail": reason}
                )
        return
    if now >= clock.warn_at:
        claimed = SlaClock.objects.filter(pk=clock.pk, status=ClockStatus.ON_TRACK).update(
            status=ClockStatus.AT_RISK, next_check_at=clock.due_at
        )
        if claimed:
            SlaEvent.objects.get_or_create(
                clock=clock,
                kind=SlaEventKind.WARNED,
                defaults={"at": now, "detail": f"Due {clock.due_at:%Y-%m-%d %H:%M %Z}"},
            )
        else:
            SlaClock.objects.filter(pk=clock.pk).update(next_check_at=clock.due_at)
        return
    SlaClock.objects.filter(pk=clock.pk).update(next_check_at=clock.warn_at)


def sla_sweep(*, now: datetime) -> dict[str, int]:
    """One pass: start accept clocks for claimed leads, mark kept promises met, then warn,
    breach and escalate what is due. Safe to run twice: every change is a conditional
    UPDATE and every event is unique per (clock, kind)."""
    counts = {
        "accept_clocks": _accept_clocks_for_claimed(now),
        "met": _mark_met(now),
        "cancelled": _cancel_closed(now),
        "checked": 0,
        "failed": 0,
    }
    due = (
        SlaClock.objects.filter(status__in=RUNNING, next_check_at__lte=now)
        .select_related("handoff__owner", "handoff__team")
        .order_by("next_check_at")[:SWEEP_BATCH]
    )
    for clock in due:
        try:
            with transaction.atomic():
                _check(clock, now)
            counts["checked"] += 1
        except Exception:
            log.exception("SLA sweep failed on clock %s; retrying later", clock.pk)
            SlaClock.objects.filter(pk=clock.pk).update(next_check_at=now + RETRY_BAD_ROW)
            counts["failed"] += 1
    return counts


# --- The agreement ---------------------------------------------------------------------


def agreement_fields() -> list[str]:
    skip = {"id", "version", "status", "created_by", "created_at", "proposed_at", "activated_at"}
    return [f.name for f in SlaAgreement._meta.concrete_fields if f.name not in skip]


def agreement_create(
    *, actor, now: datetime, based_on: SlaAgreement | None = None, **values
) -> SlaAgreement:
    from django.db.models import Max

    with transaction.atomic():
        version = (SlaAgreement.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        data = {f: getattr(based_on, f) for f in agreement_fields()} if based_on else {}
        data.update({k: v for k, v in values.items() if k in agreement_fields()})
        data.pop("effective_to", None)
        return SlaAgreement.objects.create(
            version=version, created_by=actor, created_at=now, **data
        )


def agreement_update(*, agreement: SlaAgreement, now: datetime, **values) -> SlaAgreement:
    from smarketing.errors import Conflict

    if not agreement.is_editable:
        raise Conflict(
            f"SLA v{agreement.version} is signed or in force; start a new version to change it."
        )
    changed = [
        k for k, v in values.items() if k in agreement_fields() and getattr(agreement, k) != v
    ]
    for key in changed:
        setattr(agreement, key, values[key])
    if changed:
        agreement.save(update_fields=changed)
    return agreement


def agreement_propose(*, agreement: SlaAgreement, now: datetime) -> SlaAgreement:
    from smarketing.errors import Conflict

    if not SlaAgreement.objects.filter(pk=agreement.pk, status=AgreementStatus.DRAFT).update(
        status=AgreementStatus.PROPOSED, proposed_at=now
    ):
        raise Conflict("Only a draft can be sent for signature.")
    agreement.refresh_from_db()
    return agreement


def agreement_sign(*, agreement: SlaAgreement, user, now: datetime):
    """A team lead signs; when both have, the agreement comes into force and the previous
    version is superseded."""
    from sla.models import SlaSignOff
    from smarketing.errors import ApplicationError, Conflict
    from smarketing.roles import user_team

    if not user.has_perm("sla.sign_off_slaagreement"):
        raise ApplicationError("Only the team leads sign the SLA.", status_code=403)
    team = user_team(user)
    if team is None:
        raise ApplicationError(
            "Only a Marketing or a Sales lead can sign for their team.", status_code=403
        )
    with transaction.atomic():
        agreement = SlaAgreement.objects.select_for_update().get(pk=agreement.pk)
        if agreement.status != AgreementStatus.PROPOSED:
            raise Conflict("Only an agreement awaiting signatures can be signed.")
        if agreement.sign_offs.filter(team=team).exists():
            raise Conflict(f"{team.capitalize()} has already signed SLA v{agreement.version}.")
        SlaSignOff.objects.create(agreement=agreement, team=team, user=user, signed_at=now)
        if {"marketing", "sales"} <= set(agreement.sign_offs.values_list("team", flat=True)):
            today = now.date()
            SlaAgreement.objects.filter(status=AgreementStatus.ACTIVE).update(
                status=AgreementStatus.SUPERSEDED, effective_to=today
            )
            agreement.status = AgreementStatus.ACTIVE
            agreement.activated_at = now
            agreement.effective_from = agreement.effective_from or today
            agreement.save(update_fields=["status", "activated_at", "effective_from"])
        return agreement
