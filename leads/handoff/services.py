"""Handoff writes. `handoff_create` runs inside the qualification's transaction; the actions
Sales takes on a handoff (claim, accept, reject, touch, qualify) live here too."""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from leads.handoff.models import (
    Handoff,
    HandoffStatus,
    RejectReason,
    RoutingDecision,
    Touch,
    TouchKind,
    TouchOutcome,
)
from leads.handoff.notify import handoffs_notify
from leads.handoff.signals import handoffs_creating
from leads.models import Lead, LeadScore, Stage, StageChange, StageKind
from leads.routing.models import SalesTeam
from leads.routing.services import route_handoffs
from leads.services import lead_change_stage
from personas.models import ContentPiece, Persona
from smarketing.errors import ApplicationError, Conflict

logger = logging.getLogger(__name__)


@dataclass
class Qualified:
    """A lead that just qualified, for handoffs_create: the lead (locked by the caller), the
    MQL StageChange that records it, and the score that made it."""

    lead: Lead
    qualification: StageChange
    score: dict
    why: str
    scoring_model: object


def handoffs_create(
    *, qualified: list[Qualified], now: datetime, fresh: bool = False
) -> list[Handoff]:
    """Hand leads that just qualified to Sales: one Handoff per qualification (the MQL
    StageChange is unique on Handoff), routed at once, its SLA clocks started and its
    outbox rows written, all with a fixed number of statements for the batch (a rescore
    qualifies thousands at a time; a single lead costs the same statements). Call it inside
    the transaction that recorded the qualifications. Returns the handoffs it created; a
    qualification already handed over is left alone (`fresh`: the caller has just recorded
    every qualification, so none can have been)."""
    if not qualified:
        return []
    done = set()
    if not fresh:
        done = set(
            Handoff.objects.filter(
                qualification__in=[q.qualification.pk for q in qualified]
            ).values_list("qualification_id", flat=True)
        )
    handoffs = [
        Handoff(
            lead=q.lead,
            qualification=q.qualification,
            scoring_model=q.scoring_model,
            score=q.score,
            why=q.why,
            status=HandoffStatus.POOL,
            created_at=now,
            lead_stage_id=q.lead.stage_id,
            persona_id=_persona_id(q.lead),
            source=q.lead.source,
        )
        for q in qualified
        if q.qualification.pk not in done
    ]
    if not handoffs:
        return []
    # Routed, given their SLA due times and marked notified before they are inserted, so
    # each row goes in whole; the ledger, the clocks and the outbox rows follow.
    ledger = route_handoffs(
        handoffs=handoffs, now=now, personas={h.lead_id: h.persona_id for h in handoffs}
    )
    after_insert = handoffs_creating.send(sender=Handoff, handoffs=handoffs, now=now)
    for handoff in handoffs:
        handoff.notified_at = now  # the outbox rows below commit with it
    Handoff.objects.bulk_create(handoffs)
    RoutingDecision.objects.bulk_create(ledger)
    for _receiver, then in after_insert:
        if callable(then):
            then()
    # The outbox rows commit with the handoffs: the in-app message exists the moment the
    # handoff does, and email and webhooks are relayed right after commit (no extra task hop
    # in between; the reconciler still re-drives a handoff never notified).
    handoffs_notify(handoffs=handoffs, now=now, fresh=True)
    return handoffs


def _persona_id(lead: Lead) -> int | None:
    """The persona of the lead's current score (select_related("current_score") saves the
    query per lead)."""
    try:
        return lead.current_score.persona_id
    except LeadScore.DoesNotExist:
        return None


def handoff_create(
    *, lead: Lead, qualification: StageChange, score: dict, why: str, scoring_model, now: datetime
) -> Handoff:
    """Hand one lead that just qualified to Sales (see handoffs_create); returns its handoff,
    the existing one when this qualification was handed over already."""
    created = handoffs_create(
        qualified=[Qualified(lead, qualification, score, why, scoring_model)], now=now
    )
    return created[0] if created else Handoff.objects.get(qualification=qualification)


