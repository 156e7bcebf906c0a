from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from townhall.accounts.models import User
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.directory.models import Profile, Team
from townhall.directory.selectors import (
    PeopleFilters,
    filter_choices,
    newcomers,
    org_chart,
    people_for_picker,
    people_search,
    person_clock,
    person_get,
    person_get_for_edit,
    profile_missing,
)
from townhall.directory.services import ProfileChanges, profile_update
from townhall.testing.factories import UserFactory, profile_of


def person(full_name: str, *, role: str = "member", active: bool = True, **changes: Any) -> User:
    """A user whose profile was filled in through the real service."""
    user = UserFactory(full_name=full_name, role=role)
    if changes:
        profile_update(actor=user, person=user, changes=ProfileChanges(**changes))
    if not active:
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.refresh_from_db()
    return user


def names(viewer: User, **filters: Any) -> list[str]:
    page = people_search(viewer=viewer, filters=PeopleFilters(**filters), limit=100)
    return [p.user.full_name for p in page.items]


@pytest.mark.django_db
def test_people_search_matches_partial_accented_name(member: User) -> None:
    person("José Álvarez")
    person("Joanna Smith")

    assert names(member, query="jos") == ["José Álvarez"]
    assert names(member, query="ALVA") == ["José Álvarez"]
    assert names(member, query="álv jos") == ["José Álvarez"]


@pytest.mark.django_db
def test_people_search_matches_title_word(member: User) -> None:
    person("Ada Lovelace", title="Principal Data Engineer")
    person("Grace Hopper", title="Head of Sales")

    assert names(member, query="engineer") == ["Ada Lovelace"]


@pytest.mark.django_db
def test_people_search_matches_skill(member: User) -> None:
    person("Ada Lovelace", skills=["Kubernetes", "Go"])
    person("Grace Hopper", skills=["COBOL", "Kubernetes operators"])
    person("Alan Turing", skills=["Cryptography"], interests=["Kubernetes"])

    assert names(member, query="kubern") == ["Ada Lovelace", "Grace Hopper"]
    assert names(member, query="cobol") == ["Grace Hopper"]


@pytest.mark.django_db
def test_people_search_requires_every_word(member: User) -> None:
    person("Ada Lovelace", title="Engineer")
    person("Ada Byron", title="Designer")

    assert names(member, query="ada engineer") == ["Ada Lovelace"]


@pytest.mark.django_db
def test_people_search_filters_by_department_location_and_team(member: User) -> None:
    ada = person("Ada Lovelace", department="Engineering", team="Platform", location="Helsinki")
    person("Grace Hopper", department="Engineering", team="Apps", location="Espoo")
    person("Alan Turing", department="Research", location="Helsinki")
    ada_profile = profile_of(ada)
    helsinki, engineering = ada_profile.location_id, ada_profile.department_id

    assert names(member, department_id=engineering) == ["Ada Lovelace", "Grace Hopper"]
    assert names(member, location_id=helsinki) == ["Ada Lovelace", "Alan Turing"]
    assert names(member, team_id=ada_profile.team_id) == ["Ada Lovelace"]
    assert names(member, department_id=engineering, location_id=helsinki) == ["Ada Lovelace"]


