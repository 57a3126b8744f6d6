"""Demo scoring: the definition both teams signed last quarter (retired), the one in force
(signed by Marcus for Marketing and Sofia for Sales), and a draft Mia is working on. Every
demo lead is scored under the active model. Runs once: an existing model means done."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from leads.scoring import services
from leads.scoring.models import RescoreJob, RuleKind, ScoringModel

FIT_RULES = [
    {"kind": RuleKind.PERSONA_FIT, "label": "Fits an agreed persona", "points": 30},
    {
        "kind": RuleKind.FIT,
        "field": "employees",
        "operator": "between",
        "value": [100, 5000],
        "points": 10,
        "label": "Mid-market: 100 to 5,000 employees",
    },
    {
        "kind": RuleKind.FIT,
        "field": "seniority",
        "operator": "in",
        "value": ["director", "vp", "c_level", "owner"],
        "points": 10,
        "label": "Decision maker: director or above",
    },
    {
        "kind": RuleKind.FIT,
        "field": "title",
        "operator": "contains",
        "value": ["student", "intern"],
        "points": -25,
        "label": "Students and interns",
    },
]
ENGAGEMENT_RULES = [
    {
        "kind": RuleKind.ENGAGEMENT,
        "activity_type": "page_view",
        "points": 1,
        "cap": 10,
        "half_life_days": 14,
        "label": "Page views",
    },
    {
        "kind": RuleKind.ENGAGEMENT,
        "activity_type": "page_view",
        "property_name": "url",
        "property_value": "/pricing",
        "points": 8,
        "window_days": 30,
        "label": "Pricing page views",
    },
    {
        "kind": RuleKind.ENGAGEMENT,
        "activity_type": "content_download",
        "points": 8,
        "cap": 24,
        "half_life_days": 30,
        "label": "Content downloads",
    },
    {
        "kind": RuleKind.ENGAGEMENT,
        "activity_type": "webinar_attended",
        "points": 12,
        "half_life_days": 45,
        "label": "Webinars attended",
    },
    {
        "kind": RuleKind.ENGAGEMENT,
        "activity_type": "email_click",
        "points": 3,
        "cap": 12,
        "half_life_days": 14,
        "label": "Email clicks",
    },
    {
        "kind": RuleKind.ENGAGEMENT,
        "activity_type": "unsubscribe",
        "points": -20,
        "label": "Unsubscribed",
    },
    {
        "kind": RuleKind.ENGAGEMENT,
        "activity_type": "email_bounce",
        "points": -10,
        "cap": 20,
        "label": "Email bounced",
    },
    {
        "kind": RuleKind.EXCLUSION,
        "field": "email_domain",
        "operator": "in",
        "value": ["hubspot.com", "marketo.com", "pardot.com"],
        "label": "Competitors' domains",
    },
]


def _model(*, name, rules, actor, now, **settings) -> ScoringModel:
    model = services.scoring_model_create(name=name, actor=actor, now=now, **settings)
    for rule in rules:
        services.rule_add(model=model, data=rule, actor=actor, now=now)
    return model


def _sign_and_activate(model, *, marketing, sales, now) -> RescoreJob:
    services.scoring_model_propose(model=model, actor=model.created_by, now=now)
    services.scoring_model_sign_off(model=model, user=marketing, now=now + timedelta(hours=2))
    services.scoring_model_sign_off(model=model, user=sales, now=now + timedelta(hours=5))
    return services.scoring_model_activate(
        model=model, actor=marketing, now=now + timedelta(hours=6)
    )


def run(*, now: datetime, stdout) -> None:
    if ScoringModel.objects.exists():
        return
    users = get_user_model().objects.in_bulk(["mia", "marcus", "sofia"], field_name="username")
    mia, marcus, sofia = users["mia"], users["marcus"], users["sofia"]
    with transaction.atomic():
        launch = _model(
            name="Launch definition",
            rules=FIT_RULES[1:3] + ENGAGEMENT_RULES[:3],
            actor=mia,
            now=now - timedelta(days=120),
            min_fit=10,
            min_engagement=15,
            require_agreed_persona=False,
        )
        _sign_and_activate(launch, marketing=marcus, sales=sofia, now=now - timedelta(days=115))
        current = _model(
            name="Q4 definition: persona fit plus intent",
            rules=FIT_RULES + ENGAGEMENT_RULES,
            actor=mia,
            now=now - timedelta(days=30),
            description=(
                "Sales asked for decision makers only and for pricing-page intent to count; "
                "Marketing added decay so old webinar attendance stops propping up scores."
            ),
            min_fit=30,
            min_engagement=20,
            require_agreed_persona=True,
            min_persona_fit=50,
            hand_raisers=["demo_request", "meeting_booked"],
        )
        job = _sign_and_activate(
            current, marketing=marcus, sales=sofia, now=now - timedelta(days=28)
        )
        services.scoring_model_create(
            name="Q1 draft: reward email clicks more",
            actor=mia,
            now=now - timedelta(days=2),
            based_on=current,
        )
    # Score everyone now rather than waiting for the worker, so the demo opens scored.
    job = services.rescore_run(job=job, now=now)
    RescoreJob.objects.filter(model=launch).update(
        status="done", processed=0, finished_at=now - timedelta(days=115)
    )
    stdout.write(
        f"Scoring: v{current.version} active, {job.processed} leads scored, "
        f"{job.became_mql} became MQL."
    )
