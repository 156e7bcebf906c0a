from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from townhall.core.views import not_found


class NulPathMiddleware:
    """No stored id or slug contains a NUL character (PostgreSQL text cannot hold one),
    so a path with one names nothing: answer 404 before any view hands it to the database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            return not_found(request)
        return self.get_response(request)
