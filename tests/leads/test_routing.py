"""Routing a handoff: ordered rules with the first match winning, weighted round robin that
skips reps who are away or full, pools, and a ledger that says why in words."""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest

from leads.handoff.models import Handoff, HandoffStatus, RoutingDecision
from leads.models import Stage, StageChange, StageKind
from leads.routing import services
from leads.routing.models import RoutingChange, RoutingRule, SalesTeam, TargetKind, TeamMember
from leads.scoring.models import LeadScore
from smarketing.errors import ApplicationError
from tests.factories import PersonaFactory
from tests.leads.factories import LeadFactory
from tests.leads.scoring_fixtures import make_model

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday: 07:00 in New York


def make_handoff(*, now: datetime = NOW, lead=None, **lead_fields) -> Handoff:
    """A handoff as `handoff_create` leaves it before routing: in the pool, nobody's."""
    lead = lead or LeadFactory(**lead_fields)
    mql = Stage.objects.filter(kind=StageKind.MQL).first()
    qualification = StageChange.objects.create(
        lead=lead, from_stage=lead.stage, to_stage=mql, changed_at=now
    )
    return Handoff.objects.create(
        lead=lead,
        lead_stage_id=lead.stage_id,
        qualification=qualification,
        why="Fits and engaged",
        created_at=now,
    )


def route(*, now: datetime = NOW, **lead_fields) -> RoutingDecision:
    return services.route_handoff(handoff=make_handoff(now=now, **lead_fields), now=now)


def make_team(name="Inbound", *, tz="UTC", members=()) -> SalesTeam:
    team = SalesTeam.objects.create(name=name, timezone=tz)
    for user, weight in members:
        TeamMember.objects.create(team=team, user=user, weight=weight)
    return team


def make_rule(name, *, order=1, **fields) -> RoutingRule:
    return RoutingRule.objects.create(name=name, order=order, **fields)


def first_name_only(user):
    # The factory gives actors random last names; the ledger texts here stay fixed without.
    user.last_name = ""
    user.save(update_fields=["last_name"])
    return user


@pytest.fixture
def rep(rep):
    return first_name_only(rep)


@pytest.fixture
def rep2(rep2):
    return first_name_only(rep2)


@pytest.fixture
def sales_manager(sales_manager):
    return first_name_only(sales_manager)


@pytest.fixture
def inbound(rep, rep2):
    """Dana (weight 2) and Lee (weight 1), round robin for every lead."""
    team = make_team(members=[(rep, 2), (rep2, 1)])
    make_rule(
        "Everyone else",
        is_default=True,
        target_kind=TargetKind.ROUND_ROBIN,
        target_team=team,
    )
    return team


def owners(decisions) -> list[str]:
    return [d.assigned_to.username if d.assigned_to else "-" for d in decisions]


# --- round robin


def test_weights_two_to_one_over_thirty_handoffs_split_twenty_ten_smoothly(db, inbound):
    decisions = [route() for _ in range(30)]
    assert owners(decisions[:6]) == ["dana", "lee", "dana", "dana", "lee", "dana"]
    assert Counter(owners(decisions)) == {"dana": 20, "lee": 10}
    assert decisions[0].reason == "default rule Everyone else -> round robin -> Dana, next in turn"
    # A full cycle brings every counter back to zero: no rep is owed a turn.
    assert set(TeamMember.objects.values_list("rr_current", flat=True)) == {0}


def test_an_assigned_handoff_names_its_owner_on_the_lead_and_the_ledger(db, inbound, rep):
    decision = route()
    handoff = decision.handoff
    handoff.refresh_from_db()
    handoff.lead.refresh_from_db()
    assert handoff.status == HandoffStatus.ASSIGNED
    assert (handoff.owner, handoff.team, handoff.assigned_at) == (rep, inbound, NOW)
    assert handoff.lead.owner == rep
    assert (decision.rule.name, decision.team, decision.assigned_to) == (
        "Everyone else",
        inbound,
        rep,
    )
    assert decision.target_kind == TargetKind.ROUND_ROBIN


def test_a_rep_out_of_office_is_skipped_until_the_day_after(db, inbound, rep2):
    TeamMember.objects.filter(user=rep2).update(out_of_office_until=date(2026, 11, 27))
    today = [route() for _ in range(3)]
    assert owners(today) == ["dana", "dana", "dana"]
    assert today[0].reason == (
        "default rule Everyone else -> round robin -> Dana, next in turn; "
        "Lee skipped: out of office until Nov 27"
    )
    tomorrow = NOW + timedelta(days=1)
    assert "lee" in owners([route(now=tomorrow) for _ in range(3)])


