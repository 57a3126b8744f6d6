"""Scoring writes: score one lead, qualify it once, rescore everyone, and the life of a
scoring model from draft to retired. Every function takes `now`."""

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from leads.handoff.services import Qualified, handoffs_create
from leads.models import Activity, Lead, Stage, StageKind
from leads.scoring.compile import SCORING_COLUMNS, clean_condition, compile_model
from leads.scoring.engine import (
    Aged,
    CompiledModel,
    Fact,
    PersonaMatch,
    Score,
    age_facts,
    score_lead,
)
from leads.scoring.models import (
    LeadScore,
    ModelStatus,
    RescoreJob,
    RescoreStatus,
    RuleKind,
    ScoringBacklog,
    ScoringModel,
    ScoringModelEvent,
    ScoringRule,
    ScoringSignOff,
)
from leads.services import leads_move
from personas.fit import CompiledPersona, compile_persona
from personas.models import Persona, PersonaCriterion
from personas.selectors import agreed_personas
from smarketing.errors import ApplicationError, Conflict
from smarketing.models import AuditLog
from smarketing.roles import user_team

# A lead in one of these stages has not qualified in its current life; crossing the MQL line
# moves it to MQL. Anywhere else it already did (or Sales owns it), so a score that dips and
# rises again changes nothing: one qualification, one handoff.
PRE_MQL_KINDS = frozenset({StageKind.NURTURE, StageKind.RECYCLED})
CHUNK = 2000


class Scorer:
    """Everything needed to score many leads under one model, loaded once."""

    def __init__(self, model: ScoringModel, personas: Iterable | None = None):
        self.model = model
        self.compiled: CompiledModel = compile_model(model)
        self.personas: list[CompiledPersona] = [
            compile_persona(p) for p in (agreed_personas() if personas is None else personas)
        ]

    def persona_for(self, lead: Any) -> tuple[Any, PersonaMatch | None]:
        best, best_score = None, 0
        for compiled in self.personas:
            fit = compiled.score(lead)
            if fit > best_score:
                best, best_score = compiled, fit
        if best is None:
            return None, None
        agreed = getattr(best.persona, "is_agreed", True)
        return best.persona, PersonaMatch(best.name, best_score, agreed)

    def score(
        self, lead: Any, facts: list[Fact], now: datetime, aged: Aged | None = None
    ) -> tuple[Score, Any, PersonaMatch | None]:
        persona, match = self.persona_for(lead)
        return (
            score_lead(
                lead=lead, facts=facts, model=self.compiled, now=now, persona=match, aged=aged
            ),
            persona,
            match,
        )


def active_model() -> ScoringModel | None:
    return ScoringModel.objects.filter(status=ModelStatus.ACTIVE).first()


# A worker scores thousands of leads a minute under the same model and personas: compile
# them once per process and rebuild only when what they are built from changes. The
# fingerprint is one cheap query over small tables (the active model, the personas' versions,
# the criteria); SCORER_MAX_AGE bounds what an edit that bypassed every timestamp could cost.
SCORER_MAX_AGE = 60.0
_scorer_cache: dict[str, Any] = {"fingerprint": None, "scorer": None, "built": 0.0}


def _scorer_fingerprint() -> tuple:
    if connection.vendor == "postgresql":
        # One round trip: every drain pass asks, and three ORM queries cost a hand-raiser's
        # path several milliseconds under load.
        with connection.cursor() as cursor:
            cursor.execute(_FINGERPRINT_SQL, [ModelStatus.ACTIVE])
            return tuple(cursor.fetchone())
    model_id = (
        ScoringModel.objects.filter(status=ModelStatus.ACTIVE).values_list("pk", flat=True).first()
    )
    personas = tuple(
        Persona.objects.order_by("pk").values_list("pk", "status", "version", "updated_at")
    )
    criteria = PersonaCriterion.objects.aggregate(n=Count("pk"), m=Max("pk"))
    return model_id, personas, criteria["n"], criteria["m"]


_FINGERPRINT_SQL = f"""
SELECT (SELECT id FROM {ScoringModel._meta.db_table} WHERE status = %s ORDER BY id LIMIT 1),
       (SELECT string_agg(concat_ws(' ', id, status, version, updated_at), ',' ORDER BY id)
        FROM {Persona._meta.db_table}),
       (SELECT count(*) FROM {PersonaCriterion._meta.db_table}),
       (SELECT max(id) FROM {PersonaCriterion._meta.db_table})
"""  # noqa: S608 - table names are ours


