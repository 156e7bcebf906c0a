"""Reads of the people directory, always for a viewer."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from townhall.accounts.models import User
from townhall.accounts.permissions import AnyUser, can_administer, can_browse_directory, is_signed_in
from townhall.core.errors import NotFound
from townhall.core.pagination import Page, paginate
from townhall.directory.models import Department, Location, Profile, Tag, Team
from townhall.directory.permissions import can_view_person
from townhall.directory.text import fold

MAX_CHAIN = 50


def people_visible_to(viewer: AnyUser) -> QuerySet[Profile]:
    """Profiles the viewer may see; the one query every directory read starts from."""
    profiles = Profile.objects.select_related("user", "department", "team", "location")
    if not is_signed_in(viewer):
        return profiles.none()
    if not can_browse_directory(viewer):
        return profiles.filter(user_id=viewer.pk)
    if can_administer(viewer):
        return profiles
    return profiles.filter(user__is_active=True)


@dataclass(frozen=True)
class PeopleFilters:
    query: str = ""
    department_id: int | None = None
    location_id: int | None = None
    team_id: int | None = None


def people_search(*, viewer: AnyUser, filters: PeopleFilters, cursor: str | None = None, limit: int = 24) -> Page[Profile]:
    """People matching every word of the query (prefix or infix, accent- and
    case-insensitive) against name, title, department, team and skills, plus the
    exact filters, ordered by name. Two queries: the page and its skills."""
    profiles = people_visible_to(viewer)
    for word in fold(filters.query).split()[:8]:
        profiles = profiles.filter(search_text__contains=word)
    if filters.department_id:
        profiles = profiles.filter(department_id=filters.department_id)
    if filters.location_id:
        profiles = profiles.filter(location_id=filters.location_id)
    if filters.team_id:
        profiles = profiles.filter(team_id=filters.team_id)
    profiles = profiles.prefetch_related(Prefetch("skills", queryset=Tag.objects.order_by("name")))
    return paginate(profiles, order=("sort_name", "user_id"), cursor=cursor, limit=limit)


def person_get(*, viewer: AnyUser, user_id: int) -> Profile:
    """One person's profile with skills, interests and manager; NotFound when the
    viewer may not see them, exactly as for an id that never existed."""
    profile = (
        Profile.objects.select_related("user", "department", "team", "location", "manager", "manager__profile")
        .prefetch_related("skills", "interests")
        .filter(user_id=user_id)
        .first()
    )
    if profile is None or not can_view_person(viewer, profile.user):
        raise NotFound()
    return profile


@dataclass(frozen=True)
class OrgChart:
    person: Profile
    chain: list[Profile]  # top of the hierarchy first, direct manager last
    reports: list[Profile]


def org_chart(*, viewer: AnyUser, user_id: int) -> OrgChart:
    """Manager chain (top first) and direct reports of a person the viewer can see.

    The chain is walked one level per query, stops at a cycle or MAX_CHAIN, and
    leaves out people the viewer may not see (deactivated managers, for members)."""
    person = person_get(viewer=viewer, user_id=user_id)
    visible = people_visible_to(viewer)
    chain: list[Profile] = []
    seen = {person.user_id}
    manager_id = person.manager_id
    while manager_id and manager_id not in seen and len(chain) < MAX_CHAIN:
        seen.add(manager_id)
        manager = visible.filter(user_id=manager_id).first()
        if manager is None:
            break
        chain.append(manager)
        manager_id = manager.manager_id
    chain.reverse()
    reports = list(visible.filter(manager_id=person.user_id).order_by("sort_name", "user_id")[:500])
    return OrgChart(person=person, chain=chain, reports=reports)


def filter_choices() -> dict[str, list[Department] | list[Location] | list[Team]]:
    return {
        "departments": list(Department.objects.order_by("name")),
        "locations": list(Location.objects.order_by("name")),
        "teams": list(Team.objects.select_related("department").order_by("name")),
    }


def user_for_viewer(*, viewer: AnyUser, user_id: int) -> User:
    return person_get(viewer=viewer, user_id=user_id).user


def direct_report_count(*, user_id: int) -> int:
    return Profile.objects.filter(manager_id=user_id, user__is_active=True).count()



def newcomers(*, viewer: AnyUser, limit: int = 8) -> list[Profile]:
    """The most recent starters the viewer can see, newest first."""
    return list(
        people_visible_to(viewer).filter(user__is_active=True, start_date__isnull=False).order_by("-start_date", "-user_id")[:limit]
    )


PROFILE_FIELDS = ("title", "department_id", "location_id", "manager_id", "bio", "avatar")


def profile_missing(profile: Profile) -> list[str]:
    """Names of the profile fields still empty, for the "complete your profile" nudge."""
    labels = {"title": "job title", "department_id": "department", "location_id": "location",
              "manager_id": "manager", "bio": "bio", "avatar": "photo"}
    missing = [labels[name] for name in PROFILE_FIELDS if not getattr(profile, name)]
    return missing