# --- What Sales does with a handoff -------------------------------------------------------
#
# Every action locks the handoff row first (then, through lead_change_stage, the lead), in
# that order everywhere, so two actions on one lead queue up instead of deadlocking. The
# status check happens after the lock: whoever reads the row second sees the first one's
# write and gets a Conflict that names the winner.
#
# Claiming is the busiest of them (every rep presses "next lead" all day), so on PostgreSQL
# its reads and writes are hand-written SQL: the ORM spent more time building the queries
# than the database spent answering them. SQLite, for development and tests, takes the ORM
# path; tests/leads/test_queue_claim_fast.py holds both to the same answers.

QUEUE_PERMISSION = "leads.work_queue"
# The most urgent first: the accept deadline the SLA set, then arrival for those without one.
QUEUE_ORDER = (F("accept_due_at").asc(nulls_last=True), "created_at", "id")
# What a claim hands back: enough to show the lead's card without another query.
CLAIM_RELATED = ("lead", "lead__current_score__persona", "team")


class _Statement:
    """SQL that PostgreSQL plans once per database session instead of on every claim
    (PREPARE, then EXECUTE): planning these joins cost the server more than running them.
    A prepared statement belongs to the session, survives rollbacks and is gone with the
    connection, so what was prepared is remembered against the connection object itself.
    Other databases just run the SQL."""

    def __init__(self, name: str, sql: str, params: tuple[str, ...]):
        self.name, self.sql = name, sql
        numbered = {p: f"${i}" for i, p in enumerate(params, 1)}
        self.prepare_sql = f"PREPARE {name} AS {sql % numbered}"
        args = f"({', '.join(f'%({p})s' for p in params)})" if params else ""
        self.execute_sql = f"EXECUTE {name}{args}"

    def run(self, cursor, params: dict) -> None:
        if connection.vendor != "postgresql":
            cursor.execute(self.sql, params)
            return
        wrapper = connections[connection.alias]  # this thread's, not the shared proxy
        raw = wrapper.connection
        prepared = wrapper.__dict__.setdefault("_smarketing_prepared", {})
        if prepared.get(self.name) is not raw:
            # On the driver's own cursor: once per connection, so not one of the
            # request's counted queries.
            with wrapper.wrap_database_errors, raw.cursor() as own:
                own.execute(self.prepare_sql)
            prepared[self.name] = raw
        cursor.execute(self.execute_sql, params)


_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# has_perm(QUEUE_PERMISSION) for the stock user model and ModelBackend, in one statement.
_QUEUE_PERMISSION = _Statement(
    "smarketing_queue_permission",
    """
    SELECT 1 FROM auth_permission p
    JOIN django_content_type ct ON ct.id = p.content_type_id
    WHERE ct.app_label = %(app_label)s AND p.codename = %(codename)s AND (
        EXISTS (SELECT 1 FROM auth_user_user_permissions up
                WHERE up.user_id = %(user)s AND up.permission_id = p.id)
        OR EXISTS (SELECT 1 FROM auth_group_permissions gp
                   JOIN auth_user_groups ug ON ug.group_id = gp.group_id
                   WHERE ug.user_id = %(user)s AND gp.permission_id = p.id))
    """,
    ("app_label", "codename", "user"),
)


def _display_name(user) -> str:
    if user is None:
        return "someone else"
    return user.get_full_name() or user.username


def user_can_work_queue(user) -> bool:
    """The same answer as `user.has_perm(QUEUE_PERMISSION)`, remembered on the user object
    for the rest of the request. has_perm loads every permission the user holds (two
    queries and a set of strings) to answer one question; with Django's own user model and
    ModelBackend, one EXISTS does. Any other set-up asks has_perm."""
    known = getattr(user, "_smarketing_can_work_queue", None)
    if known is not None:
        return known
    if not user.is_active:
        allowed = False
    elif user.is_superuser:
        allowed = True
    elif (
        getattr(user, "_perm_cache", None) is not None  # has_perm already loaded them
        or settings.AUTH_USER_MODEL != "auth.User"
        or list(settings.AUTHENTICATION_BACKENDS) != [_MODEL_BACKEND]
    ):
        allowed = user.has_perm(QUEUE_PERMISSION)
    else:
        app_label, codename = QUEUE_PERMISSION.split(".")
        with connection.cursor() as cursor:
            _QUEUE_PERMISSION.run(
                cursor, {"app_label": app_label, "codename": codename, "user": user.pk}
            )
            allowed = cursor.fetchone() is not None
    user._smarketing_can_work_queue = allowed
    return allowed


