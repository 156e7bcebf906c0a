"""Emailing one notification: the task's one service.

Everything is decided again at send time, because time passed since the notify: the
person may have been deactivated, switched the email off or unsubscribed, the target
may have become hidden (then nothing about it is sent), and it may be outside their
working hours (then the email waits for the next start, unless it is urgent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from townhall.notifications import quiet, registry
from townhall.notifications.emails import absolute, build_message, send_once, skip
from townhall.notifications.kinds import Channel
from townhall.notifications.models import Notification
from townhall.notifications.selectors import describe, wants


def notification_key(notification_id: int) -> str:
    return f"notification:{notification_id}"


def deliver_notification(*, notification_id: int, now: datetime | None = None, defer: Any = None) -> str:
    """Email one notification if it still should go. Returns what happened: "sent",
    "skipped: <why>", "deferred until <time>", or the status of an earlier attempt.
    `defer(run_after)` re-enqueues the task for later (the worker runs it then)."""
    now = now or timezone.now()
    row = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if row is None:
        return "skipped: gone"
    person = row.recipient
    key = notification_key(row.pk)
    if not person.is_active or not person.email:
        return skip(key=key, user_id=person.pk, reason="inactive")
    if not wants(user_id=person.pk, kind=row.kind, channel=Channel.EMAIL):
        return skip(key=key, user_id=person.pk, reason="email off")
    if not row.urgent:
        hours = registry.working_hours([person.pk]).get(person.pk)
        if not quiet.is_working(hours, now):
            assert hours is not None  # is_working is True without hours
            start = quiet.next_start(hours, now)
            if defer is not None:
                defer(start)
            return f"deferred until {start.isoformat()}"

    def build() -> Any:
        # Checked at the last moment: a target hidden since the notify sends nothing.
        items = describe(person, [row])
        if not items:
            return None
        item = items[0]
        return build_message(
            to=person.email,
            subject=item.sentence if len(item.sentence) <= 120 else item.sentence[:117] + "…",
            template="notification",
            context={"item": item, "url": absolute(item.url), "person": person},
            user_id=person.pk,
            unsubscribe_kind=row.kind,
            key=key,
        )

    return str(send_once(key=key, user_id=person.pk, build=build, now=now))
