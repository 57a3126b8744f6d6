"""Input and output shapes of the leads API. Serializers validate and convert; the writes
happen in leads.services."""

import math
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import setting_changed
from django.core.validators import (
    EmailValidator,
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField, _UnvalidatedField, empty
from rest_framework.settings import api_settings
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from leads.models import ActivityType, Lead, Seniority
from leads.services import LEAD_INPUT_FIELDS

CUSTOM_TYPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,59}$")
# `ActivityType.values` builds a new list on every access; the check runs once per event.
KNOWN_TYPES = frozenset(ActivityType.values)
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
        if value not in KNOWN_TYPES and not CUSTOM_TYPE.match(value):
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


# --- The intake's fast path ----------------------------------------------------------------
#
# DRF runs a dozen Python calls per field and per item (get_value, validate_empty_values,
# run_validators, ...): about 1 ms per event, most of a 1,000-event request. The validator
# below converts the values senders actually send (strings within their limits, ISO
# timestamps with an offset, JSON objects, in-range numbers) by hand, with each field's own
# limits, then calls the serializers' own validate_<field> methods; any other value goes
# through its serializer field, and an item with any error goes through
# EventInputSerializer whole. So every error message, and every value the fast checks do
# not vouch for, is the serializers' own; tests/leads/test_intake_fast_path.py pins that
# the fast checks agree with them everywhere else.


class _Unsure(Exception):
    """The fast checks cannot vouch for a value: the serializer decides."""


# Plain ASCII addresses which, within an EmailField's length, are a strict subset of what
# Django's EmailValidator accepts (its regular expressions behind lazy proxies cost 25 us
# an address): dot-atom local part, labels of letters, digits and inner hyphens, a
# letters-only top-level domain.
COMMON_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    re.IGNORECASE | re.ASCII,
)
_TEXT_VALIDATORS = {
    MaxLengthValidator,
    MinLengthValidator,
    ProhibitNullCharactersValidator,
    ProhibitSurrogateCharactersValidator,
}
_NUMBER_VALIDATORS = {MaxValueValidator, MinValueValidator}

Convert = Callable[[Any], Any]


def _serializer_decides(value: Any) -> Any:
    raise _Unsure


def _utf8_encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _text(field: serializers.CharField, *, email: bool = False) -> Convert:
    """CharField (or EmailField): stripped, blank as the field allows, within its lengths,
    no NUL, no lone surrogate (and for an email, what the field's EmailValidator takes)."""
    allow_blank, low, high = field.allow_blank, field.min_length or 0, field.max_length
    email_validator = next((v for v in field.validators if isinstance(v, EmailValidator)), None)

    def convert(value: Any) -> str:
        if type(value) is not str:
            raise _Unsure
        value = value.strip()
        if not value:
            if allow_blank:
                return ""
            raise _Unsure
        if (
            len(value) < low
            or (high is not None and len(value) > high)
            or "\x00" in value
            or not (value.isascii() or _utf8_encodable(value))
        ):
            raise _Unsure
        if email and not (len(value) <= 254 and COMMON_EMAIL.fullmatch(value)):
            try:
                email_validator(value)
            except DjangoValidationError:
                raise _Unsure from None
        return value

    return convert


def _choice(field: serializers.ChoiceField) -> Convert:
    def convert(value: Any) -> Any:
        if type(value) is not str:
            raise _Unsure
        if value == "" and field.allow_blank:
            return ""
        try:
            return field.choice_strings_to_values[value]
        except KeyError:
            raise _Unsure from None

    return convert


