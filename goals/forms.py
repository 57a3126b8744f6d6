from decimal import Decimal

from django import forms

from goals.models import RATE_FIELDS, FunnelGoal
from goals.periods import PeriodKind

_RATE_HELP = "Blank: use the actual rate of the lookback periods (shown beside)."


class GoalForm(forms.ModelForm):
    class Meta:
        model = FunnelGoal
        fields = [
            "period_kind",
            "period_start",
            "team",
            "revenue_target",
            "marketing_share_pct",
            "average_deal_size",
            *RATE_FIELDS,
            "lookback_periods",
            "pacing_curve",
            "alert_below_pct",
            "notes",
        ]
        labels = {"period_start": "Period", "period_kind": "Period length"}
        help_texts = {
            "period_start": "Any day in the period: the goal starts on its first day.",
            **dict.fromkeys(RATE_FIELDS, _RATE_HELP),
        }
        widgets = {
            "period_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }


class WhatIfForm(forms.Form):
    """The calculator's inputs, read from the goal form's fields (same names). Rates may be
    0 here: the point of a what-if is to see what a rate does, even a hopeless one."""

    period_kind = forms.ChoiceField(choices=PeriodKind.choices)
    period_start = forms.DateField()
    revenue_target = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    marketing_share_pct = forms.DecimalField(min_value=0, max_value=100, decimal_places=2)
    average_deal_size = forms.DecimalField(
        min_value=Decimal("0.01"), max_digits=12, decimal_places=2
    )
    rate_visit_to_lead = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, required=False
    )
    rate_lead_to_mql = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, required=False
    )
    rate_mql_to_sql = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, required=False
    )
    rate_sql_to_won = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, required=False
    )
    lookback_periods = forms.IntegerField(min_value=1, max_value=12, required=False)

    def overrides(self) -> dict[str, Decimal | None]:
        return {f.removeprefix("rate_"): self.cleaned_data.get(f) for f in RATE_FIELDS}
