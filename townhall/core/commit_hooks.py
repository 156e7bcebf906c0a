"""Robust on_commit hooks that are `functools.partial` objects must not turn a
committed write into a server error.

Django (5.2) logs a failing robust hook with `f"Error calling {func.__qualname__} ..."`;
a `partial` has no `__qualname__`, so the logging itself raises AttributeError out of
`transaction.atomic().__exit__`, after the COMMIT: the request answers 500 although
its write is stored (a client that retries then posts twice). Found by
tests/flows/test_faults.py with Redis stopped (the real-time publish hook failed).
Townhall schedules most hooks as `transaction.on_commit(partial(...), robust=True)`,
so `install()` (from CoreConfig.ready) gives every such hook a `__qualname__` when it
is registered: the failure is then logged and swallowed as Django intends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

_INSTALLED = "_townhall_named_hooks"


def _named(func: Callable[[], Any]) -> Callable[[], Any]:
    if hasattr(func, "__qualname__"):
        return func
    target = getattr(func, "func", None)
    name = getattr(target, "__qualname__", None) or type(func).__qualname__
    try:
        func.__qualname__ = name  # type: ignore[attr-defined]  # partial objects take attributes
    except (AttributeError, TypeError):
        return functools.wraps(target or func)(lambda: func())  # type: ignore[arg-type]
    return func


def install() -> None:
    if getattr(BaseDatabaseWrapper, _INSTALLED, False):
        return
    original = BaseDatabaseWrapper.on_commit

    @functools.wraps(original)
    def on_commit(self: BaseDatabaseWrapper, func: Callable[[], Any], robust: bool = False) -> None:
        original(self, _named(func) if robust else func, robust)

    BaseDatabaseWrapper.on_commit = on_commit  # type: ignore[method-assign]
    setattr(BaseDatabaseWrapper, _INSTALLED, True)