def _integer(field: serializers.IntegerField) -> Convert:
    low, high, allow_null = field.min_value, field.max_value, field.allow_null

    def convert(value: Any) -> int | None:
        if value is None and allow_null:
            return None
        if (
            type(value) is not int
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            raise _Unsure
        return value

    return convert


def _null_only(field: serializers.Field) -> Convert:
    def convert(value: Any) -> None:
        if value is not None or not field.allow_null:
            raise _Unsure

    return convert


def _boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise _Unsure
    return value


def _json_object(value: Any) -> dict:
    if type(value) is not dict or not all(type(key) is str for key in value):
        raise _Unsure
    return dict(value)


def _datetime(value: Any) -> datetime:
    """An ISO 8601 text with an offset, in the current time zone (a naive one is the
    serializer's: it applies the time zone)."""
    if type(value) is not str:
        raise _Unsure
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.utcoffset() is None:
            raise _Unsure
        return parsed.astimezone(timezone.get_current_timezone())
    except (ValueError, OverflowError):
        raise _Unsure from None


def _converter(field: serializers.Field) -> Convert:
    """The fast conversion for a declared field, for the kinds of field whose DRF
    behaviour it reproduces exactly (their validators included); else the serializer's."""
    kind = type(field)
    validators = {type(v) for v in field.validators}
    if kind in (serializers.CharField, serializers.EmailField) and field.trim_whitespace:
        email = kind is serializers.EmailField
        if validators - _TEXT_VALIDATORS == ({EmailValidator} if email else set()):
            return _text(field, email=email)
    elif kind is serializers.ChoiceField and not validators:
        return _choice(field)
    elif kind is serializers.IntegerField and validators <= _NUMBER_VALIDATORS:
        return _integer(field)
    elif kind is serializers.DecimalField:
        return _null_only(field)
    elif kind is serializers.BooleanField and not validators:
        return _boolean
    elif (
        kind is serializers.DictField
        and type(field.child) is _UnvalidatedField
        and field.allow_empty
        and not validators
    ):
        return _json_object
    elif (
        kind is serializers.DateTimeField
        and not validators
        and not hasattr(field, "input_formats")
        and not hasattr(field, "timezone")
        and api_settings.DATETIME_INPUT_FORMATS == [ISO_8601]
        and settings.USE_TZ
    ):
        return _datetime
    return _serializer_decides


class EventInputValidator:
    """Validates one event at a time exactly like EventInputSerializer().run_validation:
    the same validated data, or the same ValidationError. Built once per request."""

    def __init__(self):
        self.serializer = EventInputSerializer()
        self.lead_serializer = self.serializer.fields["lead"]
        self.event_checks = self._checks(self.serializer)
        self.event_checks["lead"] = (self._lead, None)
        self.lead_checks = self._checks(self.lead_serializer)
        self.required = [name for name, field in self.serializer.fields.items() if field.required]

    @staticmethod
    def _checks(serializer: serializers.Serializer) -> dict[str, tuple[Convert, Convert | None]]:
        """Per declared field, in declared order: its fast conversion and the serializer's
        validate_<field> method, if any."""
        return {
            name: (_converter(field), getattr(serializer, f"validate_{name}", None))
            for name, field in serializer.fields.items()
        }

    def run_validation(self, item: Any) -> dict:
        """The validated event, or the serializer's ValidationError."""
        validated = self.validate_fast(item)
        return validated if validated is not None else self.serializer.run_validation(item)

    def validate_fast(self, item: Any) -> dict | None:
        """The validated event, or None where the fast checks cannot vouch for it (the
        item may still be valid: the serializer then decides)."""
        try:
            return self._event(item)
        except _Unsure:
            return None

    def _event(self, item: Any) -> dict:
        if type(item) is not dict:
            raise _Unsure
        out = {}
        for name, check in self.event_checks.items():
            value = item.get(name, empty)
            if value is not empty:
                out[name] = self._field(self.serializer, name, value, check)
            elif name in self.required:
                raise _Unsure
        return out

    def _lead(self, data: Any) -> dict:
        """LeadInputSerializer.run_validation, its to_internal_value and validate included."""
        if type(data) is not dict:
            raise _Unsure
        out: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, value in data.items():
            check = self.lead_checks.get(name)
            if check is None:
                extra[name] = value
            else:
                out[name] = self._field(self.lead_serializer, name, value, check)
        if len(out) > 1:  # the serializer's order: the declared one
            out = {name: out[name] for name in self.lead_checks if name in out}
        if extra:
            out["attributes"] = {**extra, **out.get("attributes", {})}
            try:
                json_value_check(out["attributes"], name="attributes")
            except serializers.ValidationError:
                raise _Unsure from None
        if not (out.get("email") or "").strip() and not (out.get("external_id") or "").strip():
            raise _Unsure
        return out

    def _field(self, serializer, name: str, value: Any, check) -> Any:
        convert, validate = check
        try:
            value = convert(value)
            return validate(value) if validate is not None else value
        except _Unsure:
            pass
        except (serializers.ValidationError, DjangoValidationError):
            raise _Unsure from None
        # Not a shape the fast checks know: the serializer's field decides this one value.
        try:
            value = serializer.fields[name].run_validation(value)
            return validate(value) if validate is not None else value
        except (serializers.ValidationError, DjangoValidationError, SkipField):
            raise _Unsure from None


_validators: dict[int, EventInputValidator] = {}


def event_input_validator() -> EventInputValidator:
    """This thread's EventInputValidator. Building one copies the serializers' fields (two
    thirds of a single event's validation), so each thread builds it once; a thread of its
    own because serializer fields were not written to be shared between threads."""
    thread = threading.get_ident()
    validator = _validators.get(thread)
    if validator is None:
        validator = _validators[thread] = EventInputValidator()
    return validator


def _forget_validators(**kwargs) -> None:
    # The fast checks read settings (USE_TZ, DRF's input formats) when they are built.
    _validators.clear()


setting_changed.connect(_forget_validators)


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
