"""Pages for scoring: the model list, the rule builder (htmx), sign-off and activation,
the backtest beside the active model, and rescore progress."""

from chartkick.django import ColumnChart
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.scoring import selectors, services
from leads.scoring.compile import condition_description, rule_description
from leads.scoring.forms import ModelSettingsForm, RuleForm
from leads.scoring.models import (
    ModelStatus,
    RescoreJob,
    RescoreStatus,
    RuleKind,
    ScoringModel,
    ScoringRule,
)
from leads.scoring.suggest import suggest_weights
from smarketing.errors import ApplicationError
from smarketing.roles import user_team


def _can_view(user) -> None:
    if not user.has_perm("leads.view_scoringmodel"):
        raise PermissionDenied


def _can_edit(user) -> None:
    if not user.has_perm("leads.change_scoringmodel"):
        raise PermissionDenied


def get_model_for_user(user, pk: int) -> ScoringModel:
    _can_view(user)
    return get_object_or_404(
        ScoringModel.objects.prefetch_related("rules", "sign_offs__user", "events__actor"), pk=pk
    )


def scoring_list(request):
    _can_view(request.user)
    models = list(selectors.models_list())
    running = RescoreJob.objects.filter(
        status__in=[RescoreStatus.QUEUED, RescoreStatus.RUNNING]
    ).first()
    return render(
        request,
        "leads/scoring/list.html",
        {
            "models": models,
            "active": next((m for m in models if m.status == ModelStatus.ACTIVE), None),
            "running": running,
            "can_edit": request.user.has_perm("leads.change_scoringmodel"),
        },
    )


@require_POST
def scoring_new_draft(request):
    _can_edit(request.user)
    based_on = services.active_model()
    source_pk = request.POST.get("based_on")
    if source_pk:
        based_on = get_object_or_404(ScoringModel, pk=source_pk)
    model = services.scoring_model_create(
        name=f"Draft from v{based_on.version}" if based_on else "First definition",
        actor=request.user,
        now=timezone.now(),
        based_on=based_on,
    )
    messages.success(request, f"Draft v{model.version} created. Change its rules, then propose it.")
    return redirect("leads:scoring_detail", model.pk)


def _rules_context(
    model: ScoringModel,
    *,
    form: RuleForm | None = None,
    editing: int | None = None,
    edit_form: RuleForm | None = None,
) -> dict:
    rules = list(ScoringRule.objects.filter(model=model))  # fresh: the page's prefetch is stale
    return {
        "model": model,
        "rules": [
            (
                rule,
                rule_description(rule),
                condition_description(rule)
                if rule.label and rule.kind in (RuleKind.FIT, RuleKind.EXCLUSION)
                else "",
            )
            for rule in rules
        ],
        "rule_form": form or RuleForm(),
        "editing": editing,
        "edit_form": edit_form,
        "editable": model.is_editable,
    }


def scoring_detail(request, pk: int):
    model = get_model_for_user(request.user, pk)
    team = user_team(request.user)
    signed = {s.team: s for s in model.sign_offs.all()}
    can_edit = request.user.has_perm("leads.change_scoringmodel") and model.is_editable
    settings_form = ModelSettingsForm(instance=model) if can_edit else None
    context = {
        **_rules_context(model),
        "editable": can_edit,
        "settings_form": settings_form,
        "signed": signed,
        "can_sign": (
            model.status == ModelStatus.PROPOSED
            and request.user.has_perm("leads.sign_off_scoringmodel")
            and team is not None
            and team not in signed
        ),
        "can_propose": can_edit and model.rules.exists(),
        "can_activate": (
            model.status == ModelStatus.PROPOSED
            and {"marketing", "sales"} <= set(signed)
            and (
                request.user.has_perm("leads.change_scoringmodel")
                or request.user.has_perm("leads.sign_off_scoringmodel")
            )
        ),
        "can_copy": request.user.has_perm("leads.change_scoringmodel"),
        "rescore": model.rescores.first(),
        "events": list(model.events.all()),
    }
    return render(request, "leads/scoring/detail.html", context)


@require_POST
def scoring_settings(request, pk: int):
    model = get_model_for_user(request.user, pk)
    _can_edit(request.user)
    form = ModelSettingsForm(request.POST, instance=ScoringModel.objects.get(pk=pk))
    if form.is_valid():
        try:
            services.scoring_model_update(
                model=model, actor=request.user, now=timezone.now(), **form.cleaned_data
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "MQL definition saved.")
        return redirect("leads:scoring_detail", pk)
    messages.error(
        request,
        "The MQL definition has errors: "
        + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
    )
    return redirect("leads:scoring_detail", pk)


def _rules_response(request, model: ScoringModel, **extra) -> HttpResponse:
    if not request.htmx:
        return redirect("leads:scoring_detail", model.pk)
    response = render(request, "leads/scoring/_rules.html", _rules_context(model, **extra))
    response["HX-Trigger"] = "rulesChanged"
    return response


def _apply_errors(form: RuleForm, exc: ApplicationError) -> None:
    for field, problems in exc.extra.items():
        target = field if field in form.fields else None
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(target, problem)
    if not exc.extra:
        form.add_error(None, exc.message)


