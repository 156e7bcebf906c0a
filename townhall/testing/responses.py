"""Comparing two responses for "hidden answers exactly like missing"."""

from __future__ import annotations

from typing import Any

# Differ between any two responses by design, never by what exists: the session
# cookie, the clock, the size (CSRF tokens are masked afresh) and the request id.
VOLATILE_HEADERS = frozenset({"set-cookie", "date", "content-length", "x-request-id"})


def stable_headers(response: Any) -> dict[str, str]:
    """The response's headers without the volatile ones, names lower-cased."""
    return {name.lower(): value for name, value in response.headers.items() if name.lower() not in VOLATILE_HEADERS}
