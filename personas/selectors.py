"""Reads for personas and content. The "who matches" preview is the one place personas
reads leads."""

import heapq
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet

from personas.criteria import FIT_COLUMNS
from personas.fit import FitResult, compile_persona
from personas.models import (
    BuyerStage,
    ContentPiece,
    Persona,
    PersonaSignOff,
    PersonaStatus,
    PersonaVersion,
    ProspectQuestion,
    QuestionStatus,
)


def persona_list() -> QuerySet[Persona]:
    """Personas with what the list page shows, in a fixed number of queries."""
    return Persona.objects.annotate(
        criteria_count=Count("criteria", distinct=True),
        content_count=Count("content", distinct=True),
    ).prefetch_related(
        Prefetch(
            "sign_offs",
            queryset=PersonaSignOff.objects.select_related("user", "version"),
        )
    )


def current_sign_offs(persona: Persona) -> list[PersonaSignOff]:
    """Sign-offs on the persona's current version (uses a prefetch when there is one)."""
    return [s for s in persona.sign_offs.all() if s.version.number == persona.version]


def persona_detail(pk: int) -> Persona:
    return Persona.objects.prefetch_related(
        "criteria",
        Prefetch("sign_offs", queryset=PersonaSignOff.objects.select_related("user", "version")),
    ).get(pk=pk)


def persona_versions(persona: Persona) -> QuerySet[PersonaVersion]:
    return persona.versions.select_related("created_by").prefetch_related(
        Prefetch("sign_offs", queryset=PersonaSignOff.objects.select_related("user"))
    )


def agreed_personas() -> list[Persona]:
    """What lead scoring should use: agreed personas with their criteria loaded."""
    return list(Persona.objects.filter(status=PersonaStatus.AGREED).prefetch_related("criteria"))


@dataclass(frozen=True)
class MatchPreview:
    evaluated: int  # leads looked at
    matching: int  # of those, fit >= the persona's threshold
    sample: list[tuple[object, FitResult]]  # best-fitting matches, best first


def persona_matches(persona: Persona, *, sample_size: int = 10) -> MatchPreview:
    """How many existing leads match the persona, and the best-fitting few.

    Counting needs the fit of every lead, and the fit is Python, so leads are streamed with
    only the columns the engine reads; memory stays flat and the sample is a bounded heap.
    """
    from leads.models import Lead  # the one read of leads from personas; see module doc

    compiled = compile_persona(persona)
    threshold = persona.fit_threshold
    rows = Lead.objects.values_list("pk", *FIT_COLUMNS).order_by()
    columns = ("pk", *FIT_COLUMNS)
    heap: list[tuple[int, int, int]] = []  # (score, -pk, pk): best score, then oldest lead
    evaluated = matching = 0
    if compiled.total_weight:
        for row in rows.iterator(chunk_size=2000):
            evaluated += 1
            lead = dict(zip(columns, row, strict=True))
            score = compiled.score(lead)
            if score < threshold:
                continue
            matching += 1
            item = (score, -row[0], row[0])
            if len(heap) < sample_size:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
    else:
        evaluated = Lead.objects.count()
    best = sorted(heap, reverse=True)
    leads = Lead.objects.in_bulk([pk for _, _, pk in best])
    sample = [(leads[pk], compiled.explain(leads[pk])) for _, _, pk in best if pk in leads]
    return MatchPreview(evaluated=evaluated, matching=matching, sample=sample)


# --- content


def content_list(*, persona_id: int | None = None, stage: str = "", team: str = "", fmt: str = ""):
    pieces = ContentPiece.objects.prefetch_related("personas").select_related("created_by")
    if persona_id:
        pieces = pieces.filter(personas__id=persona_id)
    if stage:
        pieces = pieces.filter(stage=stage)
    if team:
        pieces = pieces.filter(authored_by_team=team)
    if fmt:
        pieces = pieces.filter(format=fmt)
    return pieces.distinct()


@dataclass(frozen=True)
class MatrixCell:
    persona: Persona | None
    stage: str
    count: int

    @property
    def is_gap(self) -> bool:
        return self.count == 0


def content_matrix(personas: list[Persona]) -> list[dict]:
    """Rows of personas x buyer stages with content counts (one query). A last row counts
    content that names no persona, which is often a gap of its own."""
    counts = Counter(
        (row["personas"], row["stage"])
        for row in ContentPiece.objects.values("personas", "stage").order_by()
    )
    rows = []
    for persona in personas:
        cells = [MatrixCell(persona, s, counts[(persona.pk, s)]) for s in BuyerStage.values]
        rows.append({"persona": persona, "cells": cells, "total": sum(c.count for c in cells)})
    unassigned = [MatrixCell(None, s, counts[(None, s)]) for s in BuyerStage.values]
    rows.append({"persona": None, "cells": unassigned, "total": sum(c.count for c in unassigned)})
    return rows


def open_questions() -> QuerySet[ProspectQuestion]:
    return ProspectQuestion.objects.filter(status=QuestionStatus.OPEN).select_related(
        "persona", "submitted_by"
    )


def question_list(*, status: str = "") -> QuerySet[ProspectQuestion]:
    questions = ProspectQuestion.objects.select_related(
        "persona", "submitted_by", "answered_by", "resolved_by"
    )
    return questions.filter(status=status) if status else questions


def content_gap_count(matrix: list[dict]) -> int:
    return sum(1 for row in matrix if row["persona"] for cell in row["cells"] if cell.is_gap)
