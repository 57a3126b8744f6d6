from django import forms

from leads.handoff.models import RejectReason, TouchKind, TouchOutcome


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=RejectReason.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("reason") == RejectReason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", "Say why when the reason is 'Other'.")
        return data


class TouchForm(forms.Form):
    kind = forms.ChoiceField(choices=TouchKind.choices)
    outcome = forms.ChoiceField(choices=TouchOutcome.choices)
    content = forms.IntegerField(required=False, min_value=1)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(forms.Form):
    """Qualify or disqualify: an optional note for the lead's history."""

    note = forms.CharField(required=False, max_length=500)


class ReportForm(forms.Form):
    days = forms.TypedChoiceField(
        choices=[
            ("", "All time"),
            ("7", "Last 7 days"),
            ("30", "Last 30 days"),
            ("90", "Last 90 days"),
        ],
        coerce=int,
        empty_value=None,
        required=False,
    )
