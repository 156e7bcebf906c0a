import os
from datetime import timedelta

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "townhall.realtime"
    label = "realtime"

    def ready(self) -> None:
        from townhall.core import periodic
        from townhall.core.observability import register_gauge
        from townhall.realtime.tasks import relay_outbox

        register_gauge("townhall_sse_connections", "Open event streams held by the answering process.", open_streams)
        # Events kept while Redis was down reach the stream even when no server process
        # has a stream open or publishes again (outbox.py).
        periodic.register(name="realtime.relay_outbox", every=timedelta(minutes=1), task=relay_outbox)


def open_streams() -> list[tuple[dict[str, str], float]]:
    """The /metrics gauge: streams held by this process's hub (0 before the first)."""
    from townhall.realtime import hub

    current = hub._HUB
    held = current.count if current is not None and not current.loop.is_closed() else 0
    return [({"pid": str(os.getpid())}, float(held))]