def test_out_of_office_counts_days_in_the_teams_time_zone(db, rep, rep2):
    # 02:00 UTC on the 28th is still the 27th in Los Angeles, where Lee is out.
    team = make_team("West", tz="America/Los_Angeles", members=[(rep, 1), (rep2, 1)])
    make_rule("West", target_kind=TargetKind.ROUND_ROBIN, target_team=team, is_default=True)
    TeamMember.objects.filter(user=rep2).update(out_of_office_until=date(2026, 11, 27))
    late = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert owners([route(now=late) for _ in range(2)]) == ["dana", "dana"]


def test_outside_working_hours_in_another_time_zone_is_skipped(db, rep, rep2):
    team = make_team("East", tz="America/New_York", members=[(rep, 1), (rep2, 1)])
    make_rule("East coast", target_kind=TargetKind.ROUND_ROBIN, target_team=team, is_default=True)
    TeamMember.objects.filter(user=rep2).update(work_start=time(9), work_end=time(17))
    early = route()  # 12:00 UTC is 07:00 in New York
    assert early.assigned_to == rep
    assert early.reason.endswith(
        "Lee skipped: outside working hours (09:00-17:00 America/New_York, now 07:00)"
    )
    at_ten = NOW + timedelta(hours=3)  # 10:00 in New York
    # Away time earns no credit: Lee rejoins level, and ties go to the first member.
    assert owners([route(now=at_ten) for _ in range(2)]) == ["dana", "lee"]


def test_a_night_shift_across_midnight_counts_as_working(db, rep):
    team = make_team("Night", members=[(rep, 1)])
    make_rule("Night", target_kind=TargetKind.ROUND_ROBIN, target_team=team, is_default=True)
    TeamMember.objects.filter(user=rep).update(work_start=time(22), work_end=time(6))
    assert route(now=datetime(2026, 11, 27, 23, 30, tzinfo=UTC)).assigned_to == rep
    assert route(now=datetime(2026, 11, 27, 3, 0, tzinfo=UTC)).assigned_to == rep
    assert route(now=NOW).assigned_to is None


def test_a_rep_off_on_weekends_is_skipped_on_saturday(db, inbound, rep2):
    TeamMember.objects.filter(user=rep2).update(work_days=[1, 2, 3, 4, 5])
    saturday = NOW + timedelta(days=1)
    decisions = [route(now=saturday) for _ in range(3)]
    assert owners(decisions) == ["dana", "dana", "dana"]
    assert decisions[0].reason.endswith("Lee skipped: not a working day (Sat in UTC)")


def test_a_rep_at_the_cap_of_open_handoffs_is_skipped(db, inbound, rep):
    TeamMember.objects.filter(user=rep).update(max_open_leads=2)
    decisions = [route() for _ in range(5)]
    assert owners(decisions) == ["dana", "lee", "dana", "lee", "lee"]
    assert decisions[3].reason.endswith("Dana skipped: at cap (2 of 2 open)")
    # A closed handoff frees a place.
    Handoff.objects.filter(owner=rep).update(status=HandoffStatus.QUALIFIED)
    assert route().assigned_to == rep


def test_when_every_rep_is_away_the_handoff_waits_in_the_teams_pool(db, inbound):
    TeamMember.objects.update(out_of_office_until=date(2026, 12, 3))
    decision = route()
    handoff = Handoff.objects.get(pk=decision.handoff_id)
    assert (handoff.status, handoff.team, handoff.owner) == (HandoffStatus.POOL, inbound, None)
    assert decision.target_kind == TargetKind.POOL
    assert decision.reason == (
        "default rule Everyone else -> round robin -> nobody available, left in Inbound's pool; "
        "Dana skipped: out of office until Dec 3; Lee skipped: out of office until Dec 3"
    )
    # Skipped reps' counters did not move, so nobody is owed turns when they return.
    assert set(TeamMember.objects.values_list("rr_current", flat=True)) == {0}


