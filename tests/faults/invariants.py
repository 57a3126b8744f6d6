"""What must hold after every fault, read from PostgreSQL (the source of truth):

1. every acknowledged event is stored, and no event id is stored twice;
2. every scored lead's LeadScore equals a fresh recomputation by the scoring engine at the
   time it was scored, and that time is after the lead's newest event (nothing unscored);
3. one handoff per qualification: MQL stage changes and handoffs match one to one, and no
   lead whose score qualifies is left in a pre-MQL stage;
4. every handoff is notified: one in-app row and one email row per recipient (the same
   recipients on both channels), one webhook row per team endpoint, all delivered;
5. no lead has two open handoffs (two open claims).

Runs inside the stack's environment through tests/faults/ctl.py; `check` returns a dict
with `ok`, the `problems` (the first few of each kind) and counts for the report."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

SHOW = 5  # problems listed per kind; the count says how many there were


def check(*, acknowledged: list[str]) -> dict[str, Any]:
    problems: dict[str, list[str]] = defaultdict(list)
    counts: dict[str, int] = {}
    _events(acknowledged, problems, counts)
    _scores(problems, counts)
    _handoffs(problems, counts)
    _notifications(problems, counts)
    return {
        "ok": not problems,
        "problems": {
            kind: [*found[:SHOW], f"... {len(found)} in all"] for kind, found in problems.items()
        },
        "counts": counts,
    }


def _events(acknowledged: list[str], problems, counts) -> None:
    from leads.models import Activity

    stored = Counter(
        Activity.objects.exclude(event_id="").values_list("event_id", flat=True).iterator()
    )
    counts["events_acknowledged"] = len(set(acknowledged))
    counts["events_stored"] = sum(stored.values())
    for event_id in sorted(set(acknowledged)):
        if event_id not in stored:
            problems["acknowledged event missing"].append(event_id)
    for event_id, n in stored.items():
        if n > 1:
            problems["event stored twice"].append(f"{event_id} x{n}")


def _scores(problems, counts) -> None:
    from django.db.models import Max

    from leads.models import Lead
    from leads.scoring.models import LeadScore
    from leads.scoring.services import SCORING_COLUMNS, Scorer, active_model, facts_for

    model = active_model()
    if model is None:
        problems["no active scoring model"].append("prepare() makes one")
        return
    scorer = Scorer(model)
    newest = dict(
        Lead.objects.filter(erased_at__isnull=True, activities__isnull=False)
        .annotate(newest=Max("activities__received_at"))
        .values_list("pk", "newest")
    )
    stored = {s.lead_id: s for s in LeadScore.objects.filter(lead_id__in=list(newest))}
    leads = {
        row["id"]: row for row in Lead.objects.filter(pk__in=list(newest)).values(*SCORING_COLUMNS)
    }
    facts = facts_for(list(newest))
    counts["leads_with_events"] = len(newest)
    counts["leads_scored"] = len(stored)
    for lead_id, received in sorted(newest.items()):
        score = stored.get(lead_id)
        if score is None:
            problems["lead never scored"].append(str(lead_id))
            continue
        if score.scored_at < received:
            problems["lead not rescored after its newest event"].append(str(lead_id))
            continue
        fresh, _, _ = scorer.score(leads[lead_id], facts.get(lead_id, []), score.scored_at)
        got = (score.fit, score.engagement, score.total, score.is_mql)
        want = (fresh.fit, fresh.engagement, fresh.total, fresh.is_mql)
        if got != want:
            problems["score differs from a fresh recomputation"].append(
                f"lead {lead_id}: stored {got}, recomputed {want}"
            )


def _handoffs(problems, counts) -> None:
    from django.db.models import Count

    from leads.handoff.models import OPEN_STATUSES, Handoff
    from leads.models import Lead, StageChange, StageKind
    from leads.scoring.services import PRE_MQL_KINDS

    mql_moves = set(
        StageChange.objects.filter(to_stage__kind=StageKind.MQL).values_list("pk", flat=True)
    )
    handed = Counter(Handoff.objects.values_list("qualification_id", flat=True))
    counts["qualifications"] = len(mql_moves)
    counts["handoffs"] = sum(handed.values())
    for qualification_id in sorted(mql_moves - set(handed)):
        problems["qualification without a handoff"].append(str(qualification_id))
    for qualification_id, n in handed.items():
        if n > 1:
            problems["two handoffs for one qualification"].append(str(qualification_id))
    stuck = Lead.objects.filter(
        current_score__is_mql=True, stage__kind__in=PRE_MQL_KINDS, erased_at__isnull=True
    ).values_list("pk", flat=True)
    for lead_id in stuck:
        problems["qualifying score but never handed off"].append(str(lead_id))
    doubled = (
        Handoff.objects.filter(status__in=OPEN_STATUSES)
        .values("lead_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    for row in doubled:
        problems["lead with two open claims"].append(f"lead {row['lead_id']} x{row['n']}")
    counts["claimed"] = Handoff.objects.filter(owner__isnull=False).count()


def _notifications(problems, counts) -> None:
    from leads.handoff.models import Handoff
    from smarketing.notifications.models import Channel, DeliveryStatus, Notification

    handoffs = dict(Handoff.objects.values_list("pk", "team_id"))
    endpoints = _endpoints_by_team()
    by_handoff: dict[int, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    undelivered = 0
    for key, channel, status in Notification.objects.filter(key__startswith="handoff:").values_list(
        "key", "channel", "status"
    ):
        _, handoff_id, _, target = key.split(":", 3)
        by_handoff[int(handoff_id)][channel].add(target)
        if status not in (DeliveryStatus.SENT, DeliveryStatus.SKIPPED):
            undelivered += 1
            problems["notification not delivered"].append(f"{key}: {status}")
    counts["notifications_in_app"] = sum(len(c[Channel.IN_APP]) for c in by_handoff.values())
    counts["notifications_email"] = sum(len(c[Channel.EMAIL]) for c in by_handoff.values())
    counts["notifications_webhook"] = sum(len(c[Channel.WEBHOOK]) for c in by_handoff.values())
    counts["notifications_undelivered"] = undelivered
    not_notified = Handoff.objects.filter(notified_at__isnull=True).values_list("pk", flat=True)
    for handoff_id in not_notified:
        problems["handoff never notified"].append(str(handoff_id))
    for handoff_id, team_id in handoffs.items():
        channels = by_handoff.get(handoff_id, {})
        in_app = channels.get(Channel.IN_APP, set())
        email = channels.get(Channel.EMAIL, set())
        hooks = channels.get(Channel.WEBHOOK, set())
        if not in_app or in_app != email:
            problems["in-app and email rows do not match the recipients"].append(
                f"handoff {handoff_id}: in-app {sorted(in_app)}, email {sorted(email)}"
            )
        if hooks != endpoints.get(team_id, set()):
            problems["webhook rows do not match the team's endpoints"].append(
                f"handoff {handoff_id}: {sorted(hooks)}"
            )


def _endpoints_by_team() -> dict[int, set[str]]:
    from smarketing.notifications.models import WebhookEndpoint

    found: dict[int, set[str]] = defaultdict(set)
    for endpoint in WebhookEndpoint.objects.filter(active=True).prefetch_related("teams"):
        for team in endpoint.teams.all():
            found[team.pk].add(str(endpoint.pk))
    return found
