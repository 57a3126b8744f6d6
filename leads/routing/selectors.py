"""Reads for the routing pages: rules with how often each matched, teams with their reps, the
distribution of handoffs per rep, and the ledger."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet

from leads.handoff.models import Handoff, HandoffStatus, RoutingDecision
from leads.routing.models import RoutingChange, RoutingRule, SalesTeam, TargetKind, TeamMember
from smarketing.roles import SALES_ROLES


def sales_users() -> QuerySet:
    """People a rule may target or a team may hold: active users with a sales role."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[str(r) for r in SALES_ROLES])
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def rules_with_matches(*, since: datetime) -> list[RoutingRule]:
    """Every rule in evaluation order, each with `matched`: handoffs it decided since `since`."""
    rules = list(
        RoutingRule.objects.select_related("persona", "target_user", "target_team", "updated_by")
    )
    counts = dict(
        RoutingDecision.objects.filter(decided_at__gte=since, rule__isnull=False)
        .values("rule_id")
        .annotate(n=Count("id"))
        .values_list("rule_id", "n")
    )
    for rule in rules:
        rule.matched = counts.get(rule.pk, 0)
    return rules


def teams_with_members() -> list[SalesTeam]:
    members = TeamMember.objects.select_related("user").order_by("id")
    teams = list(
        SalesTeam.objects.select_related("manager").prefetch_related(
            Prefetch("members", queryset=members)
        )
    )
    waiting = dict(
        Handoff.objects.filter(status=HandoffStatus.POOL, team__isnull=False)
        .values("team_id")
        .annotate(n=Count("id"))
        .values_list("team_id", "n")
    )
    for team in teams:
        team.waiting = waiting.get(team.pk, 0)
    return teams


@dataclass
class RepRow:
    user: object
    teams: list[str] = field(default_factory=list)
    weight: int = 0  # the sum over the rep's memberships in round-robin teams
    assigned: int = 0
    open: int = 0
    accepted: int = 0
    rejected: int = 0
    share: float = 0.0
    weight_share: float = 0.0


def distribution(*, since: datetime, until: datetime) -> list[RepRow]:
    """Per rep: handoffs assigned in the period, open now, accepted and rejected in the
    period, and their share of assignments next to their share of the round-robin weight, so
    a manager sees at a glance whether the split follows the weights."""
    counts = (
        Handoff.objects.filter(owner__isnull=False)
        .values("owner_id")
        .annotate(
            assigned=Count(
                "id",
                filter=Q(assigned_at__gte=since, assigned_at__lt=until),
            ),
            open=Count("id", filter=Q(status__in=[HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED])),
            accepted=Count(
                "id",
                filter=Q(accepted_at__gte=since, accepted_at__lt=until),
            ),
            rejected=Count(
                "id",
                filter=Q(
                    status=HandoffStatus.REJECTED,
                    closed_at__gte=since,
                    closed_at__lt=until,
                ),
            ),
        )
    )
    by_user: dict[int, dict] = {row["owner_id"]: row for row in counts}
    rows: dict[int, RepRow] = {}
    # Only teams that an active round-robin rule feeds share leads by weight.
    rotating = set(
        RoutingRule.objects.filter(active=True, target_kind=TargetKind.ROUND_ROBIN).values_list(
            "target_team_id", flat=True
        )
    )
    for member in TeamMember.objects.select_related("user", "team").order_by("team__name", "id"):
        row = rows.setdefault(member.user_id, RepRow(user=member.user))
        row.teams.append(member.team.name)
        if member.active and member.team_id in rotating:
            row.weight += member.weight
    missing = [pk for pk, c in by_user.items() if pk not in rows and any(_numbers(c))]
    for user in get_user_model().objects.filter(pk__in=missing):
        rows[user.pk] = RepRow(user=user)
    for pk, row in rows.items():
        c = by_user.get(pk)
        if c:
            row.assigned, row.open, row.accepted, row.rejected = _numbers(c)
    total_assigned = sum(r.assigned for r in rows.values())
    total_weight = sum(r.weight for r in rows.values())
    for row in rows.values():
        row.share = 100 * row.assigned / total_assigned if total_assigned else 0.0
        row.weight_share = 100 * row.weight / total_weight if total_weight else 0.0
    return sorted(
        rows.values(), key=lambda r: (-r.assigned, (r.user.get_full_name() or r.user.username))
    )


def _numbers(c: dict) -> tuple[int, int, int, int]:
    return c["assigned"], c["open"], c["accepted"], c["rejected"]


def ledger(*, rep_id: int | None = None) -> QuerySet:
    decisions = RoutingDecision.objects.select_related(
        "handoff__lead", "rule", "team", "assigned_to"
    ).order_by("-decided_at", "-id")
    if rep_id:
        decisions = decisions.filter(assigned_to_id=rep_id)
    return decisions


def recent_changes(limit: int = 15) -> list[RoutingChange]:
    return list(RoutingChange.objects.select_related("actor", "rule", "team")[:limit])
