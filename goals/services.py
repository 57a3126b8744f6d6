"""Writes for goals. Every function takes keyword-only arguments and an explicit `now`."""

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from goals import selectors
from goals.models import RATE_FIELDS, FunnelGoal, FunnelGoalChange, GoalTeam, PacingAlert
from goals.periods import PeriodKind, period_end, period_label, period_start
from smarketing.errors import ApplicationError
from smarketing.roles import Role

logger = logging.getLogger(__name__)

GOAL_FIELDS = (
    "period_kind",
    "period_start",
    "team",
    "revenue_target",
    "marketing_share_pct",
    "average_deal_size",
    *RATE_FIELDS,
    "lookback_periods",
    "pacing_curve",
    "alert_below_pct",
    "notes",
)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _check_unique(*, kind: str, start, team: str, exclude_pk: int | None = None) -> None:
    clash = FunnelGoal.objects.filter(period_kind=kind, period_start=start, team=team)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        who = GoalTeam(team).label.lower()
        message = (
            f"There is already a {kind} goal for {period_label(kind, start)} ({who}); "
            "edit that one instead."
        )
        raise ApplicationError(message, extra={"period_start": [message]})


def goal_create(*, data: Mapping[str, Any], actor, now: datetime) -> FunnelGoal:
    """Create a goal. `period_start` may be any day of the period: it is moved to the
    period's first day, so "a Q3 goal" is the same goal whichever day of Q3 was picked."""
    values = {k: data[k] for k in GOAL_FIELDS if k in data}
    kind = PeriodKind(values["period_kind"])
    values["period_start"] = period_start(kind, values["period_start"])
    values["period_end"] = period_end(kind, values["period_start"])
    values["team"] = values.get("team") or ""
    _check_unique(kind=kind, start=values["period_start"], team=values["team"])
    try:
        with transaction.atomic():
            goal = FunnelGoal.objects.create(
                **values, created_by=actor, created_at=now, updated_at=now
            )
            FunnelGoalChange.objects.create(
                goal=goal,
                changed_by=actor,
                changed_at=now,
                changes={k: [None, _text(getattr(goal, k))] for k in GOAL_FIELDS},
            )
    except IntegrityError:
        # Lost a race with another manager creating the same period's goal.
        _check_unique(kind=kind, start=values["period_start"], team=values["team"])
        raise
    return goal


def goal_update(*, goal: FunnelGoal, data: Mapping[str, Any], actor, now: datetime) -> FunnelGoal:
    """Change a goal; records what moved. Saving without changes writes nothing. Compares
    against the row as stored (locked), not the instance passed in, which a bound ModelForm
    has already overwritten."""
    with transaction.atomic():
        current = FunnelGoal.objects.select_for_update().get(pk=goal.pk)
        values = {k: data[k] for k in GOAL_FIELDS if k in data}
        kind = PeriodKind(values.get("period_kind", current.period_kind))
        if "period_start" in values or "period_kind" in values:
            start = period_start(kind, values.get("period_start", current.period_start))
            values["period_start"] = start
            values["period_end"] = period_end(kind, start)
        if "team" in values:
            values["team"] = values["team"] or ""
        changes = {
            k: [_text(getattr(current, k)), _text(v)]
            for k, v in values.items()
            if getattr(current, k) != v
        }
        if not changes:
            return current
        _check_unique(
            kind=kind,
            start=values.get("period_start", current.period_start),
            team=values.get("team", current.team),
            exclude_pk=current.pk,
        )
        for key in changes:
            setattr(current, key, values[key])
        current.updated_at = now
        current.save(update_fields=[*changes, "updated_at"])
        FunnelGoalChange.objects.create(
            goal=current,
            changed_by=actor,
            changed_at=now,
            changes={k: v for k, v in changes.items() if k != "period_end"},
        )
    return current


def _managers_for(goal: FunnelGoal) -> list[str]:
    """Emails of the managers a goal's alert goes to: the team's managers, or both sides'
    for a company-wide goal."""
    roles = {
        GoalTeam.MARKETING: [Role.MARKETING_MANAGER],
        GoalTeam.SALES: [Role.SALES_MANAGER],
    }.get(goal.team, [Role.MARKETING_MANAGER, Role.SALES_MANAGER])
    users = get_user_model().objects.filter(
        Q(groups__name__in=[r.value for r in roles]), is_active=True
    )
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def pacing_alerts_send(*, now: datetime) -> int:
    """Email managers about goals pacing below their alert level: at most one email per goal
    per day. The day's PacingAlert row is the claim (unique per goal and day); its `sent_at`
    is set once the mail went out, so a failed send is retried by the next run that day and
    a second run after success does nothing. Returns the number of emails sent."""
    today = timezone.localdate(now)
    goals = FunnelGoal.objects.filter(
        alert_below_pct__isnull=False, period_start__lte=today, period_end__gte=today
    ).exclude(pk__in=PacingAlert.objects.filter(day=today, sent_at__isnull=False).values("goal"))
    cache: selectors.ActualsCache = {}
    sent = 0
    for goal in goals:
        figures = selectors.goal_figures(goal, now=now, cache=cache)
        if not figures.alert_stages:
            continue
        worst = min(s.pacing_pct for s in figures.alert_stages)
        recipients = _managers_for(goal)
        alert, _ = PacingAlert.objects.get_or_create(
            goal=goal,
            day=today,
            defaults={
                "pacing_pct": worst,
                "stages": [
                    {"stage": s.label, "pacing_pct": str(s.pacing_pct)}
                    for s in figures.alert_stages
                ],
                "recipients": recipients,
                "created_at": now,
            },
        )
        claimed = PacingAlert.objects.filter(pk=alert.pk, sent_at__isnull=True).update(sent_at=now)
        if not claimed:
            continue  # another run sent it in the meantime
        if not recipients:
            logger.warning("Goal %s paces below its alert level but has no managers.", goal.pk)
            continue
        context = {"goal": goal, "figures": figures, "stages": figures.alert_stages}
        try:
            send_mail(
                subject=render_to_string("goals/email/pacing_alert_subject.txt", context).strip(),
                message=render_to_string("goals/email/pacing_alert.txt", context),
                from_email=None,
                recipient_list=recipients,
                html_message=render_to_string("goals/email/pacing_alert.html", context),
            )
        except Exception:
            # Release the claim so the next run today tries again.
            PacingAlert.objects.filter(pk=alert.pk).update(sent_at=None)
            logger.exception("Pacing alert for goal %s could not be sent.", goal.pk)
            continue
        sent += 1
    return sent


def default_goal_values(*, today) -> dict[str, Any]:
    """What a new goal form starts from: this quarter, the whole company."""
    return {
        "period_kind": PeriodKind.QUARTER,
        "period_start": period_start(PeriodKind.QUARTER, today),
        "marketing_share_pct": Decimal(50),
        "lookback_periods": 3,
    }