def test_an_inactive_member_or_one_with_weight_zero_is_not_in_the_rotation(db, inbound, rep2):
    TeamMember.objects.filter(user=rep2).update(active=False)
    assert owners([route() for _ in range(3)]) == ["dana"] * 3
    TeamMember.objects.filter(user=rep2).update(active=True, weight=0)
    assert owners([route() for _ in range(3)]) == ["dana"] * 3


# --- rules


def test_no_rules_at_all_leave_the_handoff_in_the_shared_pool(db):
    decision = route()
    handoff = Handoff.objects.get(pk=decision.handoff_id)
    assert (handoff.status, handoff.team, handoff.owner) == (HandoffStatus.POOL, None, None)
    assert decision.reason == (
        "No routing rule matched: left in the shared pool for any rep to claim"
    )


def test_the_first_matching_rule_wins_and_the_default_catches_the_rest(
    db, inbound, rep, rep2, sales_manager
):
    emea = make_team("EMEA")
    make_rule("EMEA pool", order=2, countries=["DE", "FR"], target_kind="pool", target_team=emea)
    make_rule(
        "Enterprise -> Sofia",
        order=1,
        field="employees",
        operator="gte",
        value=1000,
        target_kind=TargetKind.REP,
        target_user=sales_manager,
    )
    big_german = route(country="DE", employees=5000)
    small_german = route(country="DE", employees=20)
    american = route(country="US", employees=20)
    assert big_german.reason == "rule Enterprise -> Sofia -> Sofia"
    assert big_german.assigned_to == sales_manager
    assert small_german.reason == "rule EMEA pool -> EMEA's pool"
    assert (small_german.team, small_german.assigned_to) == (emea, None)
    assert american.rule.is_default and american.assigned_to == rep


def test_an_inactive_rule_is_ignored(db, inbound, sales_manager):
    make_rule(
        "Paused", countries=["US"], target_kind="rep", target_user=sales_manager, active=False
    )
    assert route(country="US").rule.name == "Everyone else"


def test_a_rule_matches_on_persona_region_and_a_custom_attribute(db, inbound, sales_manager):
    persona = PersonaFactory(name="Ops VP")
    make_rule(
        "Ops VPs in Bavaria on the enterprise plan",
        persona=persona,
        regions=["bavaria"],
        field="attributes.plan",
        operator="in",
        value=["enterprise"],
        target_kind="rep",
        target_user=sales_manager,
    )
    model = make_model()

    def scored(**fields):
        handoff = make_handoff(**fields)
        LeadScore.objects.create(
            lead=handoff.lead,
            model=model,
            fit=50,
            engagement=50,
            total=100,
            is_mql=True,
            persona=persona,
            scored_at=NOW,
        )
        return services.route_handoff(handoff=handoff, now=NOW).assigned_to

    assert scored(region="Bavaria", attributes={"plan": "Enterprise"}) == sales_manager
    assert scored(region="Bavaria", attributes={"plan": "starter"}) != sales_manager
    assert scored(region="Saxony", attributes={"plan": "enterprise"}) != sales_manager
    assert scored(region="Bavaria", attributes={}) != sales_manager


def test_a_lead_without_a_country_never_falls_into_a_territory(db, inbound, sales_manager):
    make_rule("DACH", countries=["DE", "AT", "CH"], target_kind="rep", target_user=sales_manager)
    assert route(country="").assigned_to != sales_manager
    assert route(country="at").assigned_to == sales_manager


def test_a_rule_for_a_rep_records_the_reps_team(db, inbound, rep2):
    make_rule(
        "Lee's accounts",
        field="company",
        operator="in",
        value=["Acme"],
        target_kind="rep",
        target_user=rep2,
    )
    decision = route(company="Acme")
    assert (decision.assigned_to, decision.team) == (rep2, inbound)


def test_a_rule_whose_rep_was_deactivated_leaves_the_handoff_in_the_pool(db, inbound, rep2):
    make_rule("Lee's accounts", target_kind="rep", target_user=rep2, countries=["US"])
    rep2.is_active = False
    rep2.save()
    decision = route(country="US")
    assert decision.assigned_to is None
    assert decision.reason == (
        "rule Lee's accounts -> its rep is missing or disabled, "
        "left in the shared pool for any rep to claim"
    )


# --- managing rules


