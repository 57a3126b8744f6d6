"""In a real browser: a marketer writes a persona (adding a criterion row on the page), both
managers sign it, an edit makes version 2, and the history shows both versions."""

import shutil

import pytest

from personas.models import Persona, PersonaStatus

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


def test_persona_is_written_signed_by_both_teams_and_versioned_in_the_browser(
    live_server, marketer, marketing_manager, sales_manager
):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.skip(reason="chromium is not installed")
    expect = playwright_api.expect
    base = live_server.url
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            errors = []
            page = _login(browser, base, "mia")
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/personas/new/")
            page.fill("input[name=name]", "RevOps manager")
            page.fill("textarea[name=pains]", "Leads fall between teams.")
            page.select_option("select[name=criteria-0-field]", "title")
            page.select_option("select[name=criteria-0-operator]", "contains")
            page.fill("input[name=criteria-0-value]", "revops, sales operations")
            page.fill("input[name=criteria-0-weight]", "3")
            page.get_by_role("button", name="Add a criterion").click()
            page.select_option("select[name=criteria-3-field]", "__custom__")
            page.fill("input[name=criteria-3-attribute]", "crm")
            page.select_option("select[name=criteria-3-operator]", "in")
            page.fill("input[name=criteria-3-value]", "Salesforce, HubSpot")
            page.get_by_role("button", name="Save").click()
            page.wait_for_url("**/personas/*/")
            expect(page.get_by_text("crm is one of: Salesforce, HubSpot")).to_be_visible()
            expect(page.locator("[data-testid=matches]")).to_contain_text("no leads yet")
            detail_url = page.url

            for username, team in [("sofia", "Sales"), ("marcus", "Marketing")]:
                signer = _login(browser, base, username)
                signer.goto(detail_url)
                signer.get_by_role("button", name=f"Sign off for {team}").click()
                expect(signer.locator(".alert-success")).to_be_visible()
            page.goto(detail_url)
            expect(page.locator("h1 .badge")).to_have_text("Agreed")

            page.get_by_role("link", name="Edit").click()
            page.fill("input[name=criteria-0-weight]", "5")
            page.get_by_role("button", name="Save").click()
            expect(page.locator(".alert-success")).to_contain_text("version 2")
            page.get_by_role("link", name="Version history").click()
            versions = page.locator("[data-testid=versions]")
            expect(versions).to_contain_text("Version 2")
            expect(versions).to_contain_text("Version 1")
            expect(versions).to_contain_text("Sales: Sofia")
            assert errors == []
        finally:
            browser.close()
    persona = Persona.objects.get()
    assert (persona.version, persona.status) == (2, PersonaStatus.AWAITING_SIGN_OFF)
    assert persona.criteria.count() == 2
