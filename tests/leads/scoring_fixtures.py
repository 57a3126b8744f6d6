"""Builders shared by the scoring tests: a signed, active model and leads with events."""

import random
from datetime import UTC, datetime, timedelta

from leads.models import Activity, Lead, Stage
from leads.scoring.models import ModelStatus, RuleKind, ScoringModel, ScoringRule

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ACTIVITY_TYPES = [
    "page_view",
    "email_open",
    "content_download",
    "webinar_attended",
    "demo_request",
    "unsubscribe",
    "email_bounce",
]


def make_model(*, status=ModelStatus.ACTIVE, version=1, **settings) -> ScoringModel:
    defaults = {
        "name": "Demo definition",
        "min_fit": 20,
        "min_engagement": 20,
        "require_agreed_persona": False,
        "min_persona_fit": 0,
        "hand_raisers": ["demo_request"],
    }
    model = ScoringModel.objects.create(
        version=version, status=status, created_at=NOW, **{**defaults, **settings}
    )
    rules = [
        {
            "kind": RuleKind.FIT,
            "field": "industry",
            "operator": "in",
            "value": ["Logistics", "Retail"],
            "points": 15,
        },
        {
            "kind": RuleKind.FIT,
            "field": "employees",
            "operator": "between",
            "value": [100, 5000],
            "points": 10,
        },
        {
            "kind": RuleKind.FIT,
            "field": "title",
            "operator": "contains",
            "value": ["student"],
            "points": -20,
        },
        {"kind": RuleKind.PERSONA_FIT, "points": 20},
        {
            "kind": RuleKind.ENGAGEMENT,
            "activity_type": "page_view",
            "points": 2,
            "cap": 20,
            "half_life_days": 14,
        },
        {
            "kind": RuleKind.ENGAGEMENT,
            "activity_type": "page_view",
            "property_name": "url",
            "property_value": "/pricing",
            "points": 8,
            "window_days": 30,
        },
        {
            "kind": RuleKind.ENGAGEMENT,
            "activity_type": "content_download",
            "points": 7,
            "half_life_days": 30,
        },
        {"kind": RuleKind.ENGAGEMENT, "activity_type": "webinar_attended", "points": 12},
        {"kind": RuleKind.ENGAGEMENT, "activity_type": "unsubscribe", "points": -30},
        {"kind": RuleKind.ENGAGEMENT, "activity_type": "email_bounce", "points": -10, "cap": 20},
        {
            "kind": RuleKind.EXCLUSION,
            "field": "email_domain",
            "operator": "in",
            "value": ["rival.com"],
        },
    ]
    for i, rule in enumerate(rules):
        ScoringRule.objects.create(model=model, order=i, **rule)
    return model


def make_lead(n: int, *, stage_slug="lead", **fields) -> Lead:
    stage = Stage.objects.get(slug=stage_slug)
    values = {
        "email": f"lead{n}@example{n % 7}.com",
        "industry": "Logistics",
        "employees": 300,
        "title": "VP Operations",
        "stage": stage,
        "stage_entered_at": NOW - timedelta(days=60),
        "created_at": NOW - timedelta(days=60),
        "updated_at": NOW - timedelta(days=60),
    }
    values.update(fields)
    return Lead.objects.create(**values)


def random_leads(count: int, *, seed: int) -> list[Lead]:
    """Leads with a spread of firmographics and events, some with outcomes."""
    rng = random.Random(seed)
    leads = []
    for n in range(count):
        lead = make_lead(
            n,
            industry=rng.choice(["Logistics", "Retail", "Banking", ""]),
            employees=rng.choice([None, 20, 150, 800, 12000]),
            title=rng.choice(["VP Operations", "Student", "CTO", ""]),
            email=rng.choice([f"p{n}@acme.io", f"p{n}@rival.com", ""]) or "",
            external_id="" if n % 3 else f"ext-{n}",
            do_not_email=rng.random() < 0.1,
            do_not_call=rng.random() < 0.1,
            attributes={"outcome": rng.choice(["won", "lost"])} if rng.random() < 0.5 else {},
        )
        Activity.objects.bulk_create(
            [
                Activity(
                    lead=lead,
                    type=rng.choice(ACTIVITY_TYPES),
                    occurred_at=NOW - timedelta(days=rng.uniform(0, 90)),
                    received_at=NOW,
                    properties={"url": rng.choice(["/pricing", "/blog", "/"])},
                )
                for _ in range(rng.randint(0, 12))
            ]
        )
        leads.append(lead)
    return leads
