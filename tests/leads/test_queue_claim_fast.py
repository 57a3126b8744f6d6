"""The fast claim path: the quick role check answers like has_perm, "next lead" respects
pools, order and other reps' locks, and the hand-built answer is what HandoffSerializer
would say after a fresh read. Runs on SQLite (ORM path) and PostgreSQL (hand-written SQL);
the PostgreSQL-only tests at the end need its row locks."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, connections, transaction

from leads.handoff import selectors, services
from leads.handoff.api import HandoffSerializer, handoff_data
from leads.handoff.models import Handoff, HandoffStatus, RejectReason
from leads.models import Lead
from leads.routing.models import TeamMember
from leads.scoring.models import LeadScore, ModelStatus, ScoringModel
from smarketing.errors import Conflict
from tests.factories import PersonaFactory
from tests.leads.queue_fixtures import NOW, make_handoff, make_rep, make_team
from tests.leads.scoring_fixtures import make_model

NEXT = "/api/v1/queue/next/"
User = get_user_model()


def _fresh(user):
    """A new object for the same user, so nothing is remembered from an earlier check."""
    return User.objects.get(pk=user.pk)


def _scored(handoff: Handoff, persona=None) -> Handoff:
    LeadScore.objects.create(
        lead=handoff.lead,
        model=ScoringModel.objects.filter(status=ModelStatus.ACTIVE).first() or make_model(),
        fit=40,
        engagement=35,
        total=75,
        is_mql=True,
        persona=persona,
        scored_at=NOW,
    )
    return handoff


def _serialized(pk: int) -> dict:
    fresh = Handoff.objects.select_related(*services.CLAIM_RELATED, "owner").get(pk=pk)
    return HandoffSerializer(fresh).data


# --- the role check -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_quick_role_check_answers_like_has_perm(
    rep, sales_manager, marketer, marketing_manager, admin_user, outsider
):
    inactive = make_rep("gone", is_active=False)
    direct = User.objects.create(username="direct")  # no role, the permission itself
    direct.user_permissions.add(
        Permission.objects.get(codename="work_queue", content_type__app_label="leads")
    )
    users = [rep, sales_manager, marketer, marketing_manager, admin_user, outsider, inactive]
    users.append(direct)
    answers = {u.username: services.user_can_work_queue(_fresh(u)) for u in users}
    assert answers == {u.username: _fresh(u).has_perm(services.QUEUE_PERMISSION) for u in users}
    assert answers == {
        "dana": True,
        "sofia": True,
        "mia": False,
        "marcus": False,
        "admin": True,
        "olly": False,
        "gone": False,
        "direct": True,
    }


@pytest.mark.django_db
def test_the_role_check_asks_the_database_once_per_user_object(rep, django_assert_num_queries):
    user = _fresh(rep)
    with django_assert_num_queries(1):
        assert services.user_can_work_queue(user)
        assert services.user_can_work_queue(user)


@pytest.mark.django_db
def test_with_another_auth_backend_the_role_check_asks_has_perm(rep, outsider):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            settings,
            "AUTHENTICATION_BACKENDS",
            ["django.contrib.auth.backends.AllowAllUsersModelBackend"],
        )
        calls = []
        original = User.has_perm

        def spy(self, perm, obj=None):
            calls.append(perm)
            return original(self, perm, obj)

        mp.setattr(User, "has_perm", spy)
        assert services.user_can_work_queue(_fresh(rep)) is True
        assert services.user_can_work_queue(_fresh(outsider)) is False
    assert calls == [services.QUEUE_PERMISSION] * 2


@pytest.mark.django_db
def test_an_outsider_gets_403_from_claim_next(outsider, api_for):
    make_handoff()
    response = api_for(outsider).post(NEXT)
    assert response.status_code == 403
    assert "Sales reps and Sales managers" in response.json()["detail"]
    assert Handoff.objects.get().status == HandoffStatus.POOL


# --- what claim next takes ------------------------------------------------------------


@pytest.mark.django_db
def test_claim_next_takes_only_from_the_reps_pools_and_the_teamless_one(rep, rep2):
    mine, theirs = make_team("EMEA", rep), make_team("US", rep2)
    other = make_handoff(team=theirs, created_at=NOW - timedelta(hours=3))
    teamless = make_handoff(created_at=NOW - timedelta(hours=2))
    own = make_handoff(team=mine, created_at=NOW - timedelta(hours=1))
    taken = [services.handoff_claim_next(user=rep, now=NOW).pk for _ in range(2)]
    assert taken == [teamless.pk, own.pk]
    with pytest.raises(Conflict, match="Nothing left to claim"):
        services.handoff_claim_next(user=rep, now=NOW)
    assert Handoff.objects.get(pk=other.pk).status == HandoffStatus.POOL


@pytest.mark.django_db
def test_managers_work_their_teams_pool_and_inactive_members_do_not(rep, rep2, sales_manager):
    team = make_team("EMEA", rep2, manager=sales_manager)
    TeamMember.objects.filter(team=team, user=rep2).update(active=False)
    handoff = make_handoff(team=team)
    with pytest.raises(Conflict):
        services.handoff_claim_next(user=_fresh(rep2), now=NOW)
    assert services.handoff_claim_next(user=sales_manager, now=NOW).pk == handoff.pk


@pytest.mark.django_db
def test_an_admin_takes_from_every_pool(rep, admin_user):
    handoff = make_handoff(team=make_team("US", rep))
    assert services.handoff_claim_next(user=admin_user, now=NOW).pk == handoff.pk


@pytest.mark.django_db
def test_claim_next_writes_what_the_sla_sweep_reads(rep):
    handoff = make_handoff(accept_due_at=NOW + timedelta(hours=1))
    claimed = services.handoff_claim_next(user=rep, now=NOW + timedelta(minutes=5))
    stored = Handoff.objects.get(pk=handoff.pk)
    assert (stored.status, stored.owner_id, stored.assigned_at) == (
        HandoffStatus.ASSIGNED,
        rep.pk,
        NOW + timedelta(minutes=5),
    )
    lead = Lead.objects.get(pk=handoff.lead_id)
    assert (lead.owner_id, lead.updated_at) == (rep.pk, NOW + timedelta(minutes=5))
    # The object handed back says the same as the rows.
    assert (claimed.status, claimed.owner, claimed.assigned_at) == (
        stored.status,
        rep,
        stored.assigned_at,
    )
    assert claimed.accept_due_at == stored.accept_due_at
    assert claimed.lead.owner_id == rep.pk


@pytest.mark.django_db
def test_claim_next_hands_back_the_card_without_another_query(rep, django_assert_num_queries):
    persona = PersonaFactory(name="Ops lead")
    _scored(make_handoff(team=make_team("EMEA", rep), first_name="Ada"), persona)
    handoff = services.handoff_claim_next(user=rep, now=NOW)
    with django_assert_num_queries(0):
        data = handoff_data(handoff)
        assert str(handoff.lead) == data["lead"]["name"] == "Ada " + handoff.lead.last_name
    assert (data["team"], data["persona"], data["owner"]) == ("EMEA", "Ops lead", "dana")


@pytest.mark.django_db
def test_a_lead_without_a_score_reads_as_no_persona_without_querying(
    rep, django_assert_num_queries
):
    make_handoff()
    handoff = services.handoff_claim_next(user=rep, now=NOW)
    with django_assert_num_queries(0):
        assert handoff_data(handoff)["persona"] is None


@pytest.mark.django_db
def test_claim_next_through_the_api_needs_few_queries(rep, api_for, django_assert_num_queries):
    make_handoff(team=make_team("EMEA", rep))
    api = api_for(rep)
    # The role check and one statement that picks, takes and reads the card on PostgreSQL;
    # SQLite's ORM path has a savepoint pair, reads the user's teams and writes twice.
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 7):
        assert api.post(NEXT).status_code == 200


# --- the answer -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_claim_next_answer_is_what_the_serializer_says_after_a_fresh_read(rep, api_for):
    persona = PersonaFactory(name="Ops lead")
    handoff = _scored(
        make_handoff(
            team=make_team("EMEA", rep),
            accept_due_at=NOW + timedelta(hours=2),
            first_name="Ada",
            last_name="Byrne",
            company="Northwind",
            phone="+44 20 1234",
            do_not_call=True,
            score={"fit": 40, "engagement": 35, "total": 75},
        ),
        persona,
    )
    response = api_for(rep).post(NEXT)
    assert response.status_code == 200
    assert response.json()["id"] == handoff.pk
    assert response.json() == api_for(rep).get("/api/v1/queue/?view=mine").json()[0]
    assert response.data == _serialized(handoff.pk)
    assert response.json()["lead"]["phone"] == ""  # do not call
    assert (response.json()["persona"], response.json()["fit"]) == ("Ops lead", 40)


@pytest.mark.django_db
def test_handoff_data_matches_the_serializer_in_every_state(rep, rep2):
    team = make_team("EMEA", rep)
    persona = PersonaFactory(name="Ops lead")
    pooled = make_handoff()
    scored = _scored(make_handoff(team=team, accept_due_at=NOW), persona)
    no_persona = _scored(make_handoff(do_not_email=True))
    erased = make_handoff(owner=rep, status=HandoffStatus.ASSIGNED)
    Lead.objects.filter(pk=erased.lead_id).update(erased_at=NOW, first_name="", last_name="")
    rejected = make_handoff(owner=rep2, status=HandoffStatus.REJECTED)
    Handoff.objects.filter(pk=rejected.pk).update(
        reject_reason=RejectReason.OTHER,
        reject_note="Wrong country",
        closed_at=NOW,
        accepted_at=NOW - timedelta(minutes=30),
        first_touch_at=NOW - timedelta(minutes=10),
        first_touch_due_at=NOW + timedelta(seconds=1, microseconds=5),
        score={},
    )
    for handoff in (pooled, scored, no_persona, erased, rejected):
        fresh = Handoff.objects.select_related(*services.CLAIM_RELATED, "owner").get(pk=handoff.pk)
        assert handoff_data(fresh) == HandoffSerializer(fresh).data, handoff


@pytest.mark.django_db
def test_the_queue_lists_say_what_the_serializer_says(rep, api_for):
    team = make_team("EMEA", rep)
    persona = PersonaFactory(name="Ops lead")
    _scored(make_handoff(team=team, accept_due_at=NOW), persona)
    make_handoff(do_not_email=True)
    _scored(make_handoff(owner=rep, status=HandoffStatus.ASSIGNED, team=team))
    make_handoff(owner=rep, status=HandoffStatus.ACCEPTED)
    api = api_for(rep)
    for view, read in (("pool", selectors.queue_for_user), ("mine", selectors.my_leads)):
        listed = api.get(f"/api/v1/queue/?view={view}")
        assert listed.status_code == 200
        assert len(listed.data) == 2
        assert listed.data == HandoffSerializer(read(_fresh(rep)), many=True).data


# --- PostgreSQL: other reps' locks ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_claim_next_skips_the_lead_another_rep_is_claiming_right_now(rep, rep2):
    first = make_handoff(created_at=NOW - timedelta(hours=2))
    second = make_handoff(created_at=NOW - timedelta(hours=1))
    locked, release, taken = threading.Event(), threading.Event(), []

    def slow_claim():
        try:
            with transaction.atomic():
                taken.append(services._claim_next_locked(rep, NOW).pk)
                locked.set()
                release.wait(10)
                transaction.set_rollback(True)
        finally:
            connections.close_all()

    other = threading.Thread(target=slow_claim)
    other.start()
    try:
        assert locked.wait(10)
        # The first lead is row-locked by the other transaction: SKIP LOCKED passes it by
        # instead of waiting, and this rep gets the next one at once.
        assert services.handoff_claim_next(user=rep2, now=NOW).pk == second.pk
    finally:
        release.set()
        other.join()
    assert taken == [first.pk]
    assert Handoff.objects.get(pk=first.pk).status == HandoffStatus.POOL


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_the_prepared_claim_survives_a_rollback_and_a_new_connection(rep):
    handoffs = [make_handoff(created_at=NOW + timedelta(minutes=i)) for i in range(3)]
    with pytest.raises(RuntimeError), transaction.atomic():
        services.handoff_claim_next(user=rep, now=NOW)
        raise RuntimeError("the request failed after the claim")
    # Rolled back: the same lead is still first, and the statements are still prepared.
    assert services.handoff_claim_next(user=rep, now=NOW).pk == handoffs[0].pk
    connection.close()
    # A new session has none of them prepared; the claim prepares them again.
    assert services.handoff_claim_next(user=_fresh(rep), now=NOW).pk == handoffs[1].pk
    assert Handoff.objects.filter(status=HandoffStatus.ASSIGNED, owner=rep).count() == 2