def _require_queue_role(user) -> None:
    if not user_can_work_queue(user):
        raise ApplicationError(
            "Only Sales reps and Sales managers work the sales queue.", status_code=403
        )


def _handoff_for_update(handoff_id: int) -> Handoff:
    """The handoff, row-locked until the transaction ends. Tests replace this with an
    unlocked read to prove the race tests can fail."""
    handoff = Handoff.objects.select_for_update().filter(pk=handoff_id).first()
    if handoff is None:
        raise ApplicationError("No such handoff.", status_code=404)
    return handoff


def _in_model_order(model, names) -> tuple[str, ...]:
    """Model.from_db takes a subset of fields in the model's own order."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


# The lead's fields a claimed card shows (QueueLeadSerializer); the rest load on demand.
_CARD_LEAD_FIELDS = _in_model_order(
    Lead,
    {
        "id",
        "first_name",
        "last_name",
        "email",
        "external_id",
        "title",
        "company",
        "phone",
        "country",
        "do_not_email",
        "do_not_call",
        "erased_at",
    },
)
_HANDOFF_FIELDS = tuple(f.attname for f in Handoff._meta.concrete_fields)
# The user's teams as an array, not `IN (subquery)`: the planner then uses the array in
# index conditions instead of filtering every pool row through a hashed subplan.
_USER_TEAMS_FILTER = """
    AND (team_id IS NULL OR team_id = ANY(ARRAY(
        SELECT team_id FROM leads_teammember WHERE user_id = %(user)s AND active
        UNION ALL SELECT id FROM leads_salesteam WHERE manager_id = %(user)s)))
"""
# "Next lead" in one statement, committed on its own: pick the most urgent pool handoff
# nobody else holds, take it, and make the rep the lead's owner, then join only that row
# to its card. SKIP LOCKED: twenty reps take twenty different leads at once instead of
# queueing behind the same row. The handoff is locked before the lead, the order every
# other writer keeps. The status is written into the SQL, not passed: a plan made once
# must still see that it only wants pool rows (and so may use an index over the pool
# alone). The card's lead columns are read as they were before the statement; it sets only
# owner_id and updated_at, which the caller sets on the instance.
_CLAIM_NEXT_SQL = """
    WITH picked AS (
        SELECT id FROM leads_handoff
        WHERE status = '{pool}' {teams}
        ORDER BY accept_due_at ASC NULLS LAST, created_at ASC, id ASC
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    ), h AS (
        UPDATE leads_handoff
        SET status = '{assigned}', owner_id = %(user)s, assigned_at = %(now)s
        FROM picked WHERE leads_handoff.id = picked.id
        RETURNING leads_handoff.*
    ), owned AS (
        UPDATE leads_lead SET owner_id = %(user)s, updated_at = %(now)s
        WHERE id = (SELECT lead_id FROM h)
    )
    SELECT {handoff}, {lead}, t.name, s.id, p.id, p.name
    FROM h
    JOIN leads_lead l ON l.id = h.lead_id
    LEFT JOIN leads_salesteam t ON t.id = h.team_id
    LEFT JOIN leads_leadscore s ON s.lead_id = h.lead_id
    LEFT JOIN personas_persona p ON p.id = s.persona_id
