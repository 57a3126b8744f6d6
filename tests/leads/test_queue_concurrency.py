"""Claims racing on PostgreSQL. Twenty reps clicking Claim on one lead: exactly one wins.
Twenty reps taking "next lead" from a pool of a hundred: a hundred distinct claims. And the
same harness with the row locks switched off finds double claims, so these tests can fail."""

import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connections, transaction

from leads.handoff import services
from leads.handoff.models import Handoff, HandoffStatus
from smarketing.errors import Conflict
from tests.leads.queue_fixtures import NOW, make_handoff, make_rep

THREADS = 20
POOL = 100

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True),
]


def _run(target, args_per_thread) -> list[BaseException]:
    barrier = threading.Barrier(len(args_per_thread))
    errors: list[BaseException] = []

    def work(*args):
        try:
            barrier.wait()
            target(*args)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=args) for args in args_per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def race_claim_one(reps) -> tuple[list[str], list[str]]:
    """Every rep claims the same lead at once: (winners, conflict messages)."""
    handoff = make_handoff()
    winners: list[str] = []
    conflicts: list[str] = []

    def claim(rep):
        try:
            services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
            winners.append(rep.username)
        except Conflict as exc:
            conflicts.append(exc.message)

    assert _run(claim, [(r,) for r in reps]) == []
    return winners, conflicts


def race_claim_next(reps, pool: int) -> list[int]:
    """Every rep takes "next lead" until the pool is empty: the handoff ids claimed, one
    entry per successful claim (a double claim shows up twice)."""
    for _ in range(pool):
        make_handoff()
    claims: list[int] = []

    def drain(rep):
        while True:
            try:
                claims.append(services.handoff_claim_next(user=rep, now=NOW).pk)
            except Conflict:
                return

    assert _run(drain, [(r,) for r in reps]) == []
    return claims


def _locks_off(monkeypatch):
    """Read without select_for_update, then pause so that racing threads overlap the way
    they do under load: what the locks prevent becomes visible."""

    def unlocked_get(handoff_id):
        handoff = Handoff.objects.get(pk=handoff_id)
        time.sleep(0.05)
        return handoff

    def unlocked_next(user):
        handoff = services.claimable_handoffs(user).order_by("created_at", "id").first()
        time.sleep(0.02)
        return handoff

    def unlocked_claim_next(user, now):
        with transaction.atomic():
            handoff = unlocked_next(user)
            return None if handoff is None else services._take(handoff, user, now)

    monkeypatch.setattr(services, "_handoff_for_update", unlocked_get)
    monkeypatch.setattr(services, "_next_pool_handoff", unlocked_next)
    monkeypatch.setattr(services, "_claim_next_locked", unlocked_claim_next)


@pytest.fixture
def reps():
    return [make_rep(f"rep{i:02d}") for i in range(THREADS)]


def test_twenty_reps_claiming_one_lead_make_exactly_one_winner(reps):
    winners, conflicts = race_claim_one(reps)
    assert len(winners) == 1
    assert len(conflicts) == THREADS - 1
    assert set(conflicts) == {f"Already claimed by {winners[0].title()}."}
    handoff = Handoff.objects.get()
    assert (handoff.status, handoff.owner.username) == (HandoffStatus.ASSIGNED, winners[0])


def test_twenty_reps_taking_next_from_a_pool_of_a_hundred_claim_each_once(reps):
    claims = race_claim_next(reps, POOL)
    assert len(claims) == POOL
    assert len(set(claims)) == POOL
    assert not Handoff.objects.filter(status=HandoffStatus.POOL).exists()
    owners = Counter(Handoff.objects.values_list("owner__username", flat=True))
    assert sum(owners.values()) == POOL and None not in owners
    # SKIP LOCKED spreads the work: more than one rep got leads.
    assert len(owners) > 1


def test_without_locks_the_claim_harness_detects_double_winners(reps, monkeypatch):
    _locks_off(monkeypatch)
    winners, _ = race_claim_one(reps)
    assert len(winners) > 1


def test_without_locks_the_next_lead_harness_detects_double_claims(reps, monkeypatch):
    _locks_off(monkeypatch)
    claims = race_claim_next(reps, POOL)
    assert len(claims) > len(set(claims))
