"""Sign-in attempts and ingest-key requests are limited on an atomic counter: under a
burst of concurrent requests exactly the limit gets through, not "about" the limit."""

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from smarketing import ratelimit
from smarketing.models import IngestKey

PASSWORD = "pw-for-tests-1234"  # tests/factories.py
TOO_MANY = "Too many sign-in attempts"


def _caches():
    yield pytest.param(LocMemCache("ratelimit-test", {}), id="locmem")
    url = os.environ.get("REDIS_URL")
    if url:
        from django.core.cache.backends.redis import RedisCache

        yield pytest.param(RedisCache(url, {"KEY_PREFIX": "ratelimit-test"}), id="redis")


def burst(n: int, call) -> list:
    """Run `call` n times at once: every thread waits at a barrier, then fires."""
    barrier = threading.Barrier(n)

    def one(_):
        barrier.wait()
        try:
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.parametrize("cache", list(_caches()))
def test_exactly_the_limit_passes_a_concurrent_burst(cache):
    key = f"burst-{uuid.uuid4()}"  # a fresh counter, also on a shared Redis

    results = burst(40, lambda: ratelimit.hit(key, limit=10, window=3600, cache=cache))

    assert sum(r.allowed for r in results) == 10
    assert sorted(r.count for r in results) == list(range(1, 41))


def test_a_new_window_starts_a_new_count():
    cache = LocMemCache("ratelimit-window", {})
    for _ in range(3):
        ratelimit.hit("w", limit=3, window=60, now=1000.0, cache=cache)

    assert not ratelimit.hit("w", limit=3, window=60, now=1019.0, cache=cache).allowed
    later = ratelimit.hit("w", limit=3, window=60, now=1021.0, cache=cache)
    assert later.allowed and later.count == 1


def test_a_limit_of_zero_means_no_limit():
    assert all(ratelimit.hit("z", limit=0, window=60).allowed for _ in range(100))


# --- Sign-in


def _sign_in(client: Client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


@pytest.mark.django_db
def test_the_eleventh_attempt_is_refused_even_with_the_right_password(rep, client):
    for _ in range(10):
        response = _sign_in(client, "dana", "wrong")
        assert response.status_code == 200 and TOO_MANY not in response.content.decode()

    response = _sign_in(client, "dana", PASSWORD)

    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_limit_is_per_username_and_address(rep, rep2, client):
    for _ in range(10):
        _sign_in(client, "dana", "wrong")

    assert _sign_in(Client(), "lee", PASSWORD).status_code == 302
    assert _sign_in(Client(), "dana", PASSWORD, ip="198.51.100.9").status_code == 302
    assert TOO_MANY in _sign_in(Client(), "Dana ", PASSWORD).content.decode()


@pytest.mark.django_db
def test_sign_in_works_again_after_the_window(rep, client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(11):
            _sign_in(client, "dana", "wrong")
    with time_machine.travel(start.timestamp() + 601, tick=False):
        assert _sign_in(client, "dana", PASSWORD).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_in_attempts_let_exactly_ten_through(rep):
    responses = burst(24, lambda: _sign_in(Client(), "dana", "wrong"))

    refused = [r for r in responses if TOO_MANY in r.content.decode()]
    assert len(refused) == 14
    assert all(r.status_code == 200 for r in responses)


# --- Ingest keys


@pytest.fixture
def small_ingest_limit(settings):
    settings.INGEST_KEY_RATE_PER_MINUTE = 5


def _key_client(raw: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return api


@pytest.mark.django_db
def test_an_ingest_key_over_its_limit_gets_429_with_retry_after(small_ingest_limit):
    _, raw = IngestKey.issue(name="website", now=timezone.now())
    api = _key_client(raw)
    event = {"type": "page_view", "lead": {"email": "ada@example.com"}}

    codes = [api.post("/api/v1/events/", event, format="json").status_code for _ in range(6)]

    assert codes == [200, 200, 200, 200, 200, 429]
    refused = api.post("/api/v1/events/", event, format="json")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another key has its own budget.
    _, other = IngestKey.issue(name="crm", now=timezone.now())
    assert _key_client(other).post("/api/v1/events/", event, format="json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_on_one_key_let_exactly_the_limit_through(small_ingest_limit):
    _, raw = IngestKey.issue(name="website", now=timezone.now())

    # An empty list is refused after authentication, so nothing is written.
    responses = burst(20, lambda: _key_client(raw).post("/api/v1/events/", [], format="json"))

    codes = sorted(r.status_code for r in responses)
    assert codes.count(429) == 15
    assert codes.count(400) == 5
