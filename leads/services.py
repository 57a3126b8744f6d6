"""Writes to leads. Every function takes `now` and keyword-only arguments."""

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db import IntegrityError, connection, models, transaction
from django.db.models.functions import Lower

from leads.models import Activity, ActivityType, FormSite, Handoff, Lead, Stage, StageChange
from smarketing.errors import ApplicationError, Conflict
from smarketing.models import AuditLog

# Fields an intake (API, form, CSV) may set on a lead. Everything else goes to `attributes`.
LEAD_INPUT_FIELDS = (
    "email",
    "external_id",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "phone",
    "company",
    "website",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "region",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "do_not_email",
    "do_not_call",
)
DEFAULT_STAGE_SLUG = "lead"


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _lead_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The lead fields an intake gives, without empty ones, email lower-cased."""
    values = {k: data[k] for k in LEAD_INPUT_FIELDS if k in data and not _is_empty(data[k])}
    for key in ("email", "external_id", "source"):
        if key in values:
            values[key] = str(values[key]).strip()
    if "email" in values:
        values["email"] = values["email"].lower()
    return values


def lead_find(*, email: str = "", external_id: str = "", source: str = "") -> Lead | None:
    """The lead an intake names: by email (case-insensitive) first, then by external id
    within its source."""
    if email:
        # The extra `email != ""` lets PostgreSQL use the partial unique index on lower(email).
        lead = (
            Lead.objects.annotate(email_ci=Lower("email"))
            .filter(email_ci=email.lower())
            .exclude(email="")
            .first()
        )
        if lead is not None:
            return lead
    if external_id:
        return Lead.objects.filter(source=source, external_id=external_id).first()
    return None


def lead_upsert(
    *,
    data: Mapping[str, Any],
    now: datetime,
    attributes: Mapping[str, Any] | None = None,
    actor=None,
    rule: str = "",
) -> tuple[Lead, bool]:
    """Create the lead `data` names, or update it. Empty incoming values never blank out
    what is already known; custom attributes merge. Returns (lead, created).

    `data` must already be validated (types converted); it needs an email or an external_id.
    Two intakes racing to create the same person end with one lead: the loser of the
    unique constraint falls back to updating the winner's row.
    """
    email = (data.get("email") or "").strip().lower()
    external_id = (data.get("external_id") or "").strip()
    source = (data.get("source") or "").strip()
    if not email and not external_id:
        raise ApplicationError(
            "A lead needs an email or an external_id.",
            extra={"email": ["Give an email or an external_id."]},
        )
    values = _lead_values(data)
    with transaction.atomic():
        lead = lead_find(email=email, external_id=external_id, source=source)
        if lead is None:
            try:
                with transaction.atomic():
                    return _lead_create(
                        values=values, attributes=attributes, now=now, actor=actor, rule=rule
                    ), True
            except IntegrityError:
                lead = lead_find(email=email, external_id=external_id, source=source)
                if lead is None:
                    raise
        return _lead_update(lead=lead, values=values, attributes=attributes, now=now), False


def _lead_create(
    *, values: dict[str, Any], attributes: Mapping[str, Any] | None, now: datetime, actor, rule: str
) -> Lead:
    stage = Stage.objects.get(slug=DEFAULT_STAGE_SLUG)
    lead = Lead.objects.create(
        **values,
        attributes=dict(attributes or {}),
        stage=stage,
        stage_entered_at=now,
        created_at=now,
        updated_at=now,
    )
    StageChange.objects.create(
        lead=lead,
        from_stage=None,
        to_stage=stage,
        changed_by=actor,
        rule=rule or "created",
        changed_at=now,
    )
    return lead


def _lead_update(
    *, lead: Lead, values: dict[str, Any], attributes: Mapping[str, Any] | None, now: datetime
) -> Lead:
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.is_erased:
        # An erased person stays erased: intakes must not quietly rebuild the profile.
        return lead
    if lead.source:
        # The source says where a person first came from; later intakes don't rewrite it.
        values = {k: v for k, v in values.items() if k != "source"}
    changed = [k for k, v in values.items() if getattr(lead, k) != v]
    for key in changed:
        setattr(lead, key, values[key])
    if attributes:
        merged = {**lead.attributes, **attributes}
        if merged != lead.attributes:
            lead.attributes = merged
            changed.append("attributes")
    if changed:
        lead.updated_at = now
        lead.save(update_fields=[*changed, "updated_at"])
    return lead


def lead_change_stage(
    *,
    lead: Lead,
    to_stage: Stage,
    now: datetime,
    actor=None,
    rule: str = "",
    reason: str = "",
    force: bool = False,
) -> StageChange:
    """Move a lead to another stage along an allowed transition and record it. `force`
    skips the transition check for system moves that the rules themselves define."""
    with transaction.atomic():
        locked = Lead.objects.select_for_update().select_related("stage").get(pk=lead.pk)
        from_stage = locked.stage
        if from_stage.pk == to_stage.pk:
            raise ApplicationError(f"The lead is already in {to_stage.name}.")
        if not force and not from_stage.allowed_next.filter(pk=to_stage.pk).exists():
            raise ApplicationError(
                f"A lead cannot move from {from_stage.name} to {to_stage.name}.",
                extra={
                    "stage": [
                        f"Allowed from {from_stage.name}: "
                        + ", ".join(s.name for s in from_stage.allowed_next.all())
                    ]
                },
            )
        (change,) = leads_move(
            moves=[(locked, rule, reason)], to_stage=to_stage, now=now, actor=actor
        )
        lead.stage, lead.stage_entered_at, lead.updated_at = to_stage, now, now
        return change


def leads_move(
    *, moves: list[tuple[Lead, str, str]], to_stage: Stage, now: datetime, actor=None
) -> list[StageChange]:
    """Move leads the caller has locked and checked to `to_stage` and record each move
    (`moves`: lead, rule, reason), in three statements however many there are (a rescore's
    chunk qualifies its leads at once). The Lead instances are updated too, and so are the
    leads' handoffs, which carry the current stage for the conversion figures."""
    if not moves:
        return []
    lead_ids = [lead.pk for lead, _, _ in moves]
    Lead.objects.filter(pk__in=lead_ids).update(
        stage=to_stage, stage_entered_at=now, updated_at=now
    )
    Handoff.objects.filter(lead_id__in=lead_ids).update(lead_stage=to_stage)
    changes = [
        StageChange(
            lead=lead,
            from_stage=lead.stage,
            to_stage=to_stage,
            changed_by=actor,
            rule=rule,
            reason=reason,
            changed_at=now,
        )
        for lead, rule, reason in moves
    ]
    StageChange.objects.bulk_create(changes)
    for lead, _, _ in moves:
        lead.stage, lead.stage_entered_at, lead.updated_at = to_stage, now, now
    return changes


