"""What /healthz checks: the database answers, the broker accepts a connection, and a
worker ran the heartbeat task recently."""

from datetime import datetime

from django.conf import settings
from django.db import connection

from smarketing.celery import app as celery_app
from smarketing.models import Heartbeat
from smarketing.services import WORKER


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    transport = celery_app.conf.broker_url.split("://", 1)[0]
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return {"ok": False, "transport": transport, "error": exc.__class__.__name__}
    return {"ok": True, "transport": transport}


def check_worker(*, now: datetime) -> dict:
    try:
        beat = Heartbeat.objects.filter(name=WORKER).first()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    if beat is None:
        return {"ok": False, "last_heartbeat": None, "age_seconds": None}
    age = (now - beat.beat_at).total_seconds()
    return {
        "ok": age <= settings.WORKER_HEARTBEAT_MAX_AGE.total_seconds(),
        "last_heartbeat": beat.beat_at.isoformat(),
        "age_seconds": round(age, 1),
        "hostname": beat.hostname,
    }


def health_report(*, now: datetime) -> dict:
    checks = {"database": check_database(), "broker": check_broker()}
    checks["worker"] = check_worker(now=now) if checks["database"]["ok"] else {"ok": False}
    return {"ok": all(c["ok"] for c in checks.values()), **checks}
