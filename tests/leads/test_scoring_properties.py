"""Properties of the scoring function that must hold for any model and any history
(hypothesis generates both)."""

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leads.scoring.engine import (
    CompiledModel,
    EngagementRule,
    Fact,
    FitRule,
    MqlRule,
    score_lead,
)

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
TYPES = ["page_view", "email_open", "content_download", "webinar_attended", "unsubscribe"]

positive_rules = st.builds(
    EngagementRule,
    key=st.uuids().map(str),
    activity_type=st.sampled_from(TYPES),
    points=st.integers(min_value=1, max_value=30),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
    window_days=st.one_of(st.none(), st.integers(min_value=1, max_value=120)),
    half_life_days=st.one_of(st.none(), st.floats(min_value=0.5, max_value=90)),
)
# Penalties without a window: they never fade (see the engine), so time can't raise a score.
penalties = st.builds(
    EngagementRule,
    key=st.uuids().map(str),
    activity_type=st.sampled_from(TYPES),
    points=st.integers(min_value=-40, max_value=-1),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
    half_life_days=st.one_of(st.none(), st.floats(min_value=0.5, max_value=90)),
)
facts = st.lists(
    st.builds(
        Fact,
        type=st.sampled_from(TYPES),
        occurred_at=st.integers(min_value=0, max_value=400 * 24).map(
            lambda hours: NOW - timedelta(hours=hours)
        ),
    ),
    max_size=40,
)
fit_rules = st.lists(
    st.builds(
        FitRule,
        key=st.uuids().map(str),
        description=st.just("a condition"),
        points=st.integers(min_value=-30, max_value=30),
        check=st.sampled_from([lambda lead: True, lambda lead: False, lambda lead: None]),
    ),
    max_size=6,
)


def _model(fit, engagement) -> CompiledModel:
    return CompiledModel(
        version=1,
        fit_rules=tuple(fit),
        engagement_rules=tuple(engagement),
        mql=MqlRule(min_fit=10, min_engagement=10),
    )


LEAD = {"do_not_email": False, "do_not_call": False}


@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(st.one_of(positive_rules, penalties), max_size=8),
    history=facts,
    days=st.integers(min_value=1, max_value=365),
)
def test_decay_never_raises_a_score(rules, history, days):
    model = _model([], rules)
    earlier = score_lead(lead=LEAD, facts=history, model=model, now=NOW)
    later = score_lead(lead=LEAD, facts=history, model=model, now=NOW + timedelta(days=days))
    assert later.engagement <= earlier.engagement


@settings(max_examples=300, deadline=None)
@given(
    fit=fit_rules,
    rules=st.lists(st.one_of(positive_rules, penalties), max_size=8),
    history=facts,
    seed=st.integers(),
)
def test_rule_order_and_event_order_do_not_matter(fit, rules, history, seed):
    rng = random.Random(seed)
    base = score_lead(lead=LEAD, facts=history, model=_model(fit, rules), now=NOW)
    shuffled_rules, shuffled_fit, shuffled_facts = list(rules), list(fit), list(history)
    for items in (shuffled_rules, shuffled_fit, shuffled_facts):
        rng.shuffle(items)
    other = score_lead(
        lead=LEAD, facts=shuffled_facts, model=_model(shuffled_fit, shuffled_rules), now=NOW
    )
    assert (other.fit, other.engagement, other.total, other.is_mql) == (
        base.fit,
        base.engagement,
        base.total,
        base.is_mql,
    )


@settings(max_examples=300, deadline=None)
@given(
    fit=fit_rules, rules=st.lists(st.one_of(positive_rules, penalties), max_size=8), history=facts
)
def test_every_point_is_explained(fit, rules, history):
    score = score_lead(lead=LEAD, facts=history, model=_model(fit, rules), now=NOW)
    assert sum(line.points for line in score.lines) == score.total == score.fit + score.engagement


@settings(max_examples=200, deadline=None)
@given(rules=st.lists(positive_rules, min_size=1, max_size=6), history=facts)
def test_a_cap_is_never_exceeded(rules, history):
    score = score_lead(lead=LEAD, facts=history, model=_model([], rules), now=NOW)
    by_key = {line.rule: line.points for line in score.lines}
    for rule in rules:
        if rule.cap is not None and rule.key in by_key:
            assert abs(by_key[rule.key]) <= rule.cap
