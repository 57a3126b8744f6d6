"""The compliance dashboards: the manager overview (both sides), the Sales page and the
Marketing page. One filter form for all three and for the API; every table exports as CSV
with the same filters (`?export=<table>`)."""

import calendar
import csv
from datetime import date, timedelta
from html import escape

from chartkick.django import BarChart, ColumnChart, LineChart, PieChart
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from leads.routing.models import SalesTeam
from leads.scoring.models import ScoringModel
from leads.selectors import lead_sources
from personas.models import Persona
from sla import selectors
from sla.templatetags.sla_compliance import count, minutes
from smarketing.csvsafe import safe_row
from smarketing.models import AuditLog
from smarketing.roles import MANAGER_ROLES, MARKETING_ROLES, SALES_ROLES, Role, has_role

MAX_PERIOD_DAYS = 366


class QuickSelect(forms.Select):
    """A select whose options are written in one pass straight from its choices. Django
    renders every option through its own template include and builds a dict of attributes
    per option first: the rep menu has one option per rep, and that was most of the
    dashboard's rendering time."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = next(iter(self.format_value(value)), "")
        options = "".join(
            f'<option value="{escape(str(key))}"{" selected" if str(key) == chosen else ""}>'
            f"{escape(str(label))}</option>"
            for key, label in self.choices
        )
        attrs = flatatt(self.build_attrs(self.attrs, attrs))
        # Safe: every value and label is escaped above, the attributes by flatatt.
        return mark_safe(f'<select name="{escape(name)}"{attrs}>{options}</select>')  # noqa: S308


class FetchedChoices(ModelChoiceIterator):
    """A menu's choices from one plain fetch. Django streams them through a server-side
    cursor on PostgreSQL (DECLARE, FETCH, CLOSE: three round trips) even for a menu of
    three rows."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from self.rows()

    def rows(self):
        return (self.choice(obj) for obj in self.queryset.all())


class RepChoices(FetchedChoices):
    """The rep menu's (id, name) pairs straight from the database: a user instance per rep
    cost more than writing the whole menu."""

    def rows(self):
        names = self.queryset.values_list("pk", "username", "first_name", "last_name")
        # As get_full_name(), else the username.
        return ((pk, f"{first} {last}".strip() or user) for pk, user, first, last in names)


class MenuField(forms.ModelChoiceField):
    iterator = FetchedChoices


class RepField(forms.ModelChoiceField):
    iterator = RepChoices


class DateInput(forms.DateInput):
    input_type = "date"