# --- Engagement events -------------------------------------------------------------------


class ItemStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass
class EventResult:
    index: int
    status: ItemStatus
    event_id: str = ""
    activity_id: int | None = None
    lead_id: int | None = None
    lead_created: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": str(self.status)}
        if self.event_id:
            out["event_id"] = self.event_id
        if self.activity_id is not None:
            out["activity_id"] = self.activity_id
        if self.lead_id is not None:
            out["lead_id"] = self.lead_id
            out["lead_created"] = self.lead_created
        if self.errors:
            out["errors"] = self.errors
        return out


def _lead_key(ref: Mapping[str, Any]) -> tuple[str, str, str]:
    return (
        (ref.get("email") or "").strip().lower(),
        (ref.get("source") or "").strip(),
        (ref.get("external_id") or "").strip(),
    )


def _leads_resolve(
    refs: list[Mapping[str, Any]], *, now: datetime, rule: str
) -> dict[tuple[str, str, str], tuple[int | None, bool, dict]]:
    """Map each distinct lead reference to (lead id, created, errors) with at most two
    set-based lookups, and create the unknown people in one INSERT per chunk."""
    keys = {_lead_key(ref): ref for ref in refs}
    emails = {k[0] for k in keys if k[0]}
    ext_ids_by_source: dict[str, set[str]] = {}
    for _, source, external_id in keys:
        if external_id:
            ext_ids_by_source.setdefault(source, set()).add(external_id)
    # Ids only: a thousand model instances cost more than the lookup itself.
    by_email = _lead_ids_by_email(emails) if emails else {}
    by_ext: dict[tuple[str, str], int] = {}
    if ext_ids_by_source:
        # By (source, external_id), the columns of the unique index, in that order.
        condition = models.Q()
        for source, ext_ids in ext_ids_by_source.items():
            condition |= models.Q(source=source, external_id__in=ext_ids)
        by_ext = {
            (source, external_id): pk
            for source, external_id, pk in Lead.objects.filter(condition)
            .exclude(external_id="")
            .values_list("source", "external_id", "id")
        }
    resolved: dict[tuple[str, str, str], tuple[int | None, bool, dict]] = {}
    unknown: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for key, ref in keys.items():
        email, source, external_id = key
        lead_id = by_email.get(email) if email else None
        if lead_id is None and external_id:
            lead_id = by_ext.get((source, external_id))
        if lead_id is not None:
            resolved[key] = (lead_id, False, {})
        else:
            unknown[key] = ref
    if unknown:
        resolved.update(_leads_create_new(unknown, now=now, rule=rule))
    return resolved


