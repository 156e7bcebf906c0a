"""Publishing real-time events: the one entry point for every other app.

    from townhall.realtime.publish import publish_on_commit

    # the people's own channels (the notification badge): only each can subscribe;
    # their pages then fetch the badge (`data` may carry {"unread": n} instead)
    notification_badges_changed([user.pk, ...])
    publish_on_commit(channel=f"user:{user.pk}", event="notifications", data={"unread": 3})

    # content: name the object with `guard`, re-checked for every reader at delivery
    publish_on_commit(
        channel=[f"community:{post.community_id}", f"profile:{post.author_id}"],
        event="post.created",
        data={"post_id": post.pk},
        guard=("post", post.pk),
    )

Call it from a service, inside or outside a transaction: the event leaves only after
the transaction commits (never for a rolled-back write), and a broker failure is
never raised into the request (Redis down: the event waits in the database outbox
and is relayed when Redis answers, see outbox.py). Data must be JSON and should carry ids (and
counts), not text: the browser fetches what it shows through the normal, permission
checked pages.

Channels: `user:<id>` (notifications: badge count), `community:<id>`,
`profile:<user id>`, `topic:<slug>` (feeds: new posts), `post:<id>` (comments and
reactions on a post on screen). Events on a channel other than `user:` must name a
guard registered with realtime.registry, or they reach nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from django.db import transaction

from townhall.realtime.broker import get_broker
from townhall.realtime.hub import wake_local_hub

log = logging.getLogger("townhall.realtime")


def publish(
    *, channel: str | Sequence[str], event: str, data: dict[str, Any], guard: tuple[str, int] | None = None
) -> str:
    """Append an event to the log now and wake this process's streams; returns its id.
    Prefer publish_on_commit from services."""
    channels = [channel] if isinstance(channel, str) else list(dict.fromkeys(channel))
    if not channels:
        raise ValueError("publish: name at least one channel")
    if guard is None and any(not c.startswith("user:") for c in channels):
        raise ValueError("publish: content channels need a guard (kind, id)")
    body = {
        "c": channels,
        "e": event,
        "d": data,
        "gk": guard[0] if guard else "",
        "gi": int(guard[1]) if guard else None,
    }
    event_id = get_broker().append(body)
    wake_local_hub()
    return event_id


def publish_on_commit(
    *, channel: str | Sequence[str], event: str, data: dict[str, Any], guard: tuple[str, int] | None = None
) -> None:
    """Publish after the current transaction commits (at once outside one). See the
    module docstring for channels and guards."""
    transaction.on_commit(partial(publish, channel=channel, event=event, data=data, guard=guard), robust=True)


def notification_badges_changed(recipient_ids: Iterable[int]) -> None:
    """Tell these people's open pages that their notification badge changed (one event
    on each one's own `user:<id>` channel; after commit). The page fetches the badge
    itself (notifications' badge view), so the count is always the one it may see."""
    channels = [f"user:{int(pk)}" for pk in dict.fromkeys(recipient_ids)]
    if channels:
        publish_on_commit(channel=channels, event="notifications", data={})
