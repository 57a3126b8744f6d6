from django import forms

from smarketing.notifications.models import BodyFormat, WebhookEndpoint


class ChannelPreferenceForm(forms.Form):
    in_app = forms.BooleanField(
        required=False,
        label="In the app",
        help_text="The inbox and the count next to it in the navigation bar.",
    )
    email = forms.BooleanField(
        required=False, label="By email", help_text="Sent to the address on your account."
    )


def _team_model():
    # The teams live in the leads app; reach them through the relation rather than import
    # leads from this cross-app plumbing.
    return WebhookEndpoint._meta.get_field("teams").related_model


class WebhookEndpointForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="Where it goes, e.g. “#emea-sales on Slack”.")
    url = forms.URLField(
        max_length=500,
        label="URL",
        assume_scheme="https",
        help_text="Reachable from the internet; private and loopback addresses are refused.",
    )
    body_format = forms.ChoiceField(
        choices=BodyFormat.choices,
        initial=BodyFormat.STANDARD,
        label="Body",
        help_text="Slack-compatible posts a readable message; JSON carries ids for your own code.",
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Handoffs routed to these teams are posted here.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = _team_model().objects.order_by("name")


class WebhookEndpointEditForm(forms.Form):
    name = forms.CharField(max_length=120)
    body_format = forms.ChoiceField(choices=BodyFormat.choices, label="Body")
    teams = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Handoffs routed to these teams are posted here.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = _team_model().objects.order_by("name")


class WebhookSecretRotateForm(forms.Form):
    stop_old_now = forms.BooleanField(
        required=False,
        label="Stop signing with the current secret at once",
        help_text="Only if it leaked: until the receiver has the new secret it will reject "
        "every message. Otherwise both secrets sign for 24 hours.",
    )
