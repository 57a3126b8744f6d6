"""Reads of leads: the filtered list, one lead's timeline and stage history, the export."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from leads.handoff.models import Handoff, Touch
from leads.models import Activity, Lead, Stage, StageChange
from leads.services import LEAD_INPUT_FIELDS

VIEW_PERMISSION = "leads.view_lead"
SEARCH_ID_LIMIT = 2000

SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-score": ("-score", "-id"),
    "score": ("score", "id"),
    "name": ("last_name", "first_name", "id"),
    "company": ("company", "id"),
    "-updated": ("-updated_at", "-id"),
    "stage": ("stage__order", "-score", "-id"),
}
SORT_LABELS = {
    "-created": "Newest",
    "created": "Oldest",
    "-score": "Score, high first",
    "score": "Score, low first",
    "name": "Name",
    "company": "Company",
    "-updated": "Recently updated",
    "stage": "Stage",
}


def lead_get_for_user(user, pk: int) -> Lead:
    """The one access check for a single lead, used by pages and the API alike."""
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    return get_object_or_404(Lead.objects.select_related("stage", "owner"), pk=pk)


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _owners(request=None):
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "username")


@extend_schema_field(OpenApiTypes.STR)
class StageSlugFilter(django_filters.ModelMultipleChoiceFilter):
    """Stages by slug (`?stage=mql&stage=sal`)."""


def _personas(request=None):
    from personas.models import Persona

    return Persona.objects.order_by("name")


class LeadFilter(django_filters.FilterSet):
    """Filters for the lead list page and `GET /api/v1/leads/`. Persona is the best-fit
    persona the scoring engine recorded with the lead's current score."""

    q = django_filters.CharFilter(method="search", label="Search")
    stage = StageSlugFilter(
        field_name="stage__slug",
        distinct=False,  # a lead has one stage: no duplicate rows to remove
        queryset=Stage.objects.all(),
        to_field_name="slug",
        widget=forms.SelectMultiple,
    )
    owner = django_filters.ModelChoiceFilter(queryset=_owners, null_label="Nobody")
    persona = django_filters.ModelChoiceFilter(
        field_name="current_score__persona", queryset=_personas, null_label="No persona"
    )
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label="Score ≥")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte", label="Score ≤")
    source = django_filters.CharFilter(field_name="source", lookup_expr="exact")
    # Whole days in the site's time zone, as a range on created_at so the index serves it.
    created_after = django_filters.DateFilter(
        method="created_from", label="Created from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = django_filters.DateFilter(
        method="created_to", label="Created to", widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = django_filters.ChoiceFilter(
        method="sort_by", choices=list(SORT_LABELS.items()), empty_label=None, label="Sort"
    )

    class Meta:
        model = Lead
        fields = ["q", "stage", "owner", "score_min", "score_max", "source"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        matches = queryset.filter(
            Q(email__icontains=value)
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(company__icontains=value)
        )
        # PostgreSQL overestimates how many rows a LIKE matches, so with ORDER BY ... LIMIT
        # it walks the whole created_at index (150+ ms at 100k leads) instead of using the
        # trigram indexes. Collecting the matching ids first, without an ORDER BY, uses the
        # trigram indexes (a few ms); a term matching thousands is common enough that the
        # ordered index walk finds a page quickly, so it keeps the plain query.
        ids = list(matches.order_by().values_list("id", flat=True)[: SEARCH_ID_LIMIT + 1])
        if len(ids) <= SEARCH_ID_LIMIT:
            return queryset.filter(pk__in=ids)
        return matches

    def created_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=_start_of_day(value))

    def created_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=_start_of_day(value + timedelta(days=1)))

    def sort_by(self, queryset, name, value):
        return queryset.order_by(*SORTS.get(value, SORTS["-created"]))

    @property
    def qs(self):
        qs = super().qs
        if not self.form.cleaned_data.get("sort"):
            qs = qs.order_by(*SORTS["-created"])
        return qs


def lead_list(*, params, user) -> LeadFilter:
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    return LeadFilter(
        params,
        queryset=Lead.objects.select_related("stage", "owner", "current_score__persona"),
    )


def owner_choices() -> list[tuple[str, str]]:
    """(value, label) of the owner filter's options, built once: the template compares
    plain strings instead of resolving a bound field for each of hundreds of users."""
    rows = _owners().values_list("pk", "first_name", "last_name", "username")
    return [(str(pk), f"{first} {last}".strip() or username) for pk, first, last, username in rows]


def lead_count_estimate() -> int | None:
    """PostgreSQL's estimate of how many leads there are (kept up to date by autovacuum's
    ANALYZE), to the nearest thousand; None when the table was never analysed. For the
    unfiltered list, where an exact count would read every lead."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [Lead._meta.db_table],
        )
        row = cursor.fetchone()
    return round(row[0], -3) if row and row[0] > 0 else None


SOURCES_LIMIT = 200

# A loose index scan: each step asks the `lead_source` index for the next source after the
# previous one, so listing the few distinct sources costs a few index probes instead of
# reading every lead (a plain DISTINCT walks a million index entries, 100+ ms).
_SOURCES_SKIP_SCAN = """
    WITH RECURSIVE s(source) AS (
        (SELECT source FROM leads_lead WHERE source > '' ORDER BY source LIMIT 1)
        UNION ALL
        SELECT (SELECT l.source FROM leads_lead l WHERE l.source > s.source
                ORDER BY l.source LIMIT 1)
        FROM s WHERE s.source IS NOT NULL
    )
    SELECT source FROM s WHERE source IS NOT NULL LIMIT %s
