"""Fixtures for the flows that run Townhall as separate processes."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def scratch_database(tmp_path):  # type: ignore[no-untyped-def]
    """The server's DATABASE_URL: a SQLite file in tmp_path, or a scratch PostgreSQL database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield ""
        return
    import psycopg

    base, _, name = url.rpartition("/")
    scratch = f"{name.split('?')[0]}_proc_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        pg.execute(f'CREATE DATABASE "{scratch}"')
    try:
        yield f"{base}/{scratch}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
