"""The event stream: `GET /events/stream?feed=<feed>&posts=<ids>` (Server-Sent Events).

Authenticated by the session cookie. Subscribes to the viewer's own `user:<id>`
channel, the channels of one feed (`feed=home`, `community:<id>`, `topic:<slug>`,
`profile:<user id>`; 404 when unknown or not readable) and the `post:<id>` channels of
up to MAX_POSTS posts on screen (those the viewer may not see are dropped silently).

A first connection with `since=<the page's render time, epoch seconds>` (recent: ten
minutes at most) first replays what was published since the page was made. Resumes
after `Last-Event-ID` (header, or `last=` for a reconnect with new posts on screen): the events since then on these channels, each checked against its guard, then
the live ones, each exactly once. When the log no longer reaches back that far the
stream starts with a `resync` event. A heartbeat comment every hub.HEARTBEAT_SECONDS keeps
proxies from closing an idle stream; the stream ends after MAX_AGE_SECONDS (the browser
reconnects with Last-Event-ID, which re-checks the session and the channels).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from townhall.core.errors import NotFound
from townhall.realtime import registry
from townhall.realtime.broker import order_key
from townhall.realtime.hub import Tick, get_hub

log = logging.getLogger("townhall.realtime")

RETRY_MS = 3000
MAX_AGE_SECONDS = 15 * 60
MAX_POSTS = 200
SINCE_WINDOW_SECONDS = 600


def _post_ids(raw: str) -> list[str]:
    ids = [part for part in raw.split(",") if part.isdigit() and len(part) < 19]
    return list(dict.fromkeys(ids))[:MAX_POSTS]


def resolve_channels(viewer: Any, *, feed: str, posts: list[str]) -> frozenset[str]:
    """The channels a stream may listen to; NotFound for a feed the viewer may not read."""
    channels = {f"user:{viewer.pk}"}
    if feed:
        channels.update(registry.feed_channels(viewer, feed))
    if posts:
        channels.update(f"post:{pk}" for pk in registry.authorize_many(viewer, "post", posts))
    return frozenset(channels)


def _since(raw: str) -> float | None:
    """The page's render time (seconds since the epoch) when it is recent: a first
    connection replays what happened since the page was made."""
    try:
        since = float(raw)
    except ValueError:
        return None
    now = time.time()
    return since if now - SINCE_WINDOW_SECONDS <= since <= now + 5 else None


async def _events(
    *, user_id: int, channels: frozenset[str], last: str | None, since: float | None = None
) -> AsyncIterator[str]:
    hub = get_hub()
    sub = await hub.subscribe(user_id=user_id, channels=channels)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        watermark = order_key(last) if last else None
        replay = None
        try:
            if last is not None and watermark is not None:
                replay = await hub.broker.read_after(last)
            elif since is not None:
                replay = await hub.broker.read_since(since)
        except Exception:
            # The log cannot be read (Redis is down): end here; the browser reconnects
            # after `retry` with the same Last-Event-ID and replays once it can.
            log.warning("realtime: replay unavailable; the stream ends and the browser retries", exc_info=True)
            return
        if replay is not None and last is not None:
            if replay.ahead:
                watermark = None
            if replay.gap or replay.ahead:
                yield "event: resync\ndata: {}\n\n"
        if replay is not None:
            for message in replay.messages:
                if not channels.intersection(message.channels):
                    continue
                ok = await hub.broker.run_sync(registry.allowed, message.guard_kind, message.guard_id, [user_id])
                watermark = message.key if watermark is None else max(watermark, message.key)
                if user_id in ok:
                    yield message.sse
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_AGE_SECONDS * random.uniform(0.9, 1.0)
        while True:
            # No timer per stream: the hub's heartbeat ticks every stream's queue.
            item = await sub.queue.get()
            if item is None:  # fell behind: end; the browser resumes from its last id
                return
            if isinstance(item, Tick):
                if loop.time() >= deadline:
                    return
                yield ": ping\n\n"
                continue
            if watermark is not None and item.key <= watermark:
                continue
            watermark = item.key
            yield item.sse
    finally:
        hub.unsubscribe(sub)


@require_GET
async def stream(request: HttpRequest) -> HttpResponseBase:
    user = await request.auser()
    if not (user.is_authenticated and user.is_active):
        return HttpResponse("Sign in to receive live updates.", status=401, content_type="text/plain")
    feed = request.GET.get("feed", "")[:200]
    posts = _post_ids(request.GET.get("posts", "")[:4000])
    try:
        channels = await sync_to_async(resolve_channels)(user, feed=feed, posts=posts)
    except NotFound:
        return HttpResponseNotFound("Not found.", content_type="text/plain")
    if not isinstance(request, ASGIRequest):
        # A WSGI server would hold a thread per stream: 204 tells EventSource to stop
        # reconnecting (pages work, live updates are off; see docs/realtime.md).
        return HttpResponse(status=204)
    if get_hub().full_for(int(user.pk)):
        busy = HttpResponse("Too many open live-update streams.", status=429, content_type="text/plain")
        busy["Retry-After"] = "30"
        return busy
    last = request.headers.get("Last-Event-ID") or request.GET.get("last") or None
    if last is not None and order_key(last) is None:
        last = None
    since = _since(request.GET.get("since", "")[:30]) if last is None else None
    response = StreamingHttpResponse(
        _events(user_id=int(user.pk), channels=channels, last=last, since=since), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response
