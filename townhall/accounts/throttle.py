"""Sign-in throttling, checked before any password is hashed (a hash costs real CPU)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(*, ip: str, email: str) -> list[tuple[str, int]]:
    limits = settings.TOWNHALL_LOGIN_THROTTLE
    email_key = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [(f"signin:ip:{ip}", limits["per_ip"]), (f"signin:acct:{email_key}", limits["per_account"])]


def is_throttled(*, ip: str, email: str) -> bool:
    counts = cache.get_many([key for key, _ in _keys(ip=ip, email=email)])
    return any(counts.get(key, 0) >= limit for key, limit in _keys(ip=ip, email=email))


def record_failure(*, ip: str, email: str) -> None:
    window = settings.TOWNHALL_LOGIN_THROTTLE["window_seconds"]
    for key, _ in _keys(ip=ip, email=email):
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=window)


def clear(*, ip: str, email: str) -> None:
    # Only the account counter: a success must not reset an attacker's IP budget.
    cache.delete(_keys(ip=ip, email=email)[1][0])
