import django_filters
from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError

from personas.criteria import LEAD_FIELDS, clean_criterion, format_value
from personas.models import (
    BuyerStage,
    ContentFormat,
    ContentPiece,
    CriterionKind,
    Operator,
    Persona,
    ProspectQuestion,
    SignOffTeam,
)

CUSTOM_FIELD = "__custom__"


class PersonaForm(forms.ModelForm):
    class Meta:
        model = Persona
        fields = [
            "name",
            "summary",
            "fit_threshold",
            "goals",
            "pains",
            "objections",
            "buying_triggers",
            "information_sources",
            "preferred_content",
            "disqualifiers",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in ["summary", *Persona.WORKSHEET_FIELDS]
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fit_threshold"].widget.attrs.update({"min": 0, "max": 100})
        self.helper = FormHelper()
        self.helper.form_tag = False  # the page's <form> also holds the criteria formset
        self.helper.disable_csrf = True

    def clean_fit_threshold(self):
        value = self.cleaned_data["fit_threshold"]
        if not 0 <= value <= 100:
            raise ValidationError("A fit is 0-100.")
        return value


def _field_choices():
    firmo = [(f.name, f.label) for f in LEAD_FIELDS.values() if f.kind == "firmographic"]
    demo = [(f.name, f.label) for f in LEAD_FIELDS.values() if f.kind == "demographic"]
    return [
        ("", "—"),
        ("Firmographic", firmo),
        ("Demographic", demo),
        (CUSTOM_FIELD, "Custom attribute…"),
    ]


class CriterionForm(forms.Form):
    """One criterion row. The value is typed as people think of it (a list with commas, a
    range as 50..500); `clean_criterion` turns it into the stored shape."""

    field = forms.ChoiceField(
        choices=_field_choices,
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm", "aria-label": "Field"}),
    )
    attribute = forms.CharField(required=False, max_length=100)
    operator = forms.ChoiceField(
        choices=Operator.choices,
        initial=Operator.EQUALS,  # so an untouched extra row counts as unchanged
        widget=forms.Select(
            attrs={"class": "form-select form-select-sm", "aria-label": "Operator"}
        ),
    )
    value = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "aria-label": "Value"}
        ),
    )
    weight = forms.IntegerField(
        min_value=1,
        max_value=100,
        initial=1,
        widget=forms.NumberInput(
            attrs={"class": "form-control form-control-sm", "aria-label": "Weight"}
        ),
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        field = data.get("field")
        if not field:
            raise ValidationError({"field": "Choose what this criterion looks at."})
        if field == CUSTOM_FIELD:
            kind, name = CriterionKind.CUSTOM, (data.get("attribute") or "").strip()
        else:
            kind, name = LEAD_FIELDS[field].kind, field
        try:
            row = clean_criterion(
                kind=kind, field=name, operator=data["operator"], value=data.get("value")
            )
        except ValidationError as exc:
            errors = exc.message_dict
            if "field" in errors and field == CUSTOM_FIELD:
                errors["attribute"] = errors.pop("field")
            raise ValidationError(errors) from exc
        data["row"] = {**row, "weight": data["weight"]}
        return data

    @staticmethod
    def initial_for(criterion) -> dict:
        custom = criterion.kind == CriterionKind.CUSTOM
        return {
            "field": CUSTOM_FIELD if custom else criterion.field,
            "attribute": criterion.field if custom else "",
            "operator": criterion.operator,
            "value": format_value(criterion.operator, criterion.value),
            "weight": criterion.weight,
        }


CriterionFormSet = forms.formset_factory(CriterionForm, extra=3, can_delete=True, max_num=40)


def criteria_from_formset(formset) -> list[dict]:
    return [
        form.cleaned_data["row"]
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE") and "row" in form.cleaned_data
    ]


class ContentPieceForm(forms.ModelForm):
    class Meta:
        model = ContentPiece
        fields = ["title", "url", "format", "stage", "personas", "notes"]
        widgets = {
            "personas": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"url": "URL", "stage": "Buyer stage"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class ProspectQuestionForm(forms.ModelForm):
    class Meta:
        model = ProspectQuestion
        fields = ["question", "context", "persona", "stage"]
        widgets = {"context": forms.Textarea(attrs={"rows": 3})}
        labels = {"question": "What do prospects ask about?", "stage": "Buyer stage"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["persona"].required = False
        self.fields["persona"].empty_label = "Not sure / several"
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class ContentFilter(django_filters.FilterSet):
    """Filters for the content list, shared by the page and the API."""

    persona = django_filters.ModelChoiceFilter(
        field_name="personas", queryset=Persona.objects.all(), label="Persona"
    )
    stage = django_filters.ChoiceFilter(choices=BuyerStage.choices, label="Buyer stage")
    team = django_filters.ChoiceFilter(
        field_name="authored_by_team", choices=SignOffTeam.choices, label="Authored by"
    )
    format = django_filters.ChoiceFilter(choices=ContentFormat.choices)
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title")

    class Meta:
        model = ContentPiece
        fields = ["persona", "stage", "team", "format", "q"]

    def filter_queryset(self, queryset):
        # Filtering across the personas M2M can repeat a row.
        return super().filter_queryset(queryset).distinct()
