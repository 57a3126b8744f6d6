"""Journey 3, the manager, on the demo data: opens the SLA dashboard and sees its charts drawn
with data, filters by rep and period, exports a table as CSV, opens the weekly review and
the funnel goal's pacing."""

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from smarketing.seed import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_manager_reads_the_sla_dashboards_review_and_goal_pacing(journey, transactional_db):
    from playwright.sync_api import expect

    call_command("seed_demo")
    sofia = journey.login("sofia", DEMO_PASSWORD)

    sofia.get_by_role("navigation", name="Main").get_by_role("link", name="SLA").click()
    sofia.goto(f"{journey.base}/sla/compliance/")
    expect(sofia.locator("[data-testid=sales-side]")).to_be_visible()
    expect(sofia.locator("[data-testid=marketing-side]")).to_be_visible()
    charts = sofia.locator("main canvas")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3
    journey.assert_accessible(sofia)
    journey.shot(sofia, "09-sla-dashboard")

    filters = sofia.locator("[data-testid=compliance-filters]")
    today = timezone.localdate()
    filters.locator("input[name=start]").fill(str(today - timedelta(days=89)))
    filters.locator("input[name=end]").fill(str(today))
    dana = filters.locator("select[name=rep] option", has_text="Dana").first.get_attribute("value")
    filters.locator("select[name=rep]").select_option(dana)
    filters.get_by_role("button", name="Apply").click()
    sofia.wait_for_url(re.compile(r".*rep=\d+.*"))
    reps = sofia.locator("[data-testid=table-reps] tbody tr")
    expect(reps.first).to_contain_text("Dana")
    assert all("Dana" in text for text in reps.all_inner_texts())
    with sofia.expect_download() as download_info:
        sofia.locator("[data-testid=sales-side]").get_by_role("link", name="CSV").nth(2).click()
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert len(rows) >= 2 and any("Dana" in cell for cell in rows[1])

    sofia.get_by_role("link", name="Weekly review").click()
    expect(sofia.locator("main h1")).to_contain_text("review", ignore_case=True)
    journey.shot(sofia, "10-weekly-review")

    sofia.get_by_role("navigation", name="Main").get_by_role("link", name="Goals").click()
    expect(sofia.locator("[data-testid=goals-table]")).to_be_visible()
    sofia.locator("[data-testid=goal-in-force]").click()
    sofia.wait_for_url(re.compile(r".*/goals/\d+/$"))
    expect(sofia.locator("[data-testid=pacing-table]")).to_be_visible()
    expect(sofia.locator("main canvas").first).to_be_visible()
    journey.shot(sofia, "11-goal-pacing")

    journey.watcher.assert_clean()
