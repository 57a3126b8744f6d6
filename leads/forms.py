from django import forms

from leads.models import Lead, Stage


class StageChangeForm(forms.Form):
    """Offers only the stages the lead may move to from where it is."""

    to_stage = forms.ModelChoiceField(queryset=Stage.objects.none(), label="Move to")
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.TextInput(attrs={"placeholder": "Why?"})
    )

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].queryset = lead.stage.allowed_next.order_by("order")


class LeadEraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that this person's name, email, phone and custom data are "
        "removed for good, and that this cannot be undone.",
    )
    reason = forms.CharField(
        max_length=500,
        help_text="For the audit log, e.g. 'GDPR request by email on 27 Nov'. "
        "Do not write the person's name or email here.",
    )
