"""Builders for the sales queue tests: handoffs waiting in a pool, teams, reps."""

from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Group

from leads.handoff.models import Handoff, HandoffStatus
from leads.models import Stage, StageChange
from leads.routing.models import SalesTeam, TeamMember
from smarketing.roles import Role
from tests.factories import UserFactory
from tests.leads.factories import LeadFactory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def make_rep(username: str, *, role: Role = Role.SALES_REP, **extra):
    user = UserFactory(
        username=username,
        first_name=extra.pop("first_name", username.title()),
        last_name=extra.pop("last_name", ""),
        **extra,
    )
    user.groups.add(Group.objects.get(name=role.value))
    return user


def make_team(name: str, *members, manager=None) -> SalesTeam:
    team = SalesTeam.objects.create(name=name, manager=manager)
    for user in members:
        TeamMember.objects.create(team=team, user=user)
    return team


def make_handoff(
    *,
    team: SalesTeam | None = None,
    created_at: datetime = NOW,
    status: str = HandoffStatus.POOL,
    owner=None,
    accept_due_at: datetime | None = None,
    score: dict | None = None,
    **lead_fields,
) -> Handoff:
    """A lead that just became MQL, and its handoff waiting in a pool (or owned)."""
    mql = Stage.objects.get(slug="mql")
    lead = LeadFactory(
        stage=mql,
        stage_entered_at=created_at,
        created_at=created_at - timedelta(days=3),
        updated_at=created_at,
        owner=owner,
        **lead_fields,
    )
    qualification = StageChange.objects.create(
        lead=lead,
        from_stage=Stage.objects.get(slug="lead"),
        to_stage=mql,
        rule="Scoring model v1",
        changed_at=created_at,
    )
    return Handoff.objects.create(
        lead=lead,
        lead_stage_id=lead.stage_id,
        qualification=qualification,
        score=score or {"fit": 30, "engagement": 25, "total": 55},
        why="Fit 30 and engagement 25 clear the MQL line; asked for a demo.",
        status=status,
        team=team,
        owner=owner,
        created_at=created_at,
        accept_due_at=accept_due_at,
        assigned_at=created_at if owner else None,
    )
