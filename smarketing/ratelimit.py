"""Fixed-window rate limits on an atomic counter: `cache.add` creates the window's counter
only if it is missing and `cache.incr` adds one in a single step (INCR on Redis, under a
lock in locmem), so N concurrent requests see N distinct counts and exactly `limit` pass.
A read-then-write check would let a burst through together.

The file-based cache of the embedded mode does not make `incr` atomic across processes;
there the limit is approximate, which is acceptable for one small machine."""

import logging
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window resets


def hit(key: str, *, limit: int, window: int, now: float | None = None, cache=None) -> Hit:
    """Count one request against `key`; `allowed` is False once `limit` is exceeded in the
    current `window` (seconds). A limit of 0 or less means no limit."""
    # The backend itself, not the `cache` proxy: _count picks Redis's one-trip path by type.
    cache = cache or caches["default"]
    now = time.time() if now is None else now
    if limit <= 0:
        return Hit(True, 0, 0)
    bucket = int(now // window)
    counter = f"ratelimit:{key}:{bucket}"
    try:
        count = _count(cache, counter, window)
    except Exception:
        # The cache (Redis) is down. Redis only carries work; refusing every sign-in and
        # every event while it is away would turn its outage into ours, so the limit is
        # lifted until it is back (tests/faults/test_redis_outage.py).
        logger.warning("Rate limit %s not counted: the cache is unavailable", key, exc_info=True)
        return Hit(True, 0, 0)
    retry_after = max(1, int((bucket + 1) * window - now))
    return Hit(count <= limit, count, retry_after)


def _count(cache, counter: str, window: int) -> int:
    if isinstance(cache, RedisCache):
        # One round trip: INCR creates the counter at 1 when it is missing, and the expiry
        # (twice the window: the counter outlives its window, never the other way round)
        # is set in the same pipeline.
        key = cache.make_and_validate_key(counter)
        pipe = cache._cache.get_client(key, write=True).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window * 2)
        return int(pipe.execute()[0])
    cache.add(counter, 0, timeout=window * 2)
    try:
        return cache.incr(counter)
    except ValueError:  # evicted between add and incr: start the window again
        cache.add(counter, 0, timeout=window * 2)
        return cache.incr(counter)