def scorer_current() -> "Scorer | None":
    """The compiled Scorer of the active model (None without one), cached per process."""
    fingerprint = _scorer_fingerprint()
    cached = _scorer_cache
    fresh = time.monotonic() - cached["built"] < SCORER_MAX_AGE
    if cached["fingerprint"] == fingerprint and fresh:
        return cached["scorer"]
    model = ScoringModel.objects.filter(pk=fingerprint[0]).first() if fingerprint[0] else None
    scorer = Scorer(model) if model is not None else None
    cached.update(fingerprint=fingerprint, scorer=scorer, built=time.monotonic())
    return scorer


# Intake asks on every event whether it is a hand-raiser (scored ahead of the batch); the
# answer changes only when a model is activated, so each process keeps it a few seconds.
HAND_RAISERS_MAX_AGE = 5.0
_hand_raisers: dict[str, Any] = {"types": frozenset(), "read": float("-inf")}


def hand_raiser_types() -> frozenset[str]:
    """The activity types the active model treats as a hand raised for a call."""
    if time.monotonic() - _hand_raisers["read"] > HAND_RAISERS_MAX_AGE:
        types = (
            ScoringModel.objects.filter(status=ModelStatus.ACTIVE)
            .values_list("hand_raisers", flat=True)
            .first()
        )
        _hand_raisers.update(types=frozenset(types or ()), read=time.monotonic())
    return _hand_raisers["types"]


_NO_PROPERTIES: Mapping[str, Any] = MappingProxyType({})


def _properties(text: str | None) -> Mapping[str, Any]:
    """An activity's properties from their jsonb text (NULL: not read)."""
    return json.loads(text) if text and text != "{}" else _NO_PROPERTIES


def _json_value(text: str) -> Any:
    """One JSON value as PostgreSQL printed it; a plain string without escapes (a URL, a
    form name) skips the decoder."""
    if text[0] == '"' and "\\" not in text:
        return text[1:-1]
    return json.loads(text)


def facts_for(lead_ids: list[int], model: CompiledModel | None = None) -> dict[int, list[Fact]]:
    """The leads' activities as facts. Given the compiled model, only the activity types its
    rules can count are read, and properties only where a rule looks into them."""
    facts: dict[int, list[Fact]] = defaultdict(list)
    if not lead_ids:
        return facts
    types = sorted(model.fact_types) if model is not None else None
    with_properties = model.property_types if model is not None else None
    if connection.vendor == "postgresql":
        # Straight from the cursor: the ORM's per-row conversions cost more than the query.
        sql = (
            "SELECT lead_id, type, occurred_at, "  # noqa: S608 - the table name is ours
            "CASE WHEN %s OR type = ANY(%s) THEN properties::text END "
            f"FROM {Activity._meta.db_table} WHERE lead_id = ANY(%s)"
        )
        params = [with_properties is None, sorted(with_properties or ()), list(lead_ids)]
        if types is not None:
            sql += " AND type = ANY(%s)"
            params.append(types)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for lead_id, type_, occurred_at, properties in cursor.fetchall():
                facts[lead_id].append(Fact(type_, occurred_at, _properties(properties)))
        return facts
    rows = Activity.objects.filter(lead_id__in=lead_ids)
    if types is not None:
        rows = rows.filter(type__in=types)
    for lead_id, type_, occurred_at, properties in rows.values_list(
        "lead_id", "type", "occurred_at", "properties"
    ).iterator(chunk_size=5000):
        keep = with_properties is None or type_ in with_properties
        facts[lead_id].append(Fact(type_, occurred_at, (properties or {}) if keep else {}))
    return facts


