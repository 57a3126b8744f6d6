"""In a real browser: a rep claims a lead (htmx), accepts it, logs two touches, qualifies
it; rejects another with a reason; Marketing sees the rejection in its report."""

import shutil

import pytest

from leads.handoff.models import Handoff, HandoffStatus, Touch
from leads.models import Lead, StageKind
from tests.factories import ContentPieceFactory
from tests.leads.queue_fixtures import make_handoff

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _login(browser, base: str, username: str):
    page = browser.new_context().new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-for-tests-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    return page


def test_a_rep_works_the_queue_in_the_browser(transactional_db, live_server, rep, marketer):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.skip(reason="chromium is not installed")
    expect = playwright_api.expect
    ContentPieceFactory(title="ROI guide")
    keep = make_handoff(first_name="Ada", last_name="Byrne", company="Northwind")
    drop = make_handoff(first_name="Bo", last_name="Chen", company="Contoso")
    base = live_server.url
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            errors = []
            page = _login(browser, base, "dana")
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
            row = page.locator(f"#handoff-{keep.pk}")
            expect(row).to_contain_text("Ada Byrne")
            row.get_by_role("button", name="Claim").click()
            expect(page.locator(f"#handoff-{keep.pk}")).to_contain_text("Ada Byrne is yours")

            page.get_by_role("link", name="Go to My leads").click()
            card = page.locator(f"#mine-{keep.pk}")
            card.get_by_role("button", name="Accept").click()
            expect(page.locator(".alert-success")).to_contain_text("Sales accepted (SAL)")
            for outcome, content in (("No answer", None), ("Connected", "ROI guide")):
                card = page.locator(f"#mine-{keep.pk}")
                card.get_by_role("button", name="Log touch").click()
                form = card.locator("form[aria-label='Log a touch']")
                form.get_by_label("Outcome").select_option(label=outcome)
                if content:
                    form.get_by_label("Kind").select_option(label="Email")
                    form.get_by_label("Content sent").select_option(label=content)
                form.get_by_label("Note").fill(f"{outcome} this time")
                form.get_by_role("button", name="Save touch").click()
                expect(page.locator(".alert-success")).to_contain_text("Logged")
            expect(page.locator(f"#mine-{keep.pk}")).to_contain_text("2 touches")
            page.locator(f"#mine-{keep.pk}").get_by_role("button", name="Qualify (SQL)").click()
            expect(page.locator(".alert-success")).to_contain_text("Sales qualified (SQL)")

            page.get_by_role("link", name="Pool").click()
            page.get_by_role("button", name="Take the next lead").click()
            expect(page.locator(".alert-success")).to_contain_text("Bo Chen is yours")
            card = page.locator(f"#mine-{drop.pk}")
            card.get_by_role("button", name="Reject").click()
            form = card.locator("form[aria-label='Reject the lead']")
            form.get_by_label("Reason").select_option(label="Competitor")
            form.get_by_label("Note for Marketing").fill("Works at a rival vendor")
            form.get_by_role("button", name="Reject to nurture").click()
            expect(page.locator(".alert-success")).to_contain_text("Rejected Bo Chen")
            expect(page.locator("[data-testid=empty-mine]")).to_be_visible()
            assert errors == []

            report = _login(browser, base, "mia")
            report.get_by_role("navigation", name="Main").get_by_role(
                "link", name="Rejections"
            ).click()
            expect(report.locator("[data-testid=recent]")).to_contain_text(
                "Works at a rival vendor"
            )
            expect(report.locator("[data-testid=by-reason]")).to_contain_text("Competitor")
        finally:
            browser.close()

    assert Handoff.objects.get(pk=keep.pk).status == HandoffStatus.QUALIFIED
    assert Lead.objects.get(pk=keep.lead_id).stage.kind == StageKind.SQL
    assert Touch.objects.filter(handoff=keep, content__title="ROI guide").count() == 1
    drop.refresh_from_db()
    assert (drop.status, drop.reject_reason) == (HandoffStatus.REJECTED, "competitor")
