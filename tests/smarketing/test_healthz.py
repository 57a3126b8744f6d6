from datetime import timedelta

import time_machine
from django.utils import timezone

from smarketing.services import heartbeat_record


def test_healthz_is_public_and_reports_missing_worker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["worker"] == {"ok": False, "last_heartbeat": None, "age_seconds": None}


def test_healthz_is_ok_with_a_fresh_heartbeat(client, db):
    heartbeat_record(now=timezone.now(), hostname="w1")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["worker"]["hostname"] == "w1"
    assert body["worker"]["age_seconds"] < 60


def test_healthz_flags_a_stale_heartbeat(client, db):
    with time_machine.travel(timezone.now() - timedelta(minutes=5), tick=False):
        heartbeat_record(now=timezone.now(), hostname="w1")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"]["ok"] is False
    assert response.json()["worker"]["age_seconds"] >= 300


def test_healthz_reports_a_broker_that_is_down(client, db, settings):
    from smarketing.celery import app

    original = app.conf.broker_url, app.conf.broker_transport
    # Nothing listens on port 1. The embedded broker names its transport explicitly, and an
    # explicit transport wins over the URL's scheme: drop it as a Redis setup has none.
    app.conf.broker_url, app.conf.broker_transport = "redis://127.0.0.1:1/0", None
    try:
        body = client.get("/healthz").json()
    finally:
        app.conf.broker_url, app.conf.broker_transport = original
    assert body["broker"]["ok"] is False
    assert body["ok"] is False
