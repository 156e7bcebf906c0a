"""Bulk row writing for the demo and the benchmark generator, below the ORM.

SQLite: one `executemany` per table per chunk. PostgreSQL: `COPY ... FROM STDIN`
through psycopg's `cursor.copy()`. Rows are tuples in the order of `columns`;
timestamps are passed as text made by `Writer.ts` (UTC), booleans as Python bools.
Callers assign primary keys themselves (see `next_id`) and call `reset_sequences`
afterwards so the ORM carries on from the highest id.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max, Model

from townhall.search.backends import backend


class Writer:
    def __init__(self) -> None:
        connection.ensure_connection()
        self.vendor = connection.vendor
        self.postgres = self.vendor == "postgresql"
        self.rows = 0
        self._suffix = "+00:00" if self.postgres else ""

    def ts(self, seconds: float) -> str:
        """A UTC timestamp as the database's text form (whole seconds)."""
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + self._suffix

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        count = 0
        with connection.cursor() as cursor:
            if self.postgres:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
            else:
                listed = rows if isinstance(rows, list) else list(rows)
                marks = ", ".join(["%s"] * len(columns))
                sql = f"INSERT INTO {connection.ops.quote_name(table)} ({names}) VALUES ({marks})"  # noqa: S608 - our names  # nosec B608 - compiled or fixed SQL text; values are parameters
                cursor.executemany(sql, listed)
                count = len(listed)
        self.rows += count
        return count

    def update(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """UPDATE table SET columns... WHERE id = last value of each row."""
        if not rows:
            return
        sets = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
        with connection.cursor() as cursor:
            sql = f"UPDATE {connection.ops.quote_name(table)} SET {sets} WHERE id = %s"  # noqa: S608 - our names  # nosec B608 - compiled or fixed SQL text; values are parameters
            cursor.executemany(sql, list(rows))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def begin_load(self) -> None:
        """Loading speed over durability (the data can always be generated again)."""
        if connection.in_atomic_block:
            return  # inside a test transaction: leave the connection as it is
        with connection.cursor() as cursor:
            if self.postgres:
                try:
                    with transaction.atomic():
                        # Skips FK triggers: the generator writes consistent ids by construction.
                        cursor.execute("SET session_replication_role = replica")
                except Exception:  # noqa: S110 - not a superuser: keep the checks, only slower
                    pass
            else:
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA foreign_keys=OFF")
                cursor.execute("PRAGMA cache_size=-1000000")  # 1 GB of page cache while loading

    def end_load(self) -> None:
        if connection.in_atomic_block:
            return
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute("SET session_replication_role = DEFAULT")
            else:
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")

    def analyze(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        backend().analyzed()  # statistics of a still empty search index would mislead


def next_id(model: type[Model]) -> int:
    return (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


def reset_sequences(models: Sequence[type[Model]]) -> None:
    """After explicit ids: move each table's id sequence past its highest id."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
