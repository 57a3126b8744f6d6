"""Writes to leads. Every function takes `now` and keyword-only arguments."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower

from leads.models import Lead, Stage, StageChange
from smarketing.errors import ApplicationError

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


def lead_find(*, email: str = "", external_id: str = "", source: str = "") -> Lead | None:
    """The lead an intake names: by email (case-insensitive) first, then by external id
    within its source."""
    if email:
        lead = Lead.objects.annotate(email_ci=Lower("email")).filter(email_ci=email.lower()).first()
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
    """
    email = (data.get("email") or "").strip().lower()
    external_id = (data.get("external_id") or "").strip()
    source = (data.get("source") or "").strip()
    if not email and not external_id:
        raise ApplicationError(
            "A lead needs an email or an external_id.",
            extra={"email": ["Give an email or an external_id."]},
        )
    values = {k: data[k] for k in LEAD_INPUT_FIELDS if k in data and not _is_empty(data[k])}
    if email:
        values["email"] = email
    with transaction.atomic():
        lead = lead_find(email=email, external_id=external_id, source=source)
        if lead is not None:
            lead = Lead.objects.select_for_update().get(pk=lead.pk)
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
            return lead, False
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
        return lead, True


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
        Lead.objects.filter(pk=locked.pk).update(
            stage=to_stage, stage_entered_at=now, updated_at=now
        )
        lead.stage, lead.stage_entered_at, lead.updated_at = to_stage, now, now
        return StageChange.objects.create(
            lead=locked,
            from_stage=from_stage,
            to_stage=to_stage,
            changed_by=actor,
            rule=rule,
            reason=reason,
            changed_at=now,
        )
