"""Actions that must be answerable afterwards leave an AuditLog row: sign-offs (personas,
scoring models, the SLA), scoring and routing rule edits, role changes in the admin,
exports and erasures. The rows name who, what and which record, never personal data."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from leads.scoring import services as scoring
from personas.services import persona_sign_off
from sla import services as sla
from smarketing.models import AuditLog
from smarketing.roles import Role
from tests.factories import PersonaFactory
from tests.leads.factories import LeadFactory
from tests.leads.scoring_fixtures import make_model

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def actions(**filters) -> list[str]:
    return list(AuditLog.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def test_a_persona_sign_off_is_audited(sales_manager):
    persona = PersonaFactory()

    persona_sign_off(persona=persona, user=sales_manager, now=NOW)

    row = AuditLog.objects.get(action="persona.sign_off")
    assert (row.actor, row.object_type, row.object_id) == (
        sales_manager,
        "personas.persona",
        str(persona.pk),
    )
    assert row.details == {"version": 1, "team": "sales"}


def test_scoring_rule_edits_and_sign_offs_are_audited(marketer, marketing_manager, sales_manager):
    model = make_model(status="draft")
    rule = scoring.rule_add(
        model=model,
        data={"kind": "engagement", "activity_type": "webinar", "points": 5},
        actor=marketer,
        now=NOW,
    )
    scoring.rule_update(rule=rule, data={"points": 7}, actor=marketer, now=NOW)
    scoring.rule_remove(rule=rule, actor=marketer, now=NOW)
    scoring.scoring_model_propose(model=model, actor=marketer, now=NOW)
    scoring.scoring_model_sign_off(model=model, user=marketing_manager, now=NOW)
    scoring.scoring_model_sign_off(model=model, user=sales_manager, now=NOW)

    assert actions(object_type="leads.scoringmodel") == [
        "scoring_model.rule_added",
        "scoring_model.rule_changed",
        "scoring_model.rule_removed",
        "scoring_model.proposed",
        "scoring_model.signed_off",
        "scoring_model.signed_off",
    ]
    signers = AuditLog.objects.filter(action="scoring_model.signed_off").values_list(
        "actor_label", flat=True
    )
    assert sorted(signers) == ["marcus", "sofia"]


def test_sla_signatures_are_audited(marketing_manager, sales_manager):
    draft = sla.agreement_create(actor=marketing_manager, now=NOW)
    sla.agreement_propose(agreement=draft, now=NOW)

    sla.agreement_sign(agreement=draft, user=marketing_manager, now=NOW)
    sla.agreement_sign(agreement=draft, user=sales_manager, now=NOW)

    rows = AuditLog.objects.filter(action="sla_agreement.sign").order_by("id")
    assert [r.details["team"] for r in rows] == ["marketing", "sales"]


def test_routing_rule_edits_are_audited(sales_manager, rep):
    from leads.routing import services as routing

    rule = routing.rule_create(
        data={"name": "Big accounts", "target_kind": "rep", "target_user": rep},
        actor=sales_manager,
        now=NOW,
    )
    routing.rule_set_active(rule=rule, active=False, actor=sales_manager, now=NOW)

    rows = AuditLog.objects.filter(action="routing.change", object_type="leads.routingrule")
    assert rows.count() == 2
    assert all(r.actor == sales_manager and r.object_id == str(rule.pk) for r in rows)


def test_a_role_change_in_the_admin_is_audited(admin_user, rep, client_for):
    client = client_for(admin_user)
    page = client.get(f"/admin/auth/user/{rep.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(
        {
            "username": rep.username,
            "date_joined_0": "2026-11-01",
            "date_joined_1": "09:00:00",
            "groups": [Group.objects.get(name=Role.SALES_MANAGER.value).pk],
            "user_permissions": [],
            "is_active": "on",
        }
    )
    data.pop("last_login", None)

    response = client.post(f"/admin/auth/user/{rep.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    row = AuditLog.objects.get(action="user.roles_change")
    assert row.actor == admin_user and row.object_id == str(rep.pk)
    assert row.details == {
        "added": [Role.SALES_MANAGER.value],
        "removed": [Role.SALES_REP.value],
        "superuser": False,
    }


def test_a_change_to_what_a_role_may_do_is_audited(admin_user, client_for):
    group = Group.objects.get(name=Role.SALES_REP.value)
    extra = Permission.objects.get(codename="erase_lead")
    perms = [*group.permissions.values_list("pk", flat=True), extra.pk]

    response = client_for(admin_user).post(
        f"/admin/auth/group/{group.pk}/change/", {"name": group.name, "permissions": perms}
    )

    assert response.status_code == 302
    row = AuditLog.objects.get(action="role.permissions_change")
    assert row.details == {"added": ["erase_lead"], "removed": []}


def test_an_unchanged_save_in_the_admin_writes_no_audit_row(admin_user, client_for):
    group = Group.objects.get(name=Role.SALES_REP.value)
    perms = list(group.permissions.values_list("pk", flat=True))

    client_for(admin_user).post(
        f"/admin/auth/group/{group.pk}/change/", {"name": group.name, "permissions": perms}
    )

    assert not AuditLog.objects.filter(action="role.permissions_change").exists()


def test_exports_and_erasures_are_audited(marketing_manager, client_for):
    lead = LeadFactory()
    client = client_for(marketing_manager)

    assert client.get(f"/leads/{lead.pk}/export/").status_code == 200
    csv = client.get("/sla/compliance/marketing/?export=by_source")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    client.post(f"/leads/{lead.pk}/erase/", {"confirm": lead.email, "reason": "asked"})

    assert set(actions()) >= {"lead.export", "sla.export_csv", "lead.erase"}
    erase = AuditLog.objects.get(action="lead.erase")
    assert lead.email not in str(erase.details)


def test_an_import_errors_download_is_audited(marketer, client_for):
    from django.core.files.base import ContentFile

    from leads.models import ImportJob

    job = ImportJob.objects.create(
        file=ContentFile(b"email\nbad\n", name="l.csv"),
        original_name="l.csv",
        encoding="utf-8",
        delimiter=",",
        headers=["email"],
        errors=[{"row": 2, "field": "email", "message": "Enter a valid email address."}],
        error_count=1,
        status="done",
        created_by=marketer,
        created_at=timezone.now(),
    )

    assert client_for(marketer).get(f"/leads/import/{job.pk}/errors.csv").status_code == 200

    assert actions(object_type="leads.importjob") == ["import.errors_export"]
