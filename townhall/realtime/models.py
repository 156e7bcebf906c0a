from __future__ import annotations

from django.db import models


class Event(models.Model):
    """The embedded broker's event log: one row per published event, ids increasing in
    commit order (see broker.DatabaseBroker). Pruned by age and count; a stream that
    asks to resume from before the oldest row is told to resync."""

    id = models.BigAutoField(primary_key=True)
    channels = models.JSONField()
    event = models.CharField(max_length=64)
    data = models.JSONField()
    guard_kind = models.CharField(max_length=32, blank=True)
    guard_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.pk} {self.event}"


class OutboxEvent(models.Model):
    """An event the Redis broker could not append (Redis did not answer): kept here,
    in the database, until a relay moves it into the Redis stream (see outbox.py).
    `body` is the JSON text the stream entry carries; ids follow commit order."""

    id = models.BigAutoField(primary_key=True)
    body = models.TextField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"outbox {self.pk}"
