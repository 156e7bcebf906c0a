"""Background tasks of notifications: adapters that take ids and call one service.
Each is idempotent (a Delivery or DigestRun row with a unique key)."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from townhall.core.worker import RetryableError
from townhall.notifications.delivery import deliver_notification
from townhall.notifications.digest import deliver_digest, schedule_due_digests
from townhall.notifications.emails import SendFailed


@task()
def send_notification_email(notification_id: int) -> str:
    """Email one notification; outside working hours it re-enqueues itself for the
    next start (the worker runs it then)."""

    def defer(run_after: datetime) -> None:
        send_notification_email.using(run_after=run_after).enqueue(notification_id)

    try:
        return deliver_notification(notification_id=notification_id, defer=defer)
    except SendFailed as exc:
        raise RetryableError(str(exc)) from exc


@task()
def send_digest(run_id: int) -> str:
    try:
        return deliver_digest(run_id=run_id)
    except SendFailed as exc:
        raise RetryableError(str(exc)) from exc


@task()
def enqueue_due_digests() -> int:
    """The periodic job: start the digests that are due (see digest.py)."""
    return len(schedule_due_digests(enqueue=send_digest.enqueue))
