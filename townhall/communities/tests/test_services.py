"""Every community service: what it does, and what it refuses."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from townhall.accounts.models import User
from townhall.communities import selectors, services
from townhall.communities.models import Community, CommunityInvitation, JoinRequest, Membership
from townhall.communities.permissions import can_post_in, can_read_community
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.testing.communities_factories import CommunityFactory, MembershipFactory, invitation, join_request
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


# --- community_create -----------------------------------------------------------------


def test_community_create_makes_the_creator_admin_and_counts_them(member: User) -> None:
    community = services.community_create(
        actor=member, name="  Design   guild ", description="Pixels.", kind="team", visibility="private"
    )
    assert (community.name, community.slug, community.kind, community.visibility) == (
        "Design guild",
        "design-guild",
        "team",
        "private",
    )
    assert seats(community) == {member.pk: "admin"}
    assert fresh(community).member_count == 1
    assert community.created_by_id == member.pk


def test_community_create_gives_unique_slugs_with_suffixes(member: User) -> None:
    first = services.community_create(actor=member, name="Runners")
    second = services.community_create(actor=member, name="runners!")
    third = services.community_create(actor=member, name="Runners")
    assert [first.slug, second.slug, third.slug] == ["runners", "runners-2", "runners-3"]


def test_community_create_never_takes_reserved_or_deleted_slugs(member: User) -> None:
    selectors.all_company()
    assert services.community_create(actor=member, name="All company").slug == "all-company-2"
    assert services.community_create(actor=member, name="Invitations").slug == "invitations-2"
    gone = services.community_create(actor=member, name="Old club")
    services.community_delete(actor=member, community=gone)
    assert services.community_create(actor=member, name="Old club").slug == "old-club-2"


def test_community_create_falls_back_to_a_generic_slug_for_non_latin_names(member: User) -> None:
    assert services.community_create(actor=member, name="日本語").slug == "community"


def test_community_create_reencodes_the_cover(member: User) -> None:
    community = services.community_create(actor=member, name="With cover", cover=png())
    assert community.cover.name.endswith(".webp")
    with community.cover.open("rb") as handle:
        assert Image.open(handle).format == "WEBP"


def test_community_create_refuses_a_bad_cover_and_writes_nothing(member: User) -> None:
    before = Community.objects.count()
    bad = SimpleUploadedFile("cover.png", b"not an image", content_type="image/png")
    with pytest.raises(ValidationFailed) as info:
        services.community_create(actor=member, name="Broken", cover=bad)
    assert "cover" in info.value.fields
    assert Community.objects.count() == before


def test_community_create_is_refused_to_guests(guest: User) -> None:
    with pytest.raises(PermissionDenied):
        services.community_create(actor=guest, name="Guests only")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "description": "x" * 4001}, "description"),
        ({"name": "ok", "kind": "department"}, "kind"),
        ({"name": "ok", "kind": "cult"}, "kind"),
        ({"name": "ok", "visibility": "hidden"}, "visibility"),
    ],
)
def test_community_create_validates_its_fields(member: User, fields: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        services.community_create(actor=member, **fields)
    assert field in info.value.fields


# --- community_update -------------------------------------------------------------------


def test_community_update_changes_what_is_given_and_keeps_the_slug(member: User) -> None:
    community = CommunityFactory(admin=member, name="Before", slug="before")
    services.community_update(actor=member, community=community, name="After", kind="project", visibility="secret")
    community = fresh(community)
    assert (community.name, community.slug, community.kind, community.visibility) == (
        "After",
        "before",
        "project",
        "secret",
    )


def test_community_update_replaces_the_cover_and_deletes_the_old_file(
    member: User, django_capture_on_commit_callbacks
) -> None:
    community = services.community_create(actor=member, name="Covered", cover=png())
    old = community.cover.name
    storage = community.cover.storage
    with django_capture_on_commit_callbacks(execute=True):
        services.community_update(actor=member, community=community, cover=png((400, 200)))
    assert fresh(community).cover.name != old
    assert not storage.exists(old)
    with django_capture_on_commit_callbacks(execute=True):
        services.community_update(actor=member, community=community, remove_cover=True)
    assert not fresh(community).cover


def test_community_update_is_refused_to_members_and_hidden_from_outsiders(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member], visibility="secret")
    with pytest.raises(PermissionDenied):
        services.community_update(actor=member, community=community, name="Mine now")
    with pytest.raises(NotFound):
        services.community_update(actor=UserFactory(role="admin"), community=community, name="Mine now")


def test_community_update_lets_site_moderators_edit_visible_communities() -> None:
    community = CommunityFactory(admin=UserFactory(), visibility="private")
    for role in ("admin", "ic_moderator"):
        services.community_update(actor=UserFactory(role=role), community=community, description=f"by {role}")
    assert fresh(community).description == "by ic_moderator"


def test_community_update_keeps_all_company_and_departments_public(admin: User) -> None:
    company = selectors.all_company()
    with pytest.raises(ValidationFailed):
        services.community_update(actor=admin, community=company, visibility="secret")
    with pytest.raises(ValidationFailed):
        services.community_update(actor=admin, community=company, kind="team")
    services.community_update(actor=admin, community=company, name="Everyone at Acme")
    assert fresh(company).name == "Everyone at Acme"


# --- joining -------------------------------------------------------------------------------


def test_community_join_public_seats_at_once(member: User) -> None:
    community = CommunityFactory(admin=UserFactory())
    result = services.community_join(actor=member, community=community)
    assert isinstance(result, Membership)
    assert fresh(community).member_count == 2
    # Joining twice changes nothing.
    assert services.community_join(actor=member, community=community).pk == result.pk
    assert fresh(community).member_count == 2


def test_community_join_private_files_one_request(member: User) -> None:
    community = CommunityFactory(admin=UserFactory(), visibility="private")
    first = services.community_join(actor=member, community=community, message="I design things")
    assert isinstance(first, JoinRequest)
    assert first.message == "I design things"
    again = services.community_join(actor=member, community=community)
    assert again.pk == first.pk
    assert not Membership.objects.filter(community=community, user=member).exists()
    assert fresh(community).member_count == 1


def test_community_join_secret_is_not_found_unless_invited(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="secret")
    with pytest.raises(NotFound):
        services.community_join(actor=member, community=community)
    invitation(community, member, invited_by=owner)
    assert isinstance(services.community_join(actor=member, community=community), Membership)
    assert not CommunityInvitation.objects.filter(community=community).exists()
    assert can_read_community(member, fresh(community))


def test_community_join_private_with_invitation_seats_and_closes_the_request(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, visibility="private")
    pending = join_request(community, member)
    invitation(community, member, invited_by=owner)
    assert isinstance(services.community_join(actor=member, community=community), Membership)
    pending.refresh_from_db()
    assert pending.status == "approved"


def test_community_join_is_refused_while_archived(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner)
    services.community_archive(actor=owner, community=community)
    with pytest.raises(ValidationFailed, match="archived"):
        services.community_join(actor=member, community=fresh(community))


def test_community_join_hides_public_communities_from_guests(guest: User) -> None:
    community = CommunityFactory()
    with pytest.raises(NotFound):
        services.community_join(actor=guest, community=community)


def test_community_join_message_is_bounded(member: User) -> None:
    community = CommunityFactory(visibility="private")
    with pytest.raises(ValidationFailed):
        services.community_join(actor=member, community=community, message="x" * 501)


# --- leaving ---------------------------------------------------------------------------------


def test_community_leave_ends_membership_and_reading_at_once(member: User) -> None:
    community = CommunityFactory(admin=UserFactory(), members=[member], visibility="private")
    services.community_leave(actor=member, community=community)
    assert member.pk not in seats(community)
    assert fresh(community).member_count == 1
    assert community.pk not in set(selectors.readable_community_ids(member))


def test_community_leave_refuses_the_last_admin_while_others_remain(member: User) -> None:
    community = CommunityFactory(admin=member, members=[UserFactory()])
    with pytest.raises(ValidationFailed, match="needs an admin"):
        services.community_leave(actor=member, community=community)


def test_community_leave_lets_the_last_admin_go_when_alone(member: User) -> None:
    community = CommunityFactory(admin=member)
    services.community_leave(actor=member, community=community)
    assert fresh(community).member_count == 0


def test_community_leave_counts_only_active_admins(member: User) -> None:
    other_admin = UserFactory()
    community = CommunityFactory(admin=member, members=[UserFactory()])
    MembershipFactory(community=community, user=other_admin, role="admin")
    User.objects.filter(pk=other_admin.pk).update(is_active=False)
    with pytest.raises(ValidationFailed):
        services.community_leave(actor=member, community=community)


def test_community_leave_refuses_all_company(member: User) -> None:
    with pytest.raises(ValidationFailed, match="All company"):
        services.community_leave(actor=member, community=selectors.all_company())


def test_community_leave_refuses_non_members(member: User) -> None:
    with pytest.raises(ValidationFailed):
        services.community_leave(actor=member, community=CommunityFactory())


# --- muting ------------------------------------------------------------------------------------


def test_community_mute_hides_from_the_home_feed_ids_only(member: User) -> None:
    community = CommunityFactory(members=[member])
    services.community_mute(actor=member, community=community, muted=True)
    assert community.pk in set(selectors.member_community_ids(member))
    assert community.pk not in set(selectors.member_community_ids(member, include_muted=False))
    services.community_mute(actor=member, community=community, muted=False)
    assert community.pk in set(selectors.member_community_ids(member, include_muted=False))


def test_community_mute_is_for_members_only(member: User) -> None:
    with pytest.raises(ValidationFailed):
        services.community_mute(actor=member, community=CommunityFactory(), muted=True)
    with pytest.raises(NotFound):
        services.community_mute(actor=member, community=CommunityFactory(visibility="secret"), muted=True)


# --- archive and delete --------------------------------------------------------------------------


def test_community_archive_makes_it_read_only_and_unarchive_reopens(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    services.community_archive(actor=owner, community=community)
    archived = fresh(community)
    assert archived.is_archived
    assert can_read_community(member, archived) and not can_post_in(member, archived)
    services.community_unarchive(actor=owner, community=archived)
    assert can_post_in(member, fresh(community))


def test_community_archive_and_delete_are_for_admins(member: User) -> None:
    community = CommunityFactory(admin=UserFactory(), members=[member])
    with pytest.raises(PermissionDenied):
        services.community_archive(actor=member, community=community)
    with pytest.raises(PermissionDenied):
        services.community_unarchive(actor=member, community=community)
    with pytest.raises(PermissionDenied):
        services.community_delete(actor=member, community=community)


def test_all_company_cannot_be_archived_or_deleted(admin: User) -> None:
    company = selectors.all_company()
    with pytest.raises(ValidationFailed):
        services.community_archive(actor=admin, community=company)
    with pytest.raises(ValidationFailed):
        services.community_delete(actor=admin, community=company)


def test_community_delete_hides_it_everywhere_at_once(member: User) -> None:
    owner = UserFactory()
    community = CommunityFactory(admin=owner, members=[member])
    invitee = UserFactory()
    invitation(community, invitee, invited_by=owner)
    services.community_delete(actor=owner, community=community)
    for viewer in (owner, member, invitee, UserFactory(role="admin")):
        with pytest.raises(NotFound):
            selectors.community_get(viewer=viewer, slug=community.slug)
        assert community.pk not in set(selectors.readable_community_ids(viewer))
        assert community.pk not in set(selectors.member_community_ids(viewer))
        assert community.pk not in {c.pk for c in selectors.communities_list(viewer=viewer, limit=100).items}
    assert selectors.my_invitations(viewer=invitee) == []
    with pytest.raises(NotFound):
        services.community_join(actor=member, community=community)
