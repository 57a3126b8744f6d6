from celery import shared_task
from django.utils import timezone

from sla import services


@shared_task(ignore_result=True)
def sla_sweep_task() -> None:
    services.sla_sweep(now=timezone.now())


@shared_task(ignore_result=True)
def send_weekly_review() -> int:
    """Beat runs this hourly; the review goes out once, on the agreement's review weekday."""
    from sla.review import review_send

    return review_send(now=timezone.now())
