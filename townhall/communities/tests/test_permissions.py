"""The visibility oracle: every role against every community state, through
permissions, readable_community_ids, the directory list and community_get."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from townhall.accounts.models import User
from townhall.accounts.services import user_deactivate
from townhall.communities import members, selectors, services
from townhall.communities.models import Community
from townhall.communities.permissions import (
    can_moderate_community,
    can_post_in,
    can_read_community,
    can_view_community,
)
from townhall.core.errors import NotFound
from townhall.testing.communities_factories import CommunityFactory, MembershipFactory, invitation
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "guest",
    "guest_member",
    "guest_invited",
    "non_member",
    "member",
    "invited",
    "former_left",
    "former_removed",
    "community_admin",
    "site_admin",
    "ic_moderator",
    "deactivated",
)
STATES = ("public", "private", "secret", "archived", "private_archived", "deleted")

# Expected (view, read, post, moderate) per role, for each state. "archived" is a
# public community that was archived; "private_archived" a private one.
V, R, P, M = "view", "read", "post", "moderate"
_PUBLIC = {
    "anonymous": set(),
    "guest": set(),
    "guest_member": {V, R, P},
    "guest_invited": {V},
    "non_member": {V, R},
    "member": {V, R, P},
    "invited": {V, R},
    "former_left": {V, R},
    "former_removed": {V, R},
    "community_admin": {V, R, P, M},
    "site_admin": {V, R, M},
    "ic_moderator": {V, R, M},
    "deactivated": set(),
}
_PRIVATE = {
    **_PUBLIC,
    "non_member": {V},
    "invited": {V},
    "former_left": {V},
    "former_removed": {V},
    "site_admin": {V, M},
    "ic_moderator": {V, M},
}
_SECRET = {
    **_PRIVATE,
    "non_member": set(),
    "former_left": set(),
    "former_removed": set(),
    "site_admin": set(),
    "ic_moderator": set(),
}


def _no_posting(table: dict[str, set[str]]) -> dict[str, set[str]]:
    return {role: rights - {P} for role, rights in table.items()}


EXPECTED: dict[str, dict[str, set[str]]] = {
    "public": _PUBLIC,
    "private": _PRIVATE,
    "secret": _SECRET,
    "archived": _no_posting(_PUBLIC),
    "private_archived": _no_posting(_PRIVATE),
    "deleted": {role: set() for role in ROLES},
}


def _community(state: str) -> tuple[Community, User]:
    owner = UserFactory(full_name="Owner Person")
    visibility = {"private": "private", "secret": "secret", "private_archived": "private"}.get(state, "public")
    community = CommunityFactory(admin=owner, visibility=visibility, name=f"Canary {state}")
    return community, owner


def _viewer(role: str, community: Community, owner: User) -> Any:
    if role == "anonymous":
        return AnonymousUser()
    if role == "community_admin":
        return owner
    site_role = {"site_admin": "admin", "ic_moderator": "ic_moderator"}.get(role, "member")
    if role.startswith("guest"):
        site_role = "guest"
    user = UserFactory(role=site_role)
    if role in {"member", "guest_member", "former_left", "former_removed", "deactivated"}:
        MembershipFactory(community=community, user=user)
    if role in {"invited", "guest_invited"}:
        invitation(community, user, invited_by=owner)
    if role == "former_left":
        services.community_leave(actor=user, community=community)
    if role == "former_removed":
        members.member_remove(actor=owner, community=community, user=user)
    if role == "deactivated":
        user_deactivate(actor=UserFactory(role="admin"), user=user)
    return user


def _finish(state: str, community: Community) -> Community:
    if state in {"archived", "private_archived"}:
        Community.objects.filter(pk=community.pk).update(archived_at=timezone.now())
    if state == "deleted":
        Community.objects.filter(pk=community.pk).update(deleted_at=timezone.now())
    return Community.objects.get(pk=community.pk)


CASES = [(state, role) for state in STATES for role in ROLES]


@pytest.mark.parametrize(("state", "role"), CASES, ids=[f"{s}-{r}" for s, r in CASES])
def test_oracle_matches_the_table_on_every_read_path(state: str, role: str) -> None:
    community, owner = _community(state)
    viewer = _viewer(role, community, owner)
    community = _finish(state, community)
    expected = EXPECTED[state][role]

    got = set()
    if can_view_community(viewer, community):
        got.add(V)
    if can_read_community(viewer, community):
        got.add(R)
    if can_post_in(viewer, community):
        got.add(P)
    if can_moderate_community(viewer, community):
        got.add(M)
    assert got == expected

    # The query paths agree with the functions.
    assert (community.pk in set(selectors.readable_community_ids(viewer))) == (R in expected)
    listed = {c.pk for c in selectors.communities_list(viewer=viewer, limit=100).items}
    assert (community.pk in listed) == (V in expected)
    if V in expected:
        assert selectors.community_get(viewer=viewer, slug=community.slug).pk == community.pk
    else:
        with pytest.raises(NotFound):
            selectors.community_get(viewer=viewer, slug=community.slug)
    member_ids = set(selectors.member_community_ids(viewer))
    assert (community.pk in member_ids) == (
        role in {"member", "guest_member", "community_admin"} and state != "deleted"
    )


def test_readable_ids_for_a_deactivated_viewer_are_empty_even_with_memberships() -> None:
    user = UserFactory()
    CommunityFactory(members=[user], visibility="secret")
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()
    assert list(selectors.readable_community_ids(user)) == []
    assert list(selectors.member_community_ids(user)) == []


def test_readable_ids_is_one_lazy_subquery(django_assert_num_queries) -> None:
    user = UserFactory()
    CommunityFactory.create_batch(3)
    ids = selectors.readable_community_ids(user)
    with django_assert_num_queries(1):
        assert len(Community.objects.filter(id__in=ids)) == 4  # three + All company


def test_moving_public_to_private_takes_reading_away_at_once() -> None:
    owner, outsider = UserFactory(), UserFactory()
    community = CommunityFactory(admin=owner)
    assert community.pk in set(selectors.readable_community_ids(outsider))
    services.community_update(actor=owner, community=community, visibility="private")
    assert community.pk not in set(selectors.readable_community_ids(outsider))
    fresh = selectors.community_get(viewer=outsider, slug=community.slug)
    assert not can_read_community(outsider, fresh)