def _lead_ids_by_email(emails: set[str]) -> dict[str, int]:
    """{lower-cased email: lead id} for the leads with these (lower-cased) emails, by the
    unique index lead_email_unique_ci (its expression and condition). Hand-written: for a
    single event the ORM spent longer building this query than the database answering it."""
    if connection.vendor == "postgresql":
        where, params = "LOWER(email) = ANY(%s)", [list(emails)]
    else:
        where, params = f"LOWER(email) IN ({', '.join(['%s'] * len(emails))})", list(emails)
    sql = f"SELECT email, id FROM leads_lead WHERE {where} AND NOT (email = '')"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {email.lower(): pk for email, pk in cursor.fetchall()}


def _leads_create_new(
    unknown: dict[tuple[str, str, str], Mapping[str, Any]], *, now: datetime, rule: str
) -> dict[tuple[str, str, str], tuple[int | None, bool, dict]]:
    """Create the leads that events name for the first time, set-based: a thousand new
    people cost a few statements instead of a thousand upserts. A person created by a
    concurrent request in the meantime (the unique indexes say so) goes through
    lead_upsert, which finds them; so does anything our single INSERT could not place."""
    stage = Stage.objects.get(slug=DEFAULT_STAGE_SLUG)
    built = {
        key: Lead(
            **_lead_values(ref),
            attributes=dict(ref.get("attributes") or {}),
            stage=stage,
            stage_entered_at=now,
            created_at=now,
            updated_at=now,
        )
        for key, ref in unknown.items()
        if key[0] or key[2]
    }
    inserted = _insert_ignoring_conflicts(
        Lead, list(built.values()), returning=("email", "source", "external_id")
    )
    new_ids = {(email, source, external_id): pk for pk, email, source, external_id in inserted}
    resolved: dict[tuple[str, str, str], tuple[int | None, bool, dict]] = {}
    created: list[int] = []
    for key, ref in unknown.items():
        pk = new_ids.get(key) if key in built else None
        if pk is not None:
            resolved[key] = (pk, True, {})
            created.append(pk)
            continue
        try:
            lead, was_created = lead_upsert(
                data=ref, attributes=ref.get("attributes"), now=now, rule=rule
            )
        except ApplicationError as exc:
            resolved[key] = (None, False, exc.extra or {"lead": [exc.message]})
        else:
            resolved[key] = (lead.pk, was_created, {})
    StageChange.objects.bulk_create(
        [
            StageChange(
                lead_id=pk, from_stage=None, to_stage=stage, rule=rule or "created", changed_at=now
            )
            for pk in created
        ]
    )
    return resolved


def _insert_ignoring_conflicts(
    model: type[models.Model], objs: list[models.Model], *, returning: tuple[str, ...]
) -> list[tuple]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, <returning> for model instances,
    every concrete field prepared the way save() prepares it."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = [
        tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields) for obj in objs
    ]
    return _insert_rows(model, fields, rows, returning=returning, ignore_conflicts=True)


@functools.cache
def _insert_sql(
    model: type[models.Model],
    fields: tuple[models.Field, ...],
    returning: tuple[str, ...],
    ignore_conflicts: bool,
    vendor: str,
) -> tuple[str, str | None, str]:
    """_insert_rows' statement around its rows: (head, the UNNEST select on PostgreSQL or
    None, tail); the same for every request, so built once per database vendor."""
    meta = model._meta
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
    back = ", ".join(quote(meta.get_field(name).column) for name in ("id", *returning))
    tail = f"{' ON CONFLICT DO NOTHING' if ignore_conflicts else ''} RETURNING {back}"
    if vendor != "postgresql":
        return head, None, tail
    # As Django's bulk_create does on PostgreSQL: an array per column rather than a
    # placeholder per value, which PostgreSQL parses and plans in a fraction of the
    # time. The types lose their length (varchar, not varchar(60)) so that nothing
    # is cut short on the way.
    types = [f.db_type(connection).split("(")[0] for f in fields]
    casts = ", ".join(f"(%s)::{t}[]" for t in types)
    return head, f"SELECT * FROM UNNEST({casts})", tail  # noqa: S608 - types of our own fields


