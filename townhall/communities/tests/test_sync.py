"""Memberships the directory decides: All company and department communities."""

from __future__ import annotations

import pytest

from townhall.accounts.models import User
from townhall.accounts.services import user_deactivate
from townhall.communities import members, selectors, services
from townhall.communities.models import Community, Membership
from townhall.communities.sync import department_community_for, sync_all
from townhall.core.errors import ValidationFailed
from townhall.directory.hooks import run_bulk_directory_change
from townhall.directory.models import Department, Profile
from townhall.directory.services import ProfileChanges, profile_update
from townhall.testing.communities_factories import MembershipFactory
from townhall.testing.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def seat(community: Community, user: User) -> Membership | None:
    return Membership.objects.filter(community=community, user=user).first()


def count(community: Community) -> int:
    return Community.objects.values_list("member_count", flat=True).get(pk=community.pk)


def move(user: User, department: str) -> None:
    profile_update(actor=user, person=user, changes=ProfileChanges(department=department))


def community_of(name: str) -> Community:
    return Community.objects.get(department__name=name)


# --- All company --------------------------------------------------------------------------


def test_all_company_is_created_once_and_public() -> None:
    first = selectors.all_company()
    assert selectors.all_company().pk == first.pk
    assert (first.name, first.slug, first.visibility, first.kind, first.is_all_company) == (
        "All company",
        "all-company",
        "public",
        "interest",
        True,
    )
    assert Community.objects.filter(is_all_company=True).count() == 1


def test_new_people_join_all_company() -> None:
    people = UserFactory.create_batch(3)
    company = selectors.all_company()
    for person in people:
        membership = seat(company, person)
        assert membership is not None and membership.synced
    assert count(company) == 3


def test_new_guests_do_not_join_all_company(guest: User) -> None:
    company = selectors.all_company()
    assert seat(company, guest) is None
    assert company.pk not in set(selectors.readable_community_ids(guest))


# --- departments on profile changes ----------------------------------------------------------------


def test_department_change_seats_the_person_in_its_community(member: User) -> None:
    move(member, "Finance")
    finance = community_of("Finance")
    assert (finance.kind, finance.visibility, finance.name) == ("department", "public", "Finance")
    membership = seat(finance, member)
    assert membership is not None and membership.synced
    assert count(finance) == 1


def test_department_move_takes_the_synced_seat_along(member: User) -> None:
    colleague = UserFactory()
    move(member, "Finance")
    move(colleague, "Finance")
    move(member, "Legal")
    finance, legal = community_of("Finance"), community_of("Legal")
    assert seat(finance, member) is None and seat(legal, member) is not None
    assert (count(finance), count(legal)) == (1, 1)
    move(member, "")
    assert seat(legal, member) is None and count(legal) == 0


def test_department_move_keeps_a_seat_taken_by_hand(member: User) -> None:
    move(UserFactory(), "Finance")
    finance = community_of("Finance")
    services.community_join(actor=member, community=finance)
    move(member, "Finance")
    move(member, "Legal")
    assert seat(finance, member) is not None  # joined before the directory put them there


def test_synced_department_seat_cannot_be_left_but_a_manual_one_can(member: User) -> None:
    other = UserFactory()
    move(member, "Finance")
    finance = community_of("Finance")
    with pytest.raises(ValidationFailed, match="department"):
        services.community_leave(actor=member, community=finance)
    services.community_join(actor=other, community=finance)
    services.community_leave(actor=other, community=finance)
    assert seat(finance, other) is None


def test_synced_department_seat_cannot_be_removed(member: User, admin: User) -> None:
    move(member, "Finance")
    with pytest.raises(ValidationFailed, match="directory"):
        members.member_remove(actor=admin, community=community_of("Finance"), user=member)


def test_department_community_cannot_be_archived_or_deleted(admin: User) -> None:
    community = department_community_for(DepartmentFactory(name="Ops"))
    with pytest.raises(ValidationFailed):
        services.community_archive(actor=admin, community=community)
    with pytest.raises(ValidationFailed):
        services.community_delete(actor=admin, community=community)
    with pytest.raises(ValidationFailed):
        services.community_update(actor=admin, community=community, visibility="private")


def test_department_community_for_is_idempotent_and_slugs_do_not_clash(member: User) -> None:
    services.community_create(actor=member, name="Finance")
    department = DepartmentFactory(name="Finance")
    first = department_community_for(department)
    assert department_community_for(department).pk == first.pk
    assert first.slug == "finance-2"


def test_guests_are_not_placed_in_department_communities(guest: User) -> None:
    move(guest, "Finance")
    assert Membership.objects.filter(user=guest).count() == 0


# --- bulk sync ---------------------------------------------------------------------------------------


def test_sync_all_places_everyone_after_bulk_writes_and_is_idempotent() -> None:
    people = UserFactory.create_batch(4)
    sales, ops = DepartmentFactory(name="Sales"), DepartmentFactory(name="Ops")
    # A bulk writer (HR import) sets departments without the per-person hooks.
    Profile.objects.filter(user__in=people[:3]).update(department=sales)
    Profile.objects.filter(user=people[3]).update(department=ops)
    Membership.objects.filter(community=selectors.all_company(), user=people[0]).delete()
    result = sync_all()
    assert result["added"] == 5
    sales_c, ops_c = community_of("Sales"), community_of("Ops")
    assert set(Membership.objects.filter(community=sales_c).values_list("user_id", flat=True)) == {
        p.pk for p in people[:3]
    }
    assert (count(sales_c), count(ops_c), count(selectors.all_company())) == (3, 1, 4)
    assert sync_all() == {"added": 0, "removed": 0}


def test_sync_all_removes_synced_seats_that_no_longer_match() -> None:
    stays, moves, manual = UserFactory.create_batch(3)
    move(stays, "Sales")
    move(moves, "Sales")
    sales = community_of("Sales")
    MembershipFactory(community=sales, user=manual)  # joined by hand, not synced
    Profile.objects.filter(user=moves).update(department=DepartmentFactory(name="Ops"))
    result = sync_all()
    assert result == {"added": 1, "removed": 1}
    assert set(Membership.objects.filter(community=sales).values_list("user_id", flat=True)) == {stays.pk, manual.pk}
    assert count(sales) == 2
    assert seat(community_of("Ops"), moves) is not None


def test_sync_all_keeps_deactivated_people_and_skips_guests(admin: User) -> None:
    leaver, guest = UserFactory(), UserFactory(role="guest")
    move(leaver, "Sales")
    user_deactivate(actor=admin, user=leaver)
    Profile.objects.filter(user=guest).update(department=Department.objects.get(name="Sales"))
    sync_all()
    sales = community_of("Sales")
    assert seat(sales, leaver) is not None
    assert seat(sales, guest) is None
    assert seat(selectors.all_company(), guest) is None
    assert sales.pk not in set(selectors.readable_community_ids(User.objects.get(pk=leaver.pk)))


def test_sync_all_adds_people_who_stopped_being_guests(guest: User) -> None:
    User.objects.filter(pk=guest.pk).update(role="member")
    sync_all()
    assert seat(selectors.all_company(), guest) is not None


def test_bulk_directory_change_hook_runs_the_sync() -> None:
    person = UserFactory()
    Profile.objects.filter(user=person).update(department=DepartmentFactory(name="Legal"))
    run_bulk_directory_change()
    assert seat(community_of("Legal"), person) is not None
