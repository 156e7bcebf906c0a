"""Reads of the people directory, always for a viewer."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from townhall.accounts.models import User
from townhall.accounts.permissions import AnyUser, can_administer, can_browse_directory, is_signed_in
from townhall.core.errors import NotFound, PermissionDenied
from townhall.core.pagination import Page, paginate
from townhall.directory.models import Department, Location, Profile, Tag, Team
from townhall.directory.permissions import can_edit_person, can_view_person
from townhall.directory.text import fold

MAX_CHAIN = 50
MAX_REPORTS = 500
MAX_QUERY_WORDS = 8


def people_visible_to(viewer: AnyUser) -> QuerySet[Profile]:
    """Profiles the viewer may see; the one query every directory read starts from."""
    profiles = Profile.objects.select_related("user", "department", "team", "location")
    if not is_signed_in(viewer):
        return profiles.none()
    if not can_browse_directory(viewer):
        return profiles.filter(user_id=viewer.pk or 0)  # signed in, so pk is set
    if can_administer(viewer):
        return profiles
    return profiles.filter(user__is_active=True)


@dataclass(frozen=True)
class PeopleFilters:
    query: str = ""
    department_id: int | None = None
    location_id: int | None = None
    team_id: int | None = None


def people_search(
    *, viewer: AnyUser, filters: PeopleFilters, cursor: str | None = None, limit: int = 24
) -> Page[Profile]:
    """People matching every word of the query (prefix or infix, accent- and
    case-insensitive) against name, title, department, team and skills, plus the
    exact filters, ordered by name. Two queries: the page and its skills, whatever
    the page size. Raises ValidationFailed for a malformed cursor."""
    profiles = people_visible_to(viewer)
    for word in fold(filters.query).split()[:MAX_QUERY_WORDS]:
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
    viewer may not see them, exactly as for an id that never existed. Three queries."""
    profile = (
        Profile.objects.select_related("user", "department", "team", "location", "manager", "manager__profile")
        .prefetch_related(
            Prefetch("skills", queryset=Tag.objects.order_by("name")),
            Prefetch("interests", queryset=Tag.objects.order_by("name")),
        )
        .filter(user_id=user_id)
        .first()
    )
    if profile is None or not can_view_person(viewer, profile.user):
        raise NotFound()
    return profile


def person_get_for_edit(*, viewer: AnyUser, user_id: int) -> Profile:
    """The profile `viewer` is about to edit. NotFound when they may not see the
    person (hidden answers like absent), PermissionDenied when they may see but
    not edit (only the person themself or an admin may)."""
    profile = person_get(viewer=viewer, user_id=user_id)
    if not can_edit_person(viewer, profile.user):
        raise PermissionDenied("You can only edit your own profile.")
    return profile


@dataclass(frozen=True)
class OrgChart:
    person: Profile
    chain: list[Profile]  # top of the hierarchy first, direct manager last
    reports: list[Profile]
    manager: Profile | None  # the direct manager, when the viewer may see them


def org_chart(*, viewer: AnyUser, user_id: int) -> OrgChart:
    """Manager chain (top first) and direct reports of a person the viewer can see.

    The chain is walked one level per query and stops at a cycle or MAX_CHAIN.
    People the viewer may not see (deactivated managers, for members) are left out
    of it, but the walk goes on past them so the rest of the line still shows.
    NotFound when the person is hidden from the viewer."""
    person = person_get(viewer=viewer, user_id=user_id)
    walk = Profile.objects.select_related("user", "department", "team", "location")
    chain: list[Profile] = []
    seen = {person.user_id}
    manager: Profile | None = None
    manager_id = person.manager_id
    steps = 0
    while manager_id and manager_id not in seen and steps < MAX_CHAIN:
        steps += 1
        seen.add(manager_id)
        above = walk.filter(user_id=manager_id).first()
        if above is None:
            break
        if can_view_person(viewer, above.user):
            chain.append(above)
            if manager_id == person.manager_id:
                manager = above
        manager_id = above.manager_id
    chain.reverse()
    reports = list(
        people_visible_to(viewer).filter(manager_id=person.user_id).order_by("sort_name", "user_id")[:MAX_REPORTS]
    )
    return OrgChart(person=person, chain=chain, reports=reports, manager=manager)


