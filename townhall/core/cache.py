"""The shared cache (Redis) that fails soft: when Redis is down, slow or restarting,
each call falls back to this process's memory instead of raising, so pages keep
working (sign-in throttling then counts per process until Redis is back). After a
failure calls skip Redis for RETRY_AFTER_SECONDS, then try it again: recovery needs
nothing, the first call that reaches Redis uses it again. Outages are logged once when they start and once when they end, not per call.

Sessions do not live here (they are in the database), so an outage signs no one out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

log = logging.getLogger("townhall.cache")

T = TypeVar("T")

# Short socket timeouts and no retry with back-off (redis-py's default sleeps up to
# seconds): a request must not wait on a dead Redis.
DEFAULT_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0, "retry": Retry(NoBackoff(), 0)}
# After a failure, calls go straight to process memory for this long, then Redis is
# tried again: a hung Redis costs one timeout per process per interval, not one per call.
RETRY_AFTER_SECONDS = 2.0


class FailSoftRedisCache(RedisCache):
    """RedisCache whose every operation falls back to a local memory cache on a
    connection error or a timeout."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = dict(params)
        params["OPTIONS"] = {**DEFAULT_OPTIONS, **(params.get("OPTIONS") or {})}
        super().__init__(server, params)
        self._fallback = LocMemCache(
            f"townhall-fallback-{id(self)}",
            {"TIMEOUT": params.get("TIMEOUT", 300), "KEY_PREFIX": params.get("KEY_PREFIX", "")},
        )
        self._down = False
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def _soft(self, name: str, call: Callable[[], T], fallback: Callable[[], T]) -> T:
        if self._down and time.monotonic() < self._retry_at:
            return fallback()
        try:
            result = call()
        except (RedisConnectionError, RedisTimeoutError) as error:
            with self._lock:
                self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
                if not self._down:
                    self._down = True
                    log.warning("redis unavailable, using process memory: %s (%s)", error, name)
            return fallback()
        if self._down:
            with self._lock:
                if self._down:
                    self._down = False
                    log.warning("redis reachable again")
        return result

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._soft(
            "add",
            lambda: super(FailSoftRedisCache, self).add(key, value, timeout, version),
            lambda: self._fallback.add(key, value, timeout, version),
        )

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._soft(
            "get",
            lambda: super(FailSoftRedisCache, self).get(key, default, version),
            lambda: self._fallback.get(key, default, version),
        )

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._soft(
            "set",
            lambda: super(FailSoftRedisCache, self).set(key, value, timeout, version),
            lambda: self._fallback.set(key, value, timeout, version),
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._soft(
            "touch",
            lambda: super(FailSoftRedisCache, self).touch(key, timeout, version),
            lambda: self._fallback.touch(key, timeout, version),
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._soft(
            "delete",
            lambda: super(FailSoftRedisCache, self).delete(key, version),
            lambda: self._fallback.delete(key, version),
        )

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._soft(
            "get_many",
            lambda: super(FailSoftRedisCache, self).get_many(keys, version),
            lambda: self._fallback.get_many(keys, version),
        )

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._soft(
            "has_key",
            lambda: super(FailSoftRedisCache, self).has_key(key, version),
            lambda: self._fallback.has_key(key, version),
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._soft(
            "incr",
            lambda: super(FailSoftRedisCache, self).incr(key, delta, version),
            lambda: self._fallback.incr(key, delta, version),
        )

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return self._soft(
            "set_many",
            lambda: super(FailSoftRedisCache, self).set_many(data, timeout, version),
            lambda: self._fallback.set_many(data, timeout, version),
        )

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._soft(
            "delete_many",
            lambda: super(FailSoftRedisCache, self).delete_many(keys, version),
            lambda: self._fallback.delete_many(keys, version),
        )

    def clear(self) -> None:
        self._soft("clear", lambda: super(FailSoftRedisCache, self).clear(), self._fallback.clear)