def aged_for(lead_ids: list[int], model: CompiledModel, now: datetime) -> dict[int, Aged]:
    """What the model can count of the leads' activities, grouped by type with their ages
    (engine.age_facts). On PostgreSQL the age comes out of SQL as the same float arithmetic
    (seconds as a double, over 86,400), so a bulk rescore builds no Fact or datetime."""
    if connection.vendor != "postgresql":
        facts = facts_for(lead_ids, model)
        return {lead_id: age_facts(rows, model.fact_types, now) for lead_id, rows in facts.items()}
    aged: dict[int, Aged] = defaultdict(dict)
    if not lead_ids:
        return aged
    keys = model.property_names
    if keys is None:
        columns = ["CASE WHEN type = ANY(%s) THEN properties::text END"]
        params: list[Any] = [now, sorted(model.property_types)]
    else:
        keys = sorted(keys)
        columns = ["CASE WHEN type = ANY(%s) THEN (properties -> %s)::text END"] * len(keys)
        params = [now, *[item for key in keys for item in (sorted(model.property_types), key)]]
    age = "extract(epoch FROM (%s - occurred_at))::float8 / 86400"
    sql = (
        f"SELECT {', '.join(['lead_id', 'type', age, *columns])} "  # noqa: S608
        f"FROM {Activity._meta.db_table} WHERE lead_id = ANY(%s) AND type = ANY(%s)"
    )
    params += [list(lead_ids), sorted(model.fact_types)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for lead_id, type_, age, *values in cursor.fetchall():
            if keys is None:
                props = _properties(values[0])
            else:
                props = {
                    key: _json_value(text)
                    for key, text in zip(keys, values, strict=True)
                    if text is not None
                } or _NO_PROPERTIES
            aged[lead_id].setdefault(type_, []).append((age if age > 0 else 0.0, props))
    return aged


SCORE_FIELDS = (
    "model",
    "fit",
    "engagement",
    "total",
    "is_mql",
    "persona",
    "persona_fit",
    "breakdown",
    "scored_at",
)


def _store(
    results: list[tuple[int, Score, Any, PersonaMatch | None]],
    *,
    model: ScoringModel,
    now: datetime,
    touch: bool = True,
) -> None:
    """Write scores set-based: upsert the LeadScore rows (with their explanation) and copy
    the totals to the lead columns the lists sort by.

    Only what changed is written: a lead whose score, persona and explanation are what is
    stored keeps its rows untouched (a retroactive rescore of a million leads rewrites the
    few that moved, not the table). `touch` stamps `scored_at` even on unchanged scores:
    the event path says "these events are scored", which the reconciler relies on."""
    if not results:
        return
    if connection.vendor == "postgresql":
        _store_postgresql(results, model=model, now=now, touch=touch)
        return
    current = {
        row[0]: row[1:]
        for row in LeadScore.objects.filter(lead_id__in=[r[0] for r in results]).values_list(
            "lead_id",
            "model_id",
            "fit",
            "engagement",
            "total",
            "is_mql",
            "persona_id",
            "persona_fit",
            "breakdown",
        )
    }
    rows = []
    for lead_id, score, persona, match in results:
        row = LeadScore(
            lead_id=lead_id,
            model=model,
            fit=score.fit,
            engagement=score.engagement,
            total=score.total,
            is_mql=score.is_mql,
            persona=persona,
            persona_fit=match.fit if match else 0,
            breakdown=score.as_dict(),
            scored_at=now,
        )
        stored = current.get(lead_id)
        same = stored == (
            model.pk,
            row.fit,
            row.engagement,
            row.total,
            row.is_mql,
            getattr(persona, "pk", None),
            row.persona_fit,
            row.breakdown,
        )
        if touch or not same:
            totals = (row.fit, row.engagement, row.total)
            rows.append((row, stored is not None and tuple(stored[1:4]) == totals))
    LeadScore.objects.bulk_create(
        [row for row, _ in rows],
        update_conflicts=True,
        unique_fields=["lead"],
        update_fields=list(SCORE_FIELDS),
    )
    Lead.objects.bulk_update(
        [
            Lead(
                pk=row.lead_id, fit_score=row.fit, engagement_score=row.engagement, score=row.total
            )
            for row, totals_same in rows
            if not totals_same
        ],
        ["fit_score", "engagement_score", "score"],
    )


# One statement for the whole chunk: the new scores as a VALUES list, their upsert, then the
# lead columns where they differ. On the rescore path (not `touch`) only rows that differ
# from what is stored get here (see _store_postgresql): an upsert locks every row it meets,
# changed or not, and a rescore of a million leads changes a few.
_STORE_SQL = """
WITH v (lead_id, model_id, fit, engagement, total, is_mql, persona_id, persona_fit, breakdown)
AS (VALUES {values}),
scores AS (
    INSERT INTO {leadscore} AS cur
        (lead_id, model_id, fit, engagement, total, is_mql, persona_id, persona_fit,
         breakdown, scored_at)
    SELECT lead_id, model_id, fit, engagement, total, is_mql, persona_id, persona_fit,
           breakdown, %s
    FROM v
    ON CONFLICT (lead_id) DO UPDATE SET
        model_id = EXCLUDED.model_id, fit = EXCLUDED.fit, engagement = EXCLUDED.engagement,
        total = EXCLUDED.total, is_mql = EXCLUDED.is_mql, persona_id = EXCLUDED.persona_id,
        persona_fit = EXCLUDED.persona_fit, breakdown = EXCLUDED.breakdown,
        scored_at = EXCLUDED.scored_at
)
UPDATE {lead} AS l SET fit_score = v.fit, engagement_score = v.engagement, score = v.total
FROM v
WHERE l.id = v.lead_id
  AND (l.fit_score, l.engagement_score, l.score) IS DISTINCT FROM (v.fit, v.engagement, v.total)
"""
_STORE_ROW = (
    "(%s::bigint, %s::bigint, %s::int, %s::int, %s::int, %s::bool, %s::bigint, %s::int, %s::jsonb)"
)


def _store_postgresql(results, *, model: ScoringModel, now: datetime, touch: bool) -> None:
    texts = {lead_id: score.as_json() for lead_id, score, _, _ in results}
    if not touch:
        # Send only what differs from what is stored: a chunk's explanations are about 2 MB
        # of JSON, and a rescore finds most of them unchanged. The stored side is read as a
        # digest of jsonb's own text, which as_json reproduces.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT lead_id, model_id, fit, engagement, total, is_mql, persona_id, "  # noqa: S608
                f"persona_fit, md5(breakdown::text) FROM {LeadScore._meta.db_table} "
                "WHERE lead_id = ANY(%s)",
                [list(texts)],
            )
            stored = {row[0]: row[1:] for row in cursor.fetchall()}
        results = [
            result
            for result in results
            if stored.get(result[0]) != (*_columns(result, model), _digest(texts[result[0]]))
        ]
        if not results:
            return
    params: list[Any] = []
    for result in results:
        params += [result[0], *_columns(result, model), texts[result[0]]]
    sql = _STORE_SQL.format(
        values=", ".join([_STORE_ROW] * len(results)),
        leadscore=LeadScore._meta.db_table,
        lead=Lead._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, now])


