import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from leads import selectors, services
from leads.forms import LeadEraseForm, StageChangeForm
from leads.models import Stage
from smarketing.errors import ApplicationError

PAGE_SIZE = 50
# The most leads a list counts (a whole number of pages). COUNT(*) over a million leads
# costs 100+ ms on every view; past this many, filters or another sort are the way in.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """A paginator that counts at most `cap` rows. `more` says the list goes on past them;
    the pages up to the cap are exact, so no offset is ever deeper than `cap`."""

    def __init__(self, object_list, per_page, *, cap: int):
        super().__init__(object_list, per_page)
        self.cap = cap

    @cached_property
    def _counted(self) -> int:
        # Only the ids, unordered and limited: an index-only count of at most cap + 1 rows.
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def more(self) -> bool:
        return self._counted > self.cap


def select_options(choices: list[tuple[str, str]], *, selected: str) -> str:
    """<option> tags for a long menu, built in one pass: the template engine spends about
    0.1 ms on each of hundreds of options, on every view of the list."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, mark_safe(" selected") if value == selected else "", label)
            for value, label in choices
        ),
    )


def lead_list(request):
    lead_filter = selectors.lead_list(params=request.GET, user=request.user)
    paginator = CappedPaginator(lead_filter.qs, PAGE_SIZE, cap=COUNT_CAP)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    filtered = any(v for k, v in request.GET.items() if k not in ("page", "sort"))
    context = {
        "filter": lead_filter,
        "page": page,
        "query": query.urlencode(),
        "filtered": filtered,
        # Unfiltered and past the cap: the planner's estimate of the whole table, said as such.
        "estimate": selectors.lead_count_estimate() if paginator.more and not filtered else None,
    }
    if request.htmx:
        return render(request, "leads/_lead_table.html", context)
    form = lead_filter.form
    context["sources"] = selectors.lead_sources()
    context["owner_options"] = select_options(
        selectors.owner_choices(), selected=str(form["owner"].value() or "")
    )
    context["selected_persona"] = str(form["persona"].value() or "")
    return render(request, "leads/list.html", context)


def lead_detail(request, pk: int):
    lead = selectors.lead_get_for_user(request.user, pk)
    now = timezone.now()
    can_change = request.user.has_perm("leads.change_lead") and not lead.is_erased
    return render(
        request,
        "leads/detail.html",
        {
            "lead": lead,
            "timeline": selectors.lead_timeline(lead=lead),
            "visits": selectors.lead_stage_visits(lead=lead, now=now),
            "stage_form": StageChangeForm(lead=lead) if can_change else None,
            "can_export": request.user.has_perm("leads.change_lead"),
            "can_erase": request.user.has_perm("leads.erase_lead") and not lead.is_erased,
        },
    )


@require_POST
def lead_change_stage(request, pk: int):
    lead = selectors.lead_get_for_user(request.user, pk)
    if not request.user.has_perm("leads.change_lead"):
        raise PermissionDenied
    form = StageChangeForm(request.POST, lead=lead)
    if form.is_valid():
        stage: Stage = form.cleaned_data["to_stage"]
        try:
            services.lead_change_stage(
                lead=lead,
                to_stage=stage,
                now=timezone.now(),
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Moved to {stage.name}.")
    else:
        messages.error(request, "Pick one of the stages offered: " + form.errors.as_text())
    return redirect("leads:detail", pk=lead.pk)


def lead_export(request, pk: int):
    lead = selectors.lead_get_for_user(request.user, pk)
    if not request.user.has_perm("leads.change_lead"):
        raise PermissionDenied
    data = services.lead_export(lead=lead, actor=request.user, now=timezone.now())
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="lead-{lead.pk}.json"'
    return response


@require_http_methods(["GET", "POST"])
def lead_erase(request, pk: int):
    lead = selectors.lead_get_for_user(request.user, pk)
    if not request.user.has_perm("leads.erase_lead"):
        raise PermissionDenied
    if lead.is_erased:
        messages.info(request, "This lead was already erased.")
        return redirect("leads:detail", pk=lead.pk)
    form = LeadEraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.lead_erase(
            lead=lead, actor=request.user, now=timezone.now(), reason=form.cleaned_data["reason"]
        )
        messages.success(request, f"Lead {lead.pk} was erased. Its anonymous history stays.")
        return redirect("leads:detail", pk=lead.pk)
    return render(request, "leads/erase_confirm.html", {"lead": lead, "form": form})


def content_wins(request):
    """Marketing's view of the content Sales actually sends, and which of it shows up in
    won deals."""
    if not request.user.has_perm("personas.view_contentpiece"):
        raise PermissionDenied
    return render(request, "leads/content_wins.html", {"rows": selectors.content_in_won_deals()})
