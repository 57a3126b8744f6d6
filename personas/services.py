"""Writes to personas and content. Keyword-only arguments, explicit `now`."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from personas.criteria import clean_criterion, describe_criterion
from personas.models import (
    ContentPiece,
    Persona,
    PersonaCriterion,
    PersonaSignOff,
    PersonaStatus,
    PersonaVersion,
    ProspectQuestion,
    QuestionStatus,
    SignOffTeam,
)
from smarketing.errors import ApplicationError, Conflict
from smarketing.models import AuditLog
from smarketing.roles import user_team

PERSONA_FIELDS = ("name", "summary", "fit_threshold", *Persona.WORKSHEET_FIELDS)


def _clean_criteria(criteria: Iterable[Mapping[str, Any]]) -> list[dict]:
    cleaned, errors = [], {}
    for index, raw in enumerate(criteria):
        try:
            row = clean_criterion(
                kind=raw.get("kind") or "",
                field=raw.get("field") or "",
                operator=raw.get("operator") or "",
                value=raw.get("value"),
            )
        except ValidationError as exc:
            errors[str(index)] = exc.message_dict
            continue
        weight = raw.get("weight", 1)
        if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 100:
            errors[str(index)] = {"weight": ["Weight is a whole number from 1 to 100."]}
            continue
        cleaned.append({**row, "weight": weight})
    if errors:
        raise ApplicationError("Some criteria are not valid.", extra={"criteria": errors})
    return cleaned


def persona_snapshot(persona: Persona, criteria: Iterable | None = None) -> dict:
    """Everything two teams agree on, as JSON: the record a version keeps."""
    if criteria is None:
        criteria = persona.criteria.all()
    return {
        **{name: getattr(persona, name) for name in PERSONA_FIELDS},
        "criteria": [
            {
                "kind": c.kind,
                "field": c.field,
                "operator": c.operator,
                "value": c.value,
                "weight": c.weight,
            }
            for c in criteria
        ],
    }


def _criterion_text(row: Mapping) -> str:
    return describe_criterion(_CriterionView(row))


class _CriterionView:
    def __init__(self, row: Mapping):
        self.kind, self.field = row["kind"], row["field"]
        self.operator, self.value = row["operator"], row["value"]


def snapshot_diff(old: Mapping, new: Mapping) -> list[str]:
    """What changed between two snapshots, in plain words."""
    changes = []
    for name in PERSONA_FIELDS:
        if old.get(name) != new.get(name):
            label = str(Persona._meta.get_field(name).verbose_name).capitalize()
            if name in ("name", "fit_threshold"):
                changes.append(f"{label}: {old.get(name)!r} → {new.get(name)!r}")
            else:
                changes.append(f"{label} rewritten")
    old_rows = {_criterion_text(r): r for r in old.get("criteria", [])}
    new_rows = {_criterion_text(r): r for r in new.get("criteria", [])}
    added = [text for text in new_rows if text not in old_rows]
    removed = [text for text in old_rows if text not in new_rows]
    for text in list(added):
        # One criterion on a field replaced by another on the same field reads as a change.
        field = new_rows[text]["field"]
        same_field = [r for r in removed if old_rows[r]["field"] == field]
        if len(same_field) == 1:
            added.remove(text)
            removed.remove(same_field[0])
            changes.append(f"Criterion changed: {same_field[0]} → {text}")
    for text, row in new_rows.items():
        if text in added:
            changes.append(f"Criterion added: {text} (weight {row['weight']})")
        elif text in old_rows and old_rows[text]["weight"] != row["weight"]:
            changes.append(f"Weight of “{text}”: {old_rows[text]['weight']} → {row['weight']}")
    changes.extend(f"Criterion removed: {text}" for text in removed)
    return changes


def _replace_criteria(persona: Persona, criteria: list[dict]) -> list[PersonaCriterion]:
    persona.criteria.all().delete()
    return PersonaCriterion.objects.bulk_create(
        PersonaCriterion(persona=persona, position=i, **row) for i, row in enumerate(criteria)
    )


def _check_name(name: str, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A persona needs a name.", extra={"name": ["Give it a name."]})
    clash = Persona.objects.filter(name__iexact=name)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ApplicationError(
            "Another persona has this name.", extra={"name": ["Another persona has this name."]}
        )
    return name


@transaction.atomic
def persona_create(
    *, data: Mapping[str, Any], criteria: Iterable[Mapping[str, Any]], actor, now: datetime
) -> Persona:
    """A new persona, version 1, in draft until both teams sign it."""
    values = {k: data[k] for k in PERSONA_FIELDS if k in data}
    values["name"] = _check_name(values.get("name", ""))
    rows = _clean_criteria(criteria)
    persona = Persona.objects.create(
        **values, created_by=actor, created_at=now, updated_at=now, version=1
    )
    created = _replace_criteria(persona, rows)
    PersonaVersion.objects.create(
        persona=persona,
        number=1,
        snapshot=persona_snapshot(persona, created),
        changes=["Created"],
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    return persona


@transaction.atomic
def persona_update(
    *,
    persona: Persona,
    data: Mapping[str, Any],
    criteria: Iterable[Mapping[str, Any]] | None,
    actor,
    now: datetime,
) -> tuple[Persona, list[str]]:
    """Edit a persona. If anyone has signed the current version (agreed or half-signed),
    the edit starts a new version awaiting sign-off, because a signature belongs to the text
    that was signed; otherwise the current version is revised in place. Returns the persona
    and what changed (empty: nothing did, nothing was written)."""
    locked = Persona.objects.select_for_update().get(pk=persona.pk)
    current = PersonaVersion.objects.get(persona=locked, number=locked.version)
    before = persona_snapshot(locked)
    values = {k: data[k] for k in PERSONA_FIELDS if k in data}
    if "name" in values:
        values["name"] = _check_name(values["name"], exclude_pk=locked.pk)
    rows = _clean_criteria(criteria) if criteria is not None else before["criteria"]
    after = {**before, **values, "criteria": rows}
    changes = snapshot_diff(before, after)
    if not changes:
        return locked, []

    for key, value in values.items():
        setattr(locked, key, value)
    if criteria is not None:
        _replace_criteria(locked, rows)
    signed = current.sign_offs.exists()
    if signed:
        locked.version += 1
        locked.status = PersonaStatus.AWAITING_SIGN_OFF
        locked.agreed_at = None
        PersonaVersion.objects.create(
            persona=locked,
            number=locked.version,
            snapshot=after,
            changes=changes,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
    else:
        current.snapshot = after
        current.changes = [*current.changes, *changes]
        current.updated_at = now
        current.save(update_fields=["snapshot", "changes", "updated_at"])
    locked.updated_at = now
    locked.save(update_fields=[*values, "version", "status", "agreed_at", "updated_at"])
    return locked, changes


def persona_sign_off(*, persona: Persona, user, now: datetime, note: str = "") -> PersonaSignOff:
    """Sign the current version for the user's team. Agreed once both teams signed."""
    if not (user.has_perm("personas.sign_off_persona")):
        raise ApplicationError("You may not sign off personas.", status_code=403)
    team = user_team(user)
    if team is None:
        raise ApplicationError(
            "Sign-offs come from one Marketing and one Sales user; you are on neither team."
        )
    try:
        with transaction.atomic():
            locked = Persona.objects.select_for_update().get(pk=persona.pk)
            if locked.status == PersonaStatus.AGREED:
                raise Conflict(f"Version {locked.version} is already agreed.")
            version = PersonaVersion.objects.get(persona=locked, number=locked.version)
            if version.sign_offs.filter(team=team.value).exists():
                raise Conflict(f"{SignOffTeam(team.value).label} already signed this version.")
            sign_off = PersonaSignOff.objects.create(
                persona=locked,
                version=version,
                team=team.value,
                user=user,
                signed_at=now,
                note=note,
            )
            AuditLog.record(
                action="persona.sign_off",
                obj=locked,
                now=now,
                actor=user,
                details={"version": version.number, "team": team.value},
            )
            teams = set(version.sign_offs.values_list("team", flat=True))
            if teams >= set(SignOffTeam.values):
                locked.status = PersonaStatus.AGREED
                locked.agreed_at = now
                version.agreed_at = now
                version.save(update_fields=["agreed_at"])
            else:
                locked.status = PersonaStatus.AWAITING_SIGN_OFF
            locked.save(update_fields=["status", "agreed_at"])
    except IntegrityError as exc:
        # Two people of one team clicked at once on a database without row locks.
        raise Conflict("Your team already signed this version.") from exc
    persona.status, persona.agreed_at = locked.status, locked.agreed_at
    return sign_off


