"""The header badge: how many unread notifications the signed-in person may see.
Lazy, so a response that never renders the header pays nothing."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import cached_property

from townhall.notifications.selectors import badge_label, unread_count


class Badge:
    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def count(self) -> int:
        return unread_count(user=self.user)

    @cached_property
    def label(self) -> str:
        return badge_label(self.count)


def notifications(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_badge": Badge(user)}
