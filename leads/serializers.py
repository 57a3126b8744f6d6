"""Input and output shapes of the leads API. Serializers validate and convert; the writes
happen in leads.services."""

import math
import re
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from rest_framework import serializers

from leads.models import ActivityType, Lead, Seniority
from leads.services import LEAD_INPUT_FIELDS

CUSTOM_TYPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,59}$")
# Senders' clocks drift; an event from further ahead than this is a bug, not a clock.
FUTURE_TOLERANCE = timedelta(hours=1)
# Marketing tools did not exist before the epoch; an earlier date is a parsing bug upstream.
EARLIEST_EVENT = datetime(1970, 1, 1, tzinfo=UTC)

# Free-form JSON (event properties, lead attributes) is stored and shown as given, so it
# is bounded: a few levels deep, a few hundred values, numbers every database and browser
# can hold (PostgreSQL's jsonb refuses NUL and NaN, JavaScript loses integers past 2**53).
JSON_MAX_DEPTH = 8
JSON_MAX_VALUES = 500
JSON_MAX_INT = 2**53


def json_value_check(value, *, name: str) -> None:
    """Raise a ValidationError that says what is wrong with a free-form JSON value."""
    count = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > JSON_MAX_VALUES:
            raise serializers.ValidationError(f"{name} holds more than {JSON_MAX_VALUES} values.")
        if depth > JSON_MAX_DEPTH:
            raise serializers.ValidationError(
                f"{name} is nested more than {JSON_MAX_DEPTH} levels deep."
            )
        if isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in str(key):
                    raise serializers.ValidationError(f"{name} has a key with a NUL character.")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise serializers.ValidationError(f"{name} has a text with a NUL character.")
        elif (isinstance(item, float) and not math.isfinite(item)) or (
            isinstance(item, int) and not isinstance(item, bool) and abs(item) > JSON_MAX_INT
        ):
            raise serializers.ValidationError(f"{name} has a number out of range.")


class LeadInputSerializer(serializers.Serializer):
    """What an intake may say about a person. Unknown keys are not errors: they are kept in
    `attributes` by the view, so a form or tool can send any extra column."""

    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    seniority = serializers.ChoiceField(choices=Seniority.choices, required=False, allow_blank=True)
    department = serializers.CharField(required=False, allow_blank=True, max_length=100)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=50)
    company = serializers.CharField(required=False, allow_blank=True, max_length=200)
    website = serializers.CharField(required=False, allow_blank=True, max_length=200)
    industry = serializers.CharField(required=False, allow_blank=True, max_length=100)
    # The column is a PositiveIntegerField: beyond this the database refuses the row.
    employees = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2_147_483_647
    )
    annual_revenue = serializers.DecimalField(
        required=False, allow_null=True, max_digits=16, decimal_places=2, min_value=0
    )
    country = serializers.CharField(required=False, allow_blank=True, max_length=2, min_length=2)
    region = serializers.CharField(required=False, allow_blank=True, max_length=100)
    source = serializers.CharField(required=False, allow_blank=True, max_length=100)
    utm_source = serializers.CharField(required=False, allow_blank=True, max_length=200)
    utm_medium = serializers.CharField(required=False, allow_blank=True, max_length=200)
    utm_campaign = serializers.CharField(required=False, allow_blank=True, max_length=200)
    utm_term = serializers.CharField(required=False, allow_blank=True, max_length=200)
    utm_content = serializers.CharField(required=False, allow_blank=True, max_length=200)
    do_not_email = serializers.BooleanField(required=False)
    do_not_call = serializers.BooleanField(required=False)
    attributes = serializers.DictField(required=False)

    def validate_attributes(self, value: dict) -> dict:
        json_value_check(value, name="attributes")
        return value

    def validate_country(self, value: str) -> str:
        return value.upper()

    def validate(self, attrs):
        if not (attrs.get("email") or "").strip() and not (attrs.get("external_id") or "").strip():
            raise serializers.ValidationError(
                {"email": ["Give an email or an external_id to name the lead."]}
            )
        return attrs

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["Expected an object with lead fields."]}
            )
        extra = {k: v for k, v in data.items() if k not in self.fields}
        value = super().to_internal_value(data)
        if extra:
            value["attributes"] = {**extra, **value.get("attributes", {})}
            try:
                json_value_check(value["attributes"], name="attributes")
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"attributes": exc.detail}) from None
        return value


class EventInputSerializer(serializers.Serializer):
    event_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    type = serializers.CharField(max_length=60)
    occurred_at = serializers.DateTimeField(required=False)
    properties = serializers.DictField(required=False)
    source = serializers.CharField(required=False, allow_blank=True, max_length=100)
    lead = LeadInputSerializer()

    def validate_properties(self, value: dict) -> dict:
        json_value_check(value, name="properties")
        return value

    def validate_type(self, value: str) -> str:
        value = value.strip()
        if value not in ActivityType.values and not CUSTOM_TYPE.match(value):
            raise serializers.ValidationError(
                "Use a known type ("
                + ", ".join(ActivityType.values)
                + ") or a custom name in lower case letters, digits and _ . : -"
            )
        return value

    def validate_occurred_at(self, value):
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError("occurred_at is in the future.")
        if value < EARLIEST_EVENT:
            raise serializers.ValidationError("occurred_at is before 1970.")
        return value


class LeadSerializer(serializers.ModelSerializer):
    stage = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # Plain text, not format "email": blank when only an external id is known, or erased.
    email = serializers.CharField(read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            *LEAD_INPUT_FIELDS,
            "attributes",
            "stage",
            "stage_entered_at",
            "owner",
            "fit_score",
            "engagement_score",
            "score",
            "created_at",
            "updated_at",
            "erased_at",
        ]
        read_only_fields = fields


class IngestedLeadSerializer(serializers.Serializer):
    """The answer to an upsert: enough for a sender to link its record, nothing to read."""

    id = serializers.IntegerField()
    created = serializers.BooleanField()
    stage = serializers.CharField()


class StageChangeInputSerializer(serializers.Serializer):
    stage = serializers.SlugField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class EventResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"])
    event_id = serializers.CharField(required=False)
    activity_id = serializers.IntegerField(required=False)
    lead_id = serializers.IntegerField(required=False)
    lead_created = serializers.BooleanField(required=False)
    errors = serializers.DictField(required=False)


class EventBatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = EventResultSerializer(many=True)
