import importlib

import pytest


@pytest.fixture(autouse=True)
def _lifecycle_stages(request):
    """Transactional tests (the browser ones, with a live server) start from tables that an
    earlier transactional test flushed, migration-seeded stages included: put them back."""
    if "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
        yield
        return
    from django.apps import apps

    from leads.models import Stage

    request.getfixturevalue("transactional_db")
    if not Stage.objects.exists():
        importlib.import_module("leads.migrations.0003_seed_stages").seed(apps, None)
    yield
