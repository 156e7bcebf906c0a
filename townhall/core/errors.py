"""Errors that services raise and every adapter (page, API, command) turns into a
clear message. A service raises before it writes, so a raised error changes nothing."""

from __future__ import annotations


class TownhallError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(TownhallError):
    code = "invalid"
    status = 422


class PermissionDenied(TownhallError):
    code = "forbidden"
    status = 403


class NotFound(TownhallError):
    """Also raised for objects the actor may not see: hidden answers like absent."""

    code = "not_found"
    status = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class Conflict(TownhallError):
    code = "conflict"
    status = 409


# A lost or refused database connection (PostgreSQL restarted or the connection
# terminated, SQLite's lock wait ran out) is not a bug: pages and the API answer 503
# with this message and Retry-After, and the connection is replaced on the next request
# (CONN_HEALTH_CHECKS). A write that failed this way was rolled back, unless the
# connection died during COMMIT itself, which no server can tell: hence "may not".
DATABASE_UNAVAILABLE = "The database could not be reached. Your change may not have been saved: please try again."
DATABASE_RETRY_AFTER = "2"


def is_database_unavailable(exc: BaseException | None) -> bool:
    """A lost connection or a lock wait that ran out; not a schema or query bug (SQLite
    raises OperationalError for "no such column" too: that stays a 500)."""
    import sqlite3

    from django.db import InterfaceError, OperationalError

    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc.__cause__, sqlite3.Error):
        text = str(exc).lower()
        return any(marker in text for marker in ("locked", "busy", "unable to open", "disk i/o"))
    return True  # psycopg's OperationalError: the connection failed or was terminated


class BadRequest(TownhallError):
    """The request itself is malformed (a header, a damaged form), not a field value."""

    code = "bad_request"
    status = 400
