import os

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "townhall.realtime"
    label = "realtime"

    def ready(self) -> None:
        from townhall.core.observability import register_gauge

        register_gauge("townhall_sse_connections", "Open event streams held by the answering process.", open_streams)


def open_streams() -> list[tuple[dict[str, str], float]]:
    """The /metrics gauge: streams held by this process's hub (0 before the first)."""
    from townhall.realtime import hub

    current = hub._HUB
    held = current.count if current is not None and not current.loop.is_closed() else 0
    return [({"pid": str(os.getpid())}, float(held))]
