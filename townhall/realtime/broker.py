"""Brokers: where published events are kept (for replay) and how a server process
learns of new ones (to push them to its streams).

- `DatabaseBroker` (embedded default): the `realtime_event` table is the log. A
  publish in a process that serves streams wakes that process's hub at once; every
  other process (a second web process, the task worker) is picked up by a poll of
  the table every `POLL_SECONDS`. On PostgreSQL an advisory lock makes ids follow
  commit order, so a reader that has seen id n has seen every id below it.
- `RedisBroker` (when REDIS_URL is set): a Redis stream (`XADD`, trimmed to
  `KEEP_EVENTS`) is both the log and the pub/sub: every process blocks on `XREAD`,
  so an event published by any process reaches streams held by any other at once.
  An event published while Redis does not answer is kept in the database (outbox.py)
  and relayed into the stream, in order and once, when Redis answers again.

Both order ids the same way (`order_key`) and answer `read_after` (replay) and `tail`
(new events). Both are used from one asyncio loop per process (the hub) plus
synchronous `append` from request threads and the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import Any, Protocol, TypeVar

from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from townhall.realtime import outbox

log = logging.getLogger("townhall.realtime")

KEEP_EVENTS = 20_000
KEEP_SECONDS = 24 * 3600
POLL_SECONDS = 0.25
PRUNE_EVERY = 500
REPLAY_LIMIT = 1000
STREAM_KEY = "townhall:events"
# Redis broker outbox (outbox.py): after a failure, appends go to the outbox and relays
# wait this long before trying Redis again; the hub looks for kept events this often.
RELAY_RETRY_SECONDS = 1.0
RELAY_CHECK_SECONDS = 2.0
_ADVISORY_KEY = 7_318_001  # any constant; serialises publishes on PostgreSQL

T = TypeVar("T")


@dataclass(frozen=True)
class Message:
    id: str
    channels: tuple[str, ...]
    event: str
    data: dict[str, Any]
    guard_kind: str | None = None
    guard_id: int | None = None
    key: tuple[int, int] = field(default=(0, 0), compare=False)

    @cached_property
    def sse(self) -> str:
        """The event as the stream writes it, formatted once for every stream."""
        data = json.dumps(self.data, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.event}\ndata: {data}\n\n"


def order_key(event_id: str) -> tuple[int, int] | None:
    """Database ids ("42") and Redis stream ids ("1700000000000-3") as comparable
    pairs; None for anything else (a forged or garbled Last-Event-ID)."""
    text = (event_id or "").strip()
    if not text or len(text) > 40:
        return None
    first, _, second = text.partition("-")
    if not first.isdigit() or (second and not second.isdigit()):
        return None
    return int(first), int(second or 0)


def _message(event_id: str, body: dict[str, Any]) -> Message:
    return Message(
        id=event_id,
        channels=tuple(body.get("c") or ()),
        event=str(body.get("e") or "message"),
        data=dict(body.get("d") or {}),
        guard_kind=body.get("gk") or None,
        guard_id=body.get("gi"),
        key=order_key(event_id) or (0, 0),
    )


@dataclass
class Replay:
    messages: list[Message]
    # True when events after `last` may have been pruned: the client must resync.
    gap: bool = False
    # True when `last` is beyond the newest event (a log that was reset, another
    # broker): the id means nothing here, and must not hold back new events.
    ahead: bool = False


class Broker(Protocol):
    def append(self, body: dict[str, Any]) -> str: ...

    async def head(self) -> str: ...

    async def tail(self, after: str, wake: asyncio.Event) -> tuple[str, list[Message]]: ...

    async def read_after(self, last: str) -> Replay: ...

    async def read_since(self, since: float) -> Replay: ...

    def run_sync(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]: ...

    def close(self) -> None: ...


class _DbThread:
    """One thread per process for the hub's database work (log reads, guards), so the
    event loop never waits on the database and the connection stays in one thread."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._checked = 0.0

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="realtime-db")
        loop = asyncio.get_running_loop()

        def call() -> T:
            # Keep this thread's connection between calls (a poll every 0.25 s must not
            # reconnect each time), but recycle it every minute and after any error.
            now = time.monotonic()
            if now - self._checked > 60:
                self._checked = now
                close_old_connections()
            try:
                return fn(*args)
            except Exception:
                connection.close()
                raise

        return loop.run_in_executor(self._executor, call)

    def close(self) -> None:
        """Close this thread's database connection and stop the thread (tests, before
        the test database is flushed or dropped)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.submit(lambda: connection.close()).result(timeout=10)
            executor.shutdown(wait=True)


class DatabaseBroker:
    def __init__(self) -> None:
        self._db = _DbThread()

    def run_sync(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return self._db.run(fn, *args)

    def close(self) -> None:
        self._db.close()

    def append(self, body: dict[str, Any]) -> str:
        from townhall.realtime.models import Event

        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_KEY])
            row = Event.objects.create(
                channels=body["c"],
                event=body["e"],
                data=body["d"],
                guard_kind=body["gk"],
                guard_id=body["gi"],
                created_at=timezone.now(),
            )
        if row.pk % PRUNE_EVERY == 0:
            self.prune(row.pk)
        return str(row.pk)

    @staticmethod
    def prune(newest: int) -> None:
        from townhall.realtime.models import Event

        cutoff = timezone.now() - timedelta(seconds=KEEP_SECONDS)
        Event.objects.filter(id__lte=newest - KEEP_EVENTS).delete()
        Event.objects.filter(created_at__lt=cutoff).delete()

    @staticmethod
    def _rows_after(after: int, limit: int, *, since: datetime | None = None) -> list[Message]:
        from townhall.realtime.models import Event

        rows = Event.objects.filter(id__gt=after)
        if since is not None:
            rows = rows.filter(created_at__gte=since)
        return [
            Message(
                id=str(row.pk),
                channels=tuple(row.channels),
                event=row.event,
                data=row.data,
                guard_kind=row.guard_kind or None,
                guard_id=row.guard_id,
                key=(row.pk, 0),
            )
            for row in rows.order_by("id")[:limit]
        ]

    @staticmethod
    def _head() -> int:
        from townhall.realtime.models import Event

        last = Event.objects.order_by("-id").values_list("id", flat=True).first()
        return int(last or 0)

    @staticmethod
    def _oldest() -> int | None:
        from townhall.realtime.models import Event

        return Event.objects.order_by("id").values_list("id", flat=True).first()

    async def head(self) -> str:
        return str(await self.run_sync(self._head))

    async def tail(self, after: str, wake: asyncio.Event) -> tuple[str, list[Message]]:
        # Wait for a local publish or the poll interval, whichever comes first.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), POLL_SECONDS)
        wake.clear()
        messages = await self.run_sync(self._rows_after, int(after), 500)
        return (messages[-1].id if messages else after), messages

    async def read_after(self, last: str) -> Replay:
        after = int(last.partition("-")[0])

        def read() -> Replay:
            oldest = self._oldest()
            messages = self._rows_after(after, REPLAY_LIMIT)
            gap = (oldest is not None and oldest > after + 1) or len(messages) >= REPLAY_LIMIT
            return Replay(messages=messages, gap=gap, ahead=after > self._head())

        return await self.run_sync(read)

    async def read_since(self, since: float) -> Replay:
        moment = datetime.fromtimestamp(since, UTC)
        return Replay(messages=await self.run_sync(partial(self._rows_after, 0, REPLAY_LIMIT, since=moment)))


class RedisBroker:
    def __init__(self, url: str, *, key: str = STREAM_KEY) -> None:
        self.url = url
        self.key = key
        self._db = _DbThread()
        self._sync: Any = None
        self._async: Any = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        # Outbox state (outbox.py): events of this process may wait there; Redis failed
        # (log the outage once); when to try it again; when the hub last looked.
        self._behind = False
        self._down = False
        self._retry_at = 0.0
        self._checked_at = 0.0

    def run_sync(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return self._db.run(fn, *args)

    def close(self) -> None:
        self._db.close()

    def _client(self) -> Any:
        if self._sync is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # Short timeouts, no retries: a publish must not hold a request on a dead Redis.
            self._sync = redis.Redis.from_url(
                self.url, socket_connect_timeout=0.5, socket_timeout=2, retry=Retry(NoBackoff(), 0)
            )
        return self._sync

    def _aclient(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            import redis.asyncio as aredis

            self._async = aredis.Redis.from_url(self.url, socket_timeout=30)
            self._async_loop = loop
        return self._async

    def append(self, body: dict[str, Any]) -> str:
        """Append to the stream; its Redis id. When Redis does not answer, or events
        kept earlier still wait in the outbox, the event is kept there instead (in the
        database, behind them) and "" is returned: a relay appends it later, in order."""
        from redis.exceptions import RedisError

        text = json.dumps(body, separators=(",", ":"))
        if not self._behind and not outbox.pending():
            try:
                event_id = self._client().xadd(self.key, {"j": text}, maxlen=KEEP_EVENTS, approximate=True)
            except RedisError as error:
                self._failed(error)
            else:
                return event_id.decode() if isinstance(event_id, bytes) else str(event_id)
        outbox.keep(text)
        self._behind = True
        self.relay()
        return ""

    def _failed(self, error: Exception) -> None:
        self._retry_at = time.monotonic() + RELAY_RETRY_SECONDS
        if not self._down:
            self._down = True
            log.warning("realtime: Redis does not answer (%s); events are kept in the outbox", error)

    def relay(self) -> int:
        """Move events kept in the outbox into the stream (any process's: the outbox is
        shared); how many. Never raises: a failure waits RELAY_RETRY_SECONDS."""
        from redis.exceptions import RedisError

        if time.monotonic() < self._retry_at:
            return 0
        try:
            moved = outbox.relay(client=self._client(), key=self.key, maxlen=KEEP_EVENTS)
        except RedisError as error:
            self._failed(error)
            return 0
        except DatabaseError:
            log.exception("realtime: the outbox could not be read")
            self._retry_at = time.monotonic() + RELAY_RETRY_SECONDS
            return 0
        self._behind = False
        if self._down:
            self._down = False
            log.warning("realtime: Redis answers again; %d kept events relayed", moved)
        elif moved:
            log.info("realtime: %d kept events relayed", moved)
        return moved

    def _relay_if_kept(self) -> None:
        """The hub, before each read: relay when this process knows of kept events, or
        (every RELAY_CHECK_SECONDS) when the outbox holds any (kept by another process)."""
        now = time.monotonic()
        if not self._behind and now - self._checked_at < RELAY_CHECK_SECONDS:
            return
        self._checked_at = now
        if self._behind or outbox.pending():
            self._behind = True
            self.relay()

    @staticmethod
    def _decode(entries: list[Any]) -> list[Message]:
        found = []
        for raw_id, fields in entries:
            event_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            raw = fields.get(b"j") or fields.get("j") or b"{}"
            found.append(_message(event_id, json.loads(raw)))
        return found

    async def head(self) -> str:
        from redis.exceptions import RedisError

        try:
            last = await self._aclient().xrevrange(self.key, count=1)
        except RedisError:
            # Redis is down: stream ids start with the time they are added, so "now"
            # is below every event appended (or relayed from the outbox) from here on.
            return f"{int(time.time() * 1000)}-0"
        return self._decode(last)[0].id if last else "0-0"

    async def tail(self, after: str, wake: asyncio.Event) -> tuple[str, list[Message]]:
        await self.run_sync(self._relay_if_kept)
        # While events wait in the outbox, look again soon (a relay may be due).
        block = 1000 if self._behind else 5000
        answer = await self._aclient().xread({self.key: after}, block=block, count=500)
        messages: list[Message] = []
        for _key, entries in answer or []:
            messages.extend(self._decode(entries))
        return (messages[-1].id if messages else after), messages

    async def read_after(self, last: str) -> Replay:
        client = self._aclient()
        key = order_key(last) or (0, 0)
        start = f"{key[0]}-{key[1]}"
        entries = await client.xrange(self.key, min=f"({start}", count=REPLAY_LIMIT)
        messages = self._decode(entries)
        gap = len(messages) >= REPLAY_LIMIT
        newest = order_key(await self.head())
        ahead = newest is not None and key > newest
        try:
            info = await client.xinfo_stream(self.key)
            deleted = info.get("max-deleted-entry-id") or info.get(b"max-deleted-entry-id")
            if isinstance(deleted, bytes):
                deleted = deleted.decode()
            deleted_key = order_key(str(deleted or ""))
            if deleted_key is not None and deleted_key > key:
                gap = True
        except Exception:
            log.debug("no realtime stream yet")
        return Replay(messages=messages, gap=gap, ahead=ahead)

    async def read_since(self, since: float) -> Replay:
        # Stream ids begin with the time they were added, in milliseconds.
        entries = await self._aclient().xrange(self.key, min=f"{int(since * 1000)}-0", count=REPLAY_LIMIT)
        return Replay(messages=self._decode(entries))


_BROKER: Broker | None = None
_BROKER_LOCK = threading.Lock()


def get_broker() -> Broker:
    """The process's broker: Redis when REDIS_URL is set, else the database log."""
    global _BROKER
    with _BROKER_LOCK:
        if _BROKER is None:
            from django.conf import settings

            url = settings.ENV.redis_url
            _BROKER = RedisBroker(url) if url else DatabaseBroker()
        return _BROKER


def reset_broker() -> None:
    """Close and forget the broker (tests: before the test database is flushed)."""
    global _BROKER
    with _BROKER_LOCK:
        broker, _BROKER = _BROKER, None
    if broker is not None:
        broker.close()