def _columns(result, model: ScoringModel) -> tuple:
    """A score's LeadScore columns between lead_id and breakdown, in _STORE_ROW's order."""
    _, score, persona, match = result
    return (
        model.pk,
        score.fit,
        score.engagement,
        score.total,
        score.is_mql,
        getattr(persona, "pk", None),
        match.fit if match else 0,
    )


def _digest(text: str) -> str:
    """What `md5(breakdown::text)` reads back for an explanation stored as `text`."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def leads_qualify(
    *, crossings: list[tuple[int, Score]], now: datetime, model: ScoringModel | None = None
) -> int:
    """Move leads that crossed the MQL line to MQL and hand them to Sales, once per
    qualification, with a fixed number of statements for the batch. Safe to call twice or
    concurrently: the row locks (taken in lead order) and the stage check decide, and the
    handoff is unique per qualification. `model`: the scoring model the scores came from,
    when the caller has it at hand (saves looking it up). Returns how many moved."""
    if not crossings:
        return 0
    scores = dict(crossings)
    with transaction.atomic(savepoint=False):  # see leads_rescore
        locked = Lead.objects.select_for_update(
            of=("self",) if connection.features.has_select_for_update_of else ()
        )
        leads = [
            lead
            for lead in locked.select_related("stage", "current_score")
            .filter(pk__in=scores)
            .order_by("pk")
            if lead.stage.kind in PRE_MQL_KINDS and not lead.is_erased
        ]
        if not leads:
            return 0
        mql_stage = Stage.objects.filter(kind=StageKind.MQL).order_by("order").first()
        versions = {s.version for s in scores.values()}
        if model is not None and versions == {model.version}:
            models = {model.version: model}
        else:
            models = {m.version: m for m in ScoringModel.objects.filter(version__in=versions)}
        changes = leads_move(
            moves=[
                (lead, f"Scoring model v{scores[lead.pk].version}", scores[lead.pk].verdict)
                for lead in leads
            ],
            to_stage=mql_stage,
            now=now,
        )
        handoffs_create(
            qualified=[
                Qualified(
                    lead=lead,
                    qualification=change,
                    score=scores[lead.pk].as_dict(),
                    why=scores[lead.pk].verdict,
                    scoring_model=models.get(scores[lead.pk].version),
                )
                for lead, change in zip(leads, changes, strict=True)
            ],
            now=now,
            fresh=True,
        )
        return len(leads)


def lead_qualify(*, lead_id: int, score: Score, now: datetime) -> bool:
    """Move one lead that crossed the MQL line to MQL and hand it to Sales (see
    leads_qualify). Returns whether it moved."""
    return leads_qualify(crossings=[(lead_id, score)], now=now) == 1


def lead_score(*, lead_id: int, now: datetime, scorer: Scorer | None = None) -> Score | None:
    """Rescore one lead under the active model (after its events), and qualify it when it
    crosses the line. Returns None when there is no active model or no such lead."""
    scorer = scorer or scorer_current()
    if scorer is None:
        return None
    # One transaction: a worker killed in between must not leave a score that says MQL on a
    # lead that was never handed over (the reconciler also re-drives such leads).
    with transaction.atomic():
        scores, _ = leads_rescore(lead_ids=[lead_id], scorer=scorer, now=now, touch=True)
    return scores.get(lead_id)


def leads_rescore(
    *,
    lead_ids: list[int],
    scorer: Scorer,
    now: datetime,
    qualify: bool = True,
    touch: bool = False,
) -> tuple[dict[int, Score], int]:
    """Score a batch of leads set-based; returns ({lead id: score}, newly qualified).
    `touch`: see _store (the event path passes True)."""
    leads = list(
        Lead.objects.filter(pk__in=lead_ids, erased_at__isnull=True)
        .select_related(None)
        .values(*SCORING_COLUMNS, stage_kind=F("stage__kind"))
        # Lead order everywhere rows get locked (the score writes, then each qualification),
        # so a drainer and a batch of events touching the same leads cannot deadlock.
        .order_by("pk")
    )
    aged = aged_for([lead["id"] for lead in leads], scorer.compiled, now)
    results = []
    to_qualify = []
    for lead in leads:
        score, persona, match = scorer.score(lead, (), now, aged=aged.get(lead["id"], {}))
        results.append((lead["id"], score, persona, match))
        if score.is_mql and lead["stage_kind"] in PRE_MQL_KINDS:
            to_qualify.append((lead["id"], score))
    # savepoint=False here and below: nothing in between catches an error and carries on,
    # so a failure rolls back the caller's whole transaction anyway, and the savepoints
    # cost a round trip each on every drain pass.
    with transaction.atomic(savepoint=False):
        _store(results, model=scorer.model, now=now, touch=touch)
    qualified = leads_qualify(crossings=to_qualify, now=now, model=scorer.model) if qualify else 0
    return {lead_id: score for lead_id, score, _, _ in results}, qualified


# --- The scoring backlog: what intake hands to scoring --------------------------------------


def backlog_add(*, lead_ids: Iterable[int], now: datetime) -> None:
    """Put leads on the backlog (once each; a lead already waiting keeps its place)."""
    lead_ids = sorted(set(lead_ids))
    if not lead_ids:
        return
    if connection.vendor == "postgresql":
        # One array parameter instead of a model instance per lead (a 1,000-event batch).
        # A lead already waiting is locked, not rewritten (`DO UPDATE ... WHERE false` locks
        # the row it meets; DO NOTHING would not): until the caller's events commit, a
        # drainer skips the row instead of taking it and scoring without those events, with
        # nothing left to score them later.
        table = ScoringBacklog._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} AS b (lead_id, queued_at) "
                "SELECT unnest(%s::bigint[]), %s "
                "ON CONFLICT (lead_id) DO UPDATE SET queued_at = b.queued_at WHERE false",
                [lead_ids, now],
            )
        return
    ScoringBacklog.objects.bulk_create(
        [ScoringBacklog(lead_id=lead_id, queued_at=now) for lead_id in lead_ids],
        ignore_conflicts=True,
    )


def backlog_waiting() -> bool:
    return ScoringBacklog.objects.exists()


def _backlog_take(*, limit: int, only: list[int] | None) -> list[int]:
    """Take up to `limit` waiting leads off the backlog, skipping rows other drainers hold,
    in lead order; the caller's transaction puts them back if it fails."""
    if connection.vendor == "postgresql":
        # One round trip: lock and delete together (every drain pass pays for this).
        table = ScoringBacklog._meta.db_table
        only_clause = "AND lead_id = ANY(%s::bigint[])" if only is not None else ""
        params = ([only] if only is not None else []) + [limit]
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE lead_id IN (SELECT lead_id FROM {table} "  # noqa: S608
                f"WHERE true {only_clause} ORDER BY lead_id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING lead_id",
                params,
            )
            return sorted(row[0] for row in cursor.fetchall())
    waiting = ScoringBacklog.objects.select_for_update(skip_locked=True)
    if only is not None:
        waiting = waiting.filter(lead_id__in=only)
    lead_ids = list(waiting.order_by("lead_id").values_list("lead_id", flat=True)[:limit])
    if lead_ids:
        ScoringBacklog.objects.filter(lead_id__in=lead_ids).delete()
    return lead_ids


