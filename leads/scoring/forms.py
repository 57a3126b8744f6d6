from django import forms

from leads.models import ActivityType
from leads.scoring.compile import RULE_FIELDS
from leads.scoring.models import RuleKind, ScoringModel
from personas.models import Operator


class ModelSettingsForm(forms.ModelForm):
    """The MQL definition of a draft."""

    hand_raisers = forms.CharField(
        required=False,
        help_text="Activity types that make a lead an MQL at once, separated by commas.",
    )

    class Meta:
        model = ScoringModel
        fields = [
            "name",
            "description",
            "min_fit",
            "min_engagement",
            "min_total",
            "require_agreed_persona",
            "min_persona_fit",
            "block_do_not_contact",
            "hand_raisers",
            "hand_raiser_days",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {
            "min_fit": "Fit at least",
            "min_engagement": "Engagement at least",
            "min_total": "Or total at least",
            "block_do_not_contact": "Never qualify a lead that cannot be emailed or called",
            "hand_raiser_days": "Hand-raisers count for (days)",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance and isinstance(self.instance.hand_raisers, list):
            self.initial["hand_raisers"] = ", ".join(self.instance.hand_raisers)

    def clean_hand_raisers(self) -> list[str]:
        raw = self.cleaned_data.get("hand_raisers") or ""
        return [part.strip() for part in raw.split(",") if part.strip()]


_FIELD_CHOICES = [("", "—")] + [(name, label) for name, (label, _) in RULE_FIELDS.items()]
_OPERATOR_CHOICES = [("", "—"), *Operator.choices]


class RuleForm(forms.Form):
    """One rule. The service validates the combination; this only shapes the input."""

    kind = forms.ChoiceField(choices=RuleKind.choices)
    label = forms.CharField(
        required=False, max_length=200, help_text="Plain words for the breakdown."
    )
    points = forms.IntegerField(initial=5, help_text="Negative points subtract.")
    field = forms.ChoiceField(choices=_FIELD_CHOICES, required=False, label="Lead field")
    attribute = forms.CharField(
        required=False,
        max_length=100,
        label="…or custom attribute",
        help_text="A column kept from imports, e.g. uses_salesforce.",
    )
    operator = forms.ChoiceField(choices=_OPERATOR_CHOICES, required=False)
    value = forms.CharField(
        required=False,
        max_length=500,
        help_text="Lists: a, b, c. Ranges: 100..5000. Numbers: 50k, 2.5m.",
    )
    activity_type = forms.CharField(required=False, max_length=60, label="Activity type")
    property_name = forms.CharField(required=False, max_length=120, label="Only when property")
    property_value = forms.CharField(required=False, max_length=200, label="contains")
    cap = forms.IntegerField(required=False, min_value=1, label="Cap (points)")
    window_days = forms.IntegerField(required=False, min_value=1, label="Window (days)")
    half_life_days = forms.FloatField(required=False, min_value=0.1, label="Half-life (days)")

    activity_types = ActivityType.values

    @classmethod
    def initial_for(cls, rule) -> dict:
        initial = {
            name: getattr(rule, name)
            for name in [
                "kind",
                "label",
                "points",
                "operator",
                "activity_type",
                "property_name",
                "property_value",
                "cap",
                "window_days",
                "half_life_days",
            ]
        }
        if rule.field.startswith("attributes."):
            initial["attribute"] = rule.field.removeprefix("attributes.")
        else:
            initial["field"] = rule.field
        value = rule.value
        if isinstance(value, list) and rule.operator == Operator.BETWEEN:
            low, high = ([*value, None, None])[:2]
            value = f"{'' if low is None else low}..{'' if high is None else high}"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        initial["value"] = "" if value is None else value
        return initial

    def rule_data(self) -> dict:
        data = dict(self.cleaned_data)
        attribute = data.pop("attribute", "").strip()
        data["field"] = f"attributes.{attribute}" if attribute else data.get("field", "")
        if data["kind"] not in (RuleKind.FIT, RuleKind.EXCLUSION):
            data.update(field="", operator="", value=None)
        if data["kind"] != RuleKind.ENGAGEMENT:
            data.update(
                activity_type="",
                property_name="",
                property_value="",
                cap=None,
                window_days=None,
                half_life_days=None,
            )
        if data["kind"] == RuleKind.EXCLUSION:
            data["points"] = 0
        return data
