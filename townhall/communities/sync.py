"""Memberships the directory decides: everyone in All company, everyone in their
department's community.

Seats written here are `synced`; only synced seats are ever removed by a sync, so
someone who joined a department community by hand stays when they move out.
The hooks run inside the transaction that created the user or changed the
department (registered in CommunitiesConfig.ready).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from townhall.accounts.models import Role, User
from townhall.communities.models import Community, Kind, Membership, Visibility
from townhall.communities.selectors import all_company
from townhall.communities.services import recount_members, unique_slug
from townhall.directory.models import Department, Profile


def department_community_for(department: Department) -> Community:
    """The community of `department` (public, kind department), created on first
    use. Safe under concurrent first calls."""
    existing = Community.objects.filter(department=department).first()
    if existing is not None:
        return existing
    name = department.name[:100]
    try:
        with transaction.atomic():
            return Community.objects.create(
                name=name,
                slug=unique_slug(name),
                description=f"Everyone in {name}. Membership follows the directory.",
                kind=Kind.DEPARTMENT,
                visibility=Visibility.PUBLIC,
                department=department,
            )
    except IntegrityError:
        found = Community.objects.filter(department=department).first()
        if found is None:
            raise
        return found


def _belongs_in_directory_communities(user: User) -> bool:
    return user.is_active and user.role != Role.GUEST


def user_created(user: User) -> None:
    """accounts hook: a new non-guest joins All company and their department's
    community (a department is rarely set this early; the directory hooks cover
    later changes)."""
    if not _belongs_in_directory_communities(user):
        return
    touched = {_seat(all_company(), user.pk)}
    department_id = Profile.objects.filter(user_id=user.pk).values_list("department_id", flat=True).first()
    if department_id:
        touched.add(_seat(department_community_for(Department(pk=department_id)), user.pk))
    recount_members(touched)


def _seat(community: Community, user_id: int) -> int:
    Membership.objects.get_or_create(community=community, user_id=user_id, defaults={"synced": True})
    return community.pk


def department_changed(user_id: int, old_department_id: int | None, new_department_id: int | None) -> None:
    """directory hook: move the person's synced seat from the old department's
    community to the new one's (creating it on first use)."""
    touched: set[int] = set()
    if old_department_id:
        old = Community.objects.filter(department_id=old_department_id).values_list("id", flat=True).first()
        if old is not None:
            Membership.objects.filter(community_id=old, user_id=user_id, synced=True).delete()
            touched.add(old)
    if new_department_id:
        user = User.objects.filter(pk=user_id).first()
        if user is not None and _belongs_in_directory_communities(user):
            department = Department.objects.get(pk=new_department_id)
            touched.add(_seat(department_community_for(department), user_id))
    recount_members(touched)


def sync_all() -> dict[str, int]:
    """Bring every directory-driven seat in line, in bulk and idempotently:
    every active non-guest in All company; everyone's department community seat
    present (active non-guests) and synced seats that no longer match a person's
    department removed. Creates missing department communities. Deactivated
    people keep their seats. Returns counts of seats added and removed."""
    with transaction.atomic():
        company = all_company()
        people = list(User.objects.filter(is_active=True).exclude(role=Role.GUEST).values_list("id", flat=True))
        seated = set(Membership.objects.filter(community=company).values_list("user_id", flat=True))
        added = [Membership(community=company, user_id=uid, synced=True) for uid in people if uid not in seated]
        touched = {company.pk} if added else set()

        eligible = set(people)
        placements = list(Profile.objects.filter(department__isnull=False).values_list("user_id", "department_id"))
        by_department = dict(Community.objects.filter(department__isnull=False).values_list("department_id", "id"))
        needed = {dep for uid, dep in placements if uid in eligible and dep not in by_department}
        for department in Department.objects.filter(pk__in=needed):
            by_department[department.pk] = department_community_for(department).pk
        wanted = {(by_department[dep], uid) for uid, dep in placements if dep in by_department}

        department_communities = set(by_department.values())
        existing = set(
            Membership.objects.filter(community_id__in=department_communities).values_list("community_id", "user_id")
        )
        for community_id, uid in wanted:
            if uid in eligible and (community_id, uid) not in existing:
                added.append(Membership(community_id=community_id, user_id=uid, synced=True))
                touched.add(community_id)
        Membership.objects.bulk_create(added, ignore_conflicts=True, batch_size=1000)

        stale = [
            (community_id, uid)
            for community_id, uid in Membership.objects.filter(
                community_id__in=department_communities, synced=True
            ).values_list("community_id", "user_id")
            if (community_id, uid) not in wanted
        ]
        removed = 0
        for community_id in {c for c, _ in stale}:
            users = [uid for c, uid in stale if c == community_id]
            for start in range(0, len(users), 500):
                removed += Membership.objects.filter(
                    community_id=community_id, user_id__in=users[start : start + 500], synced=True
                ).delete()[0]
            touched.add(community_id)
        recount_members(touched)
    return {"added": len(added), "removed": removed}


def run_bulk_sync() -> None:
    """directory bulk hook (HR import, demo)."""
    sync_all()
