"""The pure scoring function: every rule kind, decay, caps, windows, negative points and
the MQL gates, on hand-made leads and facts."""

from datetime import UTC, datetime, timedelta

import pytest

from leads.scoring.engine import (
    CompiledModel,
    EngagementRule,
    Exclusion,
    Fact,
    FitRule,
    MqlRule,
    PersonaMatch,
    round_points,
    score_lead,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def model(fit=(), engagement=(), **mql) -> CompiledModel:
    return CompiledModel(
        version=1, fit_rules=tuple(fit), engagement_rules=tuple(engagement), mql=MqlRule(**mql)
    )


LEAD = {"industry": "Logistics", "employees": 300, "do_not_email": False, "do_not_call": False}


def test_fit_rule_gives_points_only_when_met_and_says_unknown_for_missing_data():
    rules = [
        FitRule("ind", "Industry is Logistics", 10, lambda lead: lead["industry"] == "Logistics"),
        FitRule("emp", "Employees at least 1000", 15, lambda lead: lead["employees"] >= 1000),
        FitRule("rev", "Revenue at least 5M", 5, lambda lead: None),
    ]
    score = score_lead(lead=LEAD, facts=[], model=model(fit=rules), now=NOW)
    assert score.fit == 10
    texts = [line.text for line in score.lines]
    assert texts == [
        "Industry is Logistics (+10)",
        "Not met: Employees at least 1000 (0)",
        "Unknown: Revenue at least 5M (no data, 0)",
    ]


def test_negative_fit_points_subtract():
    rule = FitRule("student", "Title mentions student", -20, lambda lead: True)
    assert score_lead(lead=LEAD, facts=[], model=model(fit=[rule]), now=NOW).fit == -20


def test_persona_fit_rule_scales_points_by_the_best_fit():
    rule = FitRule("persona", "Persona fit", 30)
    persona = PersonaMatch("VP Ops", 75, agreed=True)
    score = score_lead(lead=LEAD, facts=[], model=model(fit=[rule]), now=NOW, persona=persona)
    assert score.fit == round_points(30 * 0.75) == 23
    assert "Fits persona VP Ops at 75% of 30 (+23)" in score.lines[0].text
    assert score_lead(lead=LEAD, facts=[], model=model(fit=[rule]), now=NOW).fit == 0


def test_engagement_points_per_occurrence():
    rule = EngagementRule("pv", "page_view", 2)
    facts = [Fact("page_view", days_ago(1)) for _ in range(3)] + [Fact("email_open", days_ago(1))]
    score = score_lead(lead=LEAD, facts=facts, model=model(engagement=[rule]), now=NOW)
    assert score.engagement == 6
    assert score.lines[0].text == "3 x page view at +2 each (+6)"


def test_cap_limits_a_rule():
    rule = EngagementRule("pv", "page_view", 2, cap=5)
    facts = [Fact("page_view", days_ago(1)) for _ in range(10)]
    score = score_lead(lead=LEAD, facts=facts, model=model(engagement=[rule]), now=NOW)
    assert score.engagement == 5
    assert "capped at 5" in score.lines[0].text


def test_cap_limits_negative_rules_in_magnitude():
    rule = EngagementRule("bounce", "email_bounce", -10, cap=15)
    facts = [Fact("email_bounce", days_ago(1)) for _ in range(4)]
    assert (
        score_lead(lead=LEAD, facts=facts, model=model(engagement=[rule]), now=NOW).engagement
        == -15
    )


def test_window_ignores_older_activities():
    rule = EngagementRule("dl", "content_download", 10, window_days=30)
    facts = [Fact("content_download", days_ago(29)), Fact("content_download", days_ago(31))]
    assert (
        score_lead(lead=LEAD, facts=facts, model=model(engagement=[rule]), now=NOW).engagement == 10
    )


def test_half_life_decay_halves_points():
    rule = EngagementRule("web", "webinar_attended", 20, half_life_days=14)
    for age, expected in [(0, 20), (14, 10), (28, 5), (42, 3)]:  # 2.5 rounds away from zero
        facts = [Fact("webinar_attended", days_ago(age))]
        score = score_lead(lead=LEAD, facts=facts, model=model(engagement=[rule]), now=NOW)
        assert score.engagement == expected, age


def test_future_dated_activity_does_not_grow_beyond_its_points():
    rule = EngagementRule("web", "webinar_attended", 20, half_life_days=14)
    facts = [Fact("webinar_attended", NOW + timedelta(days=3))]
    assert (
        score_lead(lead=LEAD, facts=facts, model=model(engagement=[rule]), now=NOW).engagement == 20
    )


def test_property_condition_filters_occurrences():
    rule = EngagementRule(
        "pricing",
        "page_view",
        5,
        description="pricing page view",
        property_check=lambda props: "/pricing" in props.get("url", ""),
    )
    facts = [
        Fact("page_view", days_ago(1), {"url": "https://x.io/pricing"}),
        Fact("page_view", days_ago(1), {"url": "https://x.io/blog"}),
        Fact("page_view", days_ago(1), {}),
    ]
    score = score_lead(lead=LEAD, facts=facts, model=model(engagement=[rule]), now=NOW)
    assert score.engagement == 5
    assert score.lines[0].text == "1 x pricing page view at +5 each (+5)"


def test_unsubscribe_is_negative():
    rules = [EngagementRule("pv", "page_view", 3), EngagementRule("unsub", "unsubscribe", -25)]
    facts = [Fact("page_view", days_ago(2)), Fact("unsubscribe", days_ago(1))]
    assert (
        score_lead(lead=LEAD, facts=facts, model=model(engagement=rules), now=NOW).engagement == -22
    )


def test_breakdown_explains_every_point():
    m = model(
        fit=[
            FitRule("ind", "Industry is Logistics", 10, lambda lead: True),
            FitRule("p", "Persona", 20),
        ],
        engagement=[
            EngagementRule("pv", "page_view", 1.5, half_life_days=10),
            EngagementRule("dl", "content_download", 7, cap=10),
        ],
    )
    facts = [Fact("page_view", days_ago(i)) for i in range(7)] + [
        Fact("content_download", days_ago(3)) for _ in range(3)
    ]
    score = score_lead(
        lead=LEAD, facts=facts, model=m, now=NOW, persona=PersonaMatch("A", 33, True)
    )
    assert score.total == score.fit + score.engagement
    assert sum(line.points for line in score.lines) == score.total


def test_thresholds_need_both_fit_and_engagement():
    fit = FitRule("ind", "Industry", 40, lambda lead: True)
    eng = EngagementRule("pv", "page_view", 10)
    m = model(fit=[fit], engagement=[eng], min_fit=30, min_engagement=20)
    one = score_lead(lead=LEAD, facts=[Fact("page_view", days_ago(1))], model=m, now=NOW)
    assert not one.is_mql
    assert one.verdict == "Not an MQL yet: engagement 10 < 20."
    two = score_lead(lead=LEAD, facts=[Fact("page_view", days_ago(1))] * 2, model=m, now=NOW)
    assert two.is_mql
    assert two.verdict == "MQL: fit 40 ≥ 30 and engagement 20 ≥ 20."


def test_total_threshold_overrides_fit_and_engagement():
    eng = EngagementRule("pv", "page_view", 10)
    m = model(engagement=[eng], min_fit=99, min_engagement=99, min_total=30)
    facts = [Fact("page_view", days_ago(1))] * 3
    assert score_lead(lead=LEAD, facts=facts, model=m, now=NOW).is_mql


def test_hand_raiser_qualifies_at_once_but_only_while_recent():
    m = model(min_fit=50, min_engagement=50)
    recent = score_lead(lead=LEAD, facts=[Fact("demo_request", days_ago(2))], model=m, now=NOW)
    assert recent.is_mql
    assert recent.verdict.startswith("MQL: hand-raiser (demo request")
    stale = score_lead(lead=LEAD, facts=[Fact("demo_request", days_ago(45))], model=m, now=NOW)
    assert not stale.is_mql


@pytest.mark.parametrize(
    ("lead_overrides", "persona", "blocked_by"),
    [
        ({"do_not_email": True, "do_not_call": True}, None, "asked not to be emailed or called"),
        ({"email": "x@rival.com"}, None, "excluded: Email domain is a competitor's"),
        ({}, None, "no agreed persona matches"),
        ({}, PersonaMatch("VP Ops", 90, agreed=False), "no agreed persona matches"),
        ({}, PersonaMatch("VP Ops", 40, agreed=True), "below the 60% needed"),
    ],
)
def test_gates_block_even_hand_raisers(lead_overrides, persona, blocked_by):
    competitor = Exclusion(
        "Email domain is a competitor's", lambda lead: lead.get("email", "").endswith("@rival.com")
    )
    m = model(exclusions=(competitor,), require_agreed_persona=True, min_persona_fit=60)
    lead = {**LEAD, **lead_overrides}
    score = score_lead(
        lead=lead, facts=[Fact("demo_request", days_ago(0))], model=m, now=NOW, persona=persona
    )
    assert not score.is_mql
    assert blocked_by in score.verdict
    assert any(line.kind == "gate" for line in score.lines)


def test_do_not_email_alone_does_not_block_a_call():
    m = model(min_total=0)
    lead = {**LEAD, "do_not_email": True}
    assert score_lead(lead=lead, facts=[], model=m, now=NOW).is_mql


def test_round_points_is_symmetric():
    assert [round_points(x) for x in (2.5, -2.5, 2.4, -2.4, 0.5, -0.5)] == [3, -3, 2, -2, 1, -1]


def test_penalties_do_not_fade_with_a_half_life():
    rule = EngagementRule("bounce", "email_bounce", -10, half_life_days=7)
    facts = [Fact("email_bounce", days_ago(70))]
    score = score_lead(lead=LEAD, facts=facts, model=model(engagement=[rule]), now=NOW)
    assert score.engagement == -10
    assert "halving" not in score.lines[0].text