"""


def _columns(model, alias: str, attnames) -> str:
    return ", ".join(f'{alias}."{model._meta.get_field(name).column}"' for name in attnames)


def _claim_next_statement(*, every_team: bool) -> _Statement:
    sql = _CLAIM_NEXT_SQL.format(
        handoff=_columns(Handoff, "h", _HANDOFF_FIELDS),
        lead=_columns(Lead, "l", _CARD_LEAD_FIELDS),
        pool=HandoffStatus.POOL.value,
        assigned=HandoffStatus.ASSIGNED.value,
        teams="" if every_team else _USER_TEAMS_FILTER,
    )
    if every_team:
        return _Statement("smarketing_claim_next_any", sql, ("user", "now"))
    return _Statement("smarketing_claim_next", sql, ("user", "now"))


_CLAIM_NEXT = _claim_next_statement(every_team=False)
_CLAIM_NEXT_ANY_TEAM = _claim_next_statement(every_team=True)


@functools.cache
def _converters(model, attnames: tuple[str, ...]) -> list[tuple[int, Callable]]:
    return [
        (i, convert)
        for i, name in enumerate(attnames)
        for convert in model._meta.get_field(name).get_db_converters(connection)
    ]


def _instance(model, attnames: tuple[str, ...], values):
    """A model instance from raw column values, converted as the ORM would (JSON text to
    Python); fields not given stay deferred and load on first access."""
    values = list(values)
    for i, convert in _converters(model, attnames):
        values[i] = convert(values[i], None, connection)
    return model.from_db(connection.alias, attnames, values)


def _handoff_with_card(row) -> Handoff:
    """The handoff with its lead, team and the lead's persona attached, as select_related
    over CLAIM_RELATED would leave them."""
    n_handoff, n_lead = len(_HANDOFF_FIELDS), len(_CARD_LEAD_FIELDS)
    handoff = _instance(Handoff, _HANDOFF_FIELDS, row[:n_handoff])
    lead = _instance(Lead, _CARD_LEAD_FIELDS, row[n_handoff : n_handoff + n_lead])
    team_name, score_id, persona_id, persona_name = row[n_handoff + n_lead :]
    handoff.lead = lead
    if handoff.team_id is not None:
        handoff.team = SalesTeam.from_db(
            connection.alias, ["id", "name"], [handoff.team_id, team_name]
        )
    score = None
    if score_id is not None:
        score = LeadScore.from_db(
            connection.alias, ["id", "lead_id", "persona_id"], [score_id, lead.pk, persona_id]
        )
        score.persona = (
            None
            if persona_id is None
            else Persona.from_db(connection.alias, ["id", "name"], [persona_id, persona_name])
        )
    # Cached even when missing, as select_related does: `lead.current_score` then raises
    # DoesNotExist instead of querying.
    Lead._meta.get_field("current_score").set_cached_value(lead, score)
    return handoff


def _next_pool_handoff(user) -> Handoff | None:
    """The most urgent pool handoff this user may claim, with its card (CLAIM_RELATED)
    loaded: SQLite's path, where IMMEDIATE transactions already serialise writers.
    PostgreSQL claims in one statement (_claim_next_locked)."""
    qs = claimable_handoffs(user).select_related(*CLAIM_RELATED)
    return qs.order_by(*QUEUE_ORDER).first()


def _claim_next_locked(user, now: datetime) -> Handoff | None:
    """PostgreSQL: take the next lead in one statement (_CLAIM_NEXT_SQL), or None when the
    user's pools hold nothing that another rep is not taking right now. Tests replace this
    with an unlocked read and write to prove the race tests can fail."""
    with connection.cursor() as cursor:
        statement = _CLAIM_NEXT_ANY_TEAM if user.is_superuser else _CLAIM_NEXT
        statement.run(cursor, {"user": user.pk, "now": now})
        row = cursor.fetchone()
    if row is None:
        return None
    handoff = _handoff_with_card(row)
    handoff.owner = user
    handoff.lead.owner_id, handoff.lead.updated_at = user.pk, now
    return handoff


def user_team_ids(user) -> list[int]:
    """Teams whose pool this user works: where they are an active member or the manager."""
    return list(
        SalesTeam.objects.filter(Q(members__user=user, members__active=True) | Q(manager=user))
        .values_list("pk", flat=True)
        .distinct()
    )


def claimable_handoffs(user):
    """Pool handoffs of the user's teams, plus those routed to no team (any rep may take
    those). Superusers see every pool."""
    qs = Handoff.objects.filter(status=HandoffStatus.POOL)
    if user.is_superuser:
        return qs
    return qs.filter(Q(team__isnull=True) | Q(team_id__in=user_team_ids(user)))


def _check_claimable(handoff: Handoff, user) -> None:
    if handoff.status in (HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED):
        if handoff.owner_id == user.pk:
            raise Conflict("You already have this lead.")
        raise Conflict(f"Already claimed by {_display_name(handoff.owner)}.")
    if handoff.status != HandoffStatus.POOL:
        raise Conflict(f"This lead is closed ({handoff.get_status_display().lower()}).")
    if (
        handoff.team_id is not None
        and not user.is_superuser
        and handoff.team_id not in user_team_ids(user)
    ):
        raise ApplicationError(
            f"This lead waits in the {handoff.team.name} pool; you are not in that team.",
            status_code=403,
        )


# Both rows in one round trip; the handoff is already locked, so the lock order holds.
_TAKE = _Statement(
    "smarketing_take",
    """
    WITH taken AS (
        UPDATE leads_handoff
        SET status = 'assigned', owner_id = %(user)s, assigned_at = %(now)s
        WHERE id = %(handoff)s
    )
    UPDATE leads_lead SET owner_id = %(user)s, updated_at = %(now)s WHERE id = %(lead)s
    """,
    ("user", "now", "handoff", "lead"),
)


def _take(handoff: Handoff, user, now: datetime) -> Handoff:
    handoff.status = HandoffStatus.ASSIGNED
    handoff.owner = user
    handoff.assigned_at = now
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            _TAKE.run(
                cursor,
                {"user": user.pk, "now": now, "handoff": handoff.pk, "lead": handoff.lead_id},
            )
    else:
        handoff.save(update_fields=["status", "owner", "assigned_at"])
        Lead.objects.filter(pk=handoff.lead_id).update(owner=user, updated_at=now)
    if Handoff._meta.get_field("lead").is_cached(handoff):
        handoff.lead.owner_id, handoff.lead.updated_at = user.pk, now
    return handoff


def handoff_claim(*, handoff_id: int, user, now: datetime) -> Handoff:
    """Take a lead from the pool. When two reps click at once, the row lock makes one wait;
    it then sees the lead taken and gets a Conflict naming the winner."""
    _require_queue_role(user)
    with transaction.atomic():
        handoff = _handoff_for_update(handoff_id)
        _check_claimable(handoff, user)
        return _take(handoff, user, now)


def handoff_claim_next(*, user, now: datetime) -> Handoff:
    """Take the most urgent lead in the user's pools that no one else is taking right now.
    The handoff comes back with its card (CLAIM_RELATED) loaded."""
    _require_queue_role(user)
    if connection.vendor == "postgresql":
        handoff = _claim_next_locked(user, now)
    else:
        with transaction.atomic():
            handoff = _next_pool_handoff(user)
            if handoff is not None:
                handoff = _take(handoff, user, now)
    if handoff is None:
        raise Conflict("Nothing left to claim: your pools are empty.")
    return handoff


def _owned_for_update(handoff_id: int, user, *, allowed: tuple[str, ...], action: str) -> Handoff:
    """Lock the handoff and check that `user` owns it and that its status allows `action`."""
    _require_queue_role(user)
    handoff = _handoff_for_update(handoff_id)
    if handoff.owner_id != user.pk:
        if handoff.status == HandoffStatus.POOL:
            raise ApplicationError(f"Claim this lead before you {action} it.")
        raise ApplicationError(
            f"This lead belongs to {_display_name(handoff.owner)}; only its owner can {action} it.",
            status_code=403,
        )
    if handoff.status not in allowed:
        raise Conflict(
            f"You cannot {action} this lead: it is {handoff.get_status_display().lower()}."
        )
    return handoff


def _stage_of_kind(kind: str) -> Stage:
    stage = Stage.objects.filter(kind=kind).order_by("order", "id").first()
    if stage is None:
        raise ApplicationError(f"No lifecycle stage of kind '{kind}' is set up.")
    return stage


def _move_lead(handoff: Handoff, *, kind: str, user, now: datetime, reason: str) -> None:
    """Move the lead along with the handoff, leaving a StageChange. A lead someone already
    moved there by hand stays put rather than failing the rep's action."""
    stage = _stage_of_kind(kind)
    lead = Lead.objects.select_related("stage").get(pk=handoff.lead_id)
    if lead.stage_id == stage.pk:
        return
    lead_change_stage(
        lead=lead,
        to_stage=stage,
        now=now,
        actor=user,
        rule="sales queue",
        reason=reason,
        force=True,
    )


