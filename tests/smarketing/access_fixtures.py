"""One of every object the pages and endpoints take in their URLs, owned so that object-
level checks can be told apart: the handoff and its lead belong to rep2 (never to `rep`)."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from smarketing.roles import Role
from tests.factories import FunnelGoalFactory, PersonaFactory, UserFactory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOURS = {str(d): [["09:00", "17:00"]] for d in range(1, 6)}


@dataclass
class World:
    persona: object
    content: object
    question: object
    lead: object
    handoff: object
    model: object
    scoring_rule: object
    rescore: object
    goal: object
    agreement: object
    calendar: object
    team: object
    member: object
    rule: object
    endpoint: object
    notification: object
    import_job: object
    form_site: object

    def kwargs(self) -> dict[str, dict]:
        """URL kwargs by the name of the object they point at."""
        return {
            "persona": {"pk": self.persona.pk},
            "content": {"pk": self.content.pk},
            "question": {"pk": self.question.pk},
            "lead": {"pk": self.lead.pk},
            "handoff": {"pk": self.handoff.pk},
            "model": {"pk": self.model.pk},
            "model_action": {"pk": self.model.pk, "action": "propose"},
            "scoring_rule": {"pk": self.model.pk, "rule_pk": self.scoring_rule.pk},
            "rescore": {"job_pk": self.rescore.pk},
            "rescore_api": {"pk": self.rescore.pk},
            "goal": {"pk": self.goal.pk},
            "agreement": {"pk": self.agreement.pk},
            "calendar": {"pk": self.calendar.pk},
            "team": {"pk": self.team.pk},
            "member": {"pk": self.team.pk, "member_pk": self.member.pk},
            "rule": {"pk": self.rule.pk},
            "rule_move": {"pk": self.rule.pk, "direction": "up"},
            "endpoint": {"pk": self.endpoint.pk},
            "notification": {"pk": self.notification.pk},
            "import_job": {"pk": self.import_job.pk},
            "form_site": {"site_key": self.form_site.site_key},
        }


def _user(role: Role | None, username: str, **extra):
    user = UserFactory(username=username, **extra)
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
    return user


@pytest.fixture(name="actors")
def actors_fixture(db) -> dict[str, object]:
    return {
        "marketer": _user(Role.MARKETER, "mia"),
        "marketing_manager": _user(Role.MARKETING_MANAGER, "marcus"),
        "rep": _user(Role.SALES_REP, "dana"),
        "rep2": _user(Role.SALES_REP, "lee"),
        "sales_manager": _user(Role.SALES_MANAGER, "sofia"),
        "admin_user": _user(Role.ADMIN, "admin", is_staff=True, is_superuser=True),
        "outsider": _user(None, "olly"),
    }


@pytest.fixture(name="world")
def world_fixture(actors) -> World:
    from django.core.files.base import ContentFile

    from leads.handoff.models import HandoffStatus
    from leads.models import ImportJob
    from leads.routing.models import RoutingRule, TeamMember
    from leads.scoring.models import RescoreJob
    from personas.models import ContentPiece, ProspectQuestion
    from sla import services as sla_services
    from sla.models import BusinessCalendar
    from smarketing.notifications import services as notify
    from smarketing.notifications.models import WebhookEndpoint
    from tests.leads.factories import FormSiteFactory
    from tests.leads.queue_fixtures import make_handoff, make_team
    from tests.leads.scoring_fixtures import make_model

    rep2 = actors["rep2"]
    persona = PersonaFactory(name="Ops lead")
    content = ContentPiece.objects.create(
        title="ROI guide",
        url="https://example.com/roi",
        format="ebook",
        stage="awareness",
        authored_by_team="marketing",
        created_at=NOW,
        updated_at=NOW,
    )
    question = ProspectQuestion.objects.create(question="Does it do SSO?", submitted_at=NOW)
    team = make_team("West", actors["rep"], rep2, manager=actors["sales_manager"])
    member = TeamMember.objects.get(team=team, user=rep2)
    handoff = make_handoff(team=team, owner=rep2, status=HandoffStatus.ASSIGNED, email="x@ex.com")
    model = make_model(status="draft")
    job = ImportJob.objects.create(
        file=ContentFile(b"email\nx@example.com\n", name="leads.csv"),
        original_name="leads.csv",
        encoding="utf-8",
        delimiter=",",
        headers=["email"],
        created_by=actors["marketer"],
        created_at=NOW,
    )
    return World(
        persona=persona,
        content=content,
        question=question,
        lead=handoff.lead,
        handoff=handoff,
        model=model,
        scoring_rule=model.rules.first(),
        rescore=RescoreJob.objects.create(model=model, created_at=NOW),
        goal=FunnelGoalFactory(),
        agreement=sla_services.agreement_create(actor=actors["marketing_manager"], now=NOW),
        calendar=BusinessCalendar.objects.create(name="UTC", weekly_hours=HOURS),
        team=team,
        member=member,
        rule=RoutingRule.objects.create(
            name="Big accounts", order=1, target_kind="pool", target_team=team
        ),
        # Straight to the table: creating through the service resolves the host.
        endpoint=WebhookEndpoint.objects.create(
            name="CRM",
            url="https://crm.example.com/hook",
            secret="whsec_matrix",
            body_format="json",
            created_by=actors["admin_user"],
            created_at=NOW,
        ),
        notification=notify.notification_enqueue(
            kind="handoff",
            key="matrix-1",
            channel="in_app",
            recipient=actors["rep"],
            title="New lead",
            now=timezone.now(),
        ),
        import_job=job,
        form_site=FormSiteFactory(),
    )
