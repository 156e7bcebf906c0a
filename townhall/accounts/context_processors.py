from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from townhall.accounts.selectors import organisation_for_request


def organisation(request: HttpRequest) -> dict[str, Any]:
    return {"organisation": organisation_for_request(request)}
