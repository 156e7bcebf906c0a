"""A faster reader of PostgreSQL `timestamptz` values, installed on every new
PostgreSQL connection.

Django reads `timestamptz` with its own subclass of psycopg's pure-Python loader
(the C loader of psycopg[binary] cannot be subclassed), and a feed page reads several
hundred such values: parsing them was 3-5 % of a page's time in process
(docs/performance.md, tenth session). This loader is the same class with the text
parsed by `datetime.fromisoformat` (C): identical values in the connection's time
zone, as Django gives them; anything fromisoformat does not take (infinity,
years before 1 or after 9999, BC dates) goes to Django's own parser.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.backends.signals import connection_created


def _loader_for(base: type[Any]) -> type[Any]:
    class TimestamptzLoader(base):  # type: ignore[misc, valid-type]
        def load(self, data: Any) -> datetime:
            if self.timezone is None:
                return super().load(data)  # type: ignore[no-any-return]
            try:
                value = datetime.fromisoformat(bytes(data).decode())
            except ValueError:
                return super().load(data)  # type: ignore[no-any-return]
            # psycopg moves the value into the session's time zone and Django then
            # names that zone (the same one, Django sets the session's TimeZone).
            return value.astimezone(self.timezone)

    return TimestamptzLoader


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader, is_psycopg3

    if not is_psycopg3:
        return
    loader = _loader_for(BaseTzLoader)
    loader.timezone = connection.timezone  # what Django's own registration sets
    connection.connection.adapters.register_loader("timestamptz", loader)


def install() -> None:
    connection_created.connect(_install, dispatch_uid="townhall.core.pg_types")
