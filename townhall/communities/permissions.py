"""Who may see, read, post in and run a community: the visibility oracle.

`can_*` answer; `check_*` raise NotFound (the viewer may not know the community
exists) or PermissionDenied (they may see it but not do this). The viewer's seat
(membership) and invitation are looked up once per (community, viewer) and cached
on the instance; list selectors prime that cache from annotations so rendering a
page of communities costs no query per card.
"""

from __future__ import annotations

from dataclasses import dataclass

from townhall.accounts.models import Role, User
from townhall.accounts.permissions import AnyUser, can_browse_directory, is_signed_in
from townhall.communities.models import Community, CommunityInvitation, MemberRole, Membership, Visibility
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.core.prepared import Prepared

_SEATS = "_townhall_seats"
_INVITES = "_townhall_invites"
_ALL_SEATS = "_townhall_all_seats"


@dataclass(frozen=True)
class Seat:
    """What the oracle needs to know about one membership."""

    role: str
    synced: bool
    muted: bool

    @property
    def is_admin(self) -> bool:
        return self.role == MemberRole.ADMIN


def viewer_id(viewer: AnyUser) -> int:
    """The viewer's id, 0 (no one's) for anonymous viewers."""
    return int(viewer.pk or 0)


def remember_seat(community: Community, viewer: AnyUser, seat: Seat | None) -> None:
    if viewer.pk is not None:
        community.__dict__.setdefault(_SEATS, {})[viewer.pk] = seat


def remember_all_seats(viewer: AnyUser, seats: dict[int, Seat]) -> None:
    """Note on the viewer instance (one request's) every seat they hold in a community
    that is not deleted, by community id, so later seat lookups in the same request
    need no query (see known_seats). Callers pass the complete set or nothing."""
    if is_signed_in(viewer):
        viewer.__dict__[_ALL_SEATS] = dict(seats)


def known_seats(viewer: AnyUser) -> dict[int, Seat] | None:
    """The viewer's seats noted by remember_all_seats in this request, or None."""
    seats: dict[int, Seat] | None = viewer.__dict__.get(_ALL_SEATS)
    return seats


def remember_invited(community: Community, viewer: AnyUser, invited: bool) -> None:
    if viewer.pk is not None:
        community.__dict__.setdefault(_INVITES, {})[viewer.pk] = invited


def forget_viewer_state(community: Community) -> None:
    """Drop cached seats and invitations (services call this after changing them)."""
    community.__dict__.pop(_SEATS, None)
    community.__dict__.pop(_INVITES, None)


_SEAT = Prepared(
    "communities.seat",
    lambda *, community, user: Membership.objects.filter(community_id=community, user_id=user).values_list(
        "role", "synced", "muted"
    )[:1],
    ints=("community", "user"),
)


def seat_of(viewer: AnyUser, community: Community) -> Seat | None:
    """The signed-in viewer's membership, or None. One query, then cached."""
    if not is_signed_in(viewer) or community.pk is None:
        return None
    seats: dict[int, Seat | None] = community.__dict__.setdefault(_SEATS, {})
    uid = viewer_id(viewer)
    if uid not in seats:
        row = next(iter(_SEAT(community=int(community.pk), user=int(uid))), None)
        seats[uid] = Seat(*row) if row else None
    return seats[uid]


def is_invited(viewer: AnyUser, community: Community) -> bool:
    """Whether the signed-in viewer holds an open invitation. One query, then cached."""
    if not is_signed_in(viewer) or community.pk is None:
        return False
    invites: dict[int, bool] = community.__dict__.setdefault(_INVITES, {})
    uid = viewer_id(viewer)
    if uid not in invites:
        invites[uid] = CommunityInvitation.objects.filter(community_id=community.pk, user_id=uid).exists()
    return invites[uid]


def is_member(viewer: AnyUser, community: Community) -> bool:
    return seat_of(viewer, community) is not None


