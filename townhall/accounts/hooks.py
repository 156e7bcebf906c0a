"""Registration points for apps above accounts (accounts imports none of them).

`directory` registers a hook that gives every new user a profile inside the same
transaction, so no user ever exists without one.
"""

from __future__ import annotations

from collections.abc import Callable

from townhall.accounts.models import User

UserHook = Callable[[User], None]

_user_created: list[UserHook] = []


def on_user_created(hook: UserHook) -> None:
    if hook not in _user_created:
        _user_created.append(hook)


def run_user_created(user: User) -> None:
    for hook in _user_created:
        hook(user)
