from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode

from townhall.accounts.models import UserSession
from townhall.accounts.selectors import guidelines_pending, organisation_for_request

TOUCH_EVERY = timedelta(minutes=5)
# When this process last wrote each session's `last seen` (monotonic seconds). Kept in
# memory, not in the session: a value in the session made Django save the whole session
# row as well, two writes instead of one. Each process writes at most once per session
# per TOUCH_EVERY; the bound only caps memory (forgetting costs one early write).
_touched: dict[str, float] = {}
MAX_TOUCHED = 50_000


def _due(key: str) -> bool:
    now = time.monotonic()
    last = _touched.get(key)
    if last is not None and now - last < TOUCH_EVERY.total_seconds():
        return False
    if len(_touched) >= MAX_TOUCHED:
        _touched.clear()
    _touched[key] = now
    return True


class SessionRecordMiddleware:
    """Keeps `last seen` of the browser session fresh, at most one write per 5 minutes
    (per server process)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = getattr(request, "user", None)
        if isinstance(user, SimpleLazyObject):
            # Resolve the lazy user once and keep the real object: every later
            # `request.user.x` would otherwise go through the proxy, and a feed page
            # reads the viewer several hundred times.
            bool(user.is_authenticated)  # type: ignore[attr-defined]  # resolves it
            user = request.user = user._wrapped  # type: ignore[attr-defined]
        key = request.session.session_key if hasattr(request, "session") else None
        if user is not None and user.is_authenticated and key and _due(key):
            UserSession.objects.filter(session_key=key).update(last_seen_at=timezone.now())
        return self.get_response(request)


_EXEMPT_PREFIXES = ("/guidelines", "/signout", "/static/", "/media/", "/api/", "/healthz", "/readyz")


class GuidelinesGateMiddleware:
    """Signed-in people accept the usage guidelines before anything else (and again
    when they change)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_EXEMPT_PREFIXES)
            and guidelines_pending(user=user, organisation=organisation_for_request(request))
        ):
            return redirect(f"{reverse('accounts:guidelines')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
