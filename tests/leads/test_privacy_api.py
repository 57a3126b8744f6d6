"""Export and erasure through the API, and the ingest-key command."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from leads.models import Activity
from smarketing.models import AuditLog, IngestKey
from tests.leads.factories import ActivityFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_the_export_endpoint_returns_the_person_and_audits_it(api_for, marketer):
    lead = LeadFactory(email="ann@acme.test")
    ActivityFactory(lead=lead, type="email_click")
    body = api_for(marketer).get(f"/api/v1/leads/{lead.pk}/export/").json()
    assert body["lead"]["email"] == "ann@acme.test"
    assert [a["type"] for a in body["lead"]["activities"]] == ["email_click"]
    assert AuditLog.objects.filter(action="lead.export", object_id=str(lead.pk)).exists()


def test_the_erase_endpoint_needs_erase_permission(api_for, marketer, sales_manager):
    lead = LeadFactory(email="ann@acme.test")
    assert api_for(marketer).post(f"/api/v1/leads/{lead.pk}/erase/").status_code == 403
    response = api_for(sales_manager).post(
        f"/api/v1/leads/{lead.pk}/erase/", {"reason": "ticket 9"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["email"] == "" and response.json()["erased_at"]
    again = api_for(sales_manager).post(f"/api/v1/leads/{lead.pk}/erase/")
    assert again.status_code == 409


def test_events_for_an_erased_person_do_not_reattach_to_the_erased_row(
    api_for, sales_manager, key_client
):
    lead = LeadFactory(email="ann@acme.test")
    api_for(sales_manager).post(f"/api/v1/leads/{lead.pk}/erase/")
    body = key_client.post(
        "/api/v1/events/",
        {"event_id": "x1", "type": "page_view", "lead": {"email": "ann@acme.test"}},
        format="json",
    ).json()
    assert body["results"][0]["lead_id"] != lead.pk
    assert not Activity.objects.filter(lead=lead).exists()


def test_create_ingest_key_prints_a_key_that_works_once_shown(capsys):
    call_command("create_ingest_key", "website")
    raw = capsys.readouterr().out.strip()
    key = IngestKey.objects.get()
    assert key.name == "website" and raw.startswith(key.prefix) and key.key_hash != raw
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert api.post("/api/v1/leads/", {"email": "a@b.test"}, format="json").status_code == 201
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert AuditLog.objects.filter(action="ingest_key.create").exists()


def test_create_ingest_key_revokes_by_prefix(capsys):
    call_command("create_ingest_key", "website")
    raw = capsys.readouterr().out.strip()
    call_command("create_ingest_key", "website", "--revoke", raw[:8])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert api.post("/api/v1/leads/", {"email": "a@b.test"}, format="json").status_code == 401
    with pytest.raises(CommandError, match="No ingest key"):
        call_command("create_ingest_key", "website", "--revoke", "ffffffff")
