import importlib

import pytest
from django.apps import apps as django_apps
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


@pytest.fixture(autouse=True)
def _lifecycle_stages_after_flush(request):
    """Transactional tests (real Celery workers, racing requests) end with a flush, which
    also removes the stages that migration 0003 seeds; every later transactional test
    would then fail to create a lead. Put the stages back before such a test runs."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None
        and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        from leads.models import Stage

        if not Stage.objects.exists():
            seed = importlib.import_module("leads.migrations.0003_seed_stages").seed
            seed(django_apps, None)
    yield