def is_site_moderator(viewer: AnyUser) -> bool:
    """Site admins and internal-communications moderators."""
    return is_signed_in(viewer) and isinstance(viewer, User) and viewer.role in {Role.ADMIN, Role.IC_MODERATOR}


def can_view_community(viewer: AnyUser, community: Community) -> bool:
    """May the viewer know the community exists (name, description, header)?

    Deleted: nobody. Members and invitees: yes (an invitee must see what they are
    invited to). Otherwise public and private communities are listed for every
    signed-in non-guest; secret ones for nobody else; guests see only where they
    belong or are invited. Deactivated accounts see nothing.
    """
    if community.deleted_at is not None or not is_signed_in(viewer):
        return False
    if is_member(viewer, community):
        return True
    if community.visibility != Visibility.SECRET and can_browse_directory(viewer):
        return True
    return is_invited(viewer, community)


def can_read_community(viewer: AnyUser, community: Community) -> bool:
    """May the viewer read its posts? Public: any signed-in non-guest, or a member.
    Private and secret: members only. Deleted: nobody."""
    if community.deleted_at is not None or not is_signed_in(viewer):
        return False
    if community.visibility == Visibility.PUBLIC and can_browse_directory(viewer):
        return True
    return is_member(viewer, community)


def can_post_in(viewer: AnyUser, community: Community) -> bool:
    """Members may post where they may read, unless the community is archived.
    The All-company community takes posts from every active non-guest, member row
    or not (they belong to it by definition)."""
    if community.is_archived or not can_read_community(viewer, community):
        return False
    if community.is_all_company and can_browse_directory(viewer):
        return True
    return is_member(viewer, community)


def can_moderate_community(viewer: AnyUser, community: Community) -> bool:
    """Community admins, plus site admins and IC moderators for every community
    they can see (a secret community stays hidden even from them)."""
    if not can_view_community(viewer, community):
        return False
    seat = seat_of(viewer, community)
    return (seat is not None and seat.is_admin) or is_site_moderator(viewer)


def can_create_community(viewer: AnyUser) -> bool:
    return can_browse_directory(viewer)


def can_join_directly(viewer: AnyUser, community: Community) -> bool:
    """One click makes the viewer a member: a public community, or any community
    the viewer is invited to; never while archived."""
    if community.is_archived or not can_view_community(viewer, community) or is_member(viewer, community):
        return False
    if is_invited(viewer, community):
        return True
    return community.visibility == Visibility.PUBLIC and can_browse_directory(viewer)


def can_request_to_join(viewer: AnyUser, community: Community) -> bool:
    """A private community the viewer does not belong to (and is not invited to)."""
    return (
        community.visibility == Visibility.PRIVATE
        and not community.is_archived
        and can_browse_directory(viewer)
        and can_view_community(viewer, community)
        and not is_member(viewer, community)
        and not is_invited(viewer, community)
    )


def is_directory_managed(community: Community, seat: Seat | None) -> bool:
    """The directory owns this seat: All company, or a synced department seat."""
    return community.is_all_company or (community.department_id is not None and seat is not None and seat.synced)


def can_leave(viewer: AnyUser, community: Community) -> bool:
    seat = seat_of(viewer, community)
    return seat is not None and community.deleted_at is None and not is_directory_managed(community, seat)


def can_invite(viewer: AnyUser, community: Community) -> bool:
    return not community.is_archived and can_moderate_community(viewer, community)


def check_view_community(viewer: AnyUser, community: Community) -> None:
    if not can_view_community(viewer, community):
        raise NotFound()


def check_moderate_community(viewer: AnyUser, community: Community, *, doing: str = "do that") -> None:
    """NotFound when the community is hidden, PermissionDenied when visible but
    the viewer does not run it."""
    check_view_community(viewer, community)
    if not can_moderate_community(viewer, community):
        raise PermissionDenied(f"Only the community's admins can {doing}.")


def check_not_archived(community: Community, *, doing: str) -> None:
    if community.is_archived:
        raise ValidationFailed(f"{community.name} is archived, so you cannot {doing}. Its admins can unarchive it.")
