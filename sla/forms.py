"""Forms for the agreement and the business calendars. Bounds live in the services (one
place for the page and the API); the forms turn the browser's fields into service input."""

from datetime import date, datetime

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.core.exceptions import ValidationError

from leads.routing.models import SalesTeam
from sla.documents import SECTIONS, WEEKDAYS
from sla.models import BusinessCalendar, SlaAgreement

SALES_TERMS = [
    "accept_within_minutes",
    "first_touch_within_minutes",
    "min_attempts",
    "attempts_within_days",
    "pool_claim_within_minutes",
    "warn_at_percent",
]
MARKETING_TERMS = ["min_mqls_per_month", "min_acceptance_percent", "max_not_icp_percent"]


class AgreementForm(forms.ModelForm):
    class Meta:
        model = SlaAgreement
        fields = [
            "title",
            *[name for name, _ in SECTIONS],
            *SALES_TERMS,
            *MARKETING_TERMS,
            "review_weekday",
            "effective_from",
        ]
        widgets = {
            **{name: forms.Textarea(attrs={"rows": 4}) for name, _ in SECTIONS},
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            "review_weekday": forms.Select(choices=list(enumerate(WEEKDAYS))[1:]),
        }
        labels = {
            **dict(SECTIONS),
            "accept_within_minutes": "Accept or reject within (business minutes)",
            "first_touch_within_minutes": "First touch within (business minutes)",
            "min_attempts": "At least this many attempts",
            "attempts_within_days": "within (days) before a lead may be recycled",
            "pool_claim_within_minutes": "Pool leads claimed within (business minutes)",
            "warn_at_percent": "Warn the rep at (% of a window)",
            "min_mqls_per_month": "At least this many MQLs a month",
            "min_acceptance_percent": "Acceptance rate at least (%)",
            "max_not_icp_percent": "Rejected as 'not our ICP' at most (%)",
            "review_weekday": "Weekly review on",
            "effective_from": "In force from (empty: the day both teams have signed)",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "title",
            Fieldset("The document", *[name for name, _ in SECTIONS]),
            Fieldset("Sales promises", *SALES_TERMS),
            Fieldset("Marketing promises", *MARKETING_TERMS),
            Fieldset("Review and dates", "review_weekday", "effective_from"),
        )

    def service_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


TIME_CHOICES = (
    [("", "—")]
    + [(f"{h:02d}:{m:02d}", f"{h:02d}:{m:02d}") for h in range(24) for m in (0, 30)]
    + [("24:00", "24:00")]
)


def _parse_hhmm(value: str) -> str:
    # "24:00" ends a day that runs to midnight; time() cannot hold it, so keep it 23:59.
    return "23:59" if value == "24:00" else value


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=120)
    team = forms.ModelChoiceField(
        queryset=SalesTeam.objects.all(),
        required=False,
        help_text="Empty: a calendar teams without their own can fall back on.",
    )
    is_default = forms.BooleanField(
        required=False,
        label="Default calendar",
        help_text="Used by every team without a calendar of its own.",
    )
    timezone = forms.CharField(
        label="Time zone", max_length=64, help_text="e.g. Europe/Berlin, America/New_York"
    )
    holiday_country = forms.CharField(
        max_length=2, required=False, help_text="ISO code, e.g. DE, US. Empty: no public holidays."
    )
    holiday_subdivision = forms.CharField(
        max_length=10, required=False, help_text="State or region, e.g. BY, CA (optional)."
    )
    extra_holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "2026-12-31 Company day off"}),
        help_text="One a line: a date (YYYY-MM-DD), then its name.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day in range(1, 8):
            self.fields[f"day_{day}_start"] = forms.ChoiceField(
                choices=TIME_CHOICES, required=False, label=f"{WEEKDAYS[day]} from"
            )
            self.fields[f"day_{day}_end"] = forms.ChoiceField(
                choices=TIME_CHOICES, required=False, label="to"
            )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    @classmethod
    def initial_for(cls, calendar: BusinessCalendar) -> dict:
        initial = {
            "name": calendar.name,
            "team": calendar.team_id,
            "is_default": calendar.is_default,
            "timezone": calendar.timezone,
            "holiday_country": calendar.holiday_country,
            "holiday_subdivision": calendar.holiday_subdivision,
            "extra_holidays": "\n".join(
                f"{h.day.isoformat()} {h.name}" for h in calendar.holidays.all()
            ),
        }
        for day, spans in (calendar.weekly_hours or {}).items():
            if spans:
                start, end = spans[0]
                initial[f"day_{day}_start"] = start
                initial[f"day_{day}_end"] = "24:00" if end == "23:59" else end
        return initial

    def day_fields(self):
        """(weekday name, start field, end field) rows for the template."""
        return [(WEEKDAYS[d], self[f"day_{d}_start"], self[f"day_{d}_end"]) for d in range(1, 8)]

    def clean_extra_holidays(self) -> list[tuple[date, str]]:
        days = []
        for number, line in enumerate(self.cleaned_data["extra_holidays"].splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            raw, _, label = line.partition(" ")
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                raise ValidationError(
                    f"Line {number}: {raw!r} is not a date like 2026-12-31."
                ) from None
            days.append((day, label.strip()[:120]))
        return days

    def clean(self):
        data = super().clean()
        hours: dict[str, list[list[str]]] = {}
        for day in range(1, 8):
            start, end = data.get(f"day_{day}_start"), data.get(f"day_{day}_end")
            if not start and not end:
                continue
            if not start or not end:
                self.add_error(f"day_{day}_start", "Give both a start and an end, or neither.")
                continue
            if start >= end:
                self.add_error(f"day_{day}_end", "The day must end after it starts.")
                continue
            hours[str(day)] = [[start, _parse_hhmm(end)]]
        data["weekly_hours"] = hours
        return data

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"].strip(),
            "team": data["team"],
            "is_default": data["is_default"],
            "timezone": data["timezone"].strip(),
            "holiday_country": data["holiday_country"].strip(),
            "holiday_subdivision": data["holiday_subdivision"].strip(),
            "weekly_hours": data["weekly_hours"],
            "extra_holidays": data["extra_holidays"],
        }


class DueCalculatorForm(forms.Form):
    start = forms.DateTimeField(
        label="Start (calendar's local time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    minutes = forms.IntegerField(label="Business minutes", min_value=1, max_value=60 * 24 * 60)

    def start_in(self, tz) -> datetime:
        # The browser sends a wall-clock time; it means the calendar's zone, not the server's.
        naive = self.cleaned_data["start"].replace(tzinfo=None)
        return naive.replace(tzinfo=tz)
