"""SLA pages: the landing page with the agreement in force, the agreement as a document
(edit a draft, send it for signature, sign, new version, history, diff) and the business
calendars with their holidays and a due-time calculator. Compliance dashboards live in
sla/dashboard_views.py."""

import copy
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from sla import documents, services
from sla.calendar import add_business_minutes
from sla.forms import AgreementForm, CalendarForm, DueCalculatorForm
from sla.models import AgreementStatus, BusinessCalendar, SlaAgreement, SlaSignOff
from smarketing.errors import ApplicationError
from smarketing.roles import Team, user_team

VIEW = "sla.view_slaagreement"
CHANGE = "sla.change_slaagreement"
SIGN = "sla.sign_off_slaagreement"
CHANGE_CALENDAR = "sla.change_businesscalendar"
ADD_CALENDAR = "sla.add_businesscalendar"


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def _agreements():
    return SlaAgreement.objects.select_related("created_by").prefetch_related(
        Prefetch("sign_offs", queryset=SlaSignOff.objects.select_related("user"))
    )


def get_agreement_for_user(user, pk: int, perm: str = VIEW) -> SlaAgreement:
    _require(user, perm)
    agreement = _agreements().filter(pk=pk).first()
    if agreement is None:
        raise Http404("No such version of the SLA.")
    return agreement


def get_calendar_for_user(user, pk: int, perm: str = VIEW) -> BusinessCalendar:
    _require(user, perm)
    calendar = (
        BusinessCalendar.objects.select_related("team").prefetch_related("holidays").filter(pk=pk)
    ).first()
    if calendar is None:
        raise Http404("No such calendar.")
    return calendar


def _compliance_url() -> str:
    try:
        return reverse("sla:compliance")
    except NoReverseMatch:
        return "/sla/compliance/"


def _signatures(agreement: SlaAgreement) -> list[tuple[str, SlaSignOff | None]]:
    signed = {s.team: s for s in agreement.sign_offs.all()}
    return [(team.value, signed.get(team.value)) for team in Team]


def _sign_state(agreement: SlaAgreement, user) -> dict:
    team = user_team(user)
    signed = {s.team for s in agreement.sign_offs.all()}
    return {
        "signatures": _signatures(agreement),
        "my_team": team,
        "can_sign": (
            agreement.status == AgreementStatus.PROPOSED
            and user.has_perm(SIGN)
            and team is not None
            and team.value not in signed
        ),
    }


def _in_progress():
    return (
        SlaAgreement.objects.filter(status__in=[AgreementStatus.DRAFT, AgreementStatus.PROPOSED])
        .only("pk", "version", "status")
        .order_by("-version")
        .first()
    )


def home(request):
    """/sla/: the agreement in force in a few lines, what is being negotiated, and where
    the figures are."""
    _require(request.user, VIEW)
    now = timezone.now()
    active = _agreements().filter(status=AgreementStatus.ACTIVE).first()
    ctx = documents.context_today(today=timezone.localdate(now))
    return render(
        request,
        "sla/home.html",
        {
            "active": active,
            "terms": documents.terms_in_words(active, ctx) if active else [],
            "signatures": _signatures(active) if active else [],
            "in_progress": _in_progress(),
            "ctx": ctx,
            "calendars": list(BusinessCalendar.objects.select_related("team")),
            "compliance_url": _compliance_url(),
            "can_see_compliance": request.user.has_perm("sla.view_compliance"),
            "can_change": request.user.has_perm(CHANGE),
        },
    )


def agreement_list(request):
    """Version history: every version, who wrote and signed it, when it was in force."""
    _require(request.user, VIEW)
    versions = list(_agreements().order_by("-version"))
    rows = []
    for index, agreement in enumerate(versions):
        previous = versions[index + 1] if index + 1 < len(versions) else None
        rows.append(
            {
                "agreement": agreement,
                "signatures": _signatures(agreement),
                "previous": previous,
                "changes": len(documents.agreement_diff(previous, agreement)) if previous else 0,
            }
        )
    return render(
        request,
        "sla/agreement_list.html",
        {
            "rows": rows,
            "can_change": request.user.has_perm(CHANGE),
            "in_progress": _in_progress(),
        },
    )


def agreement_detail(request, pk: int):
    agreement = get_agreement_for_user(request.user, pk)
    ctx = documents.context_today(today=timezone.localdate())
    sections = [(heading, getattr(agreement, name), name) for name, heading in documents.SECTIONS]
    previous = SlaAgreement.objects.filter(version__lt=agreement.version).order_by("-version")
    return render(
        request,
        "sla/agreement_detail.html",
        {
            "agreement": agreement,
            "sections": sections,
            "terms": documents.terms_in_words(agreement, ctx),
            "ctx": ctx,
            "previous": previous.only("pk", "version").first(),
            "in_progress": _in_progress(),
            "can_change": request.user.has_perm(CHANGE),
            **_sign_state(agreement, request.user),
        },
    )


