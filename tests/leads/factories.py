import factory
from django.utils import timezone

from leads.models import Activity, FormSite, Lead, Stage


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    stage = factory.LazyFunction(lambda: Stage.objects.get(slug="lead"))
    stage_entered_at = factory.LazyFunction(timezone.now)
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    type = "page_view"
    occurred_at = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)
    properties = factory.LazyFunction(lambda: {"url": "https://example.com/pricing"})


class FormSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormSite

    name = "Main website"
    site_key = factory.Sequence(lambda n: f"site{n:04d}key")
    allowed_origins = factory.LazyFunction(lambda: ["https://www.example.com"])
    created_at = factory.LazyFunction(timezone.now)
