"""The search backend for the configured database: FTS5 on SQLite, full-text search
with GIN indexes on PostgreSQL. Both answer the same interface (base.Backend)."""

from __future__ import annotations

from django.db import connection

from townhall.search.backends.base import Backend


def backend() -> Backend:
    if connection.vendor == "postgresql":
        from townhall.search.backends.postgres import PostgresBackend

        return PostgresBackend()
    from townhall.search.backends.sqlite import SqliteBackend

    return SqliteBackend()