"""


def lead_sources(*, limit: int = SOURCES_LIMIT) -> list[str]:
    """The distinct non-empty sources, in order, for the filter menus. Exact and uncached:
    a source that arrives now is offered now."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_SOURCES_SKIP_SCAN, [limit])
            return [row[0] for row in cursor.fetchall()]
    return list(
        Lead.objects.exclude(source="")
        .values_list("source", flat=True)
        .distinct()
        .order_by("source")[:limit]
    )


# --- One lead -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "activity" | "stage" | "handoff" | "touch"
    item: Activity | StageChange | Handoff | Touch


def lead_timeline(*, lead: Lead, limit: int = 200) -> list[TimelineEntry]:
    """Everything that happened to a lead, newest first, as one list: engagement, stage
    changes, handoffs to Sales (with the routing decision and when the rep was notified)
    and Sales' touches."""
    activities = list(lead.activities.order_by("-occurred_at", "-id")[:limit])
    changes = list(
        lead.stage_changes.select_related("from_stage", "to_stage", "changed_by").order_by(
            "-changed_at", "-id"
        )[:limit]
    )
    handoffs = list(
        lead.handoffs.select_related("owner", "team")
        .prefetch_related("decisions")
        .order_by("-created_at")[:limit]
    )
    touches = list(
        lead.touches.select_related("rep", "content").order_by("-touched_at", "-id")[:limit]
    )
    entries = [TimelineEntry(a.occurred_at, "activity", a) for a in activities]
    entries += [TimelineEntry(c.changed_at, "stage", c) for c in changes]
    entries += [TimelineEntry(h.created_at, "handoff", h) for h in handoffs]
    entries += [TimelineEntry(t.touched_at, "touch", t) for t in touches]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


@dataclass(frozen=True)
class StageVisit:
    stage: Stage
    entered_at: datetime
    left_at: datetime | None
    duration: timedelta


def lead_stage_visits(*, lead: Lead, now: datetime) -> list[StageVisit]:
    """Each stay in a stage, oldest first, derived from StageChange so that a recycled
    lead's second visit to MQL is its own row. Time-in-stage is `duration`."""
    changes = list(lead.stage_changes.select_related("to_stage").order_by("changed_at", "id"))
    visits = []
    for i, change in enumerate(changes):
        left = changes[i + 1].changed_at if i + 1 < len(changes) else None
        visits.append(
            StageVisit(change.to_stage, change.changed_at, left, (left or now) - change.changed_at)
        )
    return visits


def lead_stage_entered_at(*, lead: Lead) -> dict[str, datetime]:
    """When the lead last entered each stage it has been in, by stage slug."""
    entered: dict[str, datetime] = {}
    for slug, at in lead.stage_changes.order_by("changed_at", "id").values_list(
        "to_stage__slug", "changed_at"
    ):
        entered[slug] = at
    return entered


LEAD_EXPORT_FIELDS = (
    "id",
    *LEAD_INPUT_FIELDS,
    "attributes",
    "fit_score",
    "engagement_score",
    "score",
    "created_at",
    "updated_at",
    "erased_at",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    return str(value)


def lead_export_data(*, lead: Lead, now: datetime) -> dict[str, Any]:
    lead = Lead.objects.select_related("stage", "owner").get(pk=lead.pk)
    data = {name: _jsonable(getattr(lead, name)) for name in LEAD_EXPORT_FIELDS}
    data["stage"] = lead.stage.name
    data["owner"] = lead.owner.get_username() if lead.owner else None
    data["stage_history"] = [
        {
            "from": c.from_stage.name if c.from_stage else None,
            "to": c.to_stage.name,
            "at": c.changed_at.isoformat(),
            "by": c.changed_by.get_username() if c.changed_by else None,
            "rule": c.rule,
            "reason": c.reason,
        }
        for c in lead.stage_changes.select_related("from_stage", "to_stage", "changed_by")
    ]
    data["activities"] = [
        {
            "type": a.type,
            "occurred_at": a.occurred_at.isoformat(),
            "source": a.source,
            "event_id": a.event_id,
            "properties": a.properties,
        }
        for a in lead.activities.order_by("occurred_at", "id")
    ]
    return {"exported_at": now.isoformat(), "lead": data}


@dataclass(frozen=True)
class ContentWins:
    content: Any  # personas.ContentPiece
    touches: int
    leads: int
    won: int

    @property
    def win_rate(self) -> float | None:
        return self.won / self.leads if self.leads else None


def content_in_won_deals() -> list[ContentWins]:
    """Which content Sales sent, to how many leads, and how many of those leads were won
    (a customer now, or imported with outcome "won"). One aggregate query."""
    from django.db.models import Count

    from personas.models import ContentPiece

    won = Q(touches__lead__stage__kind="customer") | Q(touches__lead__attributes__outcome="won")
    rows = (
        ContentPiece.objects.annotate(
            touch_count=Count("touches", distinct=True),
            lead_count=Count("touches__lead", distinct=True),
            won_count=Count("touches__lead", filter=won, distinct=True),
        )
        .filter(touch_count__gt=0)
        .prefetch_related("personas")
        .order_by("-won_count", "-lead_count", "title")
    )
    return [ContentWins(r, r.touch_count, r.lead_count, r.won_count) for r in rows]
