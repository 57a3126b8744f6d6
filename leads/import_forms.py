from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from leads import importing


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "Comma, semicolon, tab or pipe separated; UTF-8 or Windows encoding. Up to "
            f"{importing.MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Existing leads (same email, "
            "or same external ID and source) are updated, not duplicated."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,text/csv"}),
    )
    source = forms.CharField(
        max_length=100,
        required=False,
        help_text=(
            'Given to rows without a source of their own, e.g. "hubspot" or "tradeshow-2026". '
            "External IDs are unique within a source."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.add_input(Submit("upload", "Upload and preview"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > importing.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {importing.MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                "split it into smaller files."
            )
        return upload


def _target_choices() -> list[tuple[str, str]]:
    return [
        (importing.ATTRIBUTE, "Keep as custom attribute"),
        (importing.IGNORE, "Ignore this column"),
        *importing.TARGET_LABELS.items(),
    ]


class ImportMappingForm(forms.Form):
    """One dropdown per CSV column, keyed by position because headers may hold any
    character."""

    def __init__(self, *args, headers: list[str], initial_mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = _target_choices()
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header,
                choices=choices,
                required=False,
                initial=initial_mapping.get(header, importing.ATTRIBUTE),
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )

    def column_fields(self):
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        return {
            header: self.cleaned_data.get(f"col_{index}") or importing.ATTRIBUTE
            for index, header in enumerate(self.headers)
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            importing.validate_mapping(self.headers, self.mapping())
        except importing.ApplicationError as exc:
            for key, messages in exc.extra.items():
                target = (
                    None
                    if key == "__all__"
                    else f"col_{self.headers.index(key)}"
                    if key in self.headers
                    else None
                )
                for message in messages:
                    self.add_error(target, message)
        return cleaned
