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
