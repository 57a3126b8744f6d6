"""SLA writes: start a handoff's clocks, the minute sweep (warn, breach, escalate, met), and
the life of an agreement. Built like healthchecks' sendalerts: find due rows through a
partial index, claim each with a conditional UPDATE, record an event row, notify in a
separate step that claims the event the same way, and push a failing row's next check
forward so one bad row cannot stall the sweep."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, When
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
from smarketing.errors import ApplicationError, Conflict

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
RETRY_BAD_ROW = timedelta(minutes=5)


def active_agreement() -> SlaAgreement | None:
    return SlaAgreement.objects.filter(status=AgreementStatus.ACTIVE).first()


def calendar_for(team: SalesTeam | None) -> Calendar:
    """The team's calendar, else the default one, else 9 to 5 on weekdays in UTC."""
    # One query for both: the team's own row sorts before the default.
    wanted = Q(is_default=True) if team is None else Q(team=team) | Q(is_default=True)
    row = (
        BusinessCalendar.objects.filter(wanted)
        .order_by(Case(When(team_id=getattr(team, "pk", None), then=0), default=1))
        .first()
    )
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


def _clock(
    *, handoff: Handoff, kind: str, agreement: SlaAgreement, calendar: Calendar, start: datetime
) -> SlaClock:
    """A new clock, unsaved: its warn and due times from the agreement and the calendar."""
    if kind == ClockKind.ATTEMPTS:
        due = start + timedelta(days=agreement.attempts_within_days)
        warn = start + (due - start) * agreement.warn_at_percent / 100
    else:
        minutes = _window(agreement, kind)
        due = add_business_minutes(start, minutes, calendar)
        warn = add_business_minutes(start, minutes * agreement.warn_at_percent / 100, calendar)
    return SlaClock(
        handoff=handoff,
        kind=kind,
        agreement=agreement,
        owner_id=handoff.owner_id,
        started_at=start,
        handoff_created_at=handoff.created_at,
        warn_at=warn,
        due_at=due,
        next_check_at=warn,
    )


def clock_start(
    *, handoff: Handoff, kind: str, agreement: SlaAgreement, calendar: Calendar, start: datetime
) -> SlaClock:
    clock = _clock(handoff=handoff, kind=kind, agreement=agreement, calendar=calendar, start=start)
    fields = (
        "agreement",
        "owner_id",
        "started_at",
        "handoff_created_at",
        "warn_at",
        "due_at",
        "next_check_at",
    )
    clock, _ = SlaClock.objects.get_or_create(
        handoff=handoff, kind=kind, defaults={f: getattr(clock, f) for f in fields}
    )
    return clock


def clocks_plan(
    *, handoffs: list[Handoff], now: datetime, running: dict | None = None
) -> list[SlaClock]:
    """The promises that apply to these handoffs, as clocks, with their due times put on
    the handoffs (not saved): a fixed number of queries however many handoffs there are (a
    rescore qualifies thousands). `running`: clocks already started, by (handoff id, kind),
    kept instead of new ones. Returns every clock; the new ones are unsaved (no pk)."""
    agreement = active_agreement() if handoffs else None
    if agreement is None:
        return []
    running = running or {}
    calendars: dict[int | None, Calendar] = {}
    clocks = []
    for handoff in handoffs:
        if handoff.team_id not in calendars:
            calendars[handoff.team_id] = calendar_for(handoff.team)
        kinds = [ClockKind.FIRST_TOUCH, ClockKind.ATTEMPTS]
        kinds.append(ClockKind.ACCEPT if handoff.owner_id else ClockKind.POOL_CLAIM)
        due = {}
        for kind in kinds:
            clock = running.get((handoff.pk, kind))
            if clock is None:
                clock = _clock(
                    handoff=handoff,
                    kind=kind,
                    agreement=agreement,
                    calendar=calendars[handoff.team_id],
                    start=now,
                )
            clocks.append(clock)
            due[kind] = clock.due_at
        handoff.accept_due_at = due.get(ClockKind.ACCEPT)
        handoff.first_touch_due_at = due[ClockKind.FIRST_TOUCH]
    return clocks


