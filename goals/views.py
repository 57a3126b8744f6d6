from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from goals import access, selectors, services
from goals.calculator import CalculatorError
from goals.charts import pacing_chart, plan_chart
from goals.forms import GoalForm, WhatIfForm
from goals.periods import period_start
from smarketing.errors import ApplicationError


def goal_list(request):
    access.require_view(request.user)
    now = timezone.now()
    page = Paginator(selectors.goal_list(), 20).get_page(request.GET.get("page"))
    cache: selectors.ActualsCache = {}
    rows = [selectors.goal_figures(goal, now=now, cache=cache) for goal in page]
    current = selectors.goal_for_period(on=timezone.localdate(now))
    return render(
        request,
        "goals/list.html",
        {
            "page": page,
            "rows": rows,
            "current": current,
            "can_add": access.can_add_goals(request.user),
        },
    )


def goal_detail(request, pk: int):
    goal = access.get_goal_for_user(request.user, pk)
    now = timezone.now()
    figures = selectors.goal_figures(goal, now=now)
    return render(
        request,
        "goals/detail.html",
        {
            "goal": goal,
            "figures": figures,
            "chart": pacing_chart(figures),
            "whatif_form": GoalForm(instance=goal),
            "changes": goal.changes.select_related("changed_by")[:10],
            "can_change": access.can_change_goals(request.user),
        },
    )


def _save_form(request, form: GoalForm, *, goal=None):
    """Validate and save through the services; domain errors land on the form's fields."""
    if not form.is_valid():
        return None
    now = timezone.now()
    try:
        if goal is None:
            return services.goal_create(data=form.cleaned_data, actor=request.user, now=now)
        return services.goal_update(goal=goal, data=form.cleaned_data, actor=request.user, now=now)
    except ApplicationError as exc:
        for field, errors in exc.extra.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        if not exc.extra:
            form.add_error(None, exc.message)
        return None


def _form_page(request, form, *, goal=None):
    if form.is_bound:
        preview = _preview_context(form.data, goal=goal)
    elif goal is not None:
        preview = _preview_context(form.initial, goal=goal)
    else:
        preview = {"plan": None, "preview_errors": None}
    return render(
        request,
        "goals/form.html",
        {"form": form, "goal": goal, **preview},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def goal_create(request):
    if not access.can_add_goals(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = GoalForm(request.POST)
        goal = _save_form(request, form)
        if goal is not None:
            messages.success(request, f"Goal for {goal.period_label} saved.")
            return redirect("goals:detail", pk=goal.pk)
    else:
        form = GoalForm(initial=services.default_goal_values(today=timezone.localdate()))
    return _form_page(request, form)


@require_http_methods(["GET", "POST"])
def goal_edit(request, pk: int):
    goal = access.get_goal_for_user(request.user, pk, change=True)
    if request.method == "POST":
        form = GoalForm(request.POST, instance=goal)
        saved = _save_form(request, form, goal=goal)
        if saved is not None:
            messages.success(request, f"Goal for {saved.period_label} saved.")
            return redirect("goals:detail", pk=saved.pk)
    else:
        form = GoalForm(instance=goal)
    return _form_page(request, form, goal=goal)


def _labelled(errors) -> list[tuple[str, list[str]]]:
    labels = {name: str(field.label) for name, field in GoalForm.base_fields.items()}
    labels["__all__"] = "Funnel"
    return [(labels.get(name, name), list(messages)) for name, messages in errors.items()]


def _preview_context(data, *, goal=None) -> dict:
    """The calculator's answer for whatever the form holds right now. Nothing is saved."""
    form = WhatIfForm(data)
    if not form.is_valid():
        return {"preview_errors": _labelled(form.errors), "plan": None}
    values = form.cleaned_data
    kind = values["period_kind"]
    rates, _ = selectors.rate_choices(
        period_kind=kind,
        period_start=period_start(kind, values["period_start"]),
        lookback_periods=values.get("lookback_periods") or 3,
        overrides=form.overrides(),
    )
    try:
        plan = selectors.plan_for(
            revenue_target=values["revenue_target"],
            marketing_share_pct=values["marketing_share_pct"],
            average_deal_size=values["average_deal_size"],
            rates=rates,
        )
    except CalculatorError as exc:
        return {"preview_errors": _labelled(exc.extra or {"__all__": [exc.message]}), "plan": None}
    saved_plan = selectors.goal_plan(goal) if goal is not None else None
    return {
        "plan": plan,
        "rates": rates,
        "plan_chart": plan_chart(plan),
        "saved_plan": saved_plan.as_dict() if saved_plan else None,
        "lookback_periods": values.get("lookback_periods") or 3,
    }


@require_POST
def goal_preview(request):
    """htmx: re-render the funnel for the form's current values (what-if)."""
    access.require_view(request.user)
    goal = None
    if request.POST.get("goal", "").isdigit():
        goal = access.get_goal_for_user(request.user, int(request.POST["goal"]))
    return render(request, "goals/_funnel.html", _preview_context(request.POST, goal=goal))
