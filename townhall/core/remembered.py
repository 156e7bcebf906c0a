"""SQL compiled once per viewer identity and remembered in this process.

Building a permission filter as a `Q` and compiling it with the ORM costs a fraction
of a millisecond to milliseconds of Python each time, for SQL that changes only with
who the viewer is: their id, whether they are signed in and active, and their role.
Whatever else a filter depends on (memberships, follows, invitations) must be a
subquery the database evaluates with every statement, never values read in Python:
then a remembered filter is never stale, and a membership granted or revoked a moment
ago counts at once. Each user of this module holds its filters to that rule with a
test (search/tests/test_scope_cache.py, communities/tests/test_remembered_scope.py).

A plain dict per kind of filter, cleared when full (as core/display.py remembers
URLs): forgetting costs one compile per viewer, and no lock is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.db import connection

T = TypeVar("T")


def viewer_identity(viewer: Any) -> tuple[Any, ...]:
    """All a remembered filter may read of the viewer."""
    return (
        getattr(viewer, "pk", None),
        bool(viewer.is_authenticated),
        bool(getattr(viewer, "is_active", False)),
        getattr(viewer, "role", None),
    )


class Remembered(Generic[T]):
    """Compiled filters by (database vendor, `extra` key, viewer identity)."""

    def __init__(self, *, size: int = 1024) -> None:
        self.size = size
        self.found: dict[tuple[Any, ...], T] = {}

    def get(self, viewer: Any, make: Callable[[], T], *, extra: Hashable = None) -> T:
        key = (connection.vendor, extra, *viewer_identity(viewer))
        found = self.found.get(key)
        if found is None:
            found = make()
            if len(self.found) >= self.size:
                self.found.clear()
            self.found[key] = found
        return found