def test_creating_a_rule_checks_its_target_and_conditions(db, inbound, sales_manager):
    with pytest.raises(ApplicationError) as exc:
        services.rule_create(
            data={"name": "x", "target_kind": "rep", "countries": "Germany"},
            actor=sales_manager,
            now=NOW,
        )
    assert set(exc.value.extra) == {"target_user", "countries"}
    with pytest.raises(ApplicationError) as exc:
        services.rule_create(
            data={"name": "y", "target_kind": "pool", "target_team": inbound, "is_default": True},
            actor=sales_manager,
            now=NOW,
        )
    assert "already the default rule" in exc.value.extra["is_default"][0]
    with pytest.raises(ApplicationError) as exc:
        services.rule_create(
            data={
                "name": "z",
                "target_kind": "pool",
                "target_team": inbound,
                "field": "employees",
                "operator": "gte",
                "value": "lots",
            },
            actor=sales_manager,
            now=NOW,
        )
    assert "value" in exc.value.extra


def test_rule_edits_moves_and_deactivation_leave_history(db, inbound, sales_manager):
    first = services.rule_create(
        data={"name": "US", "countries": "us, ca", "target_kind": "pool", "target_team": inbound},
        actor=sales_manager,
        now=NOW,
    )
    second = services.rule_create(
        data={
            "name": "Big",
            "field": "employees",
            "operator": "gte",
            "value": "1k",
            "target_kind": "pool",
            "target_team": inbound,
        },
        actor=sales_manager,
        now=NOW,
    )
    assert first.countries == ["US", "CA"] and second.value == 1000
    services.rule_move(rule=second, direction=-1, actor=sales_manager, now=NOW)
    assert [r.name for r in RoutingRule.objects.all()] == ["Big", "US", "Everyone else"]
    services.rule_update(rule=first, data={"countries": ["US"]}, actor=sales_manager, now=NOW)
    services.rule_set_active(rule=first, active=False, actor=sales_manager, now=NOW)
    summaries = list(RoutingChange.objects.order_by("id").values_list("summary", flat=True))
    assert summaries == [
        "Added rule 'US': country is one of US, CA -> Inbound's pool",
        "Added rule 'Big': Employees is at least 1k -> Inbound's pool",
        "Moved rule 'Big' above 'US' (now #1)",
        "Changed rule 'US' (countries): was country is one of US, CA -> Inbound's pool; "
        "now country is one of US -> Inbound's pool",
        "Deactivated rule 'US'",
    ]
    assert RoutingChange.objects.filter(actor=sales_manager).count() == 5


def test_the_default_rule_does_not_move(db, inbound, sales_manager):
    default = RoutingRule.objects.get(is_default=True)
    with pytest.raises(ApplicationError):
        services.rule_move(rule=default, direction=-1, actor=sales_manager, now=NOW)


def test_a_member_needs_both_ends_of_the_working_day(db, inbound, rep, sales_manager):
    member = TeamMember.objects.get(user=rep)
    with pytest.raises(ApplicationError) as exc:
        services.member_save(
            team=inbound, member=member, data={"work_start": time(9)}, actor=sales_manager, now=NOW
        )
    assert "work_end" in exc.value.extra


def test_a_team_needs_a_real_time_zone(db, sales_manager):
    with pytest.raises(ApplicationError) as exc:
        services.team_save(
            data={"name": "Mars", "timezone": "Mars/Olympus"}, actor=sales_manager, now=NOW
        )
    assert "timezone" in exc.value.extra


def test_a_lead_that_qualifies_through_scoring_is_routed_in_the_same_step(db, inbound, rep):
    from leads.models import Activity
    from leads.scoring.services import lead_score
    from tests.leads.scoring_fixtures import make_lead

    make_model()
    lead = make_lead(1, country="US")
    Activity.objects.create(lead=lead, type="demo_request", occurred_at=NOW, received_at=NOW)
    assert lead_score(lead_id=lead.pk, now=NOW).is_mql
    handoff = Handoff.objects.get(lead=lead)
    assert (handoff.status, handoff.owner, handoff.team) == (HandoffStatus.ASSIGNED, rep, inbound)
    assert handoff.decisions.get().reason.startswith("default rule Everyone else -> round robin")
    lead.refresh_from_db()
    assert lead.owner == rep


def test_working_days_read_as_words():
    def label(days):
        return TeamMember(work_days=days).work_days_label

    assert label([1, 2, 3, 4, 5]) == "Mon-Fri"
    assert label([1, 3, 5]) == "Mon, Wed, Fri"
    assert label([6, 7]) == "Sat, Sun"
    assert label([]) == label(list(range(1, 8))) == "every day"
