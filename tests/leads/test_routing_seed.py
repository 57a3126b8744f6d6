"""Demo routing: two teams, three rules, set up once, and the demo handoffs routed by them."""

from io import StringIO

import pytest
from django.core.management import call_command

from leads.handoff.models import Handoff, RoutingDecision
from leads.routing import seed
from leads.routing.models import RoutingChange, RoutingRule, SalesTeam, TeamMember
from smarketing.seed import seed_users
from tests.leads.test_routing import NOW, route

pytestmark = pytest.mark.django_db


def test_demo_routing_is_set_up_once_and_routes_by_territory_and_size():
    seed_users()
    seed.run(now=NOW, stdout=StringIO())
    seed.run(now=NOW, stdout=StringIO())
    assert list(SalesTeam.objects.values_list("name", flat=True)) == ["EMEA", "Inbound"]
    assert [r.name for r in RoutingRule.objects.all()] == [
        "Enterprise -> Sofia's pick",
        "EMEA to the EMEA pool",
        "Everyone else",
    ]
    weights = dict(
        TeamMember.objects.filter(team__name="Inbound").values_list("user__username", "weight")
    )
    assert weights == {"dana": 2, "lee": 1}
    assert RoutingChange.objects.count() == 9
    assert route(country="US", employees=200).assigned_to.username == "dana"
    assert route(country="US", employees=9000).assigned_to.username == "sofia"
    emea = route(country="DE", employees=300)
    assert (emea.assigned_to, emea.team.name) == (None, "EMEA")


def test_seed_demo_routes_every_demo_handoff_with_a_reason():
    call_command("seed_demo", stdout=StringIO())
    handoffs = Handoff.objects.count()
    assert handoffs > 0
    # Claims and reassignments add rows later; routing wrote the first one of each.
    assert Handoff.objects.filter(decisions__isnull=True).count() == 0
    assert not RoutingDecision.objects.filter(reason="").exists()
    assert RoutingDecision.objects.filter(reason__contains="round robin").exists()