class ComplianceFilterForm(forms.Form):
    start = forms.DateField(required=False, label="From", widget=DateInput)
    end = forms.DateField(required=False, label="To (included)", widget=DateInput)
    team = MenuField(
        queryset=SalesTeam.objects.order_by("name"),
        required=False,
        empty_label="All teams",
        widget=QuickSelect,
    )
    rep = RepField(queryset=None, required=False, empty_label="All reps", widget=QuickSelect)
    persona = MenuField(
        queryset=Persona.objects.order_by("name"),
        required=False,
        empty_label="All personas",
        widget=QuickSelect,
    )
    source = forms.ChoiceField(required=False, widget=QuickSelect)
    model = MenuField(
        queryset=ScoringModel.objects.order_by("-version"),
        required=False,
        empty_label="All model versions",
        label="Scoring model",
        widget=QuickSelect,
    )

    def __init__(self, data=None, *, now, lock_rep=None, with_choices: bool = True):
        super().__init__(data)
        self.now = now
        self.lock_rep = lock_rep
        User = get_user_model()
        reps = (
            User.objects.filter(groups__name__in=[Role.SALES_REP.value, Role.SALES_MANAGER.value])
            .distinct()
            .only("id", "username", "first_name", "last_name")
        )
        self.fields["rep"].queryset = reps.order_by("first_name", "username")
        self.fields["model"].label_from_instance = lambda m: f"v{m.version} {m.name}"
        if lock_rep is not None:
            # A rep sees their own figures only: the field shows who, and cannot change it.
            self.fields["rep"].disabled = True
            self.fields["rep"].queryset = User.objects.filter(pk=lock_rep.pk)
            self.fields["rep"].initial = lock_rep.pk
        # The sources list hops through the source index (see lead_sources); the API skips it.
        sources = lead_sources() if with_choices else []
        self.fields["source"].choices = [("", "All sources"), *((s, s) for s in sources)]
        if not with_choices:
            self.fields["source"] = forms.CharField(required=False, max_length=100)
        # The filter bar is plain markup (sla/compliance_part_filters.html) with Bootstrap's
        # classes on the widgets: crispy's field templates cost more than the rest of the
        # page's markup together.
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select" if select else "form-control"

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"

    def clean(self):
        cleaned = super().clean()
        first, last = selectors.default_period(now=self.now)
        start = cleaned.get("start") or first
        end = cleaned.get("end") or (last if start <= last else start)
        if end < start:
            self.add_error("end", "The end of the period comes before its start.")
        elif (end - start).days >= MAX_PERIOD_DAYS:
            self.add_error("end", f"Pick a period of at most {MAX_PERIOD_DAYS} days.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def filters(self) -> selectors.ComplianceFilters:
        data = self.cleaned_data
        rep = self.lock_rep or data.get("rep")
        return selectors.filters_for_days(
            data["start"],
            data["end"],
            team_id=data["team"].pk if data.get("team") else None,
            rep_id=rep.pk if rep else None,
            persona_id=data["persona"].pk if data.get("persona") else None,
            source=data.get("source") or None,
            model_id=data["model"].pk if data.get("model") else None,
        )


# --- Who sees what


def can_see_sales(user) -> bool:
    return (
        user.is_superuser
        or user.has_perm("sla.view_compliance")
        or has_role(user, SALES_ROLES | MANAGER_ROLES)
    )


def can_see_marketing(user) -> bool:
    return (
        user.is_superuser
        or user.has_perm("sla.view_compliance")
        or has_role(user, MARKETING_ROLES | MANAGER_ROLES)
    )


def sees_only_self(user) -> bool:
    """A rep without a manager's view sees the Sales page filtered to themselves."""
    return not (user.is_superuser or user.has_perm("sla.view_compliance")) and has_role(
        user, {Role.SALES_REP}
    )


# --- Charts


def sales_charts(sales: dict) -> dict:
    weekly = sales["weekly"]
    return {
        "speed": ColumnChart(
            {b["bin"]: b["handoffs"] for b in sales["speed_to_lead"]},
            xtitle="Minutes from handoff to first touch",
            ytitle="Handoffs",
            height="260px",
        ),
        "attempts": ColumnChart(
            {d["touches"]: d["leads"] for d in sales["attempts"]["distribution"]},
            xtitle="Touches",
            ytitle="Leads",
            height="220px",
        ),
        "weekly_handoffs": ColumnChart(
            [
                {"name": "Handoffs", "data": {w["week"]: w["handoffs"] for w in weekly}},
                {"name": "Accepted", "data": {w["week"]: w["accepted"] for w in weekly}},
            ],
            height="240px",
        ),
        "weekly_sla": LineChart(
            {w["week"]: w["within_sla_pct"] for w in weekly if w["within_sla_pct"] is not None},
            min=0,
            max=100,
            suffix="%",
            ytitle="Touched within the SLA",
            height="240px",
        ),
        "latency": BarChart(
            [
                {
                    "name": "Median",
                    "data": {r["step"]: r["median_min"] or 0 for r in sales["latency"]},
                },
                {"name": "p90", "data": {r["step"]: r["p90_min"] or 0 for r in sales["latency"]}},
            ],
            suffix=" min",
            height="200px",
        ),
    }


def marketing_charts(marketing: dict) -> dict:
    def funnel(rows, key):
        return [
            {"name": "MQL", "data": {r[key]: r["mqls"] for r in rows}},
            {"name": "SQL", "data": {r[key]: r["sqls"] for r in rows}},
            {"name": "Won", "data": {r[key]: r["won"] for r in rows}},
        ]

    delivered = {"Delivered": marketing["mqls_delivered"]}
    if marketing["mqls_committed"] is not None:
        delivered["Committed"] = marketing["mqls_committed"]
    return {
        "delivered": BarChart(delivered, height="140px"),
        "reasons": PieChart(
            {r["reason"]: r["rejected"] for r in marketing["rejection_reasons"]},
            donut=True,
            height="240px",
        ),
        "by_persona": ColumnChart(funnel(marketing["by_persona"], "persona"), height="260px"),
        "by_source": ColumnChart(funnel(marketing["by_source"], "source"), height="260px"),
        "by_model": ColumnChart(
            funnel(marketing["by_model"], "model_version"), height="220px", xtitle="Model version"
        ),
    }


def _marketing_tables(marketing: dict, charts: dict) -> list[tuple]:
    """(title, rows as (label, row) pairs, chart, export name) per breakdown table: the
    label comes out here, once, not through a template loop over each row's keys."""
    tables = [
        ("persona", "by_persona", "persona", None),
        ("source", "by_source", "source", charts.get("by_source")),
        ("model version", "by_model", "model_version", charts.get("by_model")),
    ]
    return [
        (title, [(row[key], row) for row in marketing[name]], chart, name)
        for title, name, key, chart in tables
    ]


# --- The per-rep table


ME_ROW = ' class="table-primary" aria-current="true"'
ME_BADGE = ' <span class="badge text-bg-primary">you</span>'
BREACHED = " text-danger fw-semibold"


def rep_rows(reps: list[dict], *, me: int | None) -> str:
    """The per-rep table's rows, written in one pass with the standard library's escaping:
    the table has a row per rep, and as a template loop (fifteen nodes a row), or even
    through format_html, it was the page's largest rendering cost."""
    rows = []
    for r in reps:
        mine = r["rep_id"] == me
        within = "—" if r["within_sla_pct"] is None else f"{r['within_sla_pct']}%"
        cells = (
            count(r["handoffs"]),
            count(r["accepted"]),
            count(r["rejected"]),
            minutes(r["median_first_touch_min"]),
            within,
        )
        rows.append(
            f'<tr data-rep="{r["rep_id"]}"{ME_ROW if mine else ""}>'
            f'<th scope="row">{escape(r["rep"])}{ME_BADGE if mine else ""}</th>'
            + "".join(f'<td class="text-end">{cell}</td>' for cell in cells)
            + f'<td class="text-end{BREACHED if r["breaches"] else ""}">'
            f"{count(r['breaches'])}</td></tr>"
        )
    # Safe: the rep's name is the one text field, and it is escaped above.
    return mark_safe("".join(rows))  # noqa: S308


# --- Views


def csv_response(rows: list[dict], name: str, f: selectors.ComplianceFilters) -> HttpResponse:
    params = f.as_params()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="sla-{name}-{params["start"]}-{params["end"]}.csv"'
    )
    if not rows:
        response.write("")
        return response
    writer = csv.DictWriter(response, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(safe_row(row) for row in rows)
    return response


def _page(request, *, template: str, sales: bool, marketing: bool, page: str):
    now = timezone.now()
    lock_rep = request.user if sales and not marketing and sees_only_self(request.user) else None
    # Always bound: an empty query string means "this month so far, everything".
    form = ComplianceFilterForm(request.GET, now=now, lock_rep=lock_rep)
    if not form.is_valid():
        context = {"form": form, "page": page, "invalid": True, **_nav(request.user, now)}
        return render(request, template, context, status=400)
    f = form.filters()
    export = request.GET.get("export")
    if export:
        side = selectors.TABLES.get(export, (None,))[0]
        if (
            side is None
            or (side == "sales" and not sales)
            or (side == "marketing" and not marketing)
        ):
            return HttpResponseBadRequest(f"No table called {export!r} on this page.")
        figures = selectors.compliance(f, sales=side == "sales", marketing=side == "marketing")
        AuditLog.objects.create(
            actor=request.user,
            actor_label=request.user.get_username(),
            action="sla.export_csv",
            object_type="sla.compliance",
            object_id=export,
            details=f.as_params(),
            at=now,
        )
        return csv_response(selectors.table_rows(figures, export), export, f)
    figures = selectors.compliance(f, sales=sales, marketing=marketing)
    charts = marketing_charts(figures.marketing) if marketing else {}
    context = {
        "form": form,
        "page": page,
        "filters": f,
        "period": (form.cleaned_data["start"], form.cleaned_data["end"]),
        "query": urlencode(f.as_params()),
        "sales": figures.sales,
        "marketing": figures.marketing,
        "sales_charts": sales_charts(figures.sales) if sales else {},
        "marketing_charts": charts,
        "marketing_tables": _marketing_tables(figures.marketing, charts) if marketing else [],
        "locked_to_self": lock_rep is not None,
        "policy": figures.terms,
        "rep_rows": rep_rows(figures.sales["reps"], me=request.user.pk) if sales else "",
        **_nav(request.user, now),
    }
    return render(request, template, context)


def _nav(user, now) -> dict:
    return {
        "can_see_sales": can_see_sales(user),
        "can_see_marketing": can_see_marketing(user),
        "can_see_overview": user.has_perm("sla.view_compliance"),
        "shortcuts": period_shortcuts(today=timezone.localdate(now)),
    }


def compliance(request):
    if not request.user.has_perm("sla.view_compliance"):
        raise PermissionDenied
    return _page(
        request, template="sla/compliance.html", sales=True, marketing=True, page="overview"
    )


def compliance_sales(request):
    if not can_see_sales(request.user):
        raise PermissionDenied
    return _page(
        request, template="sla/compliance_sales.html", sales=True, marketing=False, page="sales"
    )


def compliance_marketing(request):
    if not can_see_marketing(request.user):
        raise PermissionDenied
    return _page(
        request,
        template="sla/compliance_marketing.html",
        sales=False,
        marketing=True,
        page="marketing",
    )


def period_shortcuts(*, today: date) -> list[tuple[str, date, date]]:
    month = today.replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    return [
        ("Last 7 days", today - timedelta(days=6), today),
        ("This month", month, today),
        ("Last month", previous, month - timedelta(days=1)),
        ("Last 90 days", today - timedelta(days=89), today),
    ]


# --- The weekly review


class ReviewWeekForm(forms.Form):
    week = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def review(request):
    from sla.models import ReviewSent
    from sla.review import review_period, weekly_review

    if not request.user.has_perm("sla.view_compliance"):
        raise PermissionDenied
    now = timezone.now()
    form = ReviewWeekForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("week must be a date like 2026-11-23.")
    today = timezone.localdate(now)
    first = form.cleaned_data["week"] or review_period(today=today)[0]
    data = weekly_review(now=now, first=first)
    context = {
        "review": data,
        "previous": first - timedelta(days=7),
        # A week is reviewable once it has ended.
        "next": first + timedelta(days=7) if first + timedelta(days=13) < today else None,
        "page": "review",
        "weekday_name": calendar.day_name[data.terms.review_weekday - 1],
        "last_sent": ReviewSent.objects.filter(sent_at__isnull=False).first(),
        "query": urlencode(selectors.filters_for_days(data.first, data.last).as_params()),
        **_nav(request.user, now),
    }
    return render(request, "sla/review.html", context)
