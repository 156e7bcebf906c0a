"""The per-process fan-out: one task tails the broker and hands each new event to the
streams subscribed to one of its channels, after asking the guard (once per event,
for all of those people together) who may see it now."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from townhall.realtime import registry
from townhall.realtime.broker import Broker, Message, get_broker

log = logging.getLogger("townhall.realtime")

# A stream that falls this far behind is closed; the browser reconnects and replays.
QUEUE_LIMIT = 500
HEARTBEAT_SECONDS = 20.0
# Streams one person may hold on one process (tabs, devices); more answer 429.
MAX_STREAMS_PER_PERSON = 20


class Tick:
    """Put in every queue every HEARTBEAT_SECONDS by one timer for the whole process
    (no timer per stream): the stream writes a comment line and checks its age."""


TICK = Tick()


@dataclass(eq=False)
class Subscription:
    user_id: int
    channels: frozenset[str]
    queue: asyncio.Queue[Message | Tick | None] = field(default_factory=asyncio.Queue)
    lagged: bool = False

    def offer(self, message: Message) -> None:
        if self.lagged:
            return
        if self.queue.qsize() >= QUEUE_LIMIT:
            self.lagged = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(message)


class Hub:
    def __init__(self, broker: Broker, loop: asyncio.AbstractEventLoop) -> None:
        self.broker = broker
        self.loop = loop
        self.wake = asyncio.Event()
        self.by_channel: dict[str, set[Subscription]] = {}
        self.count = 0
        self.per_person: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def subscribe(self, *, user_id: int, channels: frozenset[str]) -> Subscription:
        """Register a stream. When this returns, every event appended from now on
        reaches the subscription (so a replay read after it misses nothing)."""
        async with self._starting:
            if self._task is None or self._task.done():
                cursor = await self.broker.head()
                self._task = self.loop.create_task(self._run(cursor), name="townhall-realtime-hub")
            if self._ticker is None or self._ticker.done():
                self._ticker = self.loop.create_task(self._tick(), name="townhall-realtime-heartbeat")
        sub = Subscription(user_id=user_id, channels=channels)
        for channel in channels:
            self.by_channel.setdefault(channel, set()).add(sub)
        self.count += 1
        self.per_person[user_id] = self.per_person.get(user_id, 0) + 1
        return sub

    def full_for(self, user_id: int) -> bool:
        return self.per_person.get(user_id, 0) >= MAX_STREAMS_PER_PERSON

    def unsubscribe(self, sub: Subscription) -> None:
        for channel in sub.channels:
            subs = self.by_channel.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.by_channel[channel]
        self.count -= 1
        left = self.per_person.get(sub.user_id, 1) - 1
        if left > 0:
            self.per_person[sub.user_id] = left
        else:
            self.per_person.pop(sub.user_id, None)

    def end_all(self) -> None:
        """End every stream (the server is stopping): browsers reconnect, with
        Last-Event-ID, to a process that is still running."""
        for subs in list(self.by_channel.values()):
            for sub in subs:
                sub.queue.put_nowait(None)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            seen: set[Subscription] = set()
            for subs in list(self.by_channel.values()):
                for sub in subs:
                    if sub not in seen:
                        seen.add(sub)
                        sub.queue.put_nowait(TICK)

    async def _run(self, cursor: str) -> None:
        failing = False
        while True:
            try:
                cursor, messages = await self.broker.tail(cursor, self.wake)
                if failing:
                    failing = False
                    log.warning("realtime hub: reading the broker again")
                for message in messages:
                    await self.dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Logged once per outage (Redis stopped: once, not every second).
                if not failing:
                    log.exception("realtime hub: reading the broker failed; retrying every second")
                failing = True
                await asyncio.sleep(1)

    async def dispatch(self, message: Message) -> None:
        subs: set[Subscription] = set()
        for channel in message.channels:
            subs |= self.by_channel.get(channel, set())
        if not subs:
            return
        users = {sub.user_id for sub in subs}
        try:
            ok = await self.broker.run_sync(registry.allowed, message.guard_kind, message.guard_id, users)
        except Exception:
            log.exception("realtime hub: guard %s failed; event %s withheld", message.guard_kind, message.id)
            return
        for sub in subs:
            if sub.user_id in ok:
                sub.offer(message)


_HUB: Hub | None = None


def get_hub() -> Hub:
    """The hub of the running event loop (one per process in production; tests make
    a new loop per test, and so a new hub)."""
    global _HUB
    loop = asyncio.get_running_loop()
    if _HUB is None or _HUB.loop is not loop or loop.is_closed():
        _HUB = Hub(get_broker(), loop)
    return _HUB


def wake_local_hub() -> None:
    """Called after a publish in this process: the hub reads the log now instead of at
    its next poll. Safe from any thread."""
    hub = _HUB
    if hub is None or hub.loop.is_closed():
        return
    with contextlib.suppress(RuntimeError):
        hub.loop.call_soon_threadsafe(hub.wake.set)


def end_all_streams() -> None:
    """Called by the server when it starts stopping. Safe from any thread."""
    hub = _HUB
    if hub is None or hub.loop.is_closed():
        return
    with contextlib.suppress(RuntimeError):
        hub.loop.call_soon_threadsafe(hub.end_all)
