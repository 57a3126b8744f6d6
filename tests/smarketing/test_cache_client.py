"""smarketing.cache.RedisCache keeps one redis-py client per pool and still behaves as
Django's Redis cache (the rate limiter relies on it). Needs REDIS_URL, which CI sets."""

import os

import pytest
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from smarketing import ratelimit
from smarketing.cache import RedisCache

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis")


def _cache():
    return RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "test-cache-client"})


def test_the_client_is_built_once_per_pool():
    cache = _cache()
    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=True)


def test_it_is_still_a_redis_cache_for_the_rate_limiter():
    cache = _cache()
    assert isinstance(cache, DjangoRedisCache)
    cache.clear()
    counts = [ratelimit.hit("k", limit=2, window=60, now=0, cache=cache).count for _ in range(3)]
    assert counts == [1, 2, 3]
    assert cache.add("flag", 1, 10) and not cache.add("flag", 1, 10)
