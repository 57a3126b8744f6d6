"""Real Chromium (Debian's package) driven by Playwright against a live server, for the
three users' journeys. Every page is watched for console errors and failed requests, and
key screens are saved as screenshots (tests/journeys/screenshots/, out of git; or the folder
given with --screenshots-to, which `make screenshots` points at docs/screenshots/)."""

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-for-tests-1234"

# Every visible form control has a label (or an aria-label); every element that acts on a
# click is a link, a button or a form control, so the keyboard can reach it.
A11Y_SCRIPT = """() => {
  const problems = [];
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (!visible(el) || ['hidden', 'submit', 'button'].includes(el.type)) continue;
    const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`))
      || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || el.getAttribute('title');
    if (!labelled) problems.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
  }
  const focusable = new Set(['A', 'BUTTON', 'INPUT', 'SELECT', 'TEXTAREA', 'SUMMARY', 'FORM']);
  for (const el of document.querySelectorAll('[hx-get], [hx-post], [onclick]')) {
    if (!visible(el) || focusable.has(el.tagName) || el.hasAttribute('tabindex')) continue;
    const trigger = el.getAttribute('hx-trigger') || '';
    if (/load|every|revealed|from:/.test(trigger)) continue;  // not a user action
    problems.push(`clickable ${el.tagName.toLowerCase()} not reachable by keyboard`);
  }
  return problems;
}"""


def pytest_addoption(parser):
    parser.addoption("--screenshots-to", default=None, help="Folder for the journeys' screenshots.")


@dataclass
class Watcher:
    """What went wrong in the browser while a journey ran."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[tuple[str, object]] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)
    downloads: set[str] = field(default_factory=set)

    def attach(self, page):
        page.on(
            "console",
            lambda msg: (
                self.console_errors.append(f"{page.url}: {msg.text}")
                if msg.type == "error" and not self._expected_console(msg.text)
                else None
            ),
        )
        page.on("pageerror", lambda exc: self.console_errors.append(f"{page.url}: {exc}"))
        page.on("requestfailed", self._request_failed)
        page.on("download", lambda download: self.downloads.add(download.url))
        page.on(
            "response",
            lambda resp: (
                self.failed_requests.append((resp.url, resp.status))
                if resp.status >= 400 and resp.status not in self.expected_statuses
                else None
            ),
        )
        return page

    def _request_failed(self, request) -> None:
        # Leaving a page aborts what it still had in flight (the inbox badge's htmx poll,
        # the favicon); that is the browser tidying up, not a request that failed. Server
        # errors arrive as responses and are caught below.
        if request.failure == "net::ERR_ABORTED":
            return
        self.failed_requests.append((request.url, request.failure))

    def _expected_console(self, text: str) -> bool:
        # The browser logs every non-2xx response; the ones a journey expects are not errors.
        return any(f"status of {code}" in text for code in self.expected_statuses)

    def assert_clean(self):
        assert self.console_errors == [], self.console_errors
        # A download aborts the navigation that started it; that is not a failure.
        failed = [(url, why) for url, why in self.failed_requests if url not in self.downloads]
        assert failed == [], failed


class Journey:
    def __init__(self, browser, base_url: str, shots: Path):
        self.browser = browser
        self.base = base_url
        self.shots = shots
        self.watcher = Watcher()

    def login(self, username: str, password: str = PASSWORD):
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        page = self.watcher.attach(context.new_page())
        page.goto(f"{self.base}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{self.base}/")
        return page

    def shot(self, page, name: str):
        self.shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def assert_accessible(self, page):
        assert page.evaluate(A11Y_SCRIPT) == [], page.url


@pytest.fixture
def chromium(monkeypatch):
    """One browser per journey: Playwright's sync API runs an event loop in this thread for
    as long as it lives, which other browser tests (and Django's async guard) must not see."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(reason="Debian's chromium is not installed (.ci/run installs it)")
    # The ORM calls a journey makes between browser steps are plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def journey(chromium, live_server, request):
    folder = request.config.getoption("--screenshots-to")
    shots = Path(folder) if folder else Path(__file__).parent / "screenshots"
    return Journey(chromium, live_server.url, shots)
