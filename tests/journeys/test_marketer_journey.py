"""Journey 1, the marketer: writes a persona with criteria and its worksheet; a sales manager
and a marketing manager sign it off; builds a scoring model in the rule builder, sees the
live preview and the backtest; both teams sign it; it is activated and the rescore progress
bar runs to the end (a real Celery worker does the rescoring)."""

import re

import pytest

from leads.scoring.models import ModelStatus, ScoringModel
from personas.models import Persona, PersonaStatus
from tests.leads.scoring_fixtures import make_lead

pytestmark = pytest.mark.browser


def _seed_leads():
    for n, (title, outcome) in enumerate(
        [
            ("VP Operations", "won"),
            ("Director of Logistics", "won"),
            ("Student", "lost"),
            ("VP Supply Chain", None),
            ("Intern", "lost"),
            ("Head of Ops", None),
        ]
    ):
        make_lead(n, title=title, attributes={"outcome": outcome} if outcome else {})


def test_marketer_defines_a_persona_and_a_scoring_model_that_both_teams_sign(
    journey, celery_worker, marketer, marketing_manager, sales_manager
):
    from playwright.sync_api import expect

    _seed_leads()
    mia = journey.login("mia")

    # A persona, written in the browser.
    mia.goto(f"{journey.base}/personas/new/")
    journey.assert_accessible(mia)
    mia.fill("input[name=name]", "Ops-minded VP")
    mia.fill("textarea[name=summary]", "Runs operations at a mid-market logistics company.")
    mia.fill("textarea[name=pains]", "Spreadsheets; leads that fall between teams.")
    mia.fill("textarea[name=goals]", "On-time delivery without more headcount.")
    mia.select_option("select[name=criteria-0-field]", "title")
    mia.select_option("select[name=criteria-0-operator]", "contains")
    mia.fill("input[name=criteria-0-value]", "vp, director, head")
    mia.fill("input[name=criteria-0-weight]", "3")
    mia.get_by_role("button", name="Save").click()
    mia.wait_for_url(re.compile(r".*/personas/\d+/$"))
    persona_url = mia.url
    journey.shot(mia, "01-persona")

    for username, team in [("sofia", "Sales"), ("marcus", "Marketing")]:
        signer = journey.login(username)
        signer.goto(persona_url)
        signer.get_by_role("button", name=f"Sign off for {team}").click()
        expect(signer.locator(".alert-success")).to_be_visible()
    mia.goto(persona_url)
    expect(mia.locator("h1 .badge")).to_have_text("Agreed")

    # A scoring model in the rule builder.
    mia.goto(f"{journey.base}/leads/scoring/")
    mia.get_by_role("button", name="Start the first definition").first.click()
    mia.wait_for_url(re.compile(r".*/leads/scoring/\d+/$"))
    builder_url = mia.url
    expect(mia.locator("#preview")).to_contain_text("open leads would be MQL")
    rules = mia.locator("[data-testid=rules]")
    form = mia.locator("[data-testid=rule-form]")
    form.locator("select[name=kind]").select_option("persona_fit")
    form.locator("input[name=label]").fill("Fits an agreed persona")
    form.locator("input[name=points]").fill("40")
    form.get_by_role("button", name="Add rule").click()
    expect(rules).to_contain_text("Fits an agreed persona")
    form = mia.locator("[data-testid=rule-form]")
    form.locator("select[name=kind]").select_option("fit")
    form.locator("select[name=field]").select_option("title")
    form.locator("select[name=operator]").select_option("contains")
    form.locator("input[name=value]").fill("student, intern")
    form.locator("input[name=points]").fill("-30")
    form.get_by_role("button", name="Add rule").click()
    expect(rules).to_contain_text("Job title contains any keyword student, intern")
    expect(mia.locator("[data-testid=rule-row]")).to_have_count(2)
    expect(mia.locator("[data-testid=preview-mql]")).to_be_visible()
    journey.assert_accessible(mia)
    journey.shot(mia, "02-rule-builder")

    mia.get_by_role("link", name="Backtest", exact=True).click()
    expect(mia.locator("[data-testid=confusion-matrix]")).to_be_visible()
    expect(mia.locator("[data-testid=backtest] canvas").first).to_be_visible()
    journey.shot(mia, "03-backtest")

    mia.goto(builder_url)
    mia.get_by_role("button", name="Propose for sign-off").click()
    expect(mia.locator(".alert-success")).to_contain_text("proposed")
    marcus = journey.login("marcus")
    marcus.goto(builder_url)
    marcus.get_by_role("button", name="Sign off for Marketing").click()
    sofia = journey.login("sofia")
    sofia.goto(builder_url)
    sofia.get_by_role("button", name="Sign off for Sales").click()
    sofia.get_by_role("button", name="Activate and rescore every lead").click()
    sofia.wait_for_url(re.compile(r".*/leads/scoring/rescores/\d+/$"))
    progress = sofia.locator("[data-testid=rescore-progress]")
    expect(progress).to_have_attribute("data-status", "done", timeout=90_000)
    expect(progress).to_contain_text("100%")
    journey.shot(sofia, "04-rescore-done")

    journey.watcher.assert_clean()
    assert Persona.objects.get().status == PersonaStatus.AGREED
    assert ScoringModel.objects.get().status == ModelStatus.ACTIVE
