from celery import shared_task
from django.utils import timezone

from smarketing import services


@shared_task(ignore_result=True)
def heartbeat(hostname: str = ""):
    services.heartbeat_record(now=timezone.now(), hostname=hostname or heartbeat.request.hostname)
