"""Who may react and see reactions: whoever the target's own app says may see it.

The reactions app knows no content type: each registers `visible_ids` (and, when some
visible targets take no reactions, `reactable_ids`) in townhall.reactions.registry.
"""

from __future__ import annotations

from townhall.accounts.permissions import AnyUser, is_signed_in
from townhall.core.errors import NotFound, PermissionDenied
from townhall.reactions import registry


def can_see_target(viewer: AnyUser, target_type: str, target_id: int) -> bool:
    if not is_signed_in(viewer):
        return False
    return target_id in registry.get(target_type).visible_ids(viewer, [target_id])


def can_react(viewer: AnyUser, target_type: str, target_id: int) -> bool:
    if not can_see_target(viewer, target_type, target_id):
        return False
    reactable = registry.get(target_type).reactable_ids
    return reactable is None or target_id in reactable(viewer, [target_id])


def check_see_target(viewer: AnyUser, target_type: str, target_id: int) -> None:
    """NotFound for an unknown type, a missing target and a hidden one alike."""
    if not can_see_target(viewer, target_type, target_id):
        raise NotFound()


def check_react(viewer: AnyUser, target_type: str, target_id: int) -> None:
    check_see_target(viewer, target_type, target_id)
    if not can_react(viewer, target_type, target_id):
        raise PermissionDenied("This is in an archived community, so it takes no new reactions.")
