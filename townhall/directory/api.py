"""`/api/v1` operations for the people directory: search, profiles, org chart and
the reference data the filters use.

Thin adapters: reads go through selectors, writes through services, and whoever the
caller may not see answers 404 exactly like an id that never existed.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Query, Router

from townhall.accounts.api_auth import current_user
from townhall.accounts.models import User
from townhall.accounts.schemas import Id, error_responses
from townhall.core.errors import ValidationFailed
from townhall.core.pagination import Page
from townhall.directory.models import Department, Location, Profile, Team
from townhall.directory.permissions import can_edit_person, can_view_person
from townhall.directory.schemas import (
    DepartmentOut,
    LocationOut,
    OrgChartOut,
    PeoplePageOut,
    PeopleQueryIn,
    PersonOut,
    PersonPatchIn,
    PersonRefOut,
    TeamOut,
)
from townhall.directory.selectors import (
    OrgChart,
    PeopleFilters,
    filter_choices,
    org_chart,
    people_search,
    person_get,
    person_get_for_edit,
)
from townhall.directory.services import ProfileChanges, profile_update

router = Router()

CURSOR_INVALID = "The cursor is not valid; start again from the first page."

# Fields of ProfileChanges the API sets as sent (null is refused by the schema).
_PLAIN_FIELDS = (
    "full_name", "preferred_name", "pronouns", "title", "department", "team", "location",
    "phone", "bio", "skills", "interests", "timezone",
)  # fmt: skip
# The service names some fields after the web form; the API reports its own names.
_FIELD_NAMES = {"manager": "manager_id"}


@router.get(
    "/people", response={200: PeoplePageOut, **error_responses(422)}, tags=["people"], operation_id="people_list"
)
def people_list(request: HttpRequest, filters: Query[PeopleQueryIn]) -> Page[Profile]:
    """People the caller can see, by name. Every word of `q` must match (prefix or
    infix, ignoring case and accents); the ids filter exactly. Cursor-paginated."""
    criteria = PeopleFilters(
        query=filters.q, department_id=filters.department_id, location_id=filters.location_id, team_id=filters.team_id
    )
    try:
        return people_search(viewer=current_user(request), filters=criteria, cursor=filters.cursor, limit=filters.limit)
    except ValidationFailed as exc:
        # The limit is already validated by the schema, so only the cursor is left.
        raise ValidationFailed(exc.message, fields={"cursor": [exc.message]}) from exc
    except (TypeError, ValueError, OverflowError) as exc:
        # core.pagination decodes a cursor's JSON but not the types of its values; a
        # forged cursor such as `[null, "x"]` fails only when the query is built or run.
        if not filters.cursor:
            raise
        raise ValidationFailed(CURSOR_INVALID, fields={"cursor": [CURSOR_INVALID]}) from exc


def _person_out(*, viewer: User, profile: Profile) -> PersonOut:
    out = PersonOut.model_validate(profile, from_attributes=True)
    # person_get loads the manager whoever they are; a deactivated manager stays
    # hidden from those who may not see them, as in the org chart.
    manager = profile.manager
    return out.model_copy(
        update={
            "manager": PersonRefOut.model_validate(manager, from_attributes=True)
            if manager is not None and can_view_person(viewer, manager)
            else None,
            "can_edit": can_edit_person(viewer, profile.user),
        }
    )


@router.get(
    "/people/{user_id}",
    response={200: PersonOut, **error_responses(404, 422)},
    tags=["people"],
    operation_id="person_get",
)
def person_detail(request: HttpRequest, user_id: Path[Id]) -> PersonOut:
    """One person's full profile."""
    viewer = current_user(request)
    return _person_out(viewer=viewer, profile=person_get(viewer=viewer, user_id=user_id))


def _changes(payload: PersonPatchIn) -> ProfileChanges:
    sent = payload.model_dump(exclude_unset=True)
    changes = ProfileChanges(**{name: sent[name] for name in _PLAIN_FIELDS if name in sent})
    if "start_date" in sent:
        changes.start_date = sent["start_date"]
        changes.clear_start_date = sent["start_date"] is None
    if "manager_id" in sent:
        changes.manager_id = sent["manager_id"]
        changes.clear_manager = sent["manager_id"] is None
    hours = {name: sent[name] for name in ("working_hours_start", "working_hours_end") if name in sent}
    if hours and all(value is None for value in hours.values()):
        changes.clear_working_hours = True
    elif hours:
        changes.working_hours_start = hours.get("working_hours_start")
        changes.working_hours_end = hours.get("working_hours_end")
    return changes


@router.patch(
    "/people/{user_id}",
    response={200: PersonOut, **error_responses(400, 403, 404, 422)},
    tags=["people"],
    operation_id="person_update",
)
def person_update(request: HttpRequest, user_id: Path[Id], payload: PersonPatchIn) -> PersonOut:
    """Change the fields sent; the person themselves or an admin may. Everything is
    validated before anything is written."""
    viewer = current_user(request)
    person = person_get_for_edit(viewer=viewer, user_id=user_id).user
    try:
        profile_update(actor=viewer, person=person, changes=_changes(payload))
    except ValidationFailed as exc:
        if not set(exc.fields) & set(_FIELD_NAMES):
            raise
        fields = {_FIELD_NAMES.get(name, name): messages for name, messages in exc.fields.items()}
        raise ValidationFailed(exc.message, fields=fields) from exc
    return _person_out(viewer=viewer, profile=person_get(viewer=viewer, user_id=user_id))


@router.get(
    "/people/{user_id}/orgchart",
    response={200: OrgChartOut, **error_responses(404, 422)},
    tags=["people"],
    operation_id="person_orgchart",
)
def person_orgchart(request: HttpRequest, user_id: Path[Id]) -> OrgChart:
    """The person's reporting line (top first) and direct reports, leaving out
    anyone the caller may not see."""
    return org_chart(viewer=current_user(request), user_id=user_id)


@router.get(
    "/departments",
    response={200: list[DepartmentOut], **error_responses()},
    tags=["reference"],
    operation_id="department_list",
)
def departments_list(request: HttpRequest) -> list[Department]:
    """Every department, by name (for the people filters); empty for guests."""
    return filter_choices(viewer=current_user(request))["departments"]  # type: ignore[return-value]


@router.get(
    "/locations",
    response={200: list[LocationOut], **error_responses()},
    tags=["reference"],
    operation_id="location_list",
)
def locations_list(request: HttpRequest) -> list[Location]:
    """Every location, by name."""
    return filter_choices(viewer=current_user(request))["locations"]  # type: ignore[return-value]


@router.get("/teams", response={200: list[TeamOut], **error_responses()}, tags=["reference"], operation_id="team_list")
def teams_list(request: HttpRequest) -> list[Team]:
    """Every team, by name, with the department it belongs to."""
    return filter_choices(viewer=current_user(request))["teams"]  # type: ignore[return-value]
