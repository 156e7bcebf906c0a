"""Background tasks of realtime."""

from __future__ import annotations

from django_tasks import task

from townhall.realtime.broker import RedisBroker, get_broker


@task()
def relay_outbox() -> int:
    """The periodic job: move events kept while Redis did not answer into the stream
    (a backstop: server processes relay on their own while a stream is open, and on
    their next publish). Idempotent: the outbox gives each event to one relay."""
    broker = get_broker()
    return broker.relay() if isinstance(broker, RedisBroker) else 0
