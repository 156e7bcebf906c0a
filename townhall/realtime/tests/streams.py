"""Reading a Server-Sent Events stream in tests (Django's AsyncClient, or raw bytes)."""

from __future__ import annotations

import asyncio
import gc
import json
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.test import AsyncClient

from townhall.accounts.models import User
from townhall.testing.clients import signed_in


@dataclass
class Sse:
    id: str | None
    event: str
    data: dict[str, Any]


def parse(text: str) -> tuple[list[Sse], str]:
    """Complete events in `text` and the incomplete rest."""
    events: list[Sse] = []
    *blocks, rest = text.split("\n\n")
    for block in blocks:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "data" in fields:
            events.append(Sse(fields.get("id"), fields.get("event", "message"), json.loads(fields["data"])))
    return events, rest


class Stream:
    def __init__(self, response: Any) -> None:
        self.response = response
        self._it = response.streaming_content.__aiter__()
        self._rest = ""
        self.events: list[Sse] = []

    async def read(self, *, count: int = 1, timeout: float = 5.0) -> list[Sse]:
        """Wait until `count` more events arrived (TimeoutError otherwise)."""
        want = len(self.events) + count
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.events) < want:
            chunk = await asyncio.wait_for(self._it.__anext__(), max(0.01, deadline - loop.time()))
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            found, self._rest = parse(self._rest + text)
            self.events.extend(found)
        return self.events[want - count : want]

    async def nothing(self, *, within: float = 0.8) -> None:
        """Assert no event arrives within `within` seconds."""
        try:
            got = await self.read(count=1, timeout=within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected event {got}")

    async def close(self) -> None:
        """Hang up. A server cancels the view's generator when the client goes; here the
        test client's wrapper lets go of it, and the garbage collector closes it."""
        await self._it.aclose()
        self._it = None  # type: ignore[assignment]
        self.response = None
        gc.collect()
        await asyncio.sleep(0.05)


async def async_client(user: User) -> AsyncClient:
    client = AsyncClient()
    client.cookies = (await sync_to_async(signed_in)(user)).cookies
    return client


async def connect(user: User, query: str = "", **headers: str) -> Stream:
    response = await (await async_client(user)).get(f"/events/stream{query}", headers=headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/event-stream"
    stream = Stream(response)
    # The first chunk (the retry hint) comes after the subscription: from here on,
    # every event published reaches this stream.
    first = await asyncio.wait_for(stream._it.__anext__(), 5)
    found, stream._rest = parse(first.decode() if isinstance(first, bytes) else first)
    stream.events.extend(found)
    return stream
