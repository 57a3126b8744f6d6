"""Reads for the sales queue: a rep's claimable pool, their open leads, and the rejection
report Marketing learns from."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, QuerySet
from django.http import Http404

from leads.handoff.models import Handoff, HandoffStatus, RejectReason
from leads.handoff.services import QUEUE_ORDER, claimable_handoffs, user_can_work_queue
from smarketing.roles import MANAGER_ROLES, MARKETING_ROLES, has_role

# The queue shows what a rep needs to choose a lead, and nothing more, in a fixed number of
# queries: the lead, its current score and persona, the team.
_QUEUE_RELATED = ("lead", "lead__current_score", "lead__current_score__persona", "team", "owner")
QUEUE_LIMIT = 200
# The queue page shows the most urgent handoffs; "Take the next lead" and the count cover
# the rest. Each row costs template time, so the page shows fewer than the API returns.
QUEUE_PAGE_SIZE = 50
# What a pool row shows, and no more: leads are wide rows (attributes, UTM fields...).
_POOL_RELATED = ("lead", "lead__current_score__persona", "team")
_POOL_FIELDS = (
    *("id", "lead_id", "team_id", "status", "score", "why", "created_at"),
    *("accept_due_at", "first_touch_at", "first_touch_due_at"),
    *("lead__first_name", "lead__last_name", "lead__email", "lead__external_id"),
    *("lead__title", "lead__company", "lead__fit_score", "lead__score"),
    *("lead__current_score__persona_id", "lead__current_score__persona__name", "team__name"),
)
REPORT_RECENT = 25


def can_work_queue(user) -> bool:
    return user_can_work_queue(user)  # has_perm's answer in one remembered query


def can_see_rejections(user) -> bool:
    """Marketing learns from rejections; managers on both sides review them."""
    return user.is_superuser or has_role(user, MARKETING_ROLES | MANAGER_ROLES)


def _by_due(qs: QuerySet) -> QuerySet:
    return qs.order_by(*QUEUE_ORDER)


def queue_for_user(user, *, limit: int = QUEUE_LIMIT) -> list[Handoff]:
    """Unclaimed handoffs in the pools this user works, the most urgent first."""
    if not can_work_queue(user):
        raise PermissionDenied
    qs = claimable_handoffs(user).select_related(*_QUEUE_RELATED)
    return list(_by_due(qs)[:limit])


@dataclass
class QueuePage:
    """What the queue page shows: the rows of its open tab and the size of both tabs."""

    pool: list[Handoff]
    pool_count: int
    mine: list[Handoff]
    mine_count: int


def queue_page(user, *, tab: str, limit: int | None = None) -> QueuePage:
    """The rows of the open tab only; the other tab is just counted. The pool's order is
    served by the partial index `handoff_pool_due`, so the page reads `limit` rows."""
    if not can_work_queue(user):
        raise PermissionDenied
    limit = limit or QUEUE_PAGE_SIZE
    claimable = claimable_handoffs(user)  # resolves the user's teams once
    pool = []
    if tab == "pool":
        rows = claimable.select_related(*_POOL_RELATED).only(*_POOL_FIELDS)
        pool = list(_by_due(rows)[:limit])
    mine = my_leads(user) if tab == "mine" else []
    # A short pool page is the whole pool: no need to count it again.
    pool_count = len(pool) if tab == "pool" and len(pool) < limit else claimable.count()
    mine_count = len(mine) if tab == "mine" else _open_owned(user).count()
    return QueuePage(pool=pool, pool_count=pool_count, mine=mine, mine_count=mine_count)


def _open_owned(user) -> QuerySet:
    return Handoff.objects.filter(
        owner=user, status__in=(HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED)
    )


def my_leads(user) -> list[Handoff]:
    """The user's open handoffs with when the last touch was (each counts its own)."""
    if not can_work_queue(user):
        raise PermissionDenied
    qs = (
        _open_owned(user)
        .select_related(*_QUEUE_RELATED)
        .annotate(last_touch_at=Max("touches__touched_at"))
    )
    return list(_by_due(qs))


def handoff_due(handoff: Handoff) -> tuple[str, datetime | None]:
    """The next deadline on an open handoff and what it is for."""
    if handoff.status in (HandoffStatus.POOL, HandoffStatus.ASSIGNED):
        return "accept", handoff.accept_due_at
    if handoff.first_touch_at is None:
        return "first touch", handoff.first_touch_due_at
    return "", None


def open_handoff_for_lead(user, lead_id: int) -> Handoff:
    """The API acts on a lead's open handoff: there is at most one at a time, since a new
    one needs a new qualification, which needs the previous one closed."""
    if not can_work_queue(user):
        raise PermissionDenied
    handoff = (
        Handoff.objects.filter(
            lead_id=lead_id,
            status__in=(HandoffStatus.POOL, HandoffStatus.ASSIGNED, HandoffStatus.ACCEPTED),
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if handoff is None:
        raise Http404("This lead has no open handoff.")
    return handoff


@dataclass
class RejectionReport:
    total: int
    by_reason: list[dict]  # {reason, label, count}
    by_persona: list[dict]  # {persona, count}
    by_source: list[dict]  # {source, count}
    recent: list[Handoff]
    since: datetime | None


def rejection_report(*, user, since: datetime | None = None) -> RejectionReport:
    """Why Sales sent leads back, so Marketing can fix targeting and data at the source."""
    if not can_see_rejections(user):
        raise PermissionDenied
    qs = Handoff.objects.filter(status=HandoffStatus.REJECTED)
    if since is not None:
        qs = qs.filter(closed_at__gte=since)
    labels = dict(RejectReason.choices)
    by_reason = [
        {"reason": row["reject_reason"], "label": labels.get(row["reject_reason"], "?"), **row}
        for row in qs.values("reject_reason").annotate(count=Count("id")).order_by("-count")
    ]
    persona = "lead__current_score__persona__name"
    by_persona = [
        {"persona": row[persona] or "No persona", "count": row["count"]}
        for row in qs.values(persona).annotate(count=Count("id")).order_by("-count")
    ]
    by_source = [
        {"source": row["lead__source"] or "Unknown", "count": row["count"]}
        for row in qs.values("lead__source").annotate(count=Count("id")).order_by("-count")
    ]
    recent = list(qs.select_related(*_QUEUE_RELATED).order_by("-closed_at", "-id")[:REPORT_RECENT])
    return RejectionReport(
        total=sum(r["count"] for r in by_reason),
        by_reason=by_reason,
        by_persona=by_persona,
        by_source=by_source,
        recent=recent,
        since=since,
    )


def report_since(days: int | None, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days else None