def _insert_rows(
    model: type[models.Model],
    fields: list[models.Field],
    rows: list[tuple],
    *,
    returning: tuple[str, ...],
    ignore_conflicts: bool,
) -> list[tuple]:
    """INSERT rows of database-ready values RETURNING id, <returning>; one statement per
    chunk. With `ignore_conflicts`, ON CONFLICT DO NOTHING stores the rows no unique index
    objects to and tells us which they were, even when another request inserts the same
    keys at the same moment (the index decides, not a prior SELECT); Django's
    bulk_create(ignore_conflicts=True) cannot say which rows went in. Without it, the
    rows come back in the order given, as bulk_create relies on. Works on PostgreSQL and
    on SQLite >= 3.35."""
    if not rows:
        return []
    head, values, tail = _insert_sql(
        model, tuple(fields), returning, ignore_conflicts, connection.vendor
    )
    unnest = values is not None
    if not unnest:
        row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Stay under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters per statement.
    chunk_size = max(1, 30_000 // len(fields))
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk_size):
            chunk = rows[start : start + chunk_size]
            if unnest:
                params = [list(column) for column in zip(*chunk, strict=True)]
            else:
                values = "VALUES " + ", ".join([row_sql] * len(chunk))
                params = [value for row in chunk for value in row]
            cursor.execute(head + values + tail, params)
            out.extend(cursor.fetchall())
    return out


# The columns an event fills, in the order of the rows events_ingest builds; the id is
# the database's. tests/leads/test_intake_fast_path.py checks that this is every column.
ACTIVITY_COLUMNS = (
    "lead",
    "type",
    "occurred_at",
    "received_at",
    "properties",
    "source",
    "event_id",
)


def _activities_insert_new(rows: list[tuple]) -> dict[str, int]:
    """Store the events whose event_id is new; answer {event_id: activity id} for those.
    `rows` come from events_ingest and all carry an event_id."""
    fields = [Activity._meta.get_field(name) for name in ACTIVITY_COLUMNS]
    inserted = _insert_rows(Activity, fields, rows, returning=("event_id",), ignore_conflicts=True)
    return {event_id: pk for pk, event_id in inserted}


def _activities_insert(rows: list[tuple]) -> list[int]:
    """Store events that have no event_id (nothing to be a duplicate of): their ids, in
    order."""
    fields = [Activity._meta.get_field(name) for name in ACTIVITY_COLUMNS]
    return [
        pk for (pk,) in _insert_rows(Activity, fields, rows, returning=(), ignore_conflicts=False)
    ]


@functools.cache
def _event_one_sql(by: str, dedupe: bool) -> str:
    """The single-event statement of _event_ingest_one; `by` is "email" or "external_id"."""
    from leads.scoring.models import ScoringBacklog  # scoring imports this module

    quote = connection.ops.quote_name
    where = {
        "email": "LOWER(email) = %s AND NOT (email = '')",
        "external_id": "source = %s AND external_id = %s AND NOT (external_id = '')",
    }[by]
    columns = ", ".join(quote(Activity._meta.get_field(name).column) for name in ACTIVITY_COLUMNS)
    # Every row a CTE writes commits with the statement: the event and the promise to score
    # it are one, as in events_ingest's transaction (the backlog clause is backlog_add's).
    return (
        f"WITH l AS (SELECT id FROM {quote(Lead._meta.db_table)} WHERE {where}), "  # noqa: S608
        f"a AS (INSERT INTO {quote(Activity._meta.db_table)} ({columns}) "
        "SELECT id, %s, %s::timestamptz, %s::timestamptz, %s::jsonb, %s, %s FROM l"
        f"{' ON CONFLICT DO NOTHING' if dedupe else ''} RETURNING id, lead_id), "
        f"b AS (INSERT INTO {quote(ScoringBacklog._meta.db_table)} AS b (lead_id, queued_at) "
        "SELECT lead_id, %s::timestamptz FROM a "
        "ON CONFLICT (lead_id) DO UPDATE SET queued_at = b.queued_at WHERE false) "
        "SELECT l.id, a.id FROM l LEFT JOIN a ON true"
    )


