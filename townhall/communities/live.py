"""Communities in real time: what communities tell realtime (registered in
CommunitiesConfig.ready()).

- guard "community": who among some people may read a community's posts now (the
  communities oracle, can_read_community, with their seats loaded in one query). For
  events about a place rather than a post: `post.removed` on the old community of a
  moved post (posts/live.py) must still reach the people who lost sight of the post
  when it moved, which the "post" guard would drop. Such events carry only ids their
  readers already had on screen.
"""

from __future__ import annotations

from townhall.accounts.models import User
from townhall.communities.models import Community, Membership
from townhall.communities.permissions import Seat, can_read_community, remember_seat
from townhall.realtime import registry


def people_seated(user_ids: list[int], community: Community | None) -> list[User]:
    """The active people among `user_ids`, with their seats in `community` (if any)
    remembered for the permission checks that follow. Two queries whatever their number."""
    people = list(User.objects.filter(pk__in=user_ids, is_active=True).only("id", "is_active", "role"))
    if community is not None:
        seats = {
            uid: Seat(role, synced, muted)
            for uid, role, synced, muted in Membership.objects.filter(
                community_id=community.pk, user_id__in=[p.pk for p in people]
            ).values_list("user_id", "role", "synced", "muted")
        }
        for person in people:
            remember_seat(community, person, seats.get(person.pk))
    return people


def readers(user_ids: list[int], community_id: int) -> set[int]:
    """The people among `user_ids` who may read the community now. Three queries (the
    community, the people, their seats in it) whatever the number of people."""
    community = Community.objects.filter(pk=community_id, deleted_at__isnull=True).first()
    if community is None:
        return set()
    return {person.pk for person in people_seated(user_ids, community) if can_read_community(person, community)}


def register() -> None:
    registry.register_guard("community", readers)
