"""The sales queue services: claim, take next, accept, reject to nurture, touches, qualify
and disqualify, with their role, ownership and state checks."""

from datetime import timedelta

import pytest

from leads.handoff import services
from leads.handoff.models import HandoffStatus, RejectReason, Touch
from leads.models import Lead, LeadScore, StageChange, StageKind
from smarketing.errors import ApplicationError, Conflict
from tests.factories import PersonaFactory
from tests.leads.queue_fixtures import NOW, make_handoff, make_team
from tests.leads.scoring_fixtures import make_model

pytestmark = pytest.mark.django_db


def _stage_kind(handoff) -> str:
    return Lead.objects.select_related("stage").get(pk=handoff.lead_id).stage.kind


def test_claim_makes_the_rep_owner_of_handoff_and_lead(rep):
    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    handoff.refresh_from_db()
    assert (handoff.status, handoff.owner, handoff.assigned_at) == (
        HandoffStatus.ASSIGNED,
        rep,
        NOW,
    )
    assert Lead.objects.get(pk=handoff.lead_id).owner == rep


def test_second_claim_gets_conflict_naming_the_winner(rep, rep2):
    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    with pytest.raises(Conflict, match="Already claimed by Dana"):
        services.handoff_claim(handoff_id=handoff.pk, user=rep2, now=NOW)
    with pytest.raises(Conflict, match="You already have this lead"):
        services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)


def test_marketer_cannot_claim(marketer):
    handoff = make_handoff()
    with pytest.raises(ApplicationError, match="Only Sales") as caught:
        services.handoff_claim(handoff_id=handoff.pk, user=marketer, now=NOW)
    assert caught.value.status_code == 403
    assert type(handoff).objects.get(pk=handoff.pk).status == HandoffStatus.POOL


def test_a_team_pool_is_claimable_only_by_its_members_and_manager(rep, rep2, sales_manager):
    team = make_team("EMEA", rep, manager=sales_manager)
    handoff = make_handoff(team=team)
    with pytest.raises(ApplicationError, match="EMEA pool") as caught:
        services.handoff_claim(handoff_id=handoff.pk, user=rep2, now=NOW)
    assert caught.value.status_code == 403
    services.handoff_claim(handoff_id=handoff.pk, user=sales_manager, now=NOW)
    other = make_handoff(team=team)
    services.handoff_claim(handoff_id=other.pk, user=rep, now=NOW)


def test_claim_next_takes_the_oldest_claimable_and_then_says_the_pool_is_empty(rep, rep2):
    elsewhere = make_team("US", rep2)
    make_handoff(team=elsewhere, created_at=NOW - timedelta(hours=5))
    newer = make_handoff(created_at=NOW - timedelta(hours=1))
    older = make_handoff(created_at=NOW - timedelta(hours=2))
    assert services.handoff_claim_next(user=rep, now=NOW).pk == older.pk
    assert services.handoff_claim_next(user=rep, now=NOW).pk == newer.pk
    with pytest.raises(Conflict, match="Nothing left to claim"):
        services.handoff_claim_next(user=rep, now=NOW)


def test_accept_moves_the_lead_to_sal_with_a_history_row(rep):
    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    services.handoff_accept(handoff_id=handoff.pk, user=rep, now=NOW + timedelta(minutes=3))
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.ACCEPTED
    assert handoff.accepted_at == NOW + timedelta(minutes=3)
    assert _stage_kind(handoff) == StageKind.SAL
    change = StageChange.objects.filter(lead=handoff.lead_id).last()
    assert (change.to_stage.kind, change.changed_by, change.reason) == (
        StageKind.SAL,
        rep,
        "Accepted by Sales",
    )


def test_rep_cannot_act_on_another_reps_lead(rep, rep2):
    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    for act in (services.handoff_accept, services.handoff_qualify, services.handoff_disqualify):
        with pytest.raises(ApplicationError, match="belongs to Dana") as caught:
            act(handoff_id=handoff.pk, user=rep2, now=NOW)
        assert caught.value.status_code == 403
    with pytest.raises(ApplicationError, match="belongs to Dana"):
        services.handoff_reject(
            handoff_id=handoff.pk, user=rep2, reason=RejectReason.NOT_ICP, now=NOW
        )
    with pytest.raises(ApplicationError, match="belongs to Dana"):
        services.touch_log(
            handoff_id=handoff.pk, user=rep2, kind="call", outcome="connected", now=NOW
        )
    assert _stage_kind(handoff) == StageKind.MQL


def test_acting_on_an_unclaimed_lead_asks_to_claim_it_first(rep):
    handoff = make_handoff()
    with pytest.raises(ApplicationError, match="Claim this lead before you accept it"):
        services.handoff_accept(handoff_id=handoff.pk, user=rep, now=NOW)


def test_qualify_needs_an_accepted_lead(rep):
    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    with pytest.raises(Conflict, match="cannot qualify"):
        services.handoff_qualify(handoff_id=handoff.pk, user=rep, now=NOW)


def test_reject_recycles_the_lead_clears_its_owner_and_keeps_the_reason(rep):
    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    services.handoff_reject(
        handoff_id=handoff.pk,
        user=rep,
        reason=RejectReason.NO_BUDGET,
        note="Freeze until Q3",
        now=NOW,
    )
    handoff.refresh_from_db()
    lead = Lead.objects.select_related("stage").get(pk=handoff.lead_id)
    assert (handoff.status, handoff.reject_reason, handoff.reject_note, handoff.closed_at) == (
        HandoffStatus.REJECTED,
        RejectReason.NO_BUDGET,
        "Freeze until Q3",
        NOW,
    )
    assert (lead.stage.kind, lead.owner) == (StageKind.RECYCLED, None)
    change = StageChange.objects.filter(lead=lead).last()
    assert change.reason == "Rejected by Sales: No budget or authority (Freeze until Q3)"
    with pytest.raises(Conflict, match="rejected"):
        services.handoff_accept(handoff_id=handoff.pk, user=rep, now=NOW)