def _event_ingest_one(index: int, item: Mapping[str, Any], *, now: datetime) -> EventResult | None:
    """One event for a person we know, in one statement on PostgreSQL: find the lead, store
    the event unless its event_id was seen, put the lead on the scoring backlog, commit.
    None when events_ingest's general path must answer instead: another database, an
    unknown person (to be created), a reference by both email and external id (email
    first, then the id), or an unsubscribe (it changes the lead too)."""
    if connection.vendor != "postgresql" or item["type"] == ActivityType.UNSUBSCRIBE:
        return None
    email, source, external_id = _lead_key(item["lead"])
    if email and not external_id:
        by, lead_params = "email", [email]
    elif external_id and not email:
        by, lead_params = "external_id", [source, external_id]
    else:
        return None
    from leads.scoring.services import hand_raiser_types
    from leads.scoring.tasks import backlog_added

    event_id = item.get("event_id") or ""
    properties = connection.ops.adapt_json_value(
        item.get("properties") or {}, Activity._meta.get_field("properties").encoder
    )
    params = [
        *lead_params,
        item["type"],
        item.get("occurred_at") or now,
        now,
        properties,
        item.get("source") or "",
        event_id,
        now,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_event_one_sql(by, bool(event_id)), params)
        row = cursor.fetchone()
    if row is None:
        return None
    lead_id, activity_id = row
    if activity_id is None:
        return EventResult(index, ItemStatus.DUPLICATE, event_id, lead_id=lead_id)
    backlog_added(urgent=[lead_id] if item["type"] in hand_raiser_types() else ())
    return EventResult(
        index, ItemStatus.ACCEPTED, event_id, activity_id=activity_id, lead_id=lead_id
    )


def events_ingest(
    *, items: list[tuple[int, Mapping[str, Any]]], now: datetime, rule: str = "api"
) -> list[EventResult]:
    """Store validated events, each once. `items` are (index in the request, validated
    event); the answer has one EventResult per item. An item is a duplicate when its
    event_id is already stored or appeared earlier in the same batch; an item whose lead
    cannot be made is rejected; the others are accepted. All in one transaction, so an
    accepted event is committed together with the lead it created."""
    if len(items) == 1:
        one = _event_ingest_one(*items[0], now=now)
        if one is not None:
            return [one]
    results: dict[int, EventResult] = {}
    # Each row is built as save() would prepare an Activity's fields, without an
    # Activity instance per event (their construction was a fifth of a batch).
    ops = connection.ops
    received_at = ops.adapt_datetimefield_value(now)
    json_encoder = Activity._meta.get_field("properties").encoder
    with transaction.atomic():
        resolved = _leads_resolve([item["lead"] for _, item in items], now=now, rule=rule)
        seen: set[str] = set()
        with_id: list[tuple[int, tuple]] = []
        without_id: list[tuple[int, tuple]] = []
        for index, item in items:
            event_id = item.get("event_id") or ""
            lead_id, created, errors = resolved[_lead_key(item["lead"])]
            if lead_id is None:
                results[index] = EventResult(
                    index, ItemStatus.REJECTED, event_id, errors={"lead": _flatten(errors)}
                )
                continue
            result = EventResult(
                index, ItemStatus.ACCEPTED, event_id, lead_id=lead_id, lead_created=created
            )
            results[index] = result
            if event_id and event_id in seen:
                result.status = ItemStatus.DUPLICATE
                continue
            occurred_at = item.get("occurred_at")
            row = (
                lead_id,
                item["type"],
                ops.adapt_datetimefield_value(occurred_at) if occurred_at else received_at,
                received_at,
                ops.adapt_json_value(item.get("properties") or {}, json_encoder),
                item.get("source") or "",
                event_id,
            )
            if event_id:
                seen.add(event_id)
                with_id.append((index, row))
            else:
                without_id.append((index, row))
        # In lead order: the deferred foreign key checks lock the leads (FOR KEY SHARE) at
        # commit in the order of the rows, so a writer that locks leads FOR UPDATE in id
        # order cannot deadlock with us; the lead indexes also fill in order.
        with_id.sort(key=lambda pair: pair[1][0])
        without_id.sort(key=lambda pair: pair[1][0])
        inserted = _activities_insert_new([row for _, row in with_id]) if with_id else {}
        for index, row in with_id:
            activity_id = inserted.get(row[-1])
            if activity_id is None:
                results[index].status = ItemStatus.DUPLICATE
            else:
                results[index].activity_id = activity_id
        if without_id:
            for (index, _), activity_id in zip(
                without_id, _activities_insert([row for _, row in without_id]), strict=True
            ):
                results[index].activity_id = activity_id
        new = [
            (row[0], row[1])
            for index, row in with_id + without_id
            if results[index].status == ItemStatus.ACCEPTED
        ]
        _apply_event_side_effects(
            {lead_id for lead_id, type_ in new if type_ == ActivityType.UNSUBSCRIBE}, now=now
        )
        if new:
            # In the transaction: the promise to score these events commits with them.
            leads_touched(events=new, now=now)
    return [results[index] for index, _ in items]


