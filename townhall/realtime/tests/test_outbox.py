"""The Redis broker's outbox: events published while Redis is down are kept in the
database and relayed into the stream once Redis answers, in order, each once."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from townhall.realtime import outbox
from townhall.realtime.broker import KEEP_EVENTS, RedisBroker, order_key
from townhall.realtime.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def body(n: int) -> dict[str, object]:
    return {"c": ["user:1"], "e": "test", "d": {"n": n}, "gk": "", "gi": None}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port (never the machine's)."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(port=self.port).ping():
                    return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _stream(port: int, key: str) -> list[tuple[str, int]]:
    entries = redis.Redis(port=port).xrange(key)
    return [(raw.decode(), json.loads(fields[b"j"])["d"]["n"]) for raw, fields in entries]


def test_events_published_while_redis_is_down_are_relayed_in_order_once(private_redis: PrivateRedis) -> None:
    key = "townhall:test:events"
    broker = RedisBroker(f"redis://127.0.0.1:{private_redis.port}/0", key=key)
    first = broker.append(body(0))
    assert order_key(first) is not None

    private_redis.stop()
    started = time.monotonic()
    kept = [broker.append(body(n)) for n in range(1, 6)]
    assert kept == [""] * 5, "kept in the outbox, no Redis id yet"
    assert time.monotonic() - started < 2, "a dead Redis must not hold publishes"
    assert OutboxEvent.objects.count() == 5
    assert broker.relay() == 0  # still down (or waiting before trying again)

    private_redis.start()  # empty: no persistence
    time.sleep(1.1)  # past the retry pause after the last failure
    # The next publish goes behind the kept events and relays all of them first.
    assert broker.append(body(6)) == ""
    assert OutboxEvent.objects.count() == 0
    stream = _stream(private_redis.port, key)
    assert [n for _, n in stream] == [1, 2, 3, 4, 5, 6]
    ids = [order_key(i) for i, _ in stream]
    assert ids == sorted(ids) and all(i > order_key(first) for i in ids)  # type: ignore[operator]
    # Caught up: publishes go straight to Redis again, and a relay finds nothing.
    assert order_key(broker.append(body(7))) is not None
    assert broker.relay() == 0
    assert [n for _, n in _stream(private_redis.port, key)] == [1, 2, 3, 4, 5, 6, 7]


def test_relays_racing_each_other_append_each_kept_event_once_in_order(private_redis: PrivateRedis) -> None:
    key = f"townhall:test:{uuid.uuid4().hex}"
    client = redis.Redis(port=private_redis.port)
    for n in range(300):
        outbox.keep(json.dumps(body(n)))
    moved: list[int] = []
    errors: list[BaseException] = []

    def relay() -> None:
        from django.db import connection

        try:
            moved.append(outbox.relay(client=client, key=key, maxlen=KEEP_EVENTS))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(moved) == 300
    assert [n for _, n in _stream(private_redis.port, key)] == list(range(300))
    assert not OutboxEvent.objects.exists()


def test_rows_that_come_back_after_a_relay_are_not_sent_twice_but_a_new_database_is(
    private_redis: PrivateRedis,
) -> None:
    key = f"townhall:test:{uuid.uuid4().hex}"
    client = redis.Redis(port=private_redis.port)
    for n in range(3):
        outbox.keep(json.dumps(body(n)))
    rows = list(OutboxEvent.objects.order_by("id").values("id", "body", "created_at"))
    assert outbox.relay(client=client, key=key, maxlen=KEEP_EVENTS) == 3
    # The relay's database commit failed after Redis took them: the rows are back.
    OutboxEvent.objects.bulk_create([OutboxEvent(**row) for row in rows])
    assert outbox.relay(client=client, key=key, maxlen=KEEP_EVENTS) == 0
    assert not OutboxEvent.objects.exists()
    # A reset database reuses small ids, but its rows are newer: they go out.
    later = rows[-1]["created_at"] + timedelta(seconds=1)
    OutboxEvent.objects.create(id=rows[0]["id"], body=json.dumps(body(9)), created_at=later)
    assert outbox.relay(client=client, key=key, maxlen=KEEP_EVENTS) == 1
    assert [n for _, n in _stream(private_redis.port, key)] == [0, 1, 2, 9]
