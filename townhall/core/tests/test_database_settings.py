"""How each connection to the embedded database is set up (config/settings.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from townhall.config.settings import SQLITE_CACHE_KIB, SQLITE_MMAP_BYTES

pytestmark = pytest.mark.django_db


def test_sqlite_connections_are_kept_and_read_through_a_large_cache_and_a_memory_map():
    """A served page on SQLite paid a new connection (schema read, empty 2 MB page
    cache) per request; kept connections with a memory map and a 32 MB cache doubled
    the members one process holds (docs/performance.md, fifth session)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite connection settings")
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 60
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] == -SQLITE_CACHE_KIB
        cursor.execute("PRAGMA mmap_size")
        assert cursor.fetchone()[0] == SQLITE_MMAP_BYTES
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 20000