def _flatten(errors: Mapping[str, Any]) -> list[str]:
    out = []
    for key, messages in errors.items():
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            out.append(f"{key}: {message}" if key not in ("detail", "lead") else str(message))
    return out


def _apply_event_side_effects(unsubscribed: set[int], *, now: datetime) -> None:
    """Events that change what we may do: an unsubscribe sets do-not-email at once, before
    any scoring or campaign can act on the lead again. `unsubscribed`: the ids of the
    leads whose new events include one."""
    if unsubscribed:
        Lead.objects.filter(pk__in=unsubscribed, do_not_email=False).update(
            do_not_email=True, updated_at=now
        )


def leads_touched(*, events: Iterable[tuple[int, str]], now: datetime) -> None:
    """The leads of new events (lead id, type), from the API or forms, go on the scoring
    backlog, coalesced so a burst of events costs one scoring pass. Call it inside the
    transaction that stores the events: the backlog rows commit with them, and the drainer
    is woken after commit (outside a transaction both happen at once). A lead that raised
    its hand (asked for a demo) is scored ahead of the batch, because Sales should hear
    about it at once."""
    # scoring imports this module
    from leads.scoring.services import hand_raiser_types
    from leads.scoring.tasks import leads_score_soon

    events = list(events)
    raised = hand_raiser_types()
    leads_score_soon(
        sorted({lead_id for lead_id, _ in events}),
        urgent=[lead_id for lead_id, type_ in events if type_ in raised],
    )


# --- Website forms ------------------------------------------------------------------------

FORM_EVENT_PROPERTY_LIMIT = 50


def form_submission_record(
    *, site: FormSite, fields: Mapping[str, Any], now: datetime, page_url: str = ""
) -> tuple[Lead, Activity]:
    """A website form post: upsert the lead from the lead fields it carries and record a
    form_submit activity with the rest (question answers, the page)."""
    lead_data = {k: v for k, v in fields.items() if k in LEAD_INPUT_FIELDS}
    lead_data.setdefault("source", site.source)
    extra = {k: v for k, v in fields.items() if k not in LEAD_INPUT_FIELDS}
    properties = dict(list(extra.items())[:FORM_EVENT_PROPERTY_LIMIT])
    properties["form_site"] = site.name
    if page_url:
        properties["url"] = page_url
    with transaction.atomic():
        lead, _ = lead_upsert(data=lead_data, now=now, rule=f"form:{site.site_key}")
        activity = Activity.objects.create(
            lead=lead,
            type=ActivityType.FORM_SUBMIT,
            occurred_at=now,
            received_at=now,
            properties=properties,
            source=site.source,
        )
        leads_touched(events=[(lead.pk, activity.type)], now=now)
    return lead, activity


# --- Privacy ------------------------------------------------------------------------------

PERSONAL_FIELDS = (
    "email",
    "external_id",
    "first_name",
    "last_name",
    "title",
    "phone",
    "region",
)
# Activity properties that describe our content, not the person; everything else goes.
ANONYMOUS_PROPERTY_KEYS = frozenset(
    {
        "campaign",
        "content",
        "content_type",
        "asset",
        "webinar",
        "form",
        "form_site",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "duration_seconds",
    }
)


def lead_export(*, lead: Lead, actor, now: datetime) -> dict[str, Any]:
    """Everything we hold about one person, as JSON-ready data (a data subject access
    request). The export itself is audited."""
    from leads.selectors import lead_export_data

    data = lead_export_data(lead=lead, now=now)
    AuditLog.record(action="lead.export", obj=lead, now=now, actor=actor)
    return data