def filter_choices(*, viewer: AnyUser | None = None) -> dict[str, list[Department] | list[Location] | list[Team]]:
    """Departments, locations and teams for the directory's filters and the profile
    form's suggestions, by name. Three queries. Given a viewer who may not browse
    the directory (a guest), everything is empty: reference data is not theirs."""
    if viewer is not None and not can_browse_directory(viewer):
        return {"departments": [], "locations": [], "teams": []}
    return {
        "departments": list(Department.objects.order_by("name")),
        "locations": list(Location.objects.order_by("name")),
        "teams": list(Team.objects.select_related("department").order_by("name", "department__name")),
    }


def people_for_picker(*, viewer: AnyUser, limit: int = 1000) -> list[tuple[str, str]]:
    """(email, display name) of active people the viewer may see, for choosing a
    manager. One query; capped so a large organisation does not bloat the page."""
    rows = (
        people_visible_to(viewer)
        .filter(user__is_active=True)
        .order_by("sort_name", "user_id")
        .values_list("user__email", "user__preferred_name", "user__full_name")[:limit]
    )
    return [(email, preferred or full or email) for email, preferred, full in rows]


def user_for_viewer(*, viewer: AnyUser, user_id: int) -> User:
    return person_get(viewer=viewer, user_id=user_id).user


def direct_report_count(*, user_id: int) -> int:
    return Profile.objects.filter(manager_id=user_id, user__is_active=True).count()


def newcomers(*, viewer: AnyUser, limit: int = 8, within_days: int = 90, today: date | None = None) -> list[Profile]:
    """Active people the viewer can see who started in the last `within_days` days
    (not in the future), newest first. One query."""
    today = today or timezone.localdate()
    return list(
        people_visible_to(viewer)
        .filter(user__is_active=True, start_date__lte=today, start_date__gte=today - timedelta(days=within_days))
        .order_by("-start_date", "-user_id")[:limit]
    )


PROFILE_FIELDS = ("title", "department_id", "location_id", "manager_id", "bio", "avatar")


def profile_missing(profile: Profile) -> list[str]:
    """Names of the profile fields still empty, for the "complete your profile" nudge."""
    labels = {
        "title": "job title",
        "department_id": "department",
        "location_id": "location",
        "manager_id": "manager",
        "bio": "bio",
        "avatar": "photo",
    }
    return [labels[name] for name in PROFILE_FIELDS if not getattr(profile, name)]


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA time zone name this machine knows, sorted. Read from disk once."""
    return tuple(sorted(zoneinfo.available_timezones()))


@dataclass(frozen=True)
class PersonClock:
    timezone: str
    local_time: time  # naive: already in the person's zone
    weekday: str
    utc_offset: str  # "UTC+02:00"
    working_now: bool | None  # None when their hours are unknown
    same_zone_as_viewer: bool


def person_clock(*, profile: Profile, now: datetime | None = None, viewer_zone: str | None = None) -> PersonClock:
    """What time it is for `profile` now and whether that is inside their working
    hours (hours that end before they start run past midnight). A zone name that is
    no longer valid falls back to UTC instead of failing the page."""
    now = now or timezone.now()
    name = profile.timezone if profile.timezone in timezone_names() else "UTC"
    local = now.astimezone(zoneinfo.ZoneInfo(name))
    offset = local.utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    utc_offset = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    working_now: bool | None = None
    start, end = profile.working_hours_start, profile.working_hours_end
    if start is not None and end is not None and start != end:
        current = local.time().replace(tzinfo=None)
        working_now = start <= current < end if start < end else (current >= start or current < end)
    return PersonClock(
        timezone=name,
        local_time=local.time().replace(second=0, microsecond=0, tzinfo=None),
        weekday=local.strftime("%A"),
        utc_offset=utc_offset,
        working_now=working_now,
        same_zone_as_viewer=viewer_zone == name,
    )
