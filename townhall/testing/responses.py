"""Comparing two responses for "hidden answers exactly like missing"."""

from __future__ import annotations

import re
from typing import Any

# Differ between any two responses by design, never by what exists: the session
# cookie, the clock, the size (CSRF tokens are masked afresh) and the request id.
VOLATILE_HEADERS = frozenset({"set-cookie", "date", "content-length", "x-request-id"})

# In a page body: the CSRF token (masked afresh per response) and the moment the page
# was rendered (where live updates start from).
_VOLATILE_BODY = re.compile(
    r'(csrfmiddlewaretoken" value="|X-CSRFToken": "|name="csrf-token" content="|data-live-since=")[^"]+'
)


def stable_headers(response: Any) -> dict[str, str]:
    """The response's headers without the volatile ones, names lower-cased."""
    return {name.lower(): value for name, value in response.headers.items() if name.lower() not in VOLATILE_HEADERS}


def stable_body(response: Any) -> str:
    """The response's text with the per-response values blanked."""
    return _VOLATILE_BODY.sub(r"\1", response.content.decode(errors="replace"))
