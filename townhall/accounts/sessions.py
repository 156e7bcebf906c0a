"""The session store: Django's database sessions, with the one read every signed-in
request makes (the session row by its key) as a prepared statement
(core/prepared.py). Set as SESSION_ENGINE."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from townhall.core.prepared import Prepared

_LIVE_SESSION = Prepared(
    "accounts.live_session",
    lambda *, key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1],
    texts=("key",),
    times=("now",),
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        found = next(iter(_LIVE_SESSION(key=key, now=timezone.now())), None) if isinstance(key, str) else None
        if found is None:
            self._session_key = None
        return found
