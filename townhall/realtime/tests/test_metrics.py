"""The SSE connections gauge on /metrics."""

from __future__ import annotations

from townhall.core.observability import render_metrics
from townhall.realtime import hub
from townhall.realtime.apps import open_streams
from townhall.testing.aio import run_async


def test_metrics_count_the_streams_this_process_holds(db) -> None:  # type: ignore[no-untyped-def]
    text = render_metrics()
    assert "# TYPE townhall_sse_connections gauge" in text
    assert any(line.startswith("townhall_sse_connections{pid=") for line in text.splitlines())

    async def hold() -> tuple[float, float]:
        current = hub.get_hub()
        first = await current.subscribe(user_id=1, channels=frozenset({"user:1"}))
        await current.subscribe(user_id=2, channels=frozenset({"user:2"}))
        [(_, two)] = open_streams()
        current.unsubscribe(first)
        [(_, one)] = open_streams()
        current.end_all()
        return two, one

    assert run_async(hold()) == (2.0, 1.0)
