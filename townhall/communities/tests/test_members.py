"""Join requests, invitations and managing members: what each does and refuses."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from townhall.accounts.models import User
from townhall.communities import members, selectors, services
from townhall.communities.models import Community, CommunityInvitation, JoinRequest, Membership
from townhall.communities.permissions import can_post_in, can_read_community
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.testing.communities_factories import CommunityFactory, invitation, join_request
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def png(size: tuple[int, int] = (800, 300)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(out, format="PNG")
    return SimpleUploadedFile("cover.png", out.getvalue(), content_type="image/png")


def fresh(community: Community) -> Community:
    return Community.objects.get(pk=community.pk)


def seats(community: Community) -> dict[int, str]:
    return dict(Membership.objects.filter(community=community).values_list("user_id", "role"))


# --- join requests -----------------------------------------------------------------------------


def test_request_approve_seats_the_person(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="private")
    pending = services.community_join(actor=member, community=community)
    seat = members.request_approve(actor=owner, community=community, request_id=pending.pk)
    assert seat.user_id == member.pk
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by_id) == ("approved", owner.pk)
    assert fresh(community).member_count == 2
    assert can_read_community(member, fresh(community))


def test_request_approve_is_refused_to_members_and_for_other_communities(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member], visibility="private")
    pending = join_request(community, UserFactory())
    with pytest.raises(PermissionDenied):
        members.request_approve(actor=member, community=community, request_id=pending.pk)
    elsewhere = CommunityFactory(admin=owner, visibility="private")
    with pytest.raises(NotFound):
        members.request_approve(actor=owner, community=elsewhere, request_id=pending.pk)


def test_request_approve_is_refused_while_archived() -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="private")
    pending = join_request(community, UserFactory())
    services.community_archive(actor=owner, community=community)
    with pytest.raises(ValidationFailed):
        members.request_approve(actor=owner, community=fresh(community), request_id=pending.pk)


def test_request_decline_closes_it_and_the_person_may_ask_again(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="private")
    pending = services.community_join(actor=member, community=community)
    members.request_decline(actor=owner, community=community, request_id=pending.pk)
    pending.refresh_from_db()
    assert pending.status == "declined"
    with pytest.raises(NotFound):
        members.request_decline(actor=owner, community=community, request_id=pending.pk)
    again = services.community_join(actor=member, community=fresh(community))
    assert isinstance(again, JoinRequest) and again.pk != pending.pk


def test_request_decline_is_refused_to_members(member: User) -> None:
    community = CommunityFactory(admin=UserFactory(), members=[member], visibility="private")
    pending = join_request(community, UserFactory())
    with pytest.raises(PermissionDenied):
        members.request_decline(actor=member, community=community, request_id=pending.pk)


@pytest.mark.parametrize("role", ["admin", "ic_moderator"])
def test_site_moderators_decide_requests_of_private_communities(role: str) -> None:
    community = CommunityFactory(admin=UserFactory(), visibility="private")
    pending = join_request(community, UserFactory())
    members.request_approve(actor=UserFactory(role=role), community=community, request_id=pending.pk)
    assert fresh(community).member_count == 2


# --- invitations -------------------------------------------------------------------------------


def test_community_invite_then_accept(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="secret")
    sent = members.community_invite(actor=owner, community=community, user=member)
    assert members.community_invite(actor=owner, community=community, user=member).pk == sent.pk
    assert [inv.pk for inv in selectors.my_invitations(viewer=member)] == [sent.pk]
    seat = members.invitation_accept(actor=member, invitation_id=sent.pk)
    assert seat.community_id == community.pk
    assert selectors.my_invitations(viewer=member) == []
    assert fresh(community).member_count == 2


def test_community_invite_then_decline(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="secret")
    sent = members.community_invite(actor=owner, community=community, user=member)
    assert members.invitation_decline(actor=member, invitation_id=sent.pk).pk == community.pk
    assert not CommunityInvitation.objects.exists()
    with pytest.raises(NotFound):
        selectors.community_get(viewer=member, slug=community.slug)


def test_community_invite_is_for_admins_only(member: User) -> None:
    community = CommunityFactory(admin=UserFactory(), members=[member])
    with pytest.raises(PermissionDenied):
        members.community_invite(actor=member, community=community, user=UserFactory())


def test_community_invite_refuses_members_deactivated_people_and_archived_communities(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    with pytest.raises(ValidationFailed, match="already a member"):
        members.community_invite(actor=owner, community=community, user=member)
    gone = UserFactory(is_active=False)
    with pytest.raises(ValidationFailed, match="No one"):
        members.community_invite(actor=owner, community=community, user=gone)
    services.community_archive(actor=owner, community=community)
    with pytest.raises(ValidationFailed, match="archived"):
        members.community_invite(actor=owner, community=fresh(community), user=UserFactory())


def test_invitation_accept_refuses_other_peoples_and_deleted_communities(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner)
    sent = invitation(community, member, invited_by=owner)
    with pytest.raises(NotFound):
        members.invitation_accept(actor=UserFactory(), invitation_id=sent.pk)
    with pytest.raises(NotFound):
        members.invitation_decline(actor=UserFactory(), invitation_id=sent.pk)
    services.community_delete(actor=owner, community=community)
    with pytest.raises(NotFound):
        members.invitation_accept(actor=member, invitation_id=sent.pk)


def test_invitation_accept_is_refused_while_archived(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner)
    sent = invitation(community, member, invited_by=owner)
    services.community_archive(actor=owner, community=community)
    with pytest.raises(ValidationFailed):
        members.invitation_accept(actor=member, invitation_id=sent.pk)


def test_guests_join_by_invitation(guest: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="private")
    sent = members.community_invite(actor=owner, community=community, user=guest)
    assert selectors.community_get(viewer=guest, slug=community.slug).pk == community.pk
    members.invitation_accept(actor=guest, invitation_id=sent.pk)
    assert can_post_in(guest, fresh(community))


# --- managing members --------------------------------------------------------------------------


def test_member_remove_takes_access_away_at_once(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member], visibility="secret")
    members.member_remove(actor=owner, community=community, user=member)
    assert member.pk not in seats(community)
    assert fresh(community).member_count == 1
    with pytest.raises(NotFound):
        selectors.community_get(viewer=member, slug=community.slug)


def test_member_remove_refusals(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    with pytest.raises(PermissionDenied):
        members.member_remove(actor=member, community=community, user=owner)
    with pytest.raises(ValidationFailed, match="leave"):
        members.member_remove(actor=owner, community=community, user=owner)
    with pytest.raises(ValidationFailed, match="not a member"):
        members.member_remove(actor=owner, community=community, user=UserFactory())
    with pytest.raises(ValidationFailed, match="All company"):
        members.member_remove(actor=UserFactory(role="admin"), community=selectors.all_company(), user=member)


def test_member_remove_never_removes_the_last_admin(admin: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[UserFactory()])
    with pytest.raises(ValidationFailed, match="needs an admin"):
        members.member_remove(actor=admin, community=community, user=owner)


def test_member_promote_and_demote(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    members.member_promote(actor=owner, community=community, user=member)
    assert seats(community)[member.pk] == "admin"
    members.member_demote(actor=member, community=community, user=owner)
    assert seats(community)[owner.pk] == "member"
    with pytest.raises(ValidationFailed, match="needs an admin"):
        members.member_demote(actor=member, community=community, user=member)


def test_member_promote_and_demote_are_for_admins_only(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    with pytest.raises(PermissionDenied):
        members.member_promote(actor=member, community=community, user=member)
    with pytest.raises(PermissionDenied):
        members.member_demote(actor=member, community=community, user=owner)
