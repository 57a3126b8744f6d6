"""Pages for sales managers: routing rules (create, edit, reorder, deactivate), teams and their
reps, the distribution of handoffs per rep, and the routing ledger."""

from datetime import timedelta

from chartkick.django import ColumnChart
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.models import Lead
from leads.routing import selectors, services
from leads.routing.forms import MemberForm, RuleForm, TeamForm
from leads.routing.models import RoutingRule, SalesTeam, TeamMember
from smarketing.errors import ApplicationError

PERIODS = {7: "7 days", 30: "30 days", 90: "90 days"}
LEDGER_PAGE = 50


def _can_manage(user) -> None:
    if not user.has_perm("leads.manage_routing"):
        raise PermissionDenied


def _form_errors(form, exc: ApplicationError) -> None:
    """Put a service's field messages on the form; unknown fields become form errors."""
    for name, problems in exc.extra.items():
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(name if name in form.fields else None, problem)
    if not exc.extra:
        form.add_error(None, exc.message)


def _period(request) -> int:
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    return days if days in PERIODS else 30


def routing_home(request):
    _can_manage(request.user)
    now = timezone.now()
    days = _period(request)
    since = now - timedelta(days=days)
    rows = selectors.distribution(since=since, until=now)
    rules = selectors.rules_with_matches(since=since)
    chart = None
    if any(r.assigned for r in rows):
        chart = ColumnChart(
            {(r.user.get_full_name() or r.user.username): r.assigned for r in rows},
            xtitle="Rep",
            ytitle="Handoffs assigned",
            height="220px",
        )
    return render(
        request,
        "leads/routing/home.html",
        {
            "rules": [
                (rule, services.rule_conditions(rule), services.rule_target(rule)) for rule in rules
            ],
            "movable": sum(1 for r in rules if not r.is_default),
            "has_default": any(r.is_default and r.active for r in rules),
            "teams": selectors.teams_with_members(),
            "rows": rows,
            "chart": chart,
            "days": days,
            "periods": PERIODS,
            "decisions": list(selectors.ledger()[:15]),
            "changes": selectors.recent_changes(),
        },
    )


def rule_new(request):
    _can_manage(request.user)
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.rule_create(
                data=form.rule_data(), actor=request.user, now=timezone.now()
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Rule “{rule.name}” added.")
            return redirect("leads:routing")
    return render(request, "leads/routing/rule_form.html", {"form": form, "rule": None})


def rule_edit(request, pk: int):
    _can_manage(request.user)
    rule = get_object_or_404(RoutingRule, pk=pk)
    form = RuleForm(request.POST or None, initial=RuleForm.initial_for(rule))
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_update(
                rule=rule, data=form.rule_data(), actor=request.user, now=timezone.now()
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Rule “{rule.name}” saved.")
            return redirect("leads:routing")
    history = rule.changes.select_related("actor")[:20]
    return render(
        request, "leads/routing/rule_form.html", {"form": form, "rule": rule, "history": history}
    )


@require_POST
def rule_move(request, pk: int, direction: str):
    _can_manage(request.user)
    rule = get_object_or_404(RoutingRule, pk=pk)
    try:
        services.rule_move(
            rule=rule,
            direction=-1 if direction == "up" else 1,
            actor=request.user,
            now=timezone.now(),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("leads:routing")


@require_POST
def rule_toggle(request, pk: int):
    _can_manage(request.user)
    rule = get_object_or_404(RoutingRule, pk=pk)
    try:
        services.rule_set_active(
            rule=rule, active=not rule.active, actor=request.user, now=timezone.now()
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        state = "active again" if rule.active else "deactivated; it no longer matches leads"
        messages.success(request, f"Rule “{rule.name}” {state}.")
    return redirect("leads:routing")


def team_new(request):
    _can_manage(request.user)
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_save(
                data=form.cleaned_data, actor=request.user, now=timezone.now()
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Team {team.name} created. Add its reps next.")
            return redirect("leads:routing_team", team.pk)
    return render(request, "leads/routing/team_form.html", {"form": form, "team": None})


def team_detail(request, pk: int):
    """The team's settings and its reps, each with a form for weight, cap and hours."""
    _can_manage(request.user)
    team = get_object_or_404(SalesTeam.objects.select_related("manager"), pk=pk)
    form = TeamForm(request.POST or None, initial=TeamForm.initial_for(team))
    if request.method == "POST" and form.is_valid():
        try:
            services.team_save(
                team=team, data=form.cleaned_data, actor=request.user, now=timezone.now()
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Team {team.name} saved.")
            return redirect("leads:routing_team", team.pk)
    members = list(team.members.select_related("user").order_by("id"))
    return render(
        request,
        "leads/routing/team_detail.html",
        {
            "team": team,
            "form": form,
            "members": members,
            "add_form": MemberForm(team=team),
            "history": team.changes.select_related("actor")[:20],
        },
    )


def member_add(request, pk: int):
    _can_manage(request.user)
    team = get_object_or_404(SalesTeam, pk=pk)
    form = MemberForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_save(
                team=team, data=form.cleaned_data, actor=request.user, now=timezone.now()
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{services.display_name(member.user)} joined {team.name}.")
            return redirect("leads:routing_team", team.pk)
    return render(
        request, "leads/routing/member_form.html", {"form": form, "team": team, "member": None}
    )


def member_edit(request, pk: int, member_pk: int):
    _can_manage(request.user)
    member = get_object_or_404(
        TeamMember.objects.select_related("team", "user"), pk=member_pk, team_id=pk
    )
    form = MemberForm(request.POST or None, team=member.team, member=member)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_save(
                team=member.team,
                member=member,
                data=form.cleaned_data,
                actor=request.user,
                now=timezone.now(),
            )
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{services.display_name(member.user)} saved.")
            return redirect("leads:routing_team", member.team_id)
    return render(
        request,
        "leads/routing/member_form.html",
        {"form": form, "team": member.team, "member": member},
    )


@require_POST
def member_remove(request, pk: int, member_pk: int):
    _can_manage(request.user)
    member = get_object_or_404(
        TeamMember.objects.select_related("team", "user"), pk=member_pk, team_id=pk
    )
    name = services.display_name(member.user)
    services.member_remove(member=member, actor=request.user, now=timezone.now())
    messages.success(request, f"{name} left {member.team.name}; their open leads stay with them.")
    return redirect("leads:routing_team", pk)


def routing_preview(request):
    """Where a lead would go if it qualified now, without moving any counter: for checking a
    rule before leads depend on it. Answers an htmx swap (or a plain page without htmx)."""
    _can_manage(request.user)
    query = (request.GET.get("lead") or "").strip()
    lead = decision = None
    if query:
        lookup = {"pk": int(query)} if query.isdigit() else {"email__iexact": query}
        lead = Lead.objects.filter(erased_at__isnull=True, **lookup).first()
        if lead is not None:
            decision = services.decide(lead=lead, now=timezone.now(), commit=False)
    template = "leads/routing/_preview.html" if request.htmx else "leads/routing/preview.html"
    return render(request, template, {"query": query, "lead": lead, "decision": decision})


def routing_ledger(request):
    _can_manage(request.user)
    rep_id = request.GET.get("rep")
    rep_id = int(rep_id) if rep_id and rep_id.isdigit() else None
    page = Paginator(selectors.ledger(rep_id=rep_id), LEDGER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/routing/ledger.html",
        {
            "page": page,
            "reps": selectors.sales_users(),
            "rep_id": rep_id,
        },
    )
