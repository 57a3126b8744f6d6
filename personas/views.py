from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from personas import selectors, services
from personas.forms import (
    ContentFilter,
    ContentPieceForm,
    CriterionForm,
    CriterionFormSet,
    PersonaForm,
    ProspectQuestionForm,
    criteria_from_formset,
)
from personas.models import (
    BuyerStage,
    ContentPiece,
    Persona,
    PersonaStatus,
    ProspectQuestion,
    QuestionStatus,
    SignOffTeam,
)
from smarketing.errors import ApplicationError
from smarketing.roles import Team, user_team


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def get_persona_for_user(user, pk: int, perm: str = "personas.view_persona") -> Persona:
    _require(user, perm)
    try:
        return selectors.persona_detail(pk)
    except Persona.DoesNotExist:
        raise Http404("No such persona.") from None


def _sign_off_state(persona: Persona, user) -> dict:
    signed = {s.team: s for s in selectors.current_sign_offs(persona)}
    team = user_team(user)
    can_sign = (
        user.has_perm("personas.sign_off_persona")
        and team is not None
        and persona.status != PersonaStatus.AGREED
        and team.value not in signed
    )
    return {
        "signed": [
            (label, signed.get(value)) for value, label in SignOffTeam.choices
        ],  # [(team label, sign-off or None)]
        "can_sign": can_sign,
        "my_team": team,
    }


def persona_list(request):
    _require(request.user, "personas.view_persona")
    personas = list(selectors.persona_list())
    rows = [
        {"persona": p, "signed": {s.team for s in selectors.current_sign_offs(p)}} for p in personas
    ]
    return render(
        request,
        "personas/persona_list.html",
        {
            "rows": rows,
            "can_add": request.user.has_perm("personas.add_persona"),
            "Status": PersonaStatus,
        },
    )


def _persona_form_page(request, persona: Persona | None):
    initial = [CriterionForm.initial_for(c) for c in persona.criteria.all()] if persona else None
    if request.method == "POST":
        form = PersonaForm(request.POST, instance=persona)
        formset = CriterionFormSet(request.POST, prefix="criteria", initial=initial)
        if form.is_valid() and formset.is_valid():
            data = {name: form.cleaned_data[name] for name in form.Meta.fields}
            criteria = criteria_from_formset(formset)
            now = timezone.now()
            try:
                if persona is None:
                    persona = services.persona_create(
                        data=data, criteria=criteria, actor=request.user, now=now
                    )
                    messages.success(request, "Persona created. Ask both teams to sign it off.")
                else:
                    version_before = persona.version
                    persona, changes = services.persona_update(
                        persona=persona, data=data, criteria=criteria, actor=request.user, now=now
                    )
                    if not changes:
                        messages.info(request, "Nothing changed.")
                    elif persona.version != version_before:
                        messages.success(
                            request,
                            f"Saved as version {persona.version}; it needs both sign-offs again.",
                        )
                    else:
                        messages.success(request, "Saved.")
                return redirect("personas:detail", pk=persona.pk)
            except ApplicationError as exc:
                for field, errors in exc.extra.items():
                    if field in form.fields:
                        form.add_error(field, errors)
                if not exc.extra:
                    form.add_error(None, exc.message)
    else:
        form = PersonaForm(instance=persona)
        formset = CriterionFormSet(prefix="criteria", initial=initial)
    return render(
        request,
        "personas/persona_form.html",
        {"form": form, "formset": formset, "persona": persona},
        status=400 if request.method == "POST" else 200,
    )


def persona_create(request):
    _require(request.user, "personas.add_persona")
    return _persona_form_page(request, None)


def persona_edit(request, pk: int):
    persona = get_persona_for_user(request.user, pk, "personas.change_persona")
    return _persona_form_page(request, persona)


def persona_detail(request, pk: int):
    persona = get_persona_for_user(request.user, pk)
    content = list(
        persona.content.order_by("stage", "title").only("title", "url", "stage", "format")
    )
    return render(
        request,
        "personas/persona_detail.html",
        {
            "persona": persona,
            "criteria": list(persona.criteria.all()),
            "content": content,
            "can_edit": request.user.has_perm("personas.change_persona"),
            **_sign_off_state(persona, request.user),
        },
    )


def persona_matches(request, pk: int):
    """The "who matches" preview, loaded by htmx after the page so a large lead table
    never slows the detail page itself."""
    persona = get_persona_for_user(request.user, pk)
    preview = selectors.persona_matches(persona, sample_size=10)
    return render(request, "personas/_matches.html", {"persona": persona, "preview": preview})


def persona_history(request, pk: int):
    persona = get_persona_for_user(request.user, pk)
    versions = list(selectors.persona_versions(persona))
    return render(
        request, "personas/persona_history.html", {"persona": persona, "versions": versions}
    )


def persona_worksheet(request, pk: int):
    persona = get_persona_for_user(request.user, pk)
    return render(
        request,
        "personas/worksheet.html",
        {"persona": persona, "criteria": list(persona.criteria.all())},
    )


