"""Writes of reactions: one reaction per person per target."""

from __future__ import annotations

from django.db import transaction

from townhall.accounts.models import User
from townhall.core.errors import ValidationFailed
from townhall.reactions import notify, registry
from townhall.reactions.models import Reaction, ReactionKind
from townhall.reactions.permissions import check_react


def reaction_set(*, actor: User, target_type: str, target_id: int, kind: str | None) -> Reaction | None:
    """Set the actor's reaction on a target to `kind`, replacing any other kind, or
    remove it when `kind` is None. Returns the reaction (None after a removal).

    NotFound when the type is unknown or the actor may not see the target (hidden
    answers like absent); PermissionDenied when they see it but it takes no reactions
    (an archived community); ValidationFailed for an unknown kind. When something
    changed, the target's app recounts (after_change) in the same transaction."""
    if kind is not None and kind not in ReactionKind.values:
        message = f"Choose one of: {', '.join(ReactionKind.values)}."
        raise ValidationFailed(message, fields={"kind": [message]})
    target = registry.get(target_type)
    check_react(actor, target_type, target_id)
    with transaction.atomic():
        existing = Reaction.objects.filter(target_type=target_type, target_id=target_id, user=actor).first()
        if kind is None:
            if existing is None:
                return None
            existing.delete()
            target.after_change(target_id)
            return None
        if existing is not None:
            if existing.kind != kind:
                existing.kind = kind
                existing.save(update_fields=["kind"])
            return existing
        reaction, created = Reaction.objects.get_or_create(
            target_type=target_type, target_id=target_id, user=actor, defaults={"kind": kind}
        )
        if reaction.kind != kind:  # a concurrent request won the insert
            reaction.kind = kind
            reaction.save(update_fields=["kind"])
        target.after_change(target_id)
        if created:
            notify.on_reaction_added(actor_id=actor.pk, target_type=target_type, target_id=target_id)
        return reaction
