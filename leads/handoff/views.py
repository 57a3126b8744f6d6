"""The sales queue pages: claim from the pool, work "my leads" (accept, touch, reject,
qualify, disqualify), and Marketing's rejection report. Views check access, call one
service, and say what happened."""

from collections.abc import Callable
from datetime import datetime
from html import escape

from chartkick.django import BarChart
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.timesince import timesince, timeuntil
from django.views.decorators.http import require_POST

from leads.handoff import selectors, services
from leads.handoff.forms import CloseForm, RejectForm, ReportForm, TouchForm
from leads.handoff.models import Handoff, RejectReason, TouchKind, TouchOutcome
from personas.models import ContentPiece
from smarketing.errors import ApplicationError

WHY_CHARS = 160


def _require_queue(user) -> None:
    if not selectors.can_work_queue(user):
        raise PermissionDenied


def _raise_http(exc: ApplicationError) -> None:
    """Permission and existence failures from a service are HTTP errors, not messages."""
    if exc.status_code == 403:
        raise PermissionDenied(exc.message)
    if exc.status_code == 404:
        raise Http404(exc.message)


def _mine_url() -> str:
    return reverse("leads:queue") + "?tab=mine"


def _persona_name(handoff: Handoff) -> str:
    try:
        score = handoff.lead.current_score
    except ObjectDoesNotExist:  # never scored
        return ""
    return score.persona.name if score.persona_id else ""


def _due(handoff: Handoff, now: datetime) -> tuple[str, str, str]:
    """(css class, title, text) of a row's deadline."""
    label, at = selectors.handoff_due(handoff)
    if at is None:
        if label:
            return "text-secondary", "", f"Handed over {timesince(handoff.created_at, now)} ago"
        return "text-secondary", "", "Touched; no deadline pending"
    title = timezone.localtime(at).strftime("%Y-%m-%d %H:%M")
    if at < now:
        return "badge text-bg-danger", title, f"{capfirst(label)} overdue by {timesince(at, now)}"
    return "badge text-bg-light border", title, f"{capfirst(label)} due in {timeuntil(at, now)}"


def _rows(handoffs: list[Handoff], now: datetime) -> list[Handoff]:
    """Put what each row shows on the row, worked out once in Python: template lookups
    that fail (a lead never scored, a score without a fit) and per-row includes and filters
    were most of the page's time."""
    for h in handoffs:
        h.due_class, h.due_title, h.due_text = _due(h, now)
        h.persona_name = _persona_name(h)
        h.fit = h.score.get("fit") or h.lead.fit_score
        h.total = h.score.get("total") or h.lead.score
        h.why_short = h.why if len(h.why) <= WHY_CHARS else h.why[: WHY_CHARS - 1] + "…"
    return handoffs


POOL_ROW = (
    '<tr id="handoff-{pk}"><td>{lead}{title}</td><td>{company}</td>'
    '<td class="text-end">{fit}</td><td class="text-end fw-semibold">{total}</td>'
    '<td>{persona}</td><td class="small">{why}</td><td>{team}</td>'
    '<td class="small text-nowrap"><span class="{due_class}"{due_title}>{due_text}</span></td>'
    '<td class="text-end"><button type="button" class="btn btn-sm btn-outline-primary" '
    'hx-post="{claim_url}" hx-target="#handoff-{pk}" hx-swap="outerHTML">Claim</button></td></tr>'
)


def pool_rows(handoffs: list[Handoff]) -> str:
    """The pool table's rows (after `_rows`), written in one pass with the standard
    library's escaping: as a template loop, a page of 50 rows at fifteen nodes each was most
    of the queue page's time."""
    # One reverse for the page, not one per row.
    before, after = reverse("leads:queue_claim", args=[0]).rsplit("/0/", 1)
    rows = []
    for h in handoffs:
        lead = h.lead
        title = (
            f'<div class="small text-secondary">{escape(lead.title)}</div>' if lead.title else ""
        )
        rows.append(
            POOL_ROW.format(
                pk=h.pk,
                lead=escape(str(lead)),
                title=title,
                company=escape(lead.company or "—"),
                fit=escape(str(h.fit)),
                total=escape(str(h.total)),
                persona=escape(h.persona_name or "—"),
                why=escape(h.why_short),
                team=escape((h.team.name if h.team else "") or "Any rep"),
                due_class=escape(h.due_class),
                due_title=f' title="{escape(h.due_title)}"' if h.due_title else "",
                due_text=escape(h.due_text),
                claim_url=f"{before}/{h.pk}/{after}",
            )
        )
    # Safe: every value from the database is escaped above.
    return mark_safe("".join(rows))  # noqa: S308


def queue(request):
    _require_queue(request.user)
    tab = "mine" if request.GET.get("tab") == "mine" else "pool"
    page = selectors.queue_page(request.user, tab=tab)
    now = timezone.now()
    pool = _rows(page.pool, now)
    return render(
        request,
        "leads/queue/queue.html",
        {
            "tab": tab,
            "pool": pool,
            "pool_rows": pool_rows(pool),
            "pool_count": page.pool_count,
            "mine": _rows(page.mine, now),
            "mine_count": page.mine_count,
            "reject_reasons": RejectReason.choices,
            "touch_kinds": TouchKind.choices,
            "touch_outcomes": TouchOutcome.choices,
            # Only the "My leads" forms offer content to cite.
            "contents": (
                list(ContentPiece.objects.only("id", "title").order_by("title", "id"))
                if tab == "mine"
                else []
            ),
        },
    )


