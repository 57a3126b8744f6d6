"""Forms for routing rules, teams and their reps. They shape the input; the services decide
whether it makes sense (and say so per field)."""

from zoneinfo import available_timezones

from django import forms

from leads.routing.models import RoutingRule, SalesTeam, TargetKind, TeamMember
from leads.routing.selectors import sales_users
from leads.routing.services import MEMBER_FIELDS
from leads.scoring.compile import ATTRIBUTE_PREFIX, RULE_FIELDS
from personas.criteria import format_value
from personas.models import Operator, Persona

_FIELD_CHOICES = [("", "—")] + [(name, label) for name, (label, _) in RULE_FIELDS.items()]
_OPERATOR_CHOICES = [("", "—"), *Operator.choices]
WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class RuleForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="Shown in the ledger, e.g. “EMEA enterprise”.")
    persona = forms.ModelChoiceField(
        queryset=Persona.objects.order_by("name"),
        required=False,
        help_text="The lead's best-fit persona, as scoring found it.",
    )
    countries = forms.CharField(
        required=False, max_length=500, help_text="Two-letter codes, e.g. DE, AT, CH. Empty: any."
    )
    regions = forms.CharField(
        required=False, max_length=500, help_text="e.g. Bavaria, Ontario. Empty: any."
    )
    field = forms.ChoiceField(choices=_FIELD_CHOICES, required=False, label="Lead field")
    attribute = forms.CharField(
        required=False,
        max_length=100,
        label="…or custom attribute",
        help_text="An attribute kept from forms or imports, e.g. plan.",
    )
    operator = forms.ChoiceField(choices=_OPERATOR_CHOICES, required=False)
    value = forms.CharField(
        required=False,
        max_length=500,
        help_text="Lists: a, b, c. Ranges: 100..5000. Numbers: 50k, 2.5m.",
    )
    target_kind = forms.ChoiceField(
        choices=TargetKind.choices, label="Send matching leads to", widget=forms.RadioSelect
    )
    target_user = UserChoiceField(queryset=None, required=False, label="Rep")
    target_team = forms.ModelChoiceField(
        queryset=SalesTeam.objects.all(),
        required=False,
        label="Team",
        help_text="For round robin or the pool; for one rep, the team the handoff counts for.",
    )
    is_default = forms.BooleanField(
        required=False,
        label="Default rule",
        help_text="Catches every lead the other rules leave. Runs last, has no conditions.",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_user"].queryset = sales_users()

    @classmethod
    def initial_for(cls, rule: RoutingRule) -> dict:
        initial = {
            "name": rule.name,
            "persona": rule.persona_id,
            "countries": ", ".join(rule.countries),
            "regions": ", ".join(rule.regions),
            "operator": rule.operator,
            "value": format_value(rule.operator, rule.value) if rule.field else "",
            "target_kind": rule.target_kind,
            "target_user": rule.target_user_id,
            "target_team": rule.target_team_id,
            "is_default": rule.is_default,
            "active": rule.active,
        }
        if rule.field.startswith(ATTRIBUTE_PREFIX):
            initial["attribute"] = rule.field.removeprefix(ATTRIBUTE_PREFIX)
        else:
            initial["field"] = rule.field
        return initial

    def rule_data(self) -> dict:
        data = dict(self.cleaned_data)
        attribute = data.pop("attribute", "").strip()
        data["field"] = f"{ATTRIBUTE_PREFIX}{attribute}" if attribute else data.get("field", "")
        if data.get("target_kind") == TargetKind.REP:
            data.setdefault("target_team", None)
        else:
            data["target_user"] = None
        return data


def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120)
    timezone = forms.ChoiceField(
        choices=_timezone_choices,
        label="Time zone",
        initial="UTC",
        help_text="Working hours and out-of-office days are read in this time zone.",
    )
    manager = UserChoiceField(queryset=None, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = sales_users()

    @classmethod
    def initial_for(cls, team: SalesTeam) -> dict:
        return {"name": team.name, "timezone": team.timezone, "manager": team.manager_id}


class MemberForm(forms.Form):
    """A rep's place in a team. On a new member the rep is chosen; afterwards it is fixed.
    A plain form: the service compares the old values with the new ones for the history."""

    user = UserChoiceField(queryset=None, label="Rep")
    weight = forms.IntegerField(
        min_value=0, max_value=100, initial=1, help_text="Share of leads relative to the others."
    )
    max_open_leads = forms.IntegerField(
        min_value=1,
        required=False,
        label="Cap of open leads",
        help_text="No new leads while this many are open. Empty: no cap.",
    )
    out_of_office_until = forms.DateField(
        required=False,
        label="Out of office until",
        help_text="Skipped up to and including this day.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    work_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every day.",
    )
    work_start = forms.TimeField(
        required=False,
        label="Working day starts",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    work_end = forms.TimeField(
        required=False,
        label="Working day ends",
        help_text="Empty start and end: any hour.",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    active = forms.BooleanField(required=False, initial=True, label="In the rotation")

    def __init__(self, *args, team: SalesTeam, member: TeamMember | None = None, **kwargs):
        if member is not None:
            kwargs.setdefault("initial", {f: getattr(member, f) for f in MEMBER_FIELDS})
        super().__init__(*args, **kwargs)
        if member is not None:
            del self.fields["user"]
        else:
            self.fields["user"].queryset = sales_users().exclude(team_memberships__team=team)
