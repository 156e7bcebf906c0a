"""The ASGI application `townhall serve` runs under uvicorn: one port for everything.

- `/events/` (the Server-Sent Events stream) goes to Django's ASGI handler and its
  async view: thousands of idle streams cost one coroutine each, not a thread.
- Everything else (pages, API, static files) goes to Django's WSGI application in a
  pool of `WEB_THREADS` threads through a2wsgi: Django's sync views run as fast as
  under a WSGI server, without the per-request thread hops of its ASGI handler.

`django_application` is Django's plain ASGI handler, for a dedicated events process
behind a proxy that sends only /events/ to it (README, production).
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townhall.config.settings")

import django
from a2wsgi import WSGIMiddleware
from django.core.handlers.asgi import ASGIHandler

django.setup(set_prefix=False)


class EventsHandler(ASGIHandler):
    """Django's ASGI handler without a ThreadSensitiveContext per request. With one,
    every held stream keeps a private thread for its sync calls (session, user,
    channels) until it ends: ~1,000 idle threads for 1,000 streams. Without, those few
    calls share asgiref's one sync thread, and a stream costs a coroutine."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


django_application = EventsHandler()

from townhall.config.runtime import tune_garbage_collector  # noqa: E402
from townhall.config.wsgi import application as wsgi_application  # noqa: E402

EVENTS_PREFIX = "/events/"
_wsgi = WSGIMiddleware(wsgi_application, workers=int(os.environ.get("WEB_THREADS", "8")))  # type: ignore[arg-type]


def _end_streams_on_stop() -> None:
    """uvicorn waits for open responses before it stops, and event streams never end
    by themselves: on SIGINT/SIGTERM, end them first (then uvicorn's own handler runs)."""
    if threading.current_thread() is not threading.main_thread():
        return  # a server run inside a thread (tests) has no signal handlers
    from townhall.realtime.hub import end_all_streams

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            end_all_streams()
            previous(signum, frame)

        signal.signal(sig, handler)


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _end_streams_on_stop()
            tune_garbage_collector()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http" and scope["path"].startswith(EVENTS_PREFIX):
        await django_application(scope, receive, send)
    elif scope["type"] == "http":
        await _wsgi(scope, receive, send)  # type: ignore[arg-type]
    else:  # websockets: not served
        await receive()
        await send({"type": "websocket.close", "code": 1000})