def _apply_errors(form, exc: ApplicationError) -> None:
    for name, errors in exc.extra.items():
        form.add_error(name if name in form.fields else None, errors)
    if not exc.extra:
        form.add_error(None, exc.message)


def agreement_create(request):
    """A first draft, blank (only when no version exists) — later versions come from
    "New version from this"."""
    _require(request.user, CHANGE)
    if SlaAgreement.objects.exists():
        source = SlaAgreement.objects.filter(status=AgreementStatus.ACTIVE).first()
        if source is None:
            source = SlaAgreement.objects.order_by("-version").first()
        return redirect("sla:agreement_detail", pk=source.pk)
    return _agreement_form_page(request, None)


def agreement_edit(request, pk: int):
    agreement = get_agreement_for_user(request.user, pk, CHANGE)
    if not agreement.is_editable:
        messages.error(
            request,
            f"SLA v{agreement.version} is {agreement.get_status_display().lower()}; start a new"
            " version to change it.",
        )
        return redirect("sla:agreement_detail", pk=agreement.pk)
    return _agreement_form_page(request, agreement)


def _agreement_form_page(request, agreement: SlaAgreement | None):
    if request.method == "POST":
        # A ModelForm writes cleaned values onto its instance; give it a copy so the
        # service still sees what is stored and saves exactly the fields that changed.
        form = AgreementForm(request.POST, instance=copy.copy(agreement) if agreement else None)
        if form.is_valid():
            now = timezone.now()
            try:
                if agreement is None:
                    agreement = services.agreement_create(
                        actor=request.user, now=now, **form.service_values()
                    )
                    messages.success(request, f"Draft SLA v{agreement.version} created.")
                else:
                    services.agreement_update(agreement=agreement, now=now, **form.service_values())
                    messages.success(request, "Draft saved.")
                return redirect("sla:agreement_detail", pk=agreement.pk)
            except ApplicationError as exc:
                _apply_errors(form, exc)
    else:
        form = AgreementForm(instance=agreement)
    return render(
        request,
        "sla/agreement_form.html",
        {"form": form, "agreement": agreement},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def agreement_new_version(request, pk: int):
    source = get_agreement_for_user(request.user, pk, CHANGE)
    try:
        draft = services.agreement_new_version(
            based_on=source, actor=request.user, now=timezone.now()
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("sla:agreement_detail", pk=source.pk)
    messages.success(request, f"Draft SLA v{draft.version} copies v{source.version}. Edit it.")
    return redirect("sla:agreement_edit", pk=draft.pk)


@require_POST
def agreement_propose(request, pk: int):
    agreement = get_agreement_for_user(request.user, pk, CHANGE)
    now = timezone.now()
    try:
        services.agreement_propose(agreement=agreement, now=now)
        services.agreement_proposed_notify(agreement=agreement, now=now)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"SLA v{agreement.version} is frozen and waits for the Marketing and Sales leads"
            " to sign.",
        )
    return redirect("sla:agreement_detail", pk=agreement.pk)


@require_POST
def agreement_discard(request, pk: int):
    agreement = get_agreement_for_user(request.user, pk, CHANGE)
    try:
        services.agreement_discard(agreement=agreement)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("sla:agreement_detail", pk=agreement.pk)
    messages.info(request, f"SLA v{agreement.version} was discarded.")
    return redirect("sla:dashboard")


@require_POST
def agreement_sign(request, pk: int):
    agreement = get_agreement_for_user(request.user, pk, SIGN)
    try:
        agreement = services.agreement_sign(
            agreement=agreement, user=request.user, now=timezone.now()
        )
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        if agreement.status == AgreementStatus.ACTIVE:
            messages.success(
                request,
                f"Signed. SLA v{agreement.version} is in force from"
                f" {agreement.effective_from:%d %b %Y}.",
            )
        else:
            messages.success(request, "Signed. Waiting for the other team's lead.")
    return redirect("sla:agreement_detail", pk=agreement.pk)


def agreement_diff(request, pk: int):
    """What changed from an earlier version (?against=<pk>, default: the one before)."""
    agreement = get_agreement_for_user(request.user, pk)
    against = request.GET.get("against")
    older = _agreements()
    if against:
        base = older.filter(pk=against if str(against).isdigit() else 0).first()
        if base is None:
            raise Http404("No such version to compare with.")
    else:
        base = older.filter(version__lt=agreement.version).order_by("-version").first()
    versions = SlaAgreement.objects.exclude(pk=agreement.pk).only("pk", "version", "status")
    return render(
        request,
        "sla/agreement_diff.html",
        {
            "agreement": agreement,
            "base": base,
            "changes": documents.agreement_diff(base, agreement) if base else [],
            "versions": versions,
        },
    )


# --- Business calendars


def calendar_list(request):
    _require(request.user, VIEW)
    calendars = list(BusinessCalendar.objects.select_related("team").prefetch_related("holidays"))
    from leads.routing.models import SalesTeam

    uncovered = list(SalesTeam.objects.filter(calendar__isnull=True).order_by("name"))
    return render(
        request,
        "sla/calendar_list.html",
        {
            "rows": [{"calendar": c, "hours": hours_in_words(c)} for c in calendars],
            "uncovered": uncovered,
            "has_default": any(c.is_default for c in calendars),
            "can_add": request.user.has_perm(ADD_CALENDAR),
        },
    )


def hours_in_words(calendar: BusinessCalendar) -> list[tuple[str, str]]:
    from sla.documents import WEEKDAYS

    out = []
    for day in range(1, 8):
        spans = (calendar.weekly_hours or {}).get(str(day)) or []
        text = ", ".join(f"{a} to {b}" for a, b in spans) or "closed"
        out.append((WEEKDAYS[day], text))
    return out


def upcoming_holidays(calendar: BusinessCalendar, *, today, count: int = 10):
    """The next `count` days off from today: public holidays (holidays library, names in
    English where it has them) and the company's own, in date order."""
    import holidays

    found: dict = {}
    if calendar.holiday_country:
        public = holidays.country_holidays(
            calendar.holiday_country,
            subdiv=calendar.holiday_subdivision or None,
            years=[today.year, today.year + 1],
            language="en_US",
        )
        found.update({day: name for day, name in public.items() if day >= today})
    for holiday in calendar.holidays.all():
        if holiday.day >= today:
            found[holiday.day] = holiday.name or "Company holiday"
    return sorted(found.items())[:count]


def wall_clock(delta: timedelta) -> str:
    """How long a business-time window takes in real time, the way people say it."""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words) or "no time"


