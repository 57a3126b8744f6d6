import factory
from django.contrib.auth import get_user_model


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pw-for-tests-1234")


def _goal_period_end(goal):
    from goals.periods import period_end

    return period_end(goal.period_kind, goal.period_start)


def _goal_november_2026():
    from datetime import date

    return date(2026, 11, 1)


def _goal_now():
    from django.utils import timezone

    return timezone.now()


class FunnelGoalFactory(factory.django.DjangoModelFactory):
    """A November 2026 company-wide goal with every rate overridden, so its plan does not
    depend on history: 10 deals, 20 SQLs, 40 MQLs, 80 leads, 400 visits."""

    class Meta:
        model = "goals.FunnelGoal"

    period_kind = "month"
    period_start = factory.LazyFunction(_goal_november_2026)
    period_end = factory.LazyAttribute(_goal_period_end)
    team = ""
    revenue_target = 100000
    marketing_share_pct = 100
    average_deal_size = 10000
    rate_visit_to_lead = 20
    rate_lead_to_mql = 50
    rate_mql_to_sql = 50
    rate_sql_to_won = 50
    created_at = factory.LazyFunction(_goal_now)
    updated_at = factory.SelfAttribute("created_at")


# --- personas


class PersonaFactory(factory.django.DjangoModelFactory):
    """A persona made through `persona_create`, so it has version 1 and its snapshot.
    Pass `criteria=[{field, operator, value, weight}, ...]` (kind is derived for lead
    fields; give kind="custom" for custom attributes)."""

    class Meta:
        model = "personas.Persona"

    name = factory.Sequence(lambda n: f"Persona {n}")
    summary = "Runs operations at a mid-sized company."
    fit_threshold = 60
    pains = "Spreadsheets everywhere."

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from personas.criteria import LEAD_FIELDS
        from personas.services import persona_create

        criteria = kwargs.pop("criteria", None)
        if criteria is None:
            criteria = [{"field": "title", "operator": "contains", "value": ["vp"], "weight": 1}]
        rows = [
            {"kind": LEAD_FIELDS[c["field"]].kind if c["field"] in LEAD_FIELDS else "custom", **c}
            for c in criteria
        ]
        return persona_create(
            data=kwargs,
            criteria=rows,
            actor=kwargs.pop("created_by", None),
            now=kwargs.pop("now", None) or _goal_now(),
        )


class ContentPieceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "personas.ContentPiece"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Guide {n}")
    url = factory.Sequence(lambda n: f"https://example.com/content/{n}")
    format = "ebook"
    stage = "awareness"
    authored_by_team = "marketing"
    created_at = factory.LazyFunction(_goal_now)
    updated_at = factory.SelfAttribute("created_at")

    @factory.post_generation
    def personas(self, create, extracted, **kwargs):
        if create and extracted:
            self.personas.set(extracted)