@require_POST
def scoring_rule_add(request, pk: int):
    model = get_model_for_user(request.user, pk)
    _can_edit(request.user)
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            services.rule_add(
                model=model, data=form.rule_data(), actor=request.user, now=timezone.now()
            )
        except ApplicationError as exc:
            _apply_errors(form, exc)
        else:
            return _rules_response(request, model)
    if not request.htmx:
        messages.error(
            request,
            "The rule was not added: "
            + " ".join(str(e) for errors in form.errors.values() for e in errors),
        )
    return _rules_response(request, model, form=form)


def scoring_rule_edit(request, pk: int, rule_pk: int):
    model = get_model_for_user(request.user, pk)
    _can_edit(request.user)
    rule = get_object_or_404(ScoringRule, pk=rule_pk, model=model)
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                services.rule_update(
                    rule=rule, data=form.rule_data(), actor=request.user, now=timezone.now()
                )
            except ApplicationError as exc:
                _apply_errors(form, exc)
            else:
                return _rules_response(request, model)
        return _rules_response(request, model, editing=rule.pk, edit_form=form)
    form = RuleForm(initial=RuleForm.initial_for(rule))
    return _rules_response(request, model, editing=rule.pk, edit_form=form)


@require_POST
def scoring_rule_delete(request, pk: int, rule_pk: int):
    model = get_model_for_user(request.user, pk)
    _can_edit(request.user)
    rule = get_object_or_404(ScoringRule, pk=rule_pk, model=model)
    try:
        services.rule_remove(rule=rule, actor=request.user, now=timezone.now())
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _rules_response(request, model)


def scoring_preview(request, pk: int):
    """Live counts for the builder: open leads that would be MQL under this model today,
    beside the active model."""
    model = get_model_for_user(request.user, pk)
    now = timezone.now()
    this = selectors.backtest(model=model, now=now)
    active = services.active_model()
    other = selectors.backtest(model=active, now=now) if active and active.pk != model.pk else None
    return render(
        request,
        "leads/scoring/_preview.html",
        {"model": model, "this": this, "active": active, "other": other},
    )


def _histogram_chart(result: dict) -> ColumnChart | None:
    bins = result["histogram"]
    if not bins:
        return None
    labels = [f"{b['from']}..{b['to']}" for b in bins]
    return ColumnChart(
        [
            {
                "name": "Won",
                "data": [[label, b["won"]] for label, b in zip(labels, bins, strict=True)],
            },
            {
                "name": "Lost",
                "data": [[label, b["lost"]] for label, b in zip(labels, bins, strict=True)],
            },
        ],
        colors=["#198754", "#dc3545"],
        xtitle="Total score",
        ytitle="Leads",
        height="240px",
    )


def scoring_backtest(request, pk: int):
    model = get_model_for_user(request.user, pk)
    now = timezone.now()
    columns = [(model, selectors.backtest(model=model, now=now).as_dict())]
    active = services.active_model()
    if active and active.pk != model.pk:
        columns.append((active, selectors.backtest(model=active, now=now).as_dict()))
    columns = [(m, r, _histogram_chart(r)) for m, r in columns]
    template = "leads/scoring/_backtest.html" if request.htmx else "leads/scoring/backtest.html"
    suggestion = suggest_weights(model=model, now=now)
    return render(request, template, {"model": model, "columns": columns, "suggestion": suggestion})


@require_POST
def scoring_action(request, pk: int, action: str):
    model = get_model_for_user(request.user, pk)
    now = timezone.now()
    try:
        if action == "propose":
            _can_edit(request.user)
            services.scoring_model_propose(model=model, actor=request.user, now=now)
            messages.success(request, f"v{model.version} proposed: both teams can now sign it off.")
        elif action == "sign-off":
            services.scoring_model_sign_off(model=model, user=request.user, now=now)
            messages.success(request, f"You signed v{model.version} for your team.")
        elif action == "activate":
            if not (
                request.user.has_perm("leads.change_scoringmodel")
                or request.user.has_perm("leads.sign_off_scoringmodel")
            ):
                raise PermissionDenied
            job = services.scoring_model_activate(model=model, actor=request.user, now=now)
            messages.success(
                request, f"v{model.version} is now in force; every lead is being rescored."
            )
            return redirect("leads:scoring_rescore", job.pk)
        else:
            raise PermissionDenied
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise PermissionDenied from exc
        messages.error(request, exc.message)
    return redirect("leads:scoring_detail", pk)


@require_POST
def scoring_rescore_start(request):
    if not request.user.has_perm("leads.change_scoringmodel"):
        raise PermissionDenied
    try:
        job = services.rescore_start(actor=request.user, now=timezone.now())
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("leads:scoring")
    return redirect("leads:scoring_rescore", job.pk)


def scoring_rescore(request, job_pk: int):
    _can_view(request.user)
    job = get_object_or_404(RescoreJob.objects.select_related("model"), pk=job_pk)
    finished = job.status in (RescoreStatus.DONE, RescoreStatus.FAILED)
    template = "leads/scoring/_rescore.html" if request.htmx else "leads/scoring/rescore.html"
    return render(request, template, {"job": job, "finished": finished})
