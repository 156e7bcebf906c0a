"""Writes deciding who belongs, taken by the people who run a community or by
the person concerned: join requests, invitations, removing, promoting and
demoting members. Same rules as services.py: permission checked inside, validation
before writing, member_count kept equal to the rows.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from townhall.accounts.models import User
from townhall.accounts.permissions import AnyUser, is_signed_in
from townhall.communities import notify
from townhall.communities.models import Community, CommunityInvitation, JoinRequest, MemberRole, Membership
from townhall.communities.permissions import (
    Seat,
    check_moderate_community,
    check_not_archived,
    forget_viewer_state,
    is_directory_managed,
    viewer_id,
)
from townhall.communities.services import add_member, check_keeps_an_admin, member_seat, refresh_count
from townhall.core.errors import NotFound, ValidationFailed
from townhall.directory.permissions import can_view_person

# --- join requests ------------------------------------------------------------------


def _pending_request(community: Community, request_id: int) -> JoinRequest:
    found = (
        JoinRequest.objects.select_related("user")
        .filter(pk=request_id, community=community, status=JoinRequest.Status.PENDING)
        .first()
    )
    if found is None:
        raise NotFound()
    return found


def request_approve(*, actor: User, community: Community, request_id: int) -> Membership:
    """Approve a pending join request: the person becomes a member. Those who run
    the community may; not while archived. NotFound for a request that is not
    pending in this community."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="approve join requests")
    check_not_archived(community, doing="approve requests")
    with transaction.atomic():
        join_request = _pending_request(community, request_id)
        if not join_request.user.is_active:
            raise ValidationFailed(f"{join_request.user.display_name}'s account is deactivated.")
        notify.on_join_approved(
            community_id=community.pk, user_id=join_request.user_id, request_id=join_request.pk, actor_id=actor.pk
        )
        return add_member(community=community, user=join_request.user, decided_by=actor)


def request_decline(*, actor: User, community: Community, request_id: int) -> JoinRequest:
    """Decline a pending join request; the person may ask again later."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="decline join requests")
    join_request = _pending_request(community, request_id)
    join_request.status = JoinRequest.Status.DECLINED
    join_request.decided_by = actor
    join_request.decided_at = timezone.now()
    join_request.save(update_fields=["status", "decided_by", "decided_at"])
    return join_request


# --- invitations --------------------------------------------------------------------


def community_invite(*, actor: User, community: Community, user: User) -> CommunityInvitation:
    """Invite `user` (an active person the actor can see) to the community. Only
    those who run it may, and not while archived. A repeat returns the open
    invitation. The invitee sees it under Invitations and on the community's page."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="invite people")
    check_not_archived(community, doing="invite people")
    if not user.is_active or not can_view_person(actor, user):
        message = "No one in the directory has that email."
        raise ValidationFailed(message, fields={"email": [message]})
    if Membership.objects.filter(community=community, user=user).exists():
        message = f"{user.display_name} is already a member."
        raise ValidationFailed(message, fields={"email": [message]})
    invitation, created = CommunityInvitation.objects.get_or_create(
        community=community, user=user, defaults={"invited_by": actor}
    )
    if created:
        notify.on_invited(community_id=community.pk, user_id=user.pk, invitation_id=invitation.pk, actor_id=actor.pk)
    return invitation


def _my_invitation(actor: AnyUser, invitation_id: int) -> CommunityInvitation:
    if not is_signed_in(actor):
        raise NotFound()
    invitation = (
        CommunityInvitation.objects.select_related("community")
        .filter(pk=invitation_id, user_id=viewer_id(actor), community__deleted_at__isnull=True)
        .first()
    )
    if invitation is None:
        raise NotFound()
    return invitation


def invitation_accept(*, actor: User, invitation_id: int) -> Membership:
    """Accept one's own invitation: become a member (whatever the visibility).
    NotFound for someone else's invitation or a deleted community; refused while
    the community is archived."""
    invitation = _my_invitation(actor, invitation_id)
    community = invitation.community
    check_not_archived(community, doing="join it")
    with transaction.atomic():
        return add_member(community=community, user=actor, decided_by=invitation.invited_by)


def invitation_decline(*, actor: User, invitation_id: int) -> Community:
    """Decline one's own invitation (it is removed); returns its community."""
    invitation = _my_invitation(actor, invitation_id)
    invitation.delete()
    forget_viewer_state(invitation.community)
    return invitation.community


# --- managing members ---------------------------------------------------------------


def member_remove(*, actor: User, community: Community, user: User) -> None:
    """Remove a member. Those who run the community may, but not themselves (they
    leave), not from All company or a department community the directory keeps,
    and never the last admin while others remain. Access ends at once."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="remove members")
    if user.pk == actor.pk:
        raise ValidationFailed("To remove yourself, leave the community.")
    membership = member_seat(community, user)
    if community.is_all_company:
        raise ValidationFailed("Everyone in the organisation belongs to All company; deactivate the account instead.")
    if is_directory_managed(community, Seat(membership.role, membership.synced, membership.muted)):
        raise ValidationFailed(
            f"{user.display_name} is in {community.name} because of their department; change it in the directory."
        )
    check_keeps_an_admin(community, user, doing="remove them")
    with transaction.atomic():
        membership.delete()
        refresh_count(community)


def member_promote(*, actor: User, community: Community, user: User) -> Membership:
    """Make a member a community admin. Idempotent."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="make people admins")
    membership = member_seat(community, user)
    if not user.is_active:
        raise ValidationFailed(f"{user.display_name}'s account is deactivated.")
    if membership.role != MemberRole.ADMIN:
        membership.role = MemberRole.ADMIN
        membership.save(update_fields=["role"])
    forget_viewer_state(community)
    return membership


def member_demote(*, actor: User, community: Community, user: User) -> Membership:
    """Make a community admin a plain member again; a community keeps at least one
    active admin while it has other active members. Idempotent."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="change admins")
    membership = member_seat(community, user)
    if membership.role == MemberRole.ADMIN:
        check_keeps_an_admin(community, user, doing="step down" if user.pk == actor.pk else "demote them")
        membership.role = MemberRole.MEMBER
        membership.save(update_fields=["role"])
    forget_viewer_state(community)
    return membership
