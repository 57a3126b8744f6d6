from django.utils import timezone

from smarketing.celery import app
from smarketing.models import Heartbeat
from smarketing.tasks import heartbeat
from tests.conftest import wait_for


def test_celery_settings_are_safe_by_default():
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert "worker-heartbeat" in conf.beat_schedule


def test_heartbeat_goes_through_the_broker_to_a_real_worker(celery_worker):
    started = timezone.now()
    heartbeat.delay(hostname="roundtrip")
    beat = wait_for(
        lambda: Heartbeat.objects.filter(hostname="roundtrip", beat_at__gte=started).first()
    )
    assert beat.name == "worker"


def test_healthz_turns_green_after_the_worker_beats(celery_worker, client):
    assert client.get("/healthz").status_code == 503
    heartbeat.delay()
    wait_for(lambda: Heartbeat.objects.exists())
    assert client.get("/healthz").json()["ok"] is True
