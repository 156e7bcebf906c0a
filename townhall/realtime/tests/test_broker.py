"""Brokers and the hub, each on its own: ids, replay, gaps, fan-out and guards."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

import pytest

from townhall.realtime import broker as broker_module
from townhall.realtime import registry
from townhall.realtime.broker import DatabaseBroker, Message, RedisBroker, order_key
from townhall.realtime.hub import Hub, Subscription
from townhall.realtime.models import Event
from townhall.realtime.publish import publish
from townhall.testing.aio import run_async

REDIS_URL = "redis://127.0.0.1:6379/14"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def body(channel: str, n: int) -> dict[str, object]:
    return {"c": [channel], "e": "test", "d": {"n": n}, "gk": "", "gi": None}


def append_elsewhere(broker, entry):  # type: ignore[no-untyped-def]
    """Append from another thread (a request thread), which then lets go of its
    database connection (PostgreSQL drops the test database after the run)."""
    from django.db import connection

    try:
        return broker.append(entry)
    finally:
        connection.close()


def test_order_key_reads_database_and_redis_ids_and_refuses_the_rest():
    assert order_key("42") == (42, 0)
    assert order_key("1700000000000-3") == (1700000000000, 3)
    assert order_key("1700000000000-3") > order_key("1700000000000-2")  # type: ignore[operator]
    for bad in ("", "abc", "-1", "1-x", "1" * 50, "<script>"):
        assert order_key(bad) is None


def test_publish_refuses_content_without_a_guard():
    with pytest.raises(ValueError, match="guard"):
        publish(channel="community:1", event="post.created", data={})
    with pytest.raises(ValueError, match="channel"):
        publish(channel=[], event="x", data={})


@pytest.mark.django_db(transaction=True)
def test_database_broker_appends_in_order_and_replays_after_an_id():
    broker = DatabaseBroker()
    ids = [broker.append(body("user:1", n)) for n in range(3)]
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)

    async def scenario() -> None:
        replay = await broker.read_after(ids[0])
        assert [m.data["n"] for m in replay.messages] == [1, 2]
        assert not replay.gap
        assert [m.data["n"] for m in (await broker.read_since(time.time() - 60)).messages] == [0, 1, 2]
        assert not (await broker.read_since(time.time() + 1)).messages
        assert (await broker.read_after(str(int(ids[-1]) + 10))).ahead
        assert await broker.head() == ids[-1]
        wake = asyncio.Event()
        cursor, messages = await broker.tail(ids[-1], wake)
        assert (cursor, messages) == (ids[-1], [])
        new = await asyncio.to_thread(append_elsewhere, broker, body("user:1", 3))
        wake.set()
        cursor, messages = await broker.tail(ids[-1], wake)
        assert cursor == new
        assert [m.data["n"] for m in messages] == [3]

    try:
        run_async(scenario())
    finally:
        broker.close()


@pytest.mark.django_db(transaction=True)
def test_database_broker_prunes_and_reports_a_gap(monkeypatch):
    broker = DatabaseBroker()
    monkeypatch.setattr(broker_module, "KEEP_EVENTS", 2)
    ids = [broker.append(body("user:1", n)) for n in range(5)]
    DatabaseBroker.prune(int(ids[-1]))
    assert Event.objects.count() == 2

    async def scenario() -> None:
        replay = await broker.read_after(ids[0])
        assert replay.gap
        assert [m.data["n"] for m in replay.messages] == [3, 4]
        assert not (await broker.read_after(ids[2])).gap

    try:
        run_async(scenario())
    finally:
        broker.close()


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)  # the outbox (outbox.py) is looked at
def test_redis_broker_appends_tails_and_replays():
    key = f"townhall:test:{uuid.uuid4().hex}"
    broker = RedisBroker(REDIS_URL, key=key)
    try:
        first = broker.append(body("user:1", 0))
        second = broker.append(body("user:1", 1))
        assert order_key(second) > order_key(first)  # type: ignore[operator]

        async def scenario() -> None:
            assert await broker.head() == second
            replay = await broker.read_after(first)
            assert [m.data["n"] for m in replay.messages] == [1]
            assert not replay.gap
            assert [m.data["n"] for m in (await broker.read_since(time.time() - 60)).messages] == [0, 1]
            assert (await broker.read_after("99999999999999-0")).ahead

            async def later() -> str:
                await asyncio.sleep(0.2)
                return await asyncio.to_thread(append_elsewhere, broker, body("user:1", 2))

            appended = asyncio.ensure_future(later())
            cursor, messages = await broker.tail(second, asyncio.Event())
            assert cursor == await appended
            assert [m.data["n"] for m in messages] == [2]
            await broker._aclient().aclose()

        run_async(scenario())
    finally:
        broker._client().delete(key)
        broker.close()


class _Broker:
    """Just enough broker for the hub: guards run inline."""

    def run_sync(self, fn, *args):  # type: ignore[no-untyped-def]
        future = asyncio.get_running_loop().create_future()
        future.set_result(fn(*args))
        return future


def test_hub_hands_each_event_to_the_subscribed_people_the_guard_allows(monkeypatch):
    calls: list[tuple[list[int], int]] = []

    def guard(user_ids: list[int], object_id: int) -> set[int]:
        calls.append((user_ids, object_id))
        return {1}

    monkeypatch.setitem(registry._GUARDS, "thing", guard)

    async def scenario() -> None:
        hub = Hub(_Broker(), asyncio.get_running_loop())  # type: ignore[arg-type]
        subs = {}
        for uid, channels in ((1, {"a"}), (2, {"a", "b"}), (3, {"c"})):
            subs[uid] = Subscription(user_id=uid, channels=frozenset(channels))
            for channel in channels:
                hub.by_channel.setdefault(channel, set()).add(subs[uid])
        message = Message(id="1", channels=("a", "b"), event="e", data={}, guard_kind="thing", guard_id=9)
        await hub.dispatch(message)
        assert calls == [([1, 2], 9)]  # one guard call for everyone on the channels
        assert subs[1].queue.get_nowait() == message
        assert subs[2].queue.empty() and subs[3].queue.empty()
        # No guard registered for a kind: nobody receives it.
        await hub.dispatch(Message(id="2", channels=("a",), event="e", data={}, guard_kind="unknown", guard_id=1))
        assert subs[1].queue.empty()
        hub.unsubscribe(subs[1])
        assert subs[1] not in hub.by_channel.get("a", set())

    run_async(scenario())


def test_a_subscription_that_falls_behind_is_ended(monkeypatch):
    from townhall.realtime import hub as hub_module

    monkeypatch.setattr(hub_module, "QUEUE_LIMIT", 2)

    async def scenario() -> None:
        sub = Subscription(user_id=1, channels=frozenset({"a"}))
        for n in range(5):
            sub.offer(Message(id=str(n), channels=("a",), event="e", data={}))
        assert sub.lagged
        items = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
        assert items[-1] is None and len(items) == 3

    run_async(scenario())
