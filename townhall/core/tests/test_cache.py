"""The Redis cache fails soft (core/cache.py): with Redis unreachable every call answers
from process memory at once; tests/flows/test_faults.py stops a real Redis mid-run."""

from __future__ import annotations

import socket
import time

from townhall.core.cache import FailSoftRedisCache


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_calls_fall_back_to_memory_when_redis_is_unreachable(caplog) -> None:  # type: ignore[no-untyped-def]
    cache = FailSoftRedisCache(f"redis://127.0.0.1:{_closed_port()}/0", {"KEY_PREFIX": "t"})
    started = time.monotonic()
    assert cache.get("missing") is None
    assert cache.add("count", 1, 60) is True
    assert cache.add("count", 1, 60) is False
    assert cache.incr("count") == 2
    assert cache.get_many(["count", "missing"]) == {"count": 2}
    cache.set_many({"a": 1, "b": 2}, 60)
    cache.delete_many(["a"])
    assert cache.get_many(["a", "b"]) == {"b": 2}
    assert cache.delete("b") is True
    assert time.monotonic() - started < 2
    assert caplog.text.count("redis unavailable") == 1  # logged once per outage, not per call
