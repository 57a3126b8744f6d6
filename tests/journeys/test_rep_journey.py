"""Journey 2, the sales rep: an event posted to the API makes a lead qualify (a real Celery
worker scores it); the rep sees the notification badge appear without reloading, opens the
queue and claims the lead while a second rep in another browser gets "already claimed";
logs two touches, accepts and qualifies; rejects another lead with a reason, which shows up
in Marketing's rejection report."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads.handoff.models import Handoff, HandoffStatus
from leads.models import Lead, StageKind
from smarketing.models import IngestKey
from tests.leads.queue_fixtures import make_handoff
from tests.leads.scoring_fixtures import make_model

pytestmark = pytest.mark.browser


def _post_qualifying_events(email: str) -> None:
    _, key = IngestKey.issue(name="website", now=timezone.now())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    lead = {
        "email": email,
        "first_name": "Ada",
        "last_name": "Byrne",
        "company": "Northwind",
        "title": "VP Operations",
        "industry": "Logistics",
        "employees": 300,
    }
    response = api.post(
        "/api/v1/events/",
        [{"event_id": "journey-demo-1", "type": "demo_request", "occurred_at": at, "lead": lead}],
        format="json",
    )
    assert response.status_code == 200, response.json()


def test_rep_is_notified_claims_works_and_rejects_leads(
    journey, celery_worker, rep, rep2, marketer
):
    from playwright.sync_api import expect

    make_model()
    other = make_handoff(
        first_name="Bo",
        last_name="Chen",
        company="Contoso",
        owner=rep,
        status=HandoffStatus.ASSIGNED,
    )
    journey.watcher.expected_statuses.add(409)  # the second rep's claim is refused, on purpose
    dana = journey.login("dana")
    lee = journey.login("lee")
    expect(dana.locator("#inbox-badge [data-testid=unread-count]")).to_have_count(0)

    _post_qualifying_events("ada.byrne@northwind.test")
    badge = dana.locator("#inbox-badge [data-testid=unread-count]")
    expect(badge).to_have_text("1 unread", timeout=40_000)  # no reload: htmx polls the badge
    journey.shot(dana, "05-notification-badge")
    handoff = Handoff.objects.get(lead__email="ada.byrne@northwind.test")

    dana.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    lee.goto(dana.url)
    row = dana.locator(f"#handoff-{handoff.pk}")
    expect(row).to_contain_text("Ada Byrne")
    journey.assert_accessible(dana)
    journey.shot(dana, "06-queue")
    row.get_by_role("button", name="Claim").click()
    expect(dana.locator(f"#handoff-{handoff.pk}")).to_contain_text("Ada Byrne is yours")
    lee.locator(f"#handoff-{handoff.pk}").get_by_role("button", name="Claim").click()
    expect(lee.locator(f"#handoff-{handoff.pk}")).to_contain_text("Already claimed by Dana")

    dana.get_by_role("link", name="Go to My leads").click()
    card = dana.locator(f"#mine-{handoff.pk}")
    card.get_by_role("button", name="Accept").click()
    expect(dana.locator(".alert-success")).to_contain_text("Sales accepted (SAL)")
    for outcome in ("No answer", "Connected"):
        card = dana.locator(f"#mine-{handoff.pk}")
        card.get_by_role("button", name="Log touch").click()
        form = card.locator("form[aria-label='Log a touch']")
        form.get_by_label("Outcome").select_option(label=outcome)
        form.get_by_label("Note").fill(f"{outcome} on the first try")
        form.get_by_role("button", name="Save touch").click()
        expect(dana.locator(".alert-success")).to_contain_text("Logged")
    expect(dana.locator(f"#mine-{handoff.pk}")).to_contain_text("2 touches")
    journey.assert_accessible(dana)
    journey.shot(dana, "07-my-leads")
    dana.locator(f"#mine-{handoff.pk}").get_by_role("button", name="Qualify (SQL)").click()
    expect(dana.locator(".alert-success")).to_contain_text("Sales qualified (SQL)")

    card = dana.locator(f"#mine-{other.pk}")
    card.get_by_role("button", name="Reject").click()
    form = card.locator("form[aria-label='Reject the lead']")
    form.get_by_label("Reason").select_option(label="Not our ICP")
    form.get_by_label("Note for Marketing").fill("Ten-person agency, not mid-market")
    form.get_by_role("button", name="Reject to nurture").click()
    expect(dana.locator(".alert-success")).to_contain_text("Rejected Bo Chen")

    mia = journey.login("mia")
    mia.get_by_role("navigation", name="Main").get_by_role("link", name="Rejections").click()
    expect(mia.locator("[data-testid=recent]")).to_contain_text("Ten-person agency")
    expect(mia.locator("[data-testid=by-reason]")).to_contain_text("Not our ICP")
    journey.shot(mia, "08-rejection-report")

    journey.watcher.assert_clean()
    assert Lead.objects.get(pk=handoff.lead_id).stage.kind == StageKind.SQL
    assert Handoff.objects.filter(lead_id=handoff.lead_id).count() == 1
