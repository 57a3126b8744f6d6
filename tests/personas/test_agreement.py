"""A persona is agreed only when one Marketing and one Sales user signed its current
version; editing after a sign-off starts a new version."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from personas.models import Persona, PersonaSignOff, PersonaStatus, PersonaVersion
from personas.services import persona_sign_off, persona_update
from smarketing.errors import ApplicationError, Conflict
from tests.factories import PersonaFactory

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def _form_data(**overrides):
    """What the create/edit page posts: the persona fields plus a criteria formset."""
    data = {
        "name": "Ops-minded VP Operations",
        "summary": "Runs operations at a mid-market logistics company.",
        "fit_threshold": "60",
        "goals": "On-time delivery above 97%.",
        "pains": "Carriers do not answer; data in spreadsheets.",
        "objections": "",
        "buying_triggers": "New warehouse opening.",
        "information_sources": "",
        "preferred_content": "",
        "disqualifiers": "",
        "criteria-TOTAL_FORMS": "3",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "40",
        "criteria-0-field": "title",
        "criteria-0-operator": "contains",
        "criteria-0-value": "VP, head of",
        "criteria-0-weight": "3",
        "criteria-1-field": "employees",
        "criteria-1-operator": "between",
        "criteria-1-value": "200..2000",
        "criteria-1-weight": "2",
        # an untouched extra row
        "criteria-2-field": "",
        "criteria-2-operator": "equals",
        "criteria-2-value": "",
        "criteria-2-weight": "1",
    }
    data.update(overrides)
    return data


def test_marketer_creates_both_managers_sign_an_edit_makes_version_two(
    client_for, marketer, marketing_manager, sales_manager
):
    with time_machine.travel(NOW, tick=False):
        response = client_for(marketer).post(reverse("personas:create"), _form_data())
    assert response.status_code == 302
    persona = Persona.objects.get()
    assert response["Location"] == reverse("personas:detail", args=[persona.pk])
    assert (persona.status, persona.version) == (PersonaStatus.DRAFT, 1)
    assert [str(c) for c in persona.criteria.all()] == [
        "Job title contains any keyword: VP, head of",
        "Employees is between 200 and 2k",
    ]

    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        client_for(sales_manager).post(reverse("personas:sign_off", args=[persona.pk]))
    persona.refresh_from_db()
    assert persona.status == PersonaStatus.AWAITING_SIGN_OFF

    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        client_for(marketing_manager).post(
            reverse("personas:sign_off", args=[persona.pk]), {"note": "Matches the workshop."}
        )
    persona.refresh_from_db()
    assert persona.status == PersonaStatus.AGREED
    assert persona.agreed_at == NOW + dt.timedelta(hours=2)

    edit = _form_data(
        pains="Carriers do not answer; data in spreadsheets; customs delays.",
        **{
            "criteria-TOTAL_FORMS": "3",
            "criteria-INITIAL_FORMS": "2",
            "criteria-1-weight": "4",
        },
    )
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        response = client_for(marketer).post(reverse("personas:edit", args=[persona.pk]), edit)
    assert response.status_code == 302
    persona.refresh_from_db()
    assert (persona.status, persona.version) == (PersonaStatus.AWAITING_SIGN_OFF, 2)
    assert persona.agreed_at is None
    assert not PersonaSignOff.objects.filter(version__number=2).exists()

    history = client_for(marketer).get(reverse("personas:history", args=[persona.pk]))
    body = history.content.decode()
    assert "Version 2" in body and "Version 1" in body
    assert "Pains rewritten" in body
    assert "Weight of “Employees is between 200 and 2k”: 2 → 4" in body
    assert "Sofia" in body and "Marcus" in body  # who signed version 1
    assert "Matches the workshop." in body
    v1, v2 = PersonaVersion.objects.order_by("number")
    assert v1.agreed_at == NOW + dt.timedelta(hours=2)
    assert v1.sign_offs.count() == 2 and v2.sign_offs.count() == 0
    assert v1.snapshot["criteria"][1]["weight"] == 2
    assert v2.snapshot["criteria"][1]["weight"] == 4


def test_edit_before_anyone_signed_revises_version_one_in_place(marketer):
    persona = PersonaFactory()
    persona, changes = persona_update(
        persona=persona, data={"name": "Renamed"}, criteria=None, actor=marketer, now=NOW
    )
    assert persona.version == 1 and persona.status == PersonaStatus.DRAFT
    assert changes == ["Name: 'Persona 0' → 'Renamed'"] or changes[0].startswith("Name:")
    version = persona.versions.get()
    assert version.snapshot["name"] == "Renamed"
    assert version.changes[-1].startswith("Name:")


def test_edit_after_one_sign_off_starts_a_new_version(marketer, sales_manager):
    persona = PersonaFactory()
    persona_sign_off(persona=persona, user=sales_manager, now=NOW)
    persona, _ = persona_update(
        persona=persona, data={"summary": "Changed"}, criteria=None, actor=marketer, now=NOW
    )
    assert persona.version == 2
    assert persona.status == PersonaStatus.AWAITING_SIGN_OFF
    assert persona.versions.get(number=1).sign_offs.count() == 1


def test_saving_without_changes_creates_no_version(marketer, sales_manager, marketing_manager):
    persona = PersonaFactory()
    persona_sign_off(persona=persona, user=sales_manager, now=NOW)
    persona_sign_off(persona=persona, user=marketing_manager, now=NOW)
    persona, changes = persona_update(
        persona=persona, data={"name": persona.name}, criteria=None, actor=marketer, now=NOW
    )
    assert changes == []
    assert persona.version == 1 and persona.status == PersonaStatus.AGREED


def test_same_team_cannot_sign_twice(sales_manager, django_user_model):
    from django.contrib.auth.models import Group

    second = django_user_model.objects.create(username="sam")
    second.groups.add(Group.objects.get(name="Sales manager"))
    persona = PersonaFactory()
    persona_sign_off(persona=persona, user=sales_manager, now=NOW)
    with pytest.raises(Conflict, match="Sales already signed"):
        persona_sign_off(persona=persona, user=second, now=NOW)


def test_agreed_version_cannot_be_signed_again(sales_manager, marketing_manager):
    persona = PersonaFactory()
    persona_sign_off(persona=persona, user=sales_manager, now=NOW)
    persona_sign_off(persona=persona, user=marketing_manager, now=NOW)
    with pytest.raises(Conflict, match="already agreed"):
        persona_sign_off(persona=persona, user=sales_manager, now=NOW)


def test_sign_off_needs_the_permission_and_a_team(rep, marketer, admin_user):
    persona = PersonaFactory()
    with pytest.raises(ApplicationError) as exc:
        persona_sign_off(persona=persona, user=rep, now=NOW)
    assert exc.value.status_code == 403
    with pytest.raises(ApplicationError):
        persona_sign_off(persona=persona, user=marketer, now=NOW)
    with pytest.raises(ApplicationError, match="neither team"):
        persona_sign_off(persona=persona, user=admin_user, now=NOW)
    assert not PersonaSignOff.objects.exists()


# --- pages: who may do what


def test_sales_rep_cannot_open_create_or_edit_pages_or_sign(client_for, rep):
    persona = PersonaFactory()
    client = client_for(rep)
    assert client.get(reverse("personas:create")).status_code == 403
    assert client.post(reverse("personas:create"), _form_data()).status_code == 403
    assert client.get(reverse("personas:edit", args=[persona.pk])).status_code == 403
    assert client.post(reverse("personas:edit", args=[persona.pk]), _form_data()).status_code == 403
    assert client.post(reverse("personas:sign_off", args=[persona.pk])).status_code == 403
    assert not PersonaSignOff.objects.exists()
    persona.refresh_from_db()
    assert persona.name != "Ops-minded VP Operations"


def test_sales_rep_reads_personas_without_edit_or_sign_buttons(client_for, rep):
    persona = PersonaFactory()
    client = client_for(rep)
    listing = client.get(reverse("personas:list")).content.decode()
    assert persona.name in listing
    assert reverse("personas:create") not in listing
    detail = client.get(reverse("personas:detail", args=[persona.pk])).content.decode()
    assert reverse("personas:edit", args=[persona.pk]) not in detail
    assert reverse("personas:sign_off", args=[persona.pk]) not in detail


def test_sign_off_button_shows_only_for_a_team_that_has_not_signed(
    client_for, sales_manager, marketing_manager
):
    persona = PersonaFactory()
    url = reverse("personas:sign_off", args=[persona.pk])
    detail = reverse("personas:detail", args=[persona.pk])
    assert url in client_for(sales_manager).get(detail).content.decode()
    persona_sign_off(persona=persona, user=sales_manager, now=NOW)
    assert url not in client_for(sales_manager).get(detail).content.decode()
    assert url in client_for(marketing_manager).get(detail).content.decode()


def test_create_form_shows_field_errors_and_saves_nothing(client_for, marketer):
    data = _form_data(name="", **{"criteria-1-value": "2000..200"})
    response = client_for(marketer).post(reverse("personas:create"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required." in body
    assert "The minimum is larger than the maximum." in body
    assert not Persona.objects.exists()


def test_duplicate_name_is_a_form_error(client_for, marketer):
    PersonaFactory(name="Ops-minded VP Operations")
    response = client_for(marketer).post(reverse("personas:create"), _form_data())
    assert response.status_code == 400
    assert "Persona with this Name already exists" in response.content.decode()


def test_outsider_is_refused(client_for, outsider):
    persona = PersonaFactory()
    client = client_for(outsider)
    assert client.get(reverse("personas:list")).status_code == 403
    assert client.get(reverse("personas:detail", args=[persona.pk])).status_code == 403


def test_what_changed_names_added_removed_changed_and_reweighted_criteria():
    from personas.services import snapshot_diff

    def row(field, operator, value, weight=1):
        kind = "demographic" if field in ("title", "seniority") else "firmographic"
        return {"kind": kind, "field": field, "operator": operator, "value": value} | {
            "weight": weight
        }

    old = {
        "name": "Ops",
        "criteria": [
            row("title", "contains", ["vp"], 3),
            row("employees", "between", [200, 2000]),
            row("country", "in", ["DE"]),
        ],
    }
    new = {
        "name": "Ops",
        "criteria": [
            row("title", "contains", ["vp"], 5),
            row("employees", "between", [150, 2500]),
            row("seniority", "in", ["vp"]),
        ],
    }
    assert snapshot_diff(old, new) == [
        "Criterion changed: Employees is between 200 and 2k → Employees is between 150 and 2.5k",
        "Weight of “Job title contains any keyword: vp”: 3 → 5",
        "Criterion added: Seniority is one of: vp (weight 1)",
        "Criterion removed: Country is one of: DE",
    ]


def test_edit_page_shows_the_criteria_as_typed(client_for, marketer):
    persona = PersonaFactory(
        criteria=[{"field": "annual_revenue", "operator": "between", "value": [10_000_000, None]}]
    )
    body = client_for(marketer).get(reverse("personas:edit", args=[persona.pk])).content.decode()
    assert 'value="10m.."' in body
    assert "Saving a change creates" not in body  # a draft nobody signed is revised in place
