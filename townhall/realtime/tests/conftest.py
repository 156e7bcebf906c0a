from __future__ import annotations

from collections.abc import Iterator

import pytest

from townhall.testing.aio import run_async


@pytest.fixture(autouse=True)
def _fresh_broker() -> Iterator[None]:
    """Each test gets its own broker. Afterwards the threads that served the streams
    (the broker's database thread, asgiref's sync thread) let go of their database
    connections before the test database is flushed, or dropped on PostgreSQL."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    from townhall.realtime.broker import reset_broker

    reset_broker()
    yield
    reset_broker()
    run_async(sync_to_async(connections.close_all)())