# --- content


CONTENT_FIELDS = ("title", "url", "format", "stage", "notes")


def _team_for(actor) -> str:
    team = user_team(actor)
    return team.value if team else SignOffTeam.MARKETING.value


@transaction.atomic
def content_create(
    *,
    data: Mapping[str, Any],
    personas: Iterable[Persona],
    actor,
    now: datetime,
    question: ProspectQuestion | None = None,
) -> ContentPiece:
    """Add a content piece, authored by the actor's team. Given the prospect question it
    answers, that question is marked answered by it."""
    piece = ContentPiece.objects.create(
        **{k: data[k] for k in CONTENT_FIELDS if k in data},
        authored_by_team=_team_for(actor),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    piece.personas.set(personas)
    if question is not None:
        question_resolve(question=question, content=piece, actor=actor, now=now)
    return piece


@transaction.atomic
def content_update(
    *, piece: ContentPiece, data: Mapping[str, Any], personas: Iterable[Persona] | None, now
) -> ContentPiece:
    fields = [k for k in CONTENT_FIELDS if k in data and getattr(piece, k) != data[k]]
    for key in fields:
        setattr(piece, key, data[key])
    piece.updated_at = now
    piece.save(update_fields=[*fields, "updated_at"])
    if personas is not None:
        piece.personas.set(personas)
    return piece


def question_submit(
    *, question: str, context: str = "", persona=None, stage: str = "", actor, now: datetime
) -> ProspectQuestion:
    question = question.strip()
    if not question:
        raise ApplicationError(
            "Write what prospects ask.", extra={"question": ["Write the question."]}
        )
    return ProspectQuestion.objects.create(
        question=question,
        context=context,
        persona=persona,
        stage=stage,
        submitted_by=actor,
        submitted_at=now,
    )


def question_resolve(
    *, question: ProspectQuestion, content: ContentPiece | None, actor, now: datetime
) -> ProspectQuestion:
    """Close a question: answered by a content piece, or dismissed (content None)."""
    updated = ProspectQuestion.objects.filter(pk=question.pk, status=QuestionStatus.OPEN).update(
        status=QuestionStatus.ANSWERED if content else QuestionStatus.DISMISSED,
        answered_by=content,
        resolved_by=actor,
        resolved_at=now,
    )
    if not updated:
        raise Conflict("This question was already handled.")
    question.refresh_from_db()
    return question
