"""Erasure leaves no trace of the person in any table: the test walks every text and JSON
column of every model after a lead went through intake, scoring, the handoff, its
notifications, routing, touches, a stage change and an import error."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.core import mail
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

from leads import services
from leads.handoff import services as queue
from leads.handoff.models import Handoff
from leads.handoff.notify import handoff_notify
from leads.models import ImportJob, Lead, Stage
from leads.scoring.services import lead_score
from smarketing.models import AuditLog
from smarketing.notifications.models import Notification
from tests.leads.queue_fixtures import make_team
from tests.leads.scoring_fixtures import make_model

pytestmark = pytest.mark.django_db
MARKER = "zqxw7marker"
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def rows_mentioning(marker: str) -> list[str]:
    """'app.Model.field #pk' for every row whose text or JSON column contains `marker`."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, TEXT_FIELDS):
                continue
            hits = (
                model._default_manager.annotate(_text=Cast(field.name, models.TextField()))
                .filter(_text__icontains=marker)
                .values_list("pk", flat=True)
            )
            found += [f"{model._meta.label}.{field.name} #{pk}" for pk in hits]
    return found


@pytest.fixture
def person(rep, sales_manager, key_client, django_capture_on_commit_callbacks):
    """A lead carrying the marker in every personal field and in free text around it."""
    make_model(status="active")
    team = make_team("West", rep, manager=sales_manager)
    fields = {
        "email": f"{MARKER}@example.com",
        "external_id": f"crm-{MARKER}",
        "first_name": f"Ada{MARKER}",
        "last_name": f"Byrne{MARKER}",
        "title": f"VP {MARKER}",
        "phone": "+44 20 7946 0958",
        "region": f"Region {MARKER}",
        "company": "Northwind",
        "industry": "Logistics",
        "employees": 500,
        "country": "GB",
        "favourite_colour": f"blue {MARKER}",  # an unknown key: kept in attributes
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = key_client.post(
            "/api/v1/events/",
            [
                {
                    "event_id": "e1",
                    "type": "demo_request",
                    "lead": fields,
                    "properties": {
                        "url": f"https://example.com/demo?email={MARKER}@example.com",
                        "message": f"Call me, {MARKER}",
                        "campaign": "autumn",
                    },
                },
                {"event_id": "e2", "type": "page_view", "lead": {"email": fields["email"]}},
            ],
            format="json",
        )
    assert response.status_code == 200, response.content
    lead = Lead.objects.get(email=fields["email"])
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        lead_score(lead_id=lead.pk, now=now)
    handoff = Handoff.objects.filter(lead=lead).first()
    if handoff is None:  # the scoring fixture did not qualify it: hand it over by hand
        raise AssertionError("the lead should have qualified on the demo request")
    handoff.team = team
    handoff.save(update_fields=["team"])
    with django_capture_on_commit_callbacks(execute=True):
        handoff_notify(handoff_id=handoff.pk, now=now)
        queue.handoff_claim(handoff_id=handoff.pk, user=rep, now=now)
        queue.handoff_accept(handoff_id=handoff.pk, user=rep, now=now)
        queue.touch_log(
            handoff_id=handoff.pk,
            user=rep,
            kind="call",
            outcome="connected",
            note=f"Spoke to Ada{MARKER} on +44 20 7946 0958",
            now=now + timedelta(minutes=5),
        )
    handoff.refresh_from_db()
    # A routing reason and a stage change reason that quote the person, as people write.
    handoff.decisions.create(
        target_kind="rep",
        assigned_to=rep,
        reason=f"Title VP {MARKER} matched the enterprise rule",
        decided_at=now,
    )
    services.lead_change_stage(
        lead=Lead.objects.get(pk=lead.pk),
        to_stage=Stage.objects.get(slug="sql"),
        now=now,
        actor=sales_manager,
        reason=f"Ada{MARKER} confirmed budget",
        force=True,
    )
    ImportJob.objects.create(
        file="imports/none.csv",
        original_name="leads.csv",
        errors=[
            {"row": 2, "field": "email", "message": f"'{MARKER}@example' is not an email"},
            {"row": 3, "field": "phone", "message": "Phone is too long."},
        ],
        error_count=2,
        created_at=now,
    )
    return Lead.objects.get(pk=lead.pk)


def test_the_scenario_spreads_the_marker_across_many_tables(person):
    tables = {hit.split(".")[1] for hit in rows_mentioning(MARKER)}

    assert {"Lead", "Activity", "Touch", "Notification", "StageChange", "ImportJob"} <= tables


def test_erasure_leaves_the_marker_in_no_table(person, marketing_manager):
    mail.outbox.clear()

    services.lead_erase(lead=person, actor=marketing_manager, now=timezone.now(), reason="GDPR")

    assert rows_mentioning(MARKER) == []
    assert rows_mentioning("7946 0958") == []
    audit = AuditLog.objects.get(action="lead.erase")
    assert audit.object_id == str(person.pk)
    # The anonymous history stays: the funnel figures do not change.
    assert Handoff.objects.filter(lead=person).count() == 1
    assert person.activities.count() == 2
    assert person.stage_changes.count() >= 2


def test_an_undelivered_message_about_the_person_goes_out_without_their_data(
    person, marketing_manager
):
    pending = list(Notification.objects.filter(status="pending"))

    services.lead_erase(lead=person, actor=marketing_manager, now=timezone.now())

    for row in pending:
        row.refresh_from_db()
        assert MARKER not in f"{row.title} {row.body} {row.payload}"
