"""Demo SLA: a default calendar and one per routing team (EMEA in Berlin with German
holidays, the New York team with US ones), the agreement's history (v1 superseded, v2 in
force, both signed by Marcus for Marketing and Sofia for Sales) and clocks for the demo's
handoffs, swept once so the dashboards show some promises met, some at risk and some
breached. Deterministic and safe to run again: nothing is made twice."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from leads.handoff.models import Handoff
from leads.routing.models import SalesTeam
from sla import services
from sla.models import AgreementStatus, BusinessCalendar, SlaAgreement, SlaEvent

WEEKDAYS_9_TO_5 = {str(d): [["09:00", "17:00"]] for d in range(1, 6)}
WEEKDAYS_8_TO_6 = {str(d): [["08:00", "18:00"]] for d in range(1, 6)}
# Team time zone -> (holiday country, weekly hours) for the team calendars.
TEAM_CALENDARS = {
    "Europe/Berlin": ("DE", "", WEEKDAYS_9_TO_5),
    "America/New_York": ("US", "NY", WEEKDAYS_8_TO_6),
}
# Old events (before this) are marked as told without sending: nobody wants forty
# "breached" emails about last month's leads on the first morning of a demo.
NOTIFY_RECENT = timedelta(days=2)

V1 = {
    "title": "Sales and Marketing service level agreement",
    "marketing_responsibilities": (
        "Marketing generates demand from the agreed personas (Operations leaders at mid-sized"
        " logistics and manufacturing companies) and scores every lead with the agreed model."
        "\nMarketing hands over only leads that cross the MQL line, with the reason they"
        " qualified and the content they engaged with."
    ),
    "sales_responsibilities": (
        "Sales answers every handoff: accept or reject it with a reason. An accepted lead is"
        " called and emailed until it converts or the attempts policy is met."
        "\nRejected leads go back to Marketing with a reason from the agreed list."
    ),
    "shared_responsibilities": (
        "Both teams keep the personas and the MQL definition current and sign each change."
    ),
    "communication": (
        "Handoffs arrive in the sales queue and by email. Questions about a lead go in the"
        " lead's notes, not in private chat, so the next person can see them."
    ),
    "handoff_criteria": (
        "A lead passes to Sales when the active scoring model says it is an MQL: fit and"
        " engagement above the model's minimums, or a hand-raiser (demo or pricing request)."
    ),
    "nurture_policy": (
        "Leads that are not ready to buy, and leads Sales recycles after the attempts policy,"
        " get the monthly newsletter and the persona's nurture track; they come back when"
        " their score crosses the line again."
    ),
    "quota_needs": (
        "Sales needs the SQLs of the funnel goal to make quota; Marketing plans MQLs from it"
        " with the conversion rates we see."
    ),
    "touch_policy": "Four calls and two emails over the first ten days.",
    "review_cadence": "Weekly, on Monday, with the compliance dashboards on screen.",
    "accept_within_minutes": 120,
    "first_touch_within_minutes": 60,
    "min_attempts": 4,
    "attempts_within_days": 14,
    "pool_claim_within_minutes": 30,
    "min_mqls_per_month": 150,
}
V2_CHANGES = {
    "touch_policy": (
        "Six attempts (four calls, two emails) within ten days; the first call within five"
        " minutes of the handoff, when the lead is still on our site."
    ),
    "communication": (
        "Handoffs arrive in the sales queue, by email and in the #sales-handoffs channel."
        " Questions about a lead go in the lead's notes, not in private chat, so the next"
        " person can see them."
    ),
    "accept_within_minutes": 60,
    "first_touch_within_minutes": 5,
    "min_attempts": 6,
    "attempts_within_days": 10,
    "pool_claim_within_minutes": 15,
    # From now on the funnel goal sets the MQL commitment.
    "min_mqls_per_month": None,
}


def run(*, now: datetime, stdout) -> None:
    users = get_user_model().objects.in_bulk(["marcus", "sofia"], field_name="username")
    calendars = _calendars()
    made = _agreements(now=now, marcus=users.get("marcus"), sofia=users.get("sofia"))
    started, counts = _clocks(now=now)
    stdout.write(
        f"sla: {calendars} calendars, {made} agreement versions created, clocks for"
        f" {started} handoffs; sweep: {counts}"
    )


def _calendars() -> int:
    with transaction.atomic():
        if not BusinessCalendar.objects.filter(is_default=True).exists():
            services.calendar_save(
                calendar=None,
                name="Company default",
                timezone=settings.TIME_ZONE,
                weekly_hours=WEEKDAYS_9_TO_5,
                is_default=True,
            )
        for team in SalesTeam.objects.filter(calendar__isnull=True).order_by("name"):
            country, subdivision, hours = TEAM_CALENDARS.get(
                team.timezone, ("", "", WEEKDAYS_9_TO_5)
            )
            services.calendar_save(
                calendar=None,
                name=f"{team.name} ({team.timezone.rsplit('/', 1)[-1].replace('_', ' ')})",
                timezone=team.timezone,
                weekly_hours=hours,
                holiday_country=country,
                holiday_subdivision=subdivision,
                team=team,
            )
    return BusinessCalendar.objects.count()


def _agreements(*, now: datetime, marcus, sofia) -> int:
    if SlaAgreement.objects.exists() or marcus is None or sofia is None:
        return 0
    first = now - timedelta(days=120)
    second = now - timedelta(days=45)
    with transaction.atomic():
        v1 = services.agreement_create(actor=marcus, now=first, **V1)
        services.agreement_propose(agreement=v1, now=first + timedelta(days=2))
        services.agreement_sign(agreement=v1, user=marcus, now=first + timedelta(days=2))
        services.agreement_sign(agreement=v1, user=sofia, now=first + timedelta(days=3))
        v2 = services.agreement_new_version(based_on=v1, actor=sofia, now=second)
        services.agreement_update(agreement=v2, now=second, **V2_CHANGES)
        services.agreement_propose(agreement=v2, now=second + timedelta(days=1))
        services.agreement_sign(agreement=v2, user=sofia, now=second + timedelta(days=1))
        services.agreement_sign(agreement=v2, user=marcus, now=second + timedelta(days=2))
    return 2


def _clocks(*, now: datetime) -> tuple[int, dict]:
    if not SlaAgreement.objects.filter(status=AgreementStatus.ACTIVE).exists():
        return 0, {}
    started = 0
    waiting = (
        Handoff.objects.filter(sla_clocks__isnull=True)
        .select_related("team")
        .order_by("created_at", "id")
    )
    with transaction.atomic():
        for handoff in waiting:
            # As if the clocks had started when the lead was handed over.
            services.clocks_start(handoff=handoff, now=handoff.created_at)
            started += 1
    totals: dict[str, int] = {}
    # The sweep works in batches; a backfill may need a few passes.
    for _ in range(50):
        counts = services.sla_sweep(now=now, notify=False)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if not any(counts[k] for k in ("accept_clocks", "met", "cancelled", "checked")):
            break
    SlaEvent.objects.filter(
        notified_at__isnull=True, clock__handoff__created_at__lt=now - NOTIFY_RECENT
    ).update(notified_at=now)
    totals["notified"] = services.sla_events_notify(now=now)
    return started, totals