def clocks_start_many(*, handoffs: list[Handoff], now: datetime) -> list[SlaClock]:
    """Start the promises that apply to saved handoffs and put their due times on them (see
    clocks_plan). Starting twice keeps the first clocks (a seed or a retry may ask again).
    New handoffs get theirs before they are inserted, through leads' handoffs_creating
    signal (sla.receivers). Returns the handoffs' clocks, earlier and new."""
    if not handoffs:
        return []
    running = {(c.handoff_id, c.kind): c for c in SlaClock.objects.filter(handoff__in=handoffs)}
    clocks = clocks_plan(handoffs=handoffs, now=now, running=running)
    if not clocks:
        return []  # no active agreement
    SlaClock.objects.bulk_create([clock for clock in clocks if clock.pk is None])
    Handoff.objects.bulk_update(handoffs, ["accept_due_at", "first_touch_due_at"])
    return clocks


def clocks_start(*, handoff: Handoff, now: datetime) -> list[SlaClock]:
    """Start the promises that apply to one new handoff (see clocks_start_many)."""
    return clocks_start_many(handoffs=[handoff], now=now)


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
    handoff.status, handoff.owner, handoff.assigned_at = HandoffStatus.POOL, None, None
    who = previous.get_full_name() or previous.username if previous else "nobody"
    reason = f"SLA escalation: {who} did not accept or reject in time; back to the pool"
    RoutingDecision.objects.create(
        handoff=handoff, target_kind="pool", team=handoff.team, reason=reason, decided_at=now
    )
    # Back in the pool, the lead owes a claim like any pool lead; without this clock nobody
    # would be warned that it sits there again. (One clock per promise: a lead that already
    # came through the pool keeps its first claim clock.)
    clock_start(
        handoff=handoff,
        kind=ClockKind.POOL_CLAIM,
        agreement=clock.agreement,
        calendar=calendar_for(handoff.team),
        start=now,
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


def sla_sweep(*, now: datetime, notify: bool = True) -> dict[str, int]:
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
    # notify=False lets a backfill (the demo seed) decide which old events are worth telling.
    counts["notified"] = sla_events_notify(now=now) if notify else 0
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
        # A new version starts its own life: the dates of the one it copies are not its own.
        data.pop("effective_from", None)
        data.update({k: v for k, v in values.items() if k in agreement_fields()})
        data.pop("effective_to", None)
        agreement_validate(data)
        return SlaAgreement.objects.create(
            version=version, created_by=actor, created_at=now, **data
        )


def agreement_update(*, agreement: SlaAgreement, now: datetime, **values) -> SlaAgreement:
    from smarketing.errors import Conflict

    if not agreement.is_editable:
        raise Conflict(
            f"SLA v{agreement.version} is signed or in force; start a new version to change it."
        )
    agreement_validate(values)
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
    from smarketing.models import AuditLog
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
        AuditLog.record(
            action="sla_agreement.sign",
            obj=agreement,
            now=now,
            actor=user,
            details={"version": agreement.version, "team": str(team)},
        )
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


# Bounds the model cannot express (it only knows "positive"): a window of 0 minutes would
# breach every lead at once, a percentage above 100 can never be met.
AGREEMENT_BOUNDS: dict[str, tuple[int, int, str]] = {
    "accept_within_minutes": (1, 60 * 24 * 30, "business minutes"),
    "first_touch_within_minutes": (1, 60 * 24 * 30, "business minutes"),
    "pool_claim_within_minutes": (1, 60 * 24 * 30, "business minutes"),
    "min_attempts": (1, 50, "attempts"),
    "attempts_within_days": (1, 365, "days"),
    "warn_at_percent": (1, 99, "%"),
    "min_mqls_per_month": (0, 10_000_000, "MQLs"),
    "min_acceptance_percent": (0, 100, "%"),
    "max_not_icp_percent": (0, 100, "%"),
    "review_weekday": (1, 7, "(1 = Monday, 7 = Sunday)"),
}


def agreement_validate(values: dict) -> None:
    """Raise one ApplicationError naming every field out of bounds (the API answers 400
    with a message per field; the form shows them under the fields)."""
    errors: dict[str, list[str]] = {}
    for name, (low, high, unit) in AGREEMENT_BOUNDS.items():
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or not low <= value <= high:
            errors[name] = [f"Must be between {low} and {high} {unit}."]
    start, end = values.get("effective_from"), values.get("effective_to")
    if start and end and end < start:
        errors["effective_to"] = ["Must not be before the start date."]
    if errors:
        raise ApplicationError("Some terms are out of bounds.", extra=errors)


def agreement_new_version(*, based_on: SlaAgreement, actor, now: datetime) -> SlaAgreement:
    """A draft copying `based_on`, to change what was agreed. One draft at a time: a second
    would race the first to signature."""
    draft = SlaAgreement.objects.filter(
        status__in=[AgreementStatus.DRAFT, AgreementStatus.PROPOSED]
    ).first()
    if draft is not None:
        raise Conflict(
            f"SLA v{draft.version} is already being written ({draft.get_status_display()});"
            " finish or discard it first."
        )
    return agreement_create(actor=actor, now=now, based_on=based_on)


def agreement_discard(*, agreement: SlaAgreement) -> None:
    """Delete a draft or withdraw a proposal nobody has fully signed; signed versions stay."""
    if agreement.status not in (AgreementStatus.DRAFT, AgreementStatus.PROPOSED):
        raise Conflict("Only a draft or a proposal can be discarded.")
    if agreement.clocks.exists():  # pragma: no cover - clocks only use active versions
        raise Conflict("Clocks already run on this version.")
    agreement.delete()


# --- Business calendars ----------------------------------------------------------------


def _valid_timezone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name or name != name.strip():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def calendar_validate(
    *, name: str, timezone: str, weekly_hours: dict, country: str, subdivision: str
) -> None:
    import holidays

    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Give the calendar a name."]
    if not _valid_timezone(timezone):
        errors["timezone"] = [f"{timezone!r} is not a time zone name like Europe/Berlin."]
    supported = holidays.list_supported_countries()
    if country and country not in supported:
        errors["holiday_country"] = [f"The holidays library does not know {country!r}."]
    elif subdivision and not country:
        errors["holiday_subdivision"] = ["A subdivision needs a country."]
    elif subdivision and subdivision not in supported.get(country, []):
        known = ", ".join(supported.get(country, [])[:20]) or "none"
        errors["holiday_subdivision"] = [f"{country} has no subdivision {subdivision!r} ({known})."]
    working = 0
    for day, spans in (weekly_hours or {}).items():
        if str(day) not in {str(d) for d in range(1, 8)}:
            errors["weekly_hours"] = [f"{day!r} is not an ISO weekday (1-7)."]
            break
        for start, end in spans:
            if start >= end:
                errors.setdefault(f"day_{day}", []).append("The day must end after it starts.")
            working += 1
    if not working and "weekly_hours" not in errors:
        errors["weekly_hours"] = ["Give at least one working day, or no clock could ever end."]
    if errors:
        raise ApplicationError("The calendar is not valid.", extra=errors)


def calendar_save(
    *,
    calendar: BusinessCalendar | None,
    name: str,
    timezone: str,
    weekly_hours: dict[str, list[list[str]]],
    holiday_country: str = "",
    holiday_subdivision: str = "",
    team: SalesTeam | None = None,
    is_default: bool = False,
    extra_holidays: list[tuple] | None = None,
) -> BusinessCalendar:
    """Create or change a calendar and (when given) replace its extra holidays. New clocks
    use it at once; running clocks keep the due times they were given."""
    from sla.models import CalendarHoliday

    holiday_country = (holiday_country or "").upper()
    holiday_subdivision = (holiday_subdivision or "").upper()
    calendar_validate(
        name=name,
        timezone=timezone,
        weekly_hours=weekly_hours,
        country=holiday_country,
        subdivision=holiday_subdivision,
    )
    others = BusinessCalendar.objects.exclude(pk=calendar.pk if calendar else None)
    errors = {}
    if others.filter(name=name).exists():
        errors["name"] = ["Another calendar has this name."]
    if team is not None and others.filter(team=team).exists():
        errors["team"] = [f"{team} already has a calendar; edit that one."]
    if errors:
        raise ApplicationError("The calendar is not valid.", extra=errors)
    with transaction.atomic():
        if is_default:
            # One default at a time (a unique constraint holds it): the new one takes over.
            others.filter(is_default=True).update(is_default=False)
        calendar = calendar or BusinessCalendar()
        calendar.name = name
        calendar.timezone = timezone
        calendar.weekly_hours = {str(k): v for k, v in weekly_hours.items()}
        calendar.holiday_country = holiday_country
        calendar.holiday_subdivision = holiday_subdivision
        calendar.team = team
        calendar.is_default = is_default
        calendar.save()
        if extra_holidays is not None:
            calendar.holidays.all().delete()
            CalendarHoliday.objects.bulk_create(
                [
                    CalendarHoliday(calendar=calendar, day=day, name=label or "Company holiday")
                    for day, label in dict(extra_holidays).items()
                ]
            )
    return calendar


# --- Telling people about SLA events ---------------------------------------------------

NOTIFY_BATCH = 500


def sla_events_notify(*, now: datetime) -> int:
    """The separate notify step of the sweep: claim each unnotified event with a conditional
    UPDATE (only the caller that sets notified_at sends), then put its messages in the
    outbox in the same transaction, so a failure un-claims the event for the next minute.
    Returns how many events this call claimed."""
    pending = (
        SlaEvent.objects.filter(notified_at__isnull=True)
        .select_related(
            "clock__agreement",
            "clock__owner",
            "clock__handoff__lead",
            "clock__handoff__owner",
            "clock__handoff__team__manager",
        )
        .order_by("at", "id")[:NOTIFY_BATCH]
    )
    calendars: dict[int | None, Calendar] = {}
    cache: dict = {}  # recipients per (team, audience), channel wishes per user
    claimed = 0
    # One transaction for the batch (a commit per event made a busy minute slow); each event
    # in its own savepoint, so one that fails rolls back alone and is retried next sweep.
    with transaction.atomic():
        for event in pending:
            team = event.clock.handoff.team
            key = team.pk if team else None
            if key not in calendars:
                calendars[key] = calendar_for(team)
            try:
                with transaction.atomic():
                    won = SlaEvent.objects.filter(pk=event.pk, notified_at__isnull=True).update(
                        notified_at=now
                    )
                    if not won:
                        continue
                    _event_notify(event, calendar=calendars[key], now=now, cache=cache)
                claimed += 1
            except Exception:
                log.exception("Could not notify SLA event %s; trying again next sweep", event.pk)
    return claimed


def _cached(cache: dict | None, key, compute):
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _pool_recipients(handoff: Handoff) -> list:
    from django.contrib.auth import get_user_model

    from smarketing.roles import Role

    users = get_user_model().objects.filter(is_active=True)
    if handoff.team_id:
        users = users.filter(
            team_memberships__team_id=handoff.team_id, team_memberships__active=True
        )
    else:
        users = users.filter(groups__name=Role.SALES_REP.value)
    return list(users.distinct().order_by("pk"))


def _managers_of(handoff: Handoff) -> list:
    from django.contrib.auth import get_user_model

    from smarketing.roles import Role

    manager = handoff.team.manager if handoff.team_id else None
    if manager is not None and manager.is_active:
        return [manager]
    users = get_user_model().objects.filter(is_active=True, groups__name=Role.SALES_MANAGER.value)
    return list(users.distinct().order_by("pk"))


def local_due_text(due: datetime, *, calendar: Calendar, now: datetime) -> str:
    """A due time as the rep reads it: their team's local time, the day only when not today."""
    local = due.astimezone(calendar.tz)
    if local.date() == now.astimezone(calendar.tz).date():
        return f"{local:%H:%M %Z}"
    return f"{local:%a %d %b %H:%M %Z}"


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "nobody"


def sla_event_message(
    event: SlaEvent, *, calendar: Calendar, now: datetime, cache: dict | None = None
) -> dict:
    """Who hears about an event and what it says."""
    from django.urls import reverse

    clock = event.clock
    handoff = clock.handoff
    lead = handoff.lead
    who = lead.full_name or f"lead #{lead.pk}"
    if lead.company:
        who += f" ({lead.company})"
    promise = clock.get_kind_display().lower()
    due = local_due_text(clock.due_at, calendar=calendar, now=now)
    owner = clock.owner or handoff.owner
    if event.kind == SlaEventKind.WARNED:
        recipients = [owner] if owner is not None and owner.is_active else []
        if owner is None:
            recipients = _cached(
                cache, ("pool", handoff.team_id), lambda: _pool_recipients(handoff)
            )
        title = f"At risk: {promise} for {who} due {due}"
        body = f"{clock.agreement.warn_at_percent}% of the time the SLA gives has passed."
    elif event.kind == SlaEventKind.BREACHED:
        recipients = _cached(cache, ("managers", handoff.team_id), lambda: _managers_of(handoff))
        title = f"Breached: {promise} for {who} was due {due}"
        body = f"Owner: {_person(owner)}. Team: {handoff.team or 'none'}."
    elif event.kind == SlaEventKind.ESCALATED:
        recipients = _cached(cache, ("pool", handoff.team_id), lambda: _pool_recipients(handoff))
        where = f"the {handoff.team.name} pool" if handoff.team_id else "the shared pool"
        title = f"Back in {where}: {who}"
        body = event.detail or "Nobody accepted it in time; the first rep to claim it gets it."
    else:
        return {"recipients": [], "title": "", "body": "", "link": "", "payload": {}}
    link = reverse("leads:detail", args=[lead.pk])
    payload = {
        "event": event.kind,
        "clock": clock.kind,
        "handoff_id": handoff.pk,
        "lead_id": lead.pk,
        "due_at": clock.due_at.isoformat(),
        "due": due,
    }
    return {
        "recipients": recipients,
        "title": title,
        "body": body,
        "link": link,
        "payload": payload,
    }


def _event_notify(
    event: SlaEvent, *, calendar: Calendar, now: datetime, cache: dict | None = None
) -> None:
    from smarketing.notifications.models import Channel
    from smarketing.notifications.selectors import channels_for
    from smarketing.notifications.services import notification_enqueue

    message = sla_event_message(event, calendar=calendar, now=now, cache=cache)
    recipients = message.pop("recipients")
    ids = tuple(u.pk for u in recipients)
    wanted = _cached(cache, ("channels", ids), lambda: channels_for(list(ids)))
    for user in recipients:
        for channel in (Channel.IN_APP, Channel.EMAIL):
            off = channel not in wanted[user.pk]
            notification_enqueue(
                kind=f"sla.{event.kind}",
                key=f"sla:{event.pk}:{channel}:{user.pk}",
                channel=channel,
                recipient=user,
                now=now,
                skip_reason="The recipient turned this channel off." if off else "",
                **message,
            )


def agreement_proposed_notify(*, agreement: SlaAgreement, now: datetime) -> int:
    """Tell the team leads (everyone who may sign) that a version waits for them, in the
    app. Once per version and lead: the outbox key says so."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q
    from django.urls import reverse

    from smarketing.notifications.models import Channel
    from smarketing.notifications.services import notification_enqueue

    perm = Q(
        groups__permissions__codename="sign_off_slaagreement",
        groups__permissions__content_type__app_label="sla",
    )
    leads = get_user_model().objects.filter(perm, is_active=True).distinct().order_by("pk")
    link = reverse("sla:agreement_detail", args=[agreement.pk])
    for user in leads:
        notification_enqueue(
            kind="sla.proposed",
            key=f"sla-agreement:{agreement.pk}:proposed:{Channel.IN_APP}:{user.pk}",
            channel=Channel.IN_APP,
            recipient=user,
            title=f"SLA v{agreement.version} waits for your signature",
            body="Read what changed, then sign for your team.",
            link=link,
            payload={"agreement_id": agreement.pk, "version": agreement.version},
            now=now,
        )
    return len(leads)
