"""A rep reads the inbox in a real browser: the navigation badge loads through htmx, and
marking one read swaps its row and brings the badge down at once."""

import shutil

import pytest
from django.utils import timezone

from smarketing.notifications import services
from smarketing.notifications.models import Channel

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def test_a_rep_marks_a_notification_read_and_the_badge_follows(live_server, rep):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.skip(reason="chromium is not installed")
    for n in (1, 2):
        services.notification_enqueue(
            kind="handoff.ready",
            key=f"browser:{n}",
            channel=Channel.IN_APP,
            recipient=rep,
            title=f"Ready for a call: Lead {n}",
            body="Why it qualified: fit 25",
            link="/notifications/",
            now=timezone.now(),
        )
    expect = playwright_api.expect
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{live_server.url}/accounts/login/?next=/notifications/")
            page.fill("input[name=username]", "dana")
            page.fill("input[name=password]", "pw-for-tests-1234")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{live_server.url}/notifications/")
            badge = page.locator("[data-testid=unread-count]")
            expect(badge).to_have_text("2 unread")
            rows = page.locator("[data-testid=notification]")
            expect(rows).to_have_count(2)
            rows.first.get_by_role("button", name="Mark read").click()
            expect(rows.first.get_by_text("Read", exact=True)).to_be_visible()
            expect(badge).to_have_text("1 unread")
            assert errors == []
        finally:
            browser.close()
