"""Who hears about a reaction: the target's author, batched per target ("Ana and 12
others reacted to your post"). Reactions know no content app: the target's owner
comes from the notifications registry, where the content app registered it."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from townhall.notifications import registry
from townhall.notifications.kinds import Kind
from townhall.notifications.services import notify


def on_reaction_added(*, actor_id: int, target_type: str, target_id: int) -> None:
    transaction.on_commit(partial(_reaction_added, actor_id, target_type, target_id), robust=True)


def _reaction_added(actor_id: int, target_type: str, target_id: int) -> None:
    target = registry.get(target_type)
    if target is None or target.owners is None:
        return
    owner = target.owners([target_id]).get(target_id)
    if owner is None:
        return
    notify(
        kind=Kind.REACTION,
        recipient_ids=[owner],
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        group_key=f"reaction:{target_type}:{target_id}",
    )
