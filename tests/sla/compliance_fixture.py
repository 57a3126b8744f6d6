# ruff: noqa: E501 -- the fixture is a table; one handoff per line reads best.
"""A dozen handoffs with known times, touches, rejections and clocks. The compliance tests
compute every figure from this table by hand.

 #  owner  team  created      notify touch answer           touches source   model persona  stage     FT clock / accept clock
 1  dana   EMEA  Mon 2 Nov    1      3     accepted 10       3       webinar  v1    Ops      sql (Q)   met / met
 2  dana   EMEA  Mon 2 Nov    1      4     accepted 20       1       webinar  v1    Ops      mql       met / met
 3  dana   EMEA  Mon 2 Nov    2      10    accepted 30       3       ads      v1    Ops      customer  breached / met
 4  dana   EMEA  Mon 2 Nov    2      20    rejected 40 ICP   1       ads      v1    Ops      mql       breached / met
 5  dana   EMEA  Mon 9 Nov    3      45    accepted 50       2       ads      v1    Founder  mql       breached / met
 6  lee    EMEA  Mon 9 Nov    5      90    accepted 60       4       webinar  v1    Founder  opport.   breached / met
 7  lee    EMEA  Mon 9 Nov    5      300   rejected 120 bud. 1       ads      v2    Founder  mql       breached / breached
 8  lee    EMEA  Mon 9 Nov    10     2000  accepted 200      3       webinar  v2    Founder  mql       breached / breached
 9  lee    EMEA  Mon 16 Nov   10     -     -                 0       ""       v2    -        mql       breached / breached
10  pool   US    Mon 16 Nov   -      -     -                 0       ""       v2    -        mql       on track / -
11  dana   US    Mon 16 Nov   1      2     rejected 5 ICP    1       ""       v2    -        mql       met / met
12  dana   EMEA  Sat 31 Oct   1      1     accepted 2        1       ads      v1    Ops      mql       met / met   (before November)

Minutes are counted from the handoff's creation. The agreement: first touch within 5, accept
within 60, at least 3 attempts, at least 10 MQLs a month, 70% acceptance, at most 15% not ICP.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from leads.handoff.models import Handoff, HandoffStatus, Touch
from leads.models import StageChange
from leads.routing.models import SalesTeam
from leads.scoring.models import LeadScore
from sla.models import AgreementStatus, ClockKind, ClockStatus, SlaAgreement, SlaClock
from sla.selectors import filters_for_days
from tests.factories import PersonaFactory
from tests.leads.scoring_fixtures import make_lead, make_model

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def november(**rest):
    return filters_for_days(*NOVEMBER, **rest)


@dataclass
class Row:
    owner: str | None
    team: str
    created: datetime
    notify: int | None
    touch: int | None
    answer: tuple[str, int, str] | None  # ("accepted"|"rejected", minutes, reason)
    touches: int
    source: str
    model: int
    persona: str | None
    stage: str
    status: str
    first_touch_clock: str
    accept_clock: str | None


def _at(day: int, month: int = 11, minute: int = 0) -> datetime:
    return datetime(2026, month, day, 10, minute, tzinfo=UTC)


A, R = "accepted", "rejected"
MET, BR, OT = ClockStatus.MET, ClockStatus.BREACHED, ClockStatus.ON_TRACK
ROWS = [
    Row("dana", "EMEA", _at(2, minute=1), 1, 3, (A, 10, ""), 3, "webinar", 1, "Ops leader", "sql", HandoffStatus.QUALIFIED, MET, MET),
    Row("dana", "EMEA", _at(2, minute=2), 1, 4, (A, 20, ""), 1, "webinar", 1, "Ops leader", "mql", HandoffStatus.ACCEPTED, MET, MET),
    Row("dana", "EMEA", _at(2, minute=3), 2, 10, (A, 30, ""), 3, "ads", 1, "Ops leader", "customer", HandoffStatus.QUALIFIED, BR, MET),
    Row("dana", "EMEA", _at(2, minute=4), 2, 20, (R, 40, "not_icp"), 1, "ads", 1, "Ops leader", "mql", HandoffStatus.REJECTED, BR, MET),
    Row("dana", "EMEA", _at(9, minute=1), 3, 45, (A, 50, ""), 2, "ads", 1, "Founder", "mql", HandoffStatus.ACCEPTED, BR, MET),
    Row("lee", "EMEA", _at(9, minute=2), 5, 90, (A, 60, ""), 4, "webinar", 1, "Founder", "opportunity", HandoffStatus.ACCEPTED, BR, MET),
    Row("lee", "EMEA", _at(9, minute=3), 5, 300, (R, 120, "no_budget"), 1, "ads", 2, "Founder", "mql", HandoffStatus.REJECTED, BR, BR),
    Row("lee", "EMEA", _at(9, minute=4), 10, 2000, (A, 200, ""), 3, "webinar", 2, "Founder", "mql", HandoffStatus.ACCEPTED, BR, BR),
    Row("lee", "EMEA", _at(16, minute=1), 10, None, None, 0, "", 2, None, "mql", HandoffStatus.ASSIGNED, BR, BR),
    Row(None, "US", _at(16, minute=2), None, None, None, 0, "", 2, None, "mql", HandoffStatus.POOL, OT, None),
    Row("dana", "US", _at(16, minute=3), 1, 2, (R, 5, "not_icp"), 1, "", 2, None, "mql", HandoffStatus.REJECTED, MET, MET),
    Row("dana", "EMEA", _at(31, month=10), 1, 1, (A, 2, ""), 1, "ads", 1, "Ops leader", "mql", HandoffStatus.ACCEPTED, MET, MET),
]  # fmt: skip


@dataclass
class Dataset:
    handoffs: list[Handoff]
    teams: dict[str, SalesTeam]
    personas: dict
    models: dict
    agreement: SlaAgreement


def build(*, users: dict) -> Dataset:
    """`users` maps "dana" and "lee" to the reps."""
    agreement = SlaAgreement.objects.create(
        version=1,
        status=AgreementStatus.ACTIVE,
        accept_within_minutes=60,
        first_touch_within_minutes=5,
        min_attempts=3,
        attempts_within_days=7,
        min_mqls_per_month=10,
        min_acceptance_percent=70,
        max_not_icp_percent=15,
        created_at=_at(1, month=10),
    )
    teams = {name: SalesTeam.objects.create(name=name) for name in ("EMEA", "US")}
    models = {1: make_model(version=1), 2: make_model(version=2, status="retired")}
    personas = {name: PersonaFactory(name=name) for name in ("Ops leader", "Founder")}
    handoffs = []
    for n, row in enumerate(ROWS, start=1):
        lead = make_lead(1000 + n, stage_slug=row.stage, source=row.source)
        LeadScore.objects.create(
            lead=lead,
            model=models[row.model],
            fit=50,
            engagement=50,
            total=100,
            is_mql=True,
            persona=personas.get(row.persona),
            scored_at=row.created,
        )
        change = StageChange.objects.create(
            lead=lead, from_stage=lead.stage, to_stage=lead.stage, changed_at=row.created
        )
        owner = users.get(row.owner)
        answer = row.answer or (None, None, "")

        def minutes(m, created=row.created):
            return None if m is None else created + timedelta(minutes=m)

        handoff = Handoff.objects.create(
            lead=lead,
            lead_stage_id=lead.stage_id,
            persona=personas.get(row.persona),
            source=row.source,
            touch_count=row.touches,
            qualification=change,
            scoring_model=models[row.model],
            why="fixture",
            status=row.status,
            team=teams[row.team],
            owner=owner,
            created_at=row.created,
            notified_at=minutes(row.notify),
            assigned_at=row.created if owner else None,
            first_touch_at=minutes(row.touch),
            accepted_at=minutes(answer[1]) if answer[0] == A else None,
            closed_at=minutes(answer[1]) if answer[0] == R else None,
            reject_reason=answer[2],
        )
        for t in range(row.touches):
            Touch.objects.create(
                handoff=handoff,
                lead=lead,
                rep=owner,
                kind="call",
                outcome="no_answer",
                touched_at=row.created + timedelta(minutes=row.touch + 60 * t),
            )
        clocks = [(ClockKind.FIRST_TOUCH, row.first_touch_clock, 5)]
        if row.accept_clock:
            clocks.append((ClockKind.ACCEPT, row.accept_clock, 60))
        for kind, status, window in clocks:
            due = row.created + timedelta(minutes=window)
            SlaClock.objects.create(
                handoff=handoff,
                agreement=agreement,
                kind=kind,
                status=status,
                owner=owner,
                started_at=row.created,
                handoff_created_at=handoff.created_at,
                warn_at=row.created + timedelta(minutes=window * 0.75),
                due_at=due,
                next_check_at=due,
                breached_at=due if status == BR else None,
                met_at=due if status == MET else None,
            )
        handoffs.append(handoff)
    return Dataset(handoffs, teams, personas, models, agreement)