@pytest.mark.django_db
def test_people_search_cursor_pages_have_no_repeats_and_no_gaps(member: User) -> None:
    # Same display names on purpose: the id breaks the tie.
    for index in range(11):
        person(f"Sam Same{index % 3}")
    everyone = [p.user_id for p in people_search(viewer=member, filters=PeopleFilters(), limit=100).items]

    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = people_search(viewer=member, filters=PeopleFilters(), cursor=cursor, limit=4)
        seen.extend(p.user_id for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert len(everyone) == 12
    assert seen == everyone


@pytest.mark.django_db
def test_people_search_rejects_malformed_cursor(member: User) -> None:
    with pytest.raises(ValidationFailed):
        people_search(viewer=member, filters=PeopleFilters(), cursor="not-a-cursor!!")


@pytest.mark.django_db
def test_people_search_hides_deactivated_from_members_but_not_admins(member: User, admin: User) -> None:
    person("Gone Person", active=False)

    assert "Gone Person" not in names(member, query="gone")
    assert names(admin, query="gone") == ["Gone Person"]


@pytest.mark.django_db
def test_people_search_guest_sees_only_self(guest: User) -> None:
    person("Ada Lovelace")

    assert names(guest) == [guest.full_name]
    assert names(guest, query="ada") == []


@pytest.mark.django_db
def test_person_get_hidden_person_raises_like_missing(member: User) -> None:
    gone = person("Gone Person", active=False)

    with pytest.raises(NotFound) as hidden:
        person_get(viewer=member, user_id=gone.pk)
    with pytest.raises(NotFound) as missing:
        person_get(viewer=member, user_id=999_999)

    assert hidden.value.message == missing.value.message


@pytest.mark.django_db
def test_person_get_guest_cannot_see_colleagues(guest: User, member: User) -> None:
    with pytest.raises(NotFound):
        person_get(viewer=guest, user_id=member.pk)
    assert person_get(viewer=guest, user_id=guest.pk).user_id == guest.pk


@pytest.mark.django_db
def test_person_get_for_edit_allows_self_and_admin_only(member: User, admin: User) -> None:
    other = person("Other Person")
    gone = person("Gone Person", active=False)

    assert person_get_for_edit(viewer=member, user_id=member.pk).user_id == member.pk
    assert person_get_for_edit(viewer=admin, user_id=other.pk).user_id == other.pk
    assert person_get_for_edit(viewer=admin, user_id=gone.pk).user_id == gone.pk
    with pytest.raises(PermissionDenied):
        person_get_for_edit(viewer=member, user_id=other.pk)
    with pytest.raises(NotFound):
        person_get_for_edit(viewer=member, user_id=gone.pk)


@pytest.mark.django_db
def test_org_chart_lists_chain_top_first_and_direct_reports() -> None:
    ceo = person("Carol Ceo")
    vp = person("Victor Vp")
    lead = person("Lena Lead")
    profile_update(actor=vp, person=vp, changes=ProfileChanges(manager_id=ceo.pk))
    profile_update(actor=lead, person=lead, changes=ProfileChanges(manager_id=vp.pk))
    reports = [person(f"Report {n}") for n in ("B", "A")]
    for report in reports:
        profile_update(actor=report, person=report, changes=ProfileChanges(manager_id=lead.pk))

    chart = org_chart(viewer=reports[0], user_id=lead.pk)

    assert [p.user.full_name for p in chart.chain] == ["Carol Ceo", "Victor Vp"]
    assert chart.manager is not None and chart.manager.user_id == vp.pk
    assert [p.user.full_name for p in chart.reports] == ["Report A", "Report B"]


@pytest.mark.django_db
def test_org_chart_leaves_out_hidden_manager_but_keeps_the_line(member: User, admin: User) -> None:
    ceo = person("Carol Ceo")
    vp = person("Victor Vp", manager_id=ceo.pk)
    lead = person("Lena Lead", manager_id=vp.pk)
    User.objects.filter(pk=vp.pk).update(is_active=False)

    for_member = org_chart(viewer=member, user_id=lead.pk)
    for_admin = org_chart(viewer=admin, user_id=lead.pk)

    assert [p.user_id for p in for_member.chain] == [ceo.pk]
    assert for_member.manager is None
    assert [p.user_id for p in for_admin.chain] == [ceo.pk, vp.pk]
    assert for_admin.manager is not None


@pytest.mark.django_db
def test_org_chart_stops_at_a_cycle_in_stored_data(member: User) -> None:
    a, b = person("Anna A"), person("Bob B")
    # Bypass the service on purpose: old or imported data may hold a loop.
    Profile.objects.filter(user=a).update(manager=b)
    Profile.objects.filter(user=b).update(manager=a)

    chart = org_chart(viewer=member, user_id=a.pk)

    assert [p.user_id for p in chart.chain] == [b.pk]


@pytest.mark.django_db
def test_filter_choices_is_empty_for_guests(guest: User, member: User) -> None:
    person("Ada Lovelace", department="Engineering", team="Platform", location="Helsinki")

    assert filter_choices(viewer=guest) == {"departments": [], "locations": [], "teams": []}
    choices = filter_choices(viewer=member)
    assert [d.name for d in choices["departments"]] == ["Engineering"]
    assert [t.name for t in choices["teams"]] == ["Platform"]
    assert isinstance(choices["teams"][0], Team)


@pytest.mark.django_db
def test_newcomers_lists_recent_active_starters_newest_first(member: User) -> None:
    today = date(2026, 6, 1)
    person("Old Timer", start_date=date(2019, 1, 1))
    person("Recent One", start_date=today - timedelta(days=10))
    person("Recent Two", start_date=today - timedelta(days=2))
    person("Future Starter", start_date=today + timedelta(days=5))
    person("Gone Recent", start_date=today - timedelta(days=3), active=False)

    found = [p.user.full_name for p in newcomers(viewer=member, today=today)]

    assert found == ["Recent Two", "Recent One"]


@pytest.mark.django_db
def test_people_for_picker_lists_active_visible_people(member: User) -> None:
    person("Ada Lovelace", preferred_name="Ada")
    person("Gone Person", active=False)

    picked = dict(people_for_picker(viewer=member))

    assert "Ada" in picked.values()
    assert "Gone Person" not in picked.values()


@pytest.mark.django_db
def test_profile_missing_names_empty_fields(member: User) -> None:
    assert profile_missing(profile_of(member)) == ["job title", "department", "location", "manager", "bio", "photo"]
    profile_update(actor=member, person=member, changes=ProfileChanges(title="Engineer", bio="Hi"))

    assert profile_missing(profile_of(member)) == ["department", "location", "manager", "photo"]


def test_person_clock_shows_local_time_and_working_state() -> None:
    profile = Profile(timezone="Europe/Helsinki", working_hours_start=time(9), working_hours_end=time(17))
    noon_utc = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)  # 14:00 in Helsinki (UTC+2 in winter)

    clock = person_clock(profile=profile, now=noon_utc, viewer_zone="Europe/Helsinki")

    assert clock.local_time == time(14, 0)
    assert clock.utc_offset == "UTC+02:00"
    assert clock.weekday == "Wednesday"
    assert clock.working_now is True
    assert clock.same_zone_as_viewer is True


def test_person_clock_handles_overnight_hours_and_unknown_zone() -> None:
    night_shift = Profile(timezone="Not/AZone", working_hours_start=time(22), working_hours_end=time(6))

    clock = person_clock(profile=night_shift, now=datetime(2026, 1, 14, 23, 30, tzinfo=UTC))

    assert clock.timezone == "UTC"
    assert clock.working_now is True
    assert person_clock(profile=night_shift, now=datetime(2026, 1, 14, 12, 0, tzinfo=UTC)).working_now is False
    assert person_clock(profile=Profile(timezone="UTC")).working_now is None


def test_fold_handles_letters_without_decomposition():
    from townhall.directory.text import fold

    assert fold("Sanjay Ødegård") == "sanjay odegard"
    assert fold("Æsa Straße Łukasz") == "aesa strasse lukasz"
