from celery import shared_task
from django.utils import timezone

from goals import services


@shared_task(ignore_result=True)
def send_pacing_alerts() -> int:
    """Beat runs this hourly; the service sends at most one email per goal per day."""
    return services.pacing_alerts_send(now=timezone.now())
