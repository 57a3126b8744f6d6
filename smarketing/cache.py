"""Django's Redis cache backend, keeping one redis-py client per connection pool.

Django's RedisCacheClient.get_client builds a new `redis.Redis` around the shared pool for
every cache call; building one copies redis-py's table of ~170 response callbacks (about
60 us of CPU), more than the round trip it is for. A client on a pool is safe to share
between threads (redis-py hands each command a connection from the pool), so each pool
gets one."""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