def handoff_accept(*, handoff_id: int, user, now: datetime) -> Handoff:
    """The owner accepts the lead: it becomes Sales accepted (SAL)."""
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id, user, allowed=(HandoffStatus.ASSIGNED,), action="accept"
        )
        handoff.status = HandoffStatus.ACCEPTED
        handoff.accepted_at = now
        handoff.save(update_fields=["status", "accepted_at"])
        _move_lead(handoff, kind=StageKind.SAL, user=user, now=now, reason="Accepted by Sales")
        return handoff


def handoff_reject(*, handoff_id: int, user, reason: str, note: str = "", now: datetime) -> Handoff:
    """Send the lead back to Marketing with a reason: it is recycled to nurture and may
    qualify again later, which makes a new handoff."""
    if reason not in RejectReason.values:
        raise ApplicationError(
            "Pick a reason for the rejection.",
            extra={"reason": [f"One of: {', '.join(RejectReason.values)}."]},
        )
    note = (note or "").strip()
    if reason == RejectReason.OTHER and not note:
        raise ApplicationError(
            "Say why when the reason is 'Other'.",
            extra={"note": ["A note is required with 'Other'."]},
        )
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id,
            user,
            allowed=(HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED),
            action="reject",
        )
        handoff.status = HandoffStatus.REJECTED
        handoff.reject_reason = reason
        handoff.reject_note = note
        handoff.closed_at = now
        handoff.save(update_fields=["status", "reject_reason", "reject_note", "closed_at"])
        label = RejectReason(reason).label
        _move_lead(
            handoff,
            kind=StageKind.RECYCLED,
            user=user,
            now=now,
            reason=f"Rejected by Sales: {label}" + (f" ({note})" if note else ""),
        )
        Lead.objects.filter(pk=handoff.lead_id).update(owner=None, updated_at=now)
        return handoff


