"""A lost database connection answers 503 with Retry-After and a clear message, on
pages and in the API, instead of a generic 500 (tests/flows/test_faults.py drives it
against a real PostgreSQL whose backends are terminated)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from townhall.core.errors import DATABASE_UNAVAILABLE
from townhall.core.views import server_error


@pytest.mark.parametrize("path", ["/", "/api/v1/posts"])
def test_server_error_handler_answers_503_for_a_lost_connection(path: str) -> None:
    request = RequestFactory().get(path)
    try:
        raise OperationalError("terminating connection due to administrator command")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "try again" in DATABASE_UNAVAILABLE
    assert "could not be reached" in response.content.decode()


def test_server_error_handler_answers_500_for_a_bug() -> None:
    request = RequestFactory().get("/api/v1/posts")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
    assert not response.has_header("Retry-After")


def test_only_availability_errors_count_as_unavailable() -> None:
    import sqlite3

    from django.db import InterfaceError, OperationalError, ProgrammingError

    from townhall.core.errors import is_database_unavailable

    def wrapped(message: str) -> OperationalError:
        error = OperationalError(message)
        error.__cause__ = sqlite3.OperationalError(message)
        return error

    assert is_database_unavailable(wrapped("database is locked"))
    assert not is_database_unavailable(wrapped("table posts_post has no column named urgent"))
    assert is_database_unavailable(OperationalError("terminating connection due to administrator command"))
    assert is_database_unavailable(InterfaceError("connection already closed"))
    assert not is_database_unavailable(ProgrammingError("column does not exist"))
    assert not is_database_unavailable(ValueError("a bug"))