def test_reject_needs_a_known_reason_and_a_note_for_other(rep):
    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    with pytest.raises(ApplicationError) as caught:
        services.handoff_reject(handoff_id=handoff.pk, user=rep, reason="meh", now=NOW)
    assert "reason" in caught.value.extra
    with pytest.raises(ApplicationError) as caught:
        services.handoff_reject(handoff_id=handoff.pk, user=rep, reason="other", note=" ", now=NOW)
    assert "note" in caught.value.extra
    assert type(handoff).objects.get(pk=handoff.pk).status == HandoffStatus.ASSIGNED


def test_first_touch_is_stamped_once_and_every_touch_counted(rep):
    from tests.factories import ContentPieceFactory

    piece = ContentPieceFactory()
    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    first = NOW + timedelta(minutes=4)
    services.touch_log(handoff_id=handoff.pk, user=rep, kind="call", outcome="voicemail", now=first)
    services.touch_log(
        handoff_id=handoff.pk,
        user=rep,
        kind="email",
        outcome="connected",
        content_id=piece.pk,
        note="Sent the ROI guide",
        now=first + timedelta(hours=1),
    )
    handoff.refresh_from_db()
    assert (handoff.first_touch_at, handoff.touch_count) == (first, 2)
    touches = list(Touch.objects.filter(handoff=handoff).order_by("touched_at"))
    assert [(t.kind, t.outcome, t.content_id) for t in touches] == [
        ("call", "voicemail", None),
        ("email", "connected", piece.pk),
    ]


def test_touch_with_bad_kind_or_unknown_content_names_the_fields(rep):
    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    with pytest.raises(ApplicationError) as caught:
        services.touch_log(
            handoff_id=handoff.pk,
            user=rep,
            kind="fax",
            outcome="connected",
            content_id=999,
            now=NOW,
        )
    assert set(caught.value.extra) == {"kind", "content"}


def test_qualify_and_disqualify_close_the_handoff_and_move_the_lead(rep):
    won, lost = make_handoff(), make_handoff()
    for h in (won, lost):
        services.handoff_claim(handoff_id=h.pk, user=rep, now=NOW)
        services.handoff_accept(handoff_id=h.pk, user=rep, now=NOW)
    services.handoff_qualify(handoff_id=won.pk, user=rep, note="Budget and timeline", now=NOW)
    services.handoff_disqualify(handoff_id=lost.pk, user=rep, now=NOW)
    won.refresh_from_db()
    lost.refresh_from_db()
    assert (won.status, _stage_kind(won)) == (HandoffStatus.QUALIFIED, StageKind.SQL)
    assert (lost.status, _stage_kind(lost)) == (HandoffStatus.DISQUALIFIED, StageKind.DISQUALIFIED)
    # The handoffs carry their lead's current stage for the conversion figures.
    assert (won.lead_stage.kind, lost.lead_stage.kind) == (
        StageKind.SQL,
        StageKind.DISQUALIFIED,
    )
    assert won.closed_at == lost.closed_at == NOW
    kinds = list(
        StageChange.objects.filter(lead=won.lead_id)
        .order_by("changed_at", "id")
        .values_list("to_stage__kind", flat=True)
    )
    assert kinds == [StageKind.MQL, StageKind.SAL, StageKind.SQL]


def test_a_lead_rejected_and_qualifying_again_gets_a_new_handoff(rep):
    from leads.handoff.models import Handoff
    from leads.handoff.services import handoff_create
    from leads.models import Stage
    from leads.services import lead_change_stage

    handoff = make_handoff()
    services.handoff_claim(handoff_id=handoff.pk, user=rep, now=NOW)
    services.handoff_reject(handoff_id=handoff.pk, user=rep, reason="not_icp", now=NOW)
    lead = Lead.objects.get(pk=handoff.lead_id)
    persona = PersonaFactory(name="Ops leader")
    LeadScore.objects.create(
        lead=lead,
        model=make_model(),
        fit=60,
        engagement=40,
        total=100,
        is_mql=True,
        persona=persona,
        scored_at=NOW,
    )
    requalified = lead_change_stage(
        lead=lead, to_stage=Stage.objects.get(slug="mql"), now=NOW + timedelta(days=30)
    )
    second = handoff_create(
        lead=lead,
        qualification=requalified,
        score={"fit": 40, "total": 70},
        why="Came back",
        scoring_model=None,
        now=NOW + timedelta(days=30),
    )
    assert second.pk != handoff.pk
    assert Handoff.objects.filter(lead=lead).count() == 2
    assert second.is_open
    # Both handoffs follow the lead back to MQL; the new one records the lead's source.
    handoff.refresh_from_db()
    assert handoff.lead_stage.kind == second.lead_stage.kind == StageKind.MQL
    assert (second.source, second.persona) == (lead.source, persona)


def test_claim_next_takes_the_earliest_due_before_older_ones_without_a_due_time(rep):
    no_due = make_handoff(created_at=NOW - timedelta(hours=9))
    due_later = make_handoff(
        created_at=NOW - timedelta(hours=1), accept_due_at=NOW + timedelta(hours=2)
    )
    due_soon = make_handoff(created_at=NOW - timedelta(hours=2), accept_due_at=NOW)
    taken = [services.handoff_claim_next(user=rep, now=NOW).pk for _ in range(3)]
    assert taken == [due_soon.pk, due_later.pk, no_due.pk]