def backlog_drain(*, now: datetime, limit: int = 500, only: list[int] | None = None) -> int:
    """Score up to `limit` waiting leads and take them off the backlog, in one transaction:
    rows other drainers hold are skipped, and a failure puts every row back. Leads that
    cross the MQL line are qualified and handed to Sales in the same transaction. `only`:
    just these leads, if still waiting (a hand-raiser scored ahead of the batch). Returns
    how many rows were taken (0 when the backlog is empty)."""
    with transaction.atomic():
        lead_ids = _backlog_take(limit=limit, only=only)
        if not lead_ids:
            return 0  # every drainer ends on such a pass: it costs one query
        scorer = scorer_current()
        if scorer is not None:  # without an active model there is nothing to score with
            leads_rescore(lead_ids=lead_ids, scorer=scorer, now=now, touch=True)
    return len(lead_ids)


def rescore_run(
    *,
    job: RescoreJob,
    now: datetime,
    chunk: int = CHUNK,
    on_progress: Callable[[int, int], None] | None = None,
) -> RescoreJob:
    """Rescore every lead under the job's model in chunks, updating the job's progress after
    each chunk so the progress bar moves. Leads already past MQL are not handed off again."""
    claimed = RescoreJob.objects.filter(pk=job.pk, status=RescoreStatus.QUEUED).update(
        status=RescoreStatus.RUNNING,
        started_at=now,
        total=Lead.objects.filter(erased_at__isnull=True).count(),
    )
    if not claimed:
        job.refresh_from_db()
        return job  # someone else runs (or ran) it
    scorer = Scorer(job.model)
    last_id = 0
    try:
        while True:
            ids = list(
                Lead.objects.filter(pk__gt=last_id, erased_at__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk]
            )
            if not ids:
                break
            scores, qualified = leads_rescore(lead_ids=ids, scorer=scorer, now=now)
            scored = len(scores)
            RescoreJob.objects.filter(pk=job.pk).update(
                processed=F("processed") + scored, became_mql=F("became_mql") + qualified
            )
            last_id = ids[-1]
            if on_progress is not None:
                on_progress(scored, qualified)
    except Exception as exc:
        RescoreJob.objects.filter(pk=job.pk).update(
            status=RescoreStatus.FAILED, failure=f"{exc.__class__.__name__}: {exc}", finished_at=now
        )
        raise
    RescoreJob.objects.filter(pk=job.pk).update(
        status=RescoreStatus.DONE, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def decay_sweep(*, now: datetime, chunk: int = CHUNK) -> int:
    """Rescore leads whose engagement is not zero (only they can decay). Returns how many."""
    scorer = scorer_current()
    if scorer is None:
        return 0
    done, last_id = 0, 0
    while True:
        ids = list(
            Lead.objects.filter(pk__gt=last_id, erased_at__isnull=True)
            .exclude(engagement_score=0)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return done
        scores, _ = leads_rescore(lead_ids=ids, scorer=scorer, now=now)
        done += len(scores)
        last_id = ids[-1]


# --- The life of a scoring model --------------------------------------------------------

RULE_FIELDS = (
    "kind",
    "label",
    "order",
    "points",
    "field",
    "operator",
    "value",
    "activity_type",
    "property_name",
    "property_value",
    "cap",
    "window_days",
    "half_life_days",
)
MODEL_SETTINGS = (
    "name",
    "description",
    "min_fit",
    "min_engagement",
    "min_total",
    "require_agreed_persona",
    "min_persona_fit",
    "block_do_not_contact",
    "hand_raisers",
    "hand_raiser_days",
)


def _event(model: ScoringModel, action: str, *, actor, now: datetime, detail: str = "") -> None:
    ScoringModelEvent.objects.create(model=model, action=action, actor=actor, detail=detail, at=now)
    AuditLog.record(
        action=f"scoring_model.{action}",
        obj=model,
        now=now,
        actor=actor,
        details={"detail": detail},
    )


def _editable(model: ScoringModel) -> None:
    if not model.is_editable:
        raise Conflict(
            f"v{model.version} is {model.get_status_display().lower()}; only drafts change. "
            "Start a new draft from it instead."
        )


def rule_clean(data: dict[str, Any]) -> dict[str, Any]:
    """Validate one rule's input; returns the fields to store. Raises ApplicationError with
    field messages."""
    from django.core.exceptions import ValidationError

    kind = data.get("kind")
    if kind not in RuleKind.values:
        raise ApplicationError(
            "Choose what kind of rule this is.", extra={"kind": ["Unknown rule kind."]}
        )
    clean = {k: data.get(k) for k in RULE_FIELDS if k in data}
    clean.setdefault("points", 0)
    errors: dict[str, list[str]] = {}
    if kind in (RuleKind.FIT, RuleKind.EXCLUSION):
        try:
            clean["value"] = clean_condition(
                field=data.get("field", ""),
                operator=data.get("operator", ""),
                value=data.get("value"),
            )
        except ValidationError as exc:
            errors.update({k: list(v) for k, v in exc.message_dict.items()})
    if kind == RuleKind.ENGAGEMENT:
        if not (data.get("activity_type") or "").strip():
            errors["activity_type"] = ["Name the activity type (e.g. page_view)."]
        if data.get("property_name") and not data.get("property_value"):
            errors["property_value"] = ["Say what the property must contain."]
        half_life = data.get("half_life_days")
        if half_life is not None and half_life != "" and float(half_life) <= 0:
            errors["half_life_days"] = ["A half-life must be more than 0 days."]
    if kind != RuleKind.EXCLUSION and not clean.get("points"):
        errors["points"] = [
            "A rule without points changes nothing; give it points (negative is fine)."
        ]
    if errors:
        raise ApplicationError("The rule has errors.", extra=errors)
    return clean


def scoring_model_create(
    *, name: str, actor, now: datetime, based_on: ScoringModel | None = None, **settings: Any
) -> ScoringModel:
    """A new draft; from `based_on` it copies the MQL definition and every rule."""
    with transaction.atomic():
        version = (ScoringModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        values = {f: getattr(based_on, f) for f in MODEL_SETTINGS} if based_on else {}
        values.update({k: v for k, v in settings.items() if k in MODEL_SETTINGS})
        values["name"] = name or values.get("name") or f"Model v{version}"
        if "hand_raisers" not in values:
            values["hand_raisers"] = ["demo_request"]
        model = ScoringModel.objects.create(
            version=version, based_on=based_on, created_by=actor, created_at=now, **values
        )
        if based_on is not None:
            ScoringRule.objects.bulk_create(
                [
                    ScoringRule(model=model, **{f: getattr(r, f) for f in RULE_FIELDS})
                    for r in based_on.rules.all()
                ]
            )
        detail = f"from v{based_on.version}" if based_on else ""
        _event(model, "created", actor=actor, now=now, detail=detail)
        return model


def scoring_model_update(
    *, model: ScoringModel, actor, now: datetime, **settings: Any
) -> ScoringModel:
    with transaction.atomic():
        _editable(model)
        changed = [f for f in MODEL_SETTINGS if f in settings and getattr(model, f) != settings[f]]
        for f in changed:
            setattr(model, f, settings[f])
        if changed:
            model.save(update_fields=changed)
            _event(model, "settings_changed", actor=actor, now=now, detail=", ".join(changed))
        return model


def rule_add(*, model: ScoringModel, data: dict[str, Any], actor, now: datetime) -> ScoringRule:
    clean = rule_clean(data)
    with transaction.atomic():
        _editable(model)
        clean.setdefault("order", model.rules.count())
        rule = ScoringRule.objects.create(model=model, **clean)
        _event(model, "rule_added", actor=actor, now=now, detail=str(rule) if rule.label else "")
        return rule


def rule_update(*, rule: ScoringRule, data: dict[str, Any], actor, now: datetime) -> ScoringRule:
    clean = rule_clean({**{f: getattr(rule, f) for f in RULE_FIELDS}, **data})
    with transaction.atomic():
        _editable(rule.model)
        for key, value in clean.items():
            setattr(rule, key, value)
        rule.save()
        _event(rule.model, "rule_changed", actor=actor, now=now, detail=f"rule {rule.pk}")
        return rule


def rule_remove(*, rule: ScoringRule, actor, now: datetime) -> None:
    with transaction.atomic():
        _editable(rule.model)
        _event(rule.model, "rule_removed", actor=actor, now=now, detail=f"rule {rule.pk}")
        rule.delete()


def scoring_model_propose(*, model: ScoringModel, actor, now: datetime) -> ScoringModel:
    """Freeze the draft and ask both teams to sign."""
    with transaction.atomic():
        if not ScoringModel.objects.filter(pk=model.pk, status=ModelStatus.DRAFT).update(
            status=ModelStatus.PROPOSED, proposed_at=now
        ):
            raise Conflict("Only a draft can be proposed.")
        if not model.rules.exists():
            raise ApplicationError("A model needs at least one rule before it is proposed.")
        model.refresh_from_db()
        _event(model, "proposed", actor=actor, now=now)
        return model


def scoring_model_sign_off(*, model: ScoringModel, user, now: datetime) -> ScoringSignOff:
    if not user.has_perm("leads.sign_off_scoringmodel"):
        raise ApplicationError("Your role cannot sign off scoring models.", status_code=403)
    team = user_team(user)
    if team is None:
        raise ApplicationError(
            "Only a Marketing or a Sales user can sign for their team.", status_code=403
        )
    with transaction.atomic():
        model = ScoringModel.objects.select_for_update().get(pk=model.pk)
        if model.status != ModelStatus.PROPOSED:
            raise Conflict("Only a proposed model can be signed off.")
        if model.sign_offs.filter(team=team).exists():
            raise Conflict(f"{team.capitalize()} has already signed v{model.version}.")
        sign_off = ScoringSignOff.objects.create(model=model, team=team, user=user, signed_at=now)
        _event(model, "signed_off", actor=user, now=now, detail=f"for {team}")
        return sign_off


def scoring_model_activate(*, model: ScoringModel, actor, now: datetime) -> RescoreJob:
    """Make a signed model the one in force, retire the previous one, and rescore every lead
    in the background. Returns the rescore job whose progress the page shows."""
    from leads.scoring.tasks import rescore_task

    with transaction.atomic():
        model = ScoringModel.objects.select_for_update().get(pk=model.pk)
        if model.status != ModelStatus.PROPOSED:
            raise Conflict("Only a proposed model can be activated.")
        teams = set(model.sign_offs.values_list("team", flat=True))
        missing = {"marketing", "sales"} - teams
        if missing:
            raise ApplicationError(
                "Both teams must sign first; waiting for " + " and ".join(sorted(missing)) + "."
            )
        for old in ScoringModel.objects.select_for_update().filter(status=ModelStatus.ACTIVE):
            old.status, old.retired_at = ModelStatus.RETIRED, now
            old.save(update_fields=["status", "retired_at"])
            _event(old, "retired", actor=actor, now=now, detail=f"replaced by v{model.version}")
        model.status, model.activated_at = ModelStatus.ACTIVE, now
        model.save(update_fields=["status", "activated_at"])
        _event(model, "activated", actor=actor, now=now)
        job = RescoreJob.objects.create(model=model, created_by=actor, created_at=now)
        transaction.on_commit(lambda: rescore_task.delay(job.pk))
        return job


def rescore_start(*, actor, now: datetime) -> RescoreJob:
    """Rescore every lead under the active model (the `rescore` command and the button)."""
    from leads.scoring.tasks import rescore_task

    model = active_model()
    if model is None:
        raise ApplicationError("There is no active scoring model to rescore with.")
    with transaction.atomic():
        job = RescoreJob.objects.create(model=model, created_by=actor, created_at=now)
        transaction.on_commit(lambda: rescore_task.delay(job.pk))
    return job