@require_POST
def queue_claim(request, pk: int):
    _require_queue(request.user)
    try:
        handoff = services.handoff_claim(handoff_id=pk, user=request.user, now=timezone.now())
    except ApplicationError as exc:
        if request.htmx and exc.status_code != 404:
            # htmx swaps only 2xx answers: the row itself says why the claim failed.
            return render(
                request,
                "leads/queue/_claim_result.html",
                {"pk": pk, "ok": False, "message": exc.message},
            )
        _raise_http(exc)
        messages.error(request, exc.message)
        return redirect("leads:queue")
    message = f"{handoff.lead} is yours. Accept it or reject it from My leads."
    if request.htmx:
        return render(
            request,
            "leads/queue/_claim_result.html",
            {"pk": pk, "ok": True, "message": message, "handoff": handoff},
        )
    messages.success(request, message)
    return redirect(_mine_url())


@require_POST
def queue_claim_next(request):
    _require_queue(request.user)
    try:
        handoff = services.handoff_claim_next(user=request.user, now=timezone.now())
    except ApplicationError as exc:
        _raise_http(exc)
        messages.info(request, exc.message)
        return redirect("leads:queue")
    messages.success(request, f"{handoff.lead} is yours: the most urgent lead in your pools.")
    return redirect(_mine_url())


def _act(request, action: Callable[[], str]) -> HttpResponse:
    """Run one owner action and come back to My leads with what happened."""
    _require_queue(request.user)
    try:
        messages.success(request, action())
    except ApplicationError as exc:
        _raise_http(exc)
        messages.error(request, exc.message)
    return redirect(_mine_url())


@require_POST
def queue_accept(request, pk: int):
    def action():
        handoff = services.handoff_accept(handoff_id=pk, user=request.user, now=timezone.now())
        return f"Accepted {handoff.lead}: it is now Sales accepted (SAL)."

    return _act(request, action)


@require_POST
def queue_reject(request, pk: int):
    form = RejectForm(request.POST)

    def action():
        if not form.is_valid():
            raise ApplicationError("Rejection not saved: " + _form_errors(form))
        handoff = services.handoff_reject(
            handoff_id=pk,
            user=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            now=timezone.now(),
        )
        return (
            f"Rejected {handoff.lead} ({handoff.get_reject_reason_display()}): "
            "it went back to Marketing for nurture."
        )

    return _act(request, action)


@require_POST
def queue_touch(request, pk: int):
    form = TouchForm(request.POST)

    def action():
        if not form.is_valid():
            raise ApplicationError("Touch not saved: " + _form_errors(form))
        touch = services.touch_log(
            handoff_id=pk,
            user=request.user,
            kind=form.cleaned_data["kind"],
            outcome=form.cleaned_data["outcome"],
            content_id=form.cleaned_data["content"],
            note=form.cleaned_data["note"],
            now=timezone.now(),
        )
        return f"Logged: {touch.get_kind_display()}, {touch.get_outcome_display().lower()}."

    return _act(request, action)


@require_POST
def queue_qualify(request, pk: int):
    form = CloseForm(request.POST)

    def action():
        note = form.cleaned_data["note"] if form.is_valid() else ""
        handoff = services.handoff_qualify(
            handoff_id=pk, user=request.user, note=note, now=timezone.now()
        )
        return f"Qualified {handoff.lead}: it is now Sales qualified (SQL)."

    return _act(request, action)


@require_POST
def queue_disqualify(request, pk: int):
    form = CloseForm(request.POST)

    def action():
        note = form.cleaned_data["note"] if form.is_valid() else ""
        handoff = services.handoff_disqualify(
            handoff_id=pk, user=request.user, note=note, now=timezone.now()
        )
        return f"Disqualified {handoff.lead}."

    return _act(request, action)


def _form_errors(form) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.capitalize() if name in form.fields else ""
        parts.append(f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return "; ".join(parts)


def rejections(request):
    if not selectors.can_see_rejections(request.user):
        raise PermissionDenied
    form = ReportForm(request.GET or None)
    days = form.cleaned_data["days"] if form.is_valid() else None
    report = selectors.rejection_report(
        user=request.user, since=selectors.report_since(days, timezone.now())
    )
    chart = (
        BarChart(
            {row["label"]: row["count"] for row in report.by_reason},
            height=f"{60 + 32 * len(report.by_reason)}px",
            colors=["#dc3545"],
            # Counts are whole leads: no 0.5 ticks.
            library={"scales": {"x": {"ticks": {"precision": 0}}}},
        )
        if report.by_reason
        else None
    )
    return render(
        request,
        "leads/queue/rejections.html",
        {"report": report, "form": form, "days": days, "chart": chart},
    )