def touch_log(
    *,
    handoff_id: int,
    user,
    kind: str,
    outcome: str,
    content_id: int | None = None,
    note: str = "",
    now: datetime,
) -> Touch:
    """Record a follow-up attempt. The first one stamps the handoff's first touch (the
    moment speed-to-lead is measured against), once, even when two land together."""
    errors = {}
    if kind not in TouchKind.values:
        errors["kind"] = [f"One of: {', '.join(TouchKind.values)}."]
    if outcome not in TouchOutcome.values:
        errors["outcome"] = [f"One of: {', '.join(TouchOutcome.values)}."]
    content = None
    if content_id:
        content = ContentPiece.objects.filter(pk=content_id).first()
        if content is None:
            errors["content"] = ["No such content piece."]
    if errors:
        raise ApplicationError("Check the touch: " + ", ".join(errors) + ".", extra=errors)
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id,
            user,
            allowed=(HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED),
            action="log a touch on",
        )
        touch = Touch.objects.create(
            handoff=handoff,
            lead_id=handoff.lead_id,
            rep=user,
            kind=kind,
            outcome=outcome,
            content=content,
            note=(note or "").strip(),
            touched_at=now,
        )
        # Under the row lock: the count stays exact, the first touch is stamped once.
        Handoff.objects.filter(pk=handoff.pk).update(
            touch_count=F("touch_count") + 1,
            first_touch_at=Coalesce("first_touch_at", Value(now)),
        )
        return touch


def handoff_qualify(*, handoff_id: int, user, now: datetime, note: str = "") -> Handoff:
    """The owner qualifies an accepted lead: it becomes Sales qualified (SQL)."""
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id, user, allowed=(HandoffStatus.ACCEPTED,), action="qualify"
        )
        handoff.status = HandoffStatus.QUALIFIED
        handoff.closed_at = now
        handoff.save(update_fields=["status", "closed_at"])
        _move_lead(
            handoff,
            kind=StageKind.SQL,
            user=user,
            now=now,
            reason=(note or "").strip() or "Qualified by Sales",
        )
        return handoff


def handoff_disqualify(*, handoff_id: int, user, now: datetime, note: str = "") -> Handoff:
    """The owner closes the lead as not a buyer: it becomes Disqualified."""
    with transaction.atomic():
        handoff = _owned_for_update(
            handoff_id,
            user,
            allowed=(HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED),
            action="disqualify",
        )
        handoff.status = HandoffStatus.DISQUALIFIED
        handoff.closed_at = now
        handoff.save(update_fields=["status", "closed_at"])
        _move_lead(
            handoff,
            kind=StageKind.DISQUALIFIED,
            user=user,
            now=now,
            reason=(note or "").strip() or "Disqualified by Sales",
        )
        Lead.objects.filter(pk=handoff.lead_id).update(owner=None, updated_at=now)
        return handoff
