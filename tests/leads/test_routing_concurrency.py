"""Round robin under concurrent handoffs on PostgreSQL: the team's row lock makes every
handoff read the counters the previous one wrote, so the weighted split is exact."""

import threading
from collections import Counter

import pytest
from django.conf import settings
from django.db import connections, transaction

from leads.handoff.models import Handoff, HandoffStatus, RoutingDecision
from leads.routing.models import TargetKind, TeamMember
from leads.routing.services import route_handoff
from tests.factories import UserFactory
from tests.leads.test_routing import NOW, make_handoff, make_rule, make_team

THREADS = 20
HANDOFFS = 40


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_twenty_threads_routing_forty_handoffs_split_exactly_by_weight():
    ana, ben, cai = (UserFactory(username=n) for n in ("ana", "ben", "cai"))
    team = make_team("Inbound", members=[(ana, 2), (ben, 1), (cai, 1)])
    make_rule("All", is_default=True, target_kind=TargetKind.ROUND_ROBIN, target_team=team)
    handoff_ids = [make_handoff().pk for _ in range(HANDOFFS)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(ids: list[int]) -> None:
        try:
            barrier.wait()
            for pk in ids:
                with transaction.atomic():
                    handoff = Handoff.objects.select_related("lead").get(pk=pk)
                    route_handoff(handoff=handoff, now=NOW)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=work, args=(handoff_ids[i::THREADS],)) for i in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    owners = Counter(
        Handoff.objects.filter(status=HandoffStatus.ASSIGNED).values_list(
            "owner__username", flat=True
        )
    )
    # Weights 2:1:1 over 40 handoffs: ten full cycles, so 20/10/10 exactly, none lost.
    assert owners == {"ana": 20, "ben": 10, "cai": 10}
    assert RoutingDecision.objects.count() == HANDOFFS
    # Ten full cycles bring every counter back to where it started.
    assert set(TeamMember.objects.values_list("rr_current", flat=True)) == {0}
