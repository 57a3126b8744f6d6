import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from smarketing.models import IngestKey


@pytest.fixture
def ingest_key(db):
    _, raw = IngestKey.issue(name="website", now=timezone.now())
    return raw


@pytest.fixture
def key_client(ingest_key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {ingest_key}")
    return api


@pytest.fixture
def api_for():
    def make(user):
        api = APIClient()
        api.force_authenticate(user)
        return api

    return make
