"""The claim's hand-written timestamps (leads.handoff.api._when) say what DRF's
DateTimeField says, in any current time zone."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone
from rest_framework import serializers

from leads.handoff.api import _when

VALUES = [
    None,
    datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 11, 27, 13, 45, 1, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kolkata"])
@pytest.mark.parametrize("value", VALUES)
def test_when_matches_the_serializer_field(zone, value):
    with django_timezone.override(zone):
        expected = serializers.DateTimeField().to_representation(value) if value else None
        assert _when(value) == expected
