"""The baseline hop: the cheapest thing a Celery task can do that the sender can observe."""

import time

import redis
from celery import shared_task
from django.conf import settings

HOP_KEY = "bench:hop:{}"


def hop_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@shared_task(ignore_result=True)
def hop(token: str) -> None:
    """Stamp the wall-clock time the worker ran; the sender compares it with its own."""
    hop_client().set(HOP_KEY.format(token), repr(time.time()), ex=600)
