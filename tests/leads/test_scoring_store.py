"""Scores are written only where they changed: a rescore that changes nothing rewrites no
row (on PostgreSQL the row versions stay the same), while the event path always stamps
`scored_at`, which the reconciler reads as "these events are scored"."""

from datetime import timedelta

import pytest
from django.db import connection

from leads.models import Activity, Lead
from leads.scoring import services
from leads.scoring.models import LeadScore
from tests.leads.scoring_fixtures import NOW, make_lead, make_model

pytestmark = pytest.mark.django_db


def _ctid(table: str, pk_column: str, pk: int):
    """Where the row's current version lies: every UPDATE writes a new version elsewhere,
    even one that changes nothing (xmin would not tell inside the test's one transaction)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ctid::text FROM {table} WHERE {pk_column} = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _versions(lead):
    return _ctid("leads_lead", "id", lead.pk), _ctid("leads_leadscore", "lead_id", lead.pk)


def _webinar(lead, at):
    Activity.objects.create(lead=lead, type="webinar_attended", occurred_at=at, received_at=at)


def test_a_rescore_that_changes_nothing_writes_nothing():
    scorer = services.Scorer(make_model())
    lead = make_lead(1, industry="Logistics", employees=300)
    _webinar(lead, NOW - timedelta(days=1))
    services.leads_rescore(lead_ids=[lead.pk], scorer=scorer, now=NOW)
    first = LeadScore.objects.get(lead=lead)
    assert (first.fit, first.engagement, first.scored_at) == (25, 12, NOW)
    before = _versions(lead)

    later = NOW + timedelta(hours=1)  # webinars do not decay: same score, same explanation
    services.leads_rescore(lead_ids=[lead.pk], scorer=scorer, now=later)
    assert LeadScore.objects.get(lead=lead).scored_at == NOW
    assert _versions(lead) == before

    _webinar(lead, later)  # a real change is written, to both tables
    services.leads_rescore(lead_ids=[lead.pk], scorer=scorer, now=later)
    changed = LeadScore.objects.get(lead=lead)
    assert (changed.engagement, changed.scored_at) == (24, later)
    assert Lead.objects.get(pk=lead.pk).engagement_score == 24
    if connection.vendor == "postgresql":
        assert _versions(lead)[0] != before[0] and _versions(lead)[1] != before[1]


def test_the_event_path_stamps_scored_at_even_when_the_score_stays():
    scorer = services.Scorer(make_model())
    lead = make_lead(1, industry="Logistics", employees=300)
    _webinar(lead, NOW - timedelta(days=1))
    services.leads_rescore(lead_ids=[lead.pk], scorer=scorer, now=NOW, touch=True)
    lead_version = _versions(lead)[0]
    later = NOW + timedelta(minutes=5)
    services.leads_rescore(lead_ids=[lead.pk], scorer=scorer, now=later, touch=True)
    assert LeadScore.objects.get(lead=lead).scored_at == later
    assert _versions(lead)[0] == lead_version  # the lead's totals did not move


def test_a_new_model_rewrites_the_explanation_even_with_the_same_totals():
    first = make_model()
    lead = make_lead(1, industry="Logistics", employees=300)
    _webinar(lead, NOW - timedelta(days=1))
    services.leads_rescore(lead_ids=[lead.pk], scorer=services.Scorer(first), now=NOW)
    second = make_model(version=2, status="proposed", name="Same rules, new version")
    later = NOW + timedelta(hours=1)
    services.leads_rescore(lead_ids=[lead.pk], scorer=services.Scorer(second), now=later)
    stored = LeadScore.objects.get(lead=lead)
    assert (stored.model_id, stored.scored_at, stored.breakdown["version"]) == (
        second.pk,
        later,
        2,
    )


def test_the_compiled_scorer_is_reused_until_its_sources_change():
    from personas.models import Persona

    model = make_model()
    first = services.scorer_current()
    assert first is not None and first.model == model
    assert services.scorer_current() is first
    persona = Persona.objects.create(
        name="Ops lead", status="agreed", created_at=NOW, updated_at=NOW
    )
    second = services.scorer_current()
    assert second is not first
    assert services.scorer_current() is second
    # Every source counts: a criterion added, a persona's status, the active model.
    criterion = persona.criteria.create(
        kind="firmographic", field="industry", operator="in", value=["Retail"]
    )
    third = services.scorer_current()
    assert third is not second and len(third.personas[0].checks) == 1
    criterion.delete()
    fourth = services.scorer_current()
    assert fourth is not third
    Persona.objects.filter(pk=persona.pk).update(status="draft")
    fifth = services.scorer_current()
    assert fifth is not fourth and fifth.personas == []
    model.status = "retired"
    model.save(update_fields=["status"])
    assert services.scorer_current() is None


def test_an_explanation_that_changed_under_the_same_points_is_rewritten():
    """The rescore sends only rows whose stored digest differs: a third bounce under a cap
    keeps every figure but changes the explanation, which must still be written."""
    scorer = services.Scorer(make_model())
    lead = make_lead(1, industry="Logistics", employees=300)
    for days in (3, 2):
        at = NOW - timedelta(days=days)
        Activity.objects.create(lead=lead, type="email_bounce", occurred_at=at, received_at=at)
    services.leads_rescore(lead_ids=[lead.pk], scorer=scorer, now=NOW)
    first = LeadScore.objects.get(lead=lead)
    at = NOW - timedelta(days=1)
    Activity.objects.create(lead=lead, type="email_bounce", occurred_at=at, received_at=at)
    later = NOW + timedelta(hours=1)
    services.leads_rescore(lead_ids=[lead.pk], scorer=scorer, now=later)
    second = LeadScore.objects.get(lead=lead)
    assert (second.engagement, second.total) == (first.engagement, first.total) == (-20, 5)
    bounce = [line["text"] for line in second.breakdown["lines"] if "bounce" in line["text"]]
    assert bounce == ["3 x email bounce at -10 each, capped at 20 (-20)"]
    assert second.scored_at == later


@pytest.mark.skipif(connection.vendor != "postgresql", reason="jsonb is PostgreSQL's")
def test_a_score_as_json_is_the_text_postgresql_prints_for_it():
    """The rescore compares explanations by the digest of jsonb's text, so as_json must
    reproduce it exactly (key order, spacing, escapes, non-ASCII, null, booleans)."""
    from leads.scoring.engine import Line, Score

    score = Score(
        fit=-5,
        engagement=0,
        total=-5,
        is_mql=False,
        verdict='Not an MQL: "Zoë" asked\nnot to be called \\ emailed.',
        lines=(
            Line("fit", "r1", -5, "Title contains \u2018student\u2019 (\u22125) \u00e9\t"),
            Line("gate", "gate", 0, "Excluded: \x01 control"),
        ),
        version=None,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [score.as_json()])
        assert cursor.fetchone()[0] == score.as_json()
    empty = Score(fit=0, engagement=0, total=0, is_mql=True, verdict="", lines=(), version=3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [empty.as_json()])
        assert cursor.fetchone()[0] == empty.as_json()


def test_the_bulk_read_carries_exactly_the_property_values_rules_read():
    """The rescore reads only the property keys rules look into, and ages from SQL; every
    JSON shape a sender may post must come back as the decoder would give it, or a rule
    could match a page view that it should not (or miss one)."""
    model = make_model()
    compiled = services.Scorer(model).compiled
    lead = make_lead(1)
    shapes = [
        {"url": "/pricing", "title": "Pricing", "referrer": "https://example.com"},
        {"url": 'C:\\pricing "quoted" ü\n'},
        {"url": 5},
        {"url": 1.5},
        {"url": True},
        {"url": False},
        {"url": None},
        {"url": ["/pricing", 2]},
        {"url": {"path": "/pricing"}},
        {"title": "no url"},
        {},
    ]
    for n, properties in enumerate(shapes):
        at = NOW - timedelta(minutes=n)
        Activity.objects.create(
            lead=lead, type="page_view", occurred_at=at, received_at=at, properties=properties
        )
    later = NOW + timedelta(days=3, microseconds=7)
    got = sorted(
        (age, {k: v for k, v in properties.items() if k == "url"})
        for age, properties in services.aged_for([lead.pk], compiled, later)[lead.pk]["page_view"]
    )
    want = sorted(
        (
            (later - (NOW - timedelta(minutes=n))).total_seconds() / 86400,
            {"url": p["url"]} if "url" in p else {},
        )
        for n, p in enumerate(shapes)
    )
    assert got == want  # the ages to the last bit: the same float arithmetic as age_facts
