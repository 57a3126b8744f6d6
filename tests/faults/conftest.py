"""Fixtures for the fault tests: one private PostgreSQL cluster and Redis per session, a
migrated template database, and per test a fresh copy of it with gunicorn and a Celery
worker pointed at it. Skipped, with the reason, where the suite runs on SQLite."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from smarketing.notifications.testing import LocalReceiver
from tests.faults.stack import PYTHON, ROOT, App, Postgres, Redis, missing_tools, post_json

TEMPLATE = "faults_template"
_numbers = itertools.count(1)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    reason = None
    if not settings.IS_POSTGRES:
        reason = "fault tests run on PostgreSQL + Redis (CI's first pass); this run is SQLite"
    elif missing := missing_tools():
        reason = f"fault tests need {', '.join(missing)}"
    for item in items:
        if Path(item.fspath).is_relative_to(here):
            item.add_marker(pytest.mark.faults)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def fault_services():
    log_root = Path(tempfile.mkdtemp(prefix="smk-faults-logs-"))
    postgres = Postgres()
    redis = Redis()
    try:
        postgres.psql(f"CREATE DATABASE {TEMPLATE}")
        app = App(database_url=postgres.url(TEMPLATE), redis_url=redis.url, log_dir=log_root)
        migrate = subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=app.env(),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert migrate.returncode == 0, migrate.stderr[-4000:]
        yield postgres, redis, log_root
    finally:
        redis.destroy()
        postgres.destroy()
        if os.environ.get("FAULTS_KEEP_LOGS"):
            sys.stderr.write(f"fault stack logs kept in {log_root}\n")
        else:
            shutil.rmtree(log_root, ignore_errors=True)


@dataclass
class Stack:
    postgres: Postgres
    redis: Redis
    app: App
    receiver: LocalReceiver
    ingest_key: str
    rep_tokens: list[str]
    acknowledged: set[str] = field(default_factory=set)

    @property
    def ingest_headers(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.ingest_key}"}

    def post_events(self, events: list[dict], *, timeout: float = 10) -> tuple:
        """POST a batch; the events count as acknowledged only on a 2xx answer."""
        status, headers, body = post_json(
            f"{self.app.base}/api/v1/events/", events, self.ingest_headers, timeout=timeout
        )
        if 200 <= status < 300:
            self.acknowledged.update(e["event_id"] for e in events)
        return status, headers, body

    def invariants(self) -> dict:
        return self.app.ctl("invariants", {"acknowledged": sorted(self.acknowledged)})

    def settle(self, *, timeout: float = 45, reconcile_every: float | None = None) -> dict:
        """Poll the invariants until they hold (the worker catches up) or time runs out;
        optionally run the reconciler between polls as beat would."""
        deadline = time.monotonic() + timeout
        last_reconcile = time.monotonic()
        while True:
            self.app.supervise()
            result = self.invariants()
            if result["ok"] or time.monotonic() > deadline:
                return result
            if reconcile_every is not None and time.monotonic() - last_reconcile > reconcile_every:
                self.app.ctl("reconcile")
                last_reconcile = time.monotonic()
            time.sleep(0.5)

    def unique_webhook_ids(self) -> int:
        return len({r.headers.get("webhook-id") for r in self.receiver.accepted})


@pytest.fixture
def stack(fault_services):
    postgres, redis, log_root = fault_services
    name = f"faults_{next(_numbers)}_{uuid.uuid4().hex[:6]}"
    postgres.psql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    redis.client().flushall()
    app = App(database_url=postgres.url(name), redis_url=redis.url, log_dir=log_root / name)
    with LocalReceiver() as receiver:
        # Web and worker boot while the data is prepared; neither reads it before a request.
        app.start_web(wait=False)
        app.start_worker(wait=False)
        creds = app.ctl("prepare", {"hook_url": receiver.url})
        app.wait_web()
        app.wait_worker()
        try:
            yield Stack(
                postgres=postgres,
                redis=redis,
                app=app,
                receiver=receiver,
                ingest_key=creds["ingest_key"],
                rep_tokens=creds["rep_tokens"],
            )
        finally:
            app.stop()
            if not redis.ping():
                redis.start()
            with contextlib.suppress(subprocess.CalledProcessError):
                postgres.start()  # after a test that left it stopped; fails if running


def lead_events(prefix: str, n_leads: int, per_lead: int = 3) -> list[dict]:
    """Events that qualify each lead (a fitting company plus a webinar, a download and
    page views), with event ids unique to the prefix."""
    events = []
    for i in range(n_leads):
        lead = {
            "email": f"{prefix}-{i}@faults.test",
            "first_name": "Ana",
            "last_name": f"Lead {i}",
            "title": "VP Operations",
            "company": f"Company {i}",
            "industry": "Logistics",
            "employees": 300,
        }
        kinds = ["webinar_attended", "content_download", "page_view", "page_view"]
        for j in range(per_lead):
            events.append(
                {
                    "event_id": f"{prefix}-{i}-{j}",
                    "type": kinds[j % len(kinds)],
                    "lead": lead,
                    "properties": {"url": "/pricing"}
                    if kinds[j % len(kinds)] == "page_view"
                    else {},
                }
            )
    return events