@require_POST
def persona_sign_off(request, pk: int):
    persona = get_persona_for_user(request.user, pk, "personas.sign_off_persona")
    try:
        services.persona_sign_off(
            persona=persona,
            user=request.user,
            now=timezone.now(),
            note=request.POST.get("note", "")[:300],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if persona.status == PersonaStatus.AGREED:
            messages.success(request, f"Signed. Version {persona.version} is agreed by both teams.")
        else:
            messages.success(request, "Signed. Waiting for the other team.")
    return redirect("personas:detail", pk=persona.pk)


# --- content

CONTENT_PAGE_LIMIT = 200


def content(request):
    """The content matrix (personas x buyer stages) above the filtered content list."""
    _require(request.user, "personas.view_contentpiece")
    personas = list(Persona.objects.order_by("name"))
    matrix = selectors.content_matrix(personas)
    pieces = ContentFilter(
        request.GET, queryset=selectors.content_list().order_by("stage", "title")
    )
    user = request.user
    return render(
        request,
        "personas/content.html",
        {
            "matrix": matrix,
            "stages": BuyerStage.choices,
            "gaps": selectors.content_gap_count(matrix),
            "filter": pieces,
            "pieces": pieces.qs[: CONTENT_PAGE_LIMIT + 1],
            "limit": CONTENT_PAGE_LIMIT,
            "open_questions": selectors.open_questions()[:5],
            "can_add": user.has_perm("personas.add_contentpiece"),
            "can_change": user.has_perm("personas.change_contentpiece"),
        },
    )


def content_create(request):
    _require(request.user, "personas.add_contentpiece")
    question = None
    question_id = request.GET.get("question") or request.POST.get("question")
    if question_id:
        _require(request.user, "personas.change_contentpiece")
        question = get_object_or_404(ProspectQuestion, pk=question_id, status=QuestionStatus.OPEN)
    if request.method == "POST":
        form = ContentPieceForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            personas = data.pop("personas")
            services.content_create(
                data=data,
                personas=personas,
                actor=request.user,
                now=timezone.now(),
                question=question,
            )
            messages.success(request, "Content added.")
            return redirect("personas:content")
    else:
        initial = {}
        if question is not None:
            initial = {
                "title": question.question,
                "stage": question.stage,
                "personas": [question.persona_id] if question.persona_id else [],
                "notes": question.context,
            }
        form = ContentPieceForm(initial=initial)
    return render(
        request,
        "personas/content_form.html",
        {
            "form": form,
            "question": question,
            "team": user_team(request.user) or Team.MARKETING,
        },
        status=400 if request.method == "POST" else 200,
    )


def content_edit(request, pk: int):
    _require(request.user, "personas.change_contentpiece")
    piece = get_object_or_404(ContentPiece, pk=pk)
    if request.method == "POST":
        form = ContentPieceForm(request.POST, instance=piece)
        if form.is_valid():
            data = dict(form.cleaned_data)
            personas = data.pop("personas")
            services.content_update(piece=piece, data=data, personas=personas, now=timezone.now())
            messages.success(request, "Content saved.")
            return redirect("personas:content")
    else:
        form = ContentPieceForm(instance=piece)
    return render(
        request,
        "personas/content_form.html",
        {"form": form, "piece": piece},
        status=400 if request.method == "POST" else 200,
    )


def question_list(request):
    _require(request.user, "personas.view_contentpiece")
    status = request.GET.get("status", QuestionStatus.OPEN)
    if status not in QuestionStatus.values and status != "all":
        status = QuestionStatus.OPEN
    form = None
    if request.user.has_perm("personas.add_contentpiece"):
        form = ProspectQuestionForm()
    return render(
        request,
        "personas/questions.html",
        {
            "questions": selectors.question_list(status="" if status == "all" else status)[:200],
            "status": status,
            "statuses": QuestionStatus.choices,
            "form": form,
            "can_resolve": request.user.has_perm("personas.change_contentpiece"),
        },
    )


def question_create(request):
    _require(request.user, "personas.add_contentpiece")
    if request.method == "POST":
        form = ProspectQuestionForm(request.POST)
        if form.is_valid():
            services.question_submit(**form.cleaned_data, actor=request.user, now=timezone.now())
            messages.success(request, "Thanks, marketing will see it on the content page.")
            return redirect("personas:questions")
        return render(
            request,
            "personas/questions.html",
            {
                "questions": selectors.question_list(status=QuestionStatus.OPEN)[:200],
                "status": QuestionStatus.OPEN,
                "statuses": QuestionStatus.choices,
                "form": form,
            },
            status=400,
        )
    return redirect("personas:questions")


@require_POST
def question_dismiss(request, pk: int):
    _require(request.user, "personas.change_contentpiece")
    question = get_object_or_404(ProspectQuestion, pk=pk)
    try:
        services.question_resolve(
            question=question, content=None, actor=request.user, now=timezone.now()
        )
        messages.info(request, "Question dismissed.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("personas:questions")
