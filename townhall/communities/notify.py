"""Who hears about joining and invitations, and how notifications may show a
community. The services call one `on_*` function each; it runs after commit."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

from townhall.communities.models import Community, MemberRole, Membership
from townhall.communities.permissions import can_moderate_community, can_view_community
from townhall.notifications import registry
from townhall.notifications.kinds import Kind
from townhall.notifications.services import notify, notify_after_commit


def on_join_requested(*, community_id: int, user_id: int) -> None:
    """A private community got a join request: tell its active admins (batched per
    community: "Ana and 2 others asked to join Design")."""
    transaction.on_commit(partial(_join_requested, community_id, user_id), robust=True)


def on_join_approved(*, community_id: int, user_id: int, request_id: int, actor_id: int) -> None:
    notify_after_commit(
        kind=Kind.JOIN_APPROVED,
        recipient_ids=[user_id],
        actor_id=actor_id,
        target_type="community",
        target_id=community_id,
        group_key=f"join_approved:{request_id}",
    )


def on_invited(*, community_id: int, user_id: int, invitation_id: int, actor_id: int) -> None:
    notify_after_commit(
        kind=Kind.INVITATION,
        recipient_ids=[user_id],
        actor_id=actor_id,
        target_type="community",
        target_id=community_id,
        group_key=f"invitation:{invitation_id}",
    )


def _join_requested(community_id: int, user_id: int) -> None:
    admins = Membership.objects.filter(
        community_id=community_id, role=MemberRole.ADMIN, user__is_active=True
    ).values_list("user_id", flat=True)
    notify(
        kind=Kind.JOIN_REQUEST,
        recipient_ids=list(admins),
        actor_id=user_id,
        target_type="community_requests",
        target_id=community_id,
        group_key=f"join_request:{community_id}",
    )


def _checked(check: Callable[[Any, Community], bool]) -> Callable[[Any, list[int]], set[int]]:
    def visible_ids(viewer: Any, ids: list[int]) -> set[int]:
        # Fresh rows: the permission helpers cache the viewer's seat on the object.
        return {c.pk for c in Community.objects.filter(pk__in=ids, deleted_at__isnull=True) if check(viewer, c)}

    return visible_ids


def _describe(suffix: str) -> Callable[[Any, list[int]], dict[int, registry.Described]]:
    def describe(viewer: Any, ids: list[int]) -> dict[int, registry.Described]:
        return {
            c.pk: registry.Described(url=f"/c/{c.slug}/{suffix}", title=c.name, place=c.name)
            for c in Community.objects.filter(pk__in=ids)
        }

    return describe


def communities_of(person: Any) -> list[tuple[int, str]]:
    """The communities a person belongs to, by name (for the per-community levels)."""
    rows = Membership.objects.filter(user_id=person.pk, community__deleted_at__isnull=True).order_by(
        "community__name", "community_id"
    )
    return list(rows.values_list("community_id", "community__name"))


def register() -> None:
    registry.register(
        registry.TargetType(name="community", visible_ids=_checked(can_view_community), describe=_describe(""))
    )
    # A join request shows to those who may decide it, and leads to the requests page.
    registry.register(
        registry.TargetType(
            name="community_requests", visible_ids=_checked(can_moderate_community), describe=_describe("requests")
        )
    )
    registry.register_communities(communities_of)