def calendar_detail(request, pk: int):
    calendar = get_calendar_for_user(request.user, pk)
    cal = calendar.as_calendar()
    now = timezone.now()
    local_now = now.astimezone(cal.tz)
    calculator = DueCalculatorForm(
        initial={"start": local_now.replace(second=0, microsecond=0, tzinfo=None), "minutes": 60}
    )
    return render(
        request,
        "sla/calendar_detail.html",
        {
            "calendar": calendar,
            "hours": hours_in_words(calendar),
            "holidays": upcoming_holidays(calendar, today=local_now.date()),
            "local_now": local_now,
            "calculator": calculator,
            "can_change": request.user.has_perm(CHANGE_CALENDAR),
        },
    )


def calendar_due(request, pk: int):
    """The due-time calculator (htmx partial, also a plain page without JavaScript)."""
    calendar = get_calendar_for_user(request.user, pk)
    form = DueCalculatorForm(request.GET)
    result = None
    if form.is_valid():
        cal = calendar.as_calendar()
        start = form.start_in(cal.tz)
        due = add_business_minutes(start, form.cleaned_data["minutes"], cal)
        result = {"start": start, "due": due.astimezone(cal.tz), "waited": wall_clock(due - start)}
    template = "sla/calendar_due_result.html" if request.htmx else "sla/calendar_due.html"
    return render(
        request,
        template,
        {"calendar": calendar, "form": form, "result": result},
        # htmx does not swap a 4xx answer; the partial shows the errors itself.
        status=200 if form.is_valid() or request.htmx else 400,
    )


def _calendar_form_page(request, calendar: BusinessCalendar | None):
    if request.method == "POST":
        form = CalendarForm(request.POST)
        if form.is_valid():
            try:
                calendar = services.calendar_save(calendar=calendar, **form.service_values())
            except ApplicationError as exc:
                for name, errors in exc.extra.items():
                    if name == "weekly_hours" or name.startswith("day_"):
                        target = "day_1_start" if name == "weekly_hours" else f"{name}_start"
                        form.add_error(target if target in form.fields else None, errors)
                    else:
                        form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, f"Calendar “{calendar.name}” saved.")
                return redirect("sla:calendar_detail", pk=calendar.pk)
    else:
        initial = (
            CalendarForm.initial_for(calendar)
            if calendar
            else {
                "timezone": timezone.get_current_timezone_name(),
                **{f"day_{d}_start": "09:00" for d in range(1, 6)},
                **{f"day_{d}_end": "17:00" for d in range(1, 6)},
            }
        )
        form = CalendarForm(initial=initial)
    return render(
        request,
        "sla/calendar_form.html",
        {"form": form, "calendar": calendar},
        status=400 if request.method == "POST" else 200,
    )


def calendar_create(request):
    _require(request.user, ADD_CALENDAR)
    return _calendar_form_page(request, None)


def calendar_edit(request, pk: int):
    calendar = get_calendar_for_user(request.user, pk, CHANGE_CALENDAR)
    return _calendar_form_page(request, calendar)
