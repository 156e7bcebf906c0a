"""The faster timestamptz loader (core/pg_types.py) reads exactly what Django's own
loader reads, and leaves to it what it cannot parse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader

from townhall.core.pg_types import _loader_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL connection's loader"),
]

TEXTS = [
    b"2026-11-23 08:22:59.123456+00",
    b"2026-11-23 08:22:59+00",
    b"1999-12-31 23:59:59.5+00",
    b"0900-02-28 01:02:03+00",
    b"2026-03-29 02:30:00+05:30",
    b"0044-03-15 12:00:00+00 BC",
]


def _django_loader() -> type[BaseTzLoader]:
    class DjangoLoader(BaseTzLoader):
        timezone = UTC

    return DjangoLoader


def test_the_fast_loader_reads_what_django_reads() -> None:
    connection.ensure_connection()
    fast_class = _loader_for(BaseTzLoader)
    fast_class.timezone = UTC
    oid = 1184  # timestamptz
    fast = fast_class(oid, connection.connection)
    django = _django_loader()(oid, connection.connection)
    for text in TEXTS:
        try:
            expected = django.load(text)
        except Exception as exc:  # whatever Django raises, the fast loader raises too
            with pytest.raises(type(exc)):
                fast.load(text)
            continue
        assert fast.load(text) == expected, text
        assert fast.load(text).tzinfo is expected.tzinfo


def test_every_new_connection_reads_timestamps_with_it() -> None:
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, 0)
    assert loader.__name__ == "TimestamptzLoader" and loader.__module__ == "townhall.core.pg_types"
    assert loader.timezone == connection.timezone
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [datetime(2026, 11, 23, 8, 22, 59, 123456, tzinfo=UTC)])
        (value,) = cursor.fetchone()
    assert value == datetime(2026, 11, 23, 8, 22, 59, 123456, tzinfo=UTC)
    assert value.utcoffset() == timedelta(0)
