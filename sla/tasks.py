from celery import shared_task
from django.utils import timezone

from sla import services


@shared_task(ignore_result=True)
def sla_sweep_task() -> None:
    services.sla_sweep(now=timezone.now())
