"""The Redis broker's outbox: events published while Redis does not answer are kept in
the database (table `realtime_outboxevent`) and moved into the Redis stream, in the
order they were kept, once Redis answers again.

- `keep(text)`: one row per event, in its own short transaction (publishes run after
  the request's transaction committed). On PostgreSQL the insert takes the outbox's
  advisory lock, so ids follow commit order (no smaller id can commit after a relay
  read past it); SQLite serialises writers anyway.
- `relay(client, key)`: in one database transaction, under the same lock (SQLite: its
  write lock, taken at BEGIN), takes the oldest rows out of the table, appends them to the stream
  in one Redis MULTI/EXEC (all or none) together with a marker naming the last outbox
  id relayed, then commits. Redis failing rolls the claim back (the rows stay); the
  database failing after EXEC leaves the marker, so the next relay skips those rows
  instead of sending them twice. Relays in several processes at once take turns on
  the lock (the second finds nothing), so each event enters the stream once, in order.

Who relays: the hub of every server process (before each read of the stream, when the
outbox holds anything), the next publish of a process whose appends failed, and the
task worker's periodic `realtime.relay_outbox` job (a backstop when no stream is open).
Relayed events get new Redis ids, greater than every id before them, so a stream's
Last-Event-ID still compares correctly.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

log = logging.getLogger("townhall.realtime")

BATCH = 500
_LOCK_KEY = 7_318_002  # any constant; serialises outbox inserts and relays on PostgreSQL
# How long Redis remembers the last relayed outbox id (only needed between a relay's
# EXEC and its database commit failing, and the next relay).
MARK_SECONDS = 600


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def keep(text: str) -> int:
    """Keep one event (its stream entry's JSON text) for a later relay; its outbox id."""
    from townhall.realtime.models import OutboxEvent

    with transaction.atomic():
        _lock()
        row = OutboxEvent.objects.create(body=text, created_at=timezone.now())
    return int(row.pk)


def pending() -> bool:
    from townhall.realtime.models import OutboxEvent

    return OutboxEvent.objects.exists()


def _claim(limit: int) -> list[tuple[int, int, str]]:
    """Take the oldest rows out: (id, kept at in microseconds, body). Called under the
    lock (PostgreSQL) or in an IMMEDIATE transaction (SQLite: the write lock is held
    from BEGIN), so no other relay reads them in between."""
    from townhall.realtime.models import OutboxEvent

    rows = list(OutboxEvent.objects.order_by("id")[:limit])
    if rows:
        OutboxEvent.objects.filter(id__lte=rows[-1].pk).delete()
    return [(int(row.pk), int(row.created_at.timestamp() * 1_000_000), row.body) for row in rows]


def relay(*, client: Any, key: str, maxlen: int) -> int:
    """Move kept events into the stream `key`, oldest first; how many were appended.
    Raises what Redis raises (the rows stay for the next relay)."""
    mark = f"{key}:outbox-relayed"
    moved = 0
    while True:
        with transaction.atomic():
            _lock()
            rows = _claim(BATCH)
            if not rows:
                return moved
            # A row both older and not after the last relayed one went out already
            # (that relay's commit failed). The time keeps a new database's small
            # ids (a reset, a test run) from being taken for old ones.
            done_pk, _, done_us = (client.get(mark) or b"0:0").decode().partition(":")
            fresh = [(pk, text) for pk, us, text in rows if not (pk <= int(done_pk) and us <= int(done_us or 0))]
            if fresh:
                last_pk, last_us, _ = rows[-1]
                pipe = client.pipeline(transaction=True)
                for _pk, text in fresh:
                    pipe.xadd(key, {"j": text}, maxlen=maxlen, approximate=True)
                pipe.set(mark, f"{last_pk}:{last_us}", ex=MARK_SECONDS)
                pipe.execute()
            if len(fresh) < len(rows):
                log.warning("realtime outbox: %d events already relayed were skipped", len(rows) - len(fresh))
        moved += len(fresh)
        if len(rows) < BATCH:
            return moved