def lead_erase(*, lead: Lead, actor, now: datetime, reason: str = "") -> Lead:
    """Remove a person's personal data and keep the anonymous history (stage changes,
    activity types and times, firmographics) so that funnel figures stay true. Leaves an
    audit row naming who erased which lead id, and never what was erased."""
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if locked.is_erased:
            raise Conflict("This lead was already erased.")
        traces = _personal_traces(locked)
        for name in PERSONAL_FIELDS:
            setattr(locked, name, "")
        locked.attributes = {}
        locked.do_not_email = locked.do_not_call = True
        locked.erased_at = locked.updated_at = now
        locked.save(
            update_fields=[
                *PERSONAL_FIELDS,
                "attributes",
                "do_not_email",
                "do_not_call",
                "erased_at",
                "updated_at",
            ]
        )
        activities = list(locked.activities.only("id", "properties"))
        for activity in activities:
            activity.properties = _anonymous_properties(activity.properties)
        Activity.objects.bulk_update(activities, ["properties"], batch_size=500)
        scrubbed = _scrub_free_text(locked, traces)
        AuditLog.record(
            action="lead.erase",
            obj=locked,
            now=now,
            actor=actor,
            details={
                "activities_stripped": len(activities),
                "rows_scrubbed": scrubbed,
                "reason": _redact(reason[:500], traces),
            },
        )
    return locked


ERASED = "[erased]"


def _personal_traces(lead: Lead) -> list[str]:
    """The values that identify the person, longest first (so "Ada Byrne" goes before
    "Ada"), as people and our own messages quote them in free text elsewhere."""
    values = {str(getattr(lead, name) or "").strip() for name in PERSONAL_FIELDS}
    values |= {lead.full_name, lead.email.split("@")[0] if lead.email else ""}
    values |= {str(v).strip() for v in lead.attributes.values() if isinstance(v, str)}
    # Shorter values ("Al", "GB") would blank unrelated words in other people's rows.
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def _redact(value: Any, traces: list[str]) -> Any:
    if isinstance(value, str):
        for trace in traces:
            if trace.lower() in value.lower():
                value = re.sub(re.escape(trace), ERASED, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, dict):
        return {_redact(k, traces): _redact(v, traces) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, traces) for v in value]
    return value


def _scrub_free_text(lead: Lead, traces: list[str]) -> int:
    """Redact the person from the text around the lead: handoff snapshots and routing
    reasons, touch notes, stage change reasons, score explanations, notifications (sent
    or pending, so an undelivered webhook goes out without them) and import error rows.
    Returns how many rows changed."""
    from leads.handoff.models import Handoff, RoutingDecision, Touch
    from leads.models import ImportJob
    from leads.scoring.models import LeadScore
    from smarketing.notifications.models import Notification

    if not traces:
        return 0
    handoff_ids = list(Handoff.objects.filter(lead=lead).values_list("pk", flat=True))
    notifications = models.Q(payload__lead_id=lead.pk) | models.Q(
        link__endswith=f"/leads/{lead.pk}/"
    )
    for handoff_id in handoff_ids:
        notifications |= models.Q(key__startswith=f"handoff:{handoff_id}:")
    targets = [
        (Handoff.objects.filter(pk__in=handoff_ids), ["why", "score"]),
        (RoutingDecision.objects.filter(handoff_id__in=handoff_ids), ["reason"]),
        (Touch.objects.filter(handoff_id__in=handoff_ids), ["note"]),
        (StageChange.objects.filter(lead=lead), ["reason", "rule"]),
        (LeadScore.objects.filter(lead=lead), ["breakdown"]),
        (Notification.objects.filter(notifications), ["title", "body", "payload", "last_error"]),
        # Import errors are not linked to leads; rows that failed quote what was sent.
        (ImportJob.objects.exclude(error_count=0), ["errors"]),
    ]
    changed = 0
    for queryset, fields in targets:
        for row in queryset.only("pk", *fields):
            before = [getattr(row, f) for f in fields]
            after = [_redact(v, traces) for v in before]
            if after != before:
                for name, value in zip(fields, after, strict=True):
                    setattr(row, name, value)
                row.save(update_fields=fields)
                changed += 1
    return changed


def _anonymous_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in properties.items() if k in ANONYMOUS_PROPERTY_KEYS}
    url = properties.get("url")
    if isinstance(url, str) and url:
        # Query strings carry emails and click ids; the page itself is not personal.
        parts = urlsplit(url)
        kept["url"] = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return kept
