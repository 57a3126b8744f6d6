"""Shared actors and plumbing for the whole suite."""

import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from smarketing.celery import app as celery_app
from smarketing.roles import Role
from tests.factories import UserFactory


@pytest.fixture(scope="session", autouse=True)
def _private_broker_folder():
    """Tests never share the filesystem broker's folder with a running `make run`."""
    options = celery_app.conf.broker_transport_options or {}
    if "data_folder_in" not in options:
        yield
        return
    folder = Path(tempfile.mkdtemp(prefix="smarketing-broker-"))
    (folder / "processed").mkdir()
    celery_app.conf.broker_transport_options = {
        **options,
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }
    yield
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections_at_the_end(django_db_setup, django_db_blocker):
    """Worker and live-server threads leave PostgreSQL sessions open; end them before the
    test database is dropped, or the drop fails and the database lingers."""
    yield
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith(
        "test_"
    ):
        return  # only ever the test database; a run that never opened it has nothing to end
    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    except DatabaseError:
        pass  # nothing to tidy if the database is already gone


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    from leads.scoring.services import _hand_raisers, _scorer_cache
    from smarketing.authentication import key_forget

    cache.clear()
    key_forget()
    # Rolled-back tests reuse primary keys (SQLite), so a compiled scorer could look current.
    _scorer_cache.update(fingerprint=None, scorer=None, built=0.0)
    _hand_raisers.update(types=frozenset(), read=float("-inf"))
    yield


def _user_with_role(role: Role | None, username: str, **extra):
    user = UserFactory(username=username, **extra)
    if role is not None:
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get(name=role.value))
    return user


@pytest.fixture
def marketer(db):
    return _user_with_role(Role.MARKETER, "mia", first_name="Mia")


@pytest.fixture
def marketing_manager(db):
    return _user_with_role(Role.MARKETING_MANAGER, "marcus", first_name="Marcus")


@pytest.fixture
def rep(db):
    return _user_with_role(Role.SALES_REP, "dana", first_name="Dana")


@pytest.fixture
def rep2(db):
    return _user_with_role(Role.SALES_REP, "lee", first_name="Lee")


@pytest.fixture
def sales_manager(db):
    return _user_with_role(Role.SALES_MANAGER, "sofia", first_name="Sofia")


@pytest.fixture
def admin_user(db):
    return _user_with_role(Role.ADMIN, "admin", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(db):
    """Signed in, but holds no role."""
    return _user_with_role(None, "olly", first_name="Olly")


@pytest.fixture
def client_for(client):
    """`client_for(user)` returns a test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (in a thread of this process) consuming from the configured
    broker: the filesystem transport by default, Redis when REDIS_URL is set."""

    def close_connections(**kwargs):
        connections.close_all()

    # Tasks that earlier tests enqueued without a worker (their rows are gone now) would
    # otherwise run first, and could even hit rows that reuse their ids.
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(celery_app.conf.task_default_queue)
    task_postrun.connect(close_connections, weak=False)
    try:
        with start_worker(
            celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=20
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_connections)


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1):
    """Poll until `predicate()` is truthy; return its value or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(interval)


# A script, stylesheet, image or font whose address names another host (absolute or
# protocol-relative): what a CDN link looks like, whatever the CDN is called.
_FOREIGN_ASSET = re.compile(
    r"<(?:script|link|img|source|iframe)\b[^>]*?\b(?:src|href)\s*=\s*[\"']((?:https?:)?//[^\"']*)",
    re.IGNORECASE,
)


def foreign_assets(html: str) -> list[str]:
    """Addresses of assets a page would load from another host (the app must work offline).
    Matching markup, not the word "cdn": a random CSRF token may contain those letters."""
    return _FOREIGN_ASSET.findall(html) + re.findall(
        r"url\(\s*[\"']?((?:https?:)?//[^)\"']*)", html
    )
