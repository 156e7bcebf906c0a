"""API shapes for the people directory and its reference data."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any

from django.db.models import Model
from ninja import Field, Schema

from townhall.accounts.models import User
from townhall.accounts.schemas import Id, InputSchema
from townhall.directory.models import Department, Location, Profile, Tag, Team
from townhall.directory.services import MAX_TAGS


def _max(model: type[Model], name: str) -> int:
    # Limits come from the model so the documented schema never drifts from storage.
    max_length = getattr(model._meta.get_field(name), "max_length", None)
    assert isinstance(max_length, int), f"{model.__name__}.{name} has no max_length"
    return max_length


class DepartmentOut(Schema):
    id: int
    name: str


class LocationOut(Schema):
    id: int
    name: str


class TeamOut(Schema):
    id: int
    name: str
    department_id: int


class PersonSummaryOut(Schema):
    """A person as shown in lists and the org chart."""

    id: int = Field(description="The person's user id.")
    display_name: str
    full_name: str
    email: str
    pronouns: str
    title: str
    department: DepartmentOut | None
    team: TeamOut | None
    location: LocationOut | None
    avatar_url: str | None
    is_active: bool = Field(description="False only for deactivated people, whom only admins see.")

    @staticmethod
    def resolve_id(obj: Profile) -> int:
        return obj.user_id

    @staticmethod
    def resolve_display_name(obj: Profile) -> str:
        return obj.user.display_name

    @staticmethod
    def resolve_full_name(obj: Profile) -> str:
        return obj.user.full_name

    @staticmethod
    def resolve_email(obj: Profile) -> str:
        return obj.user.email

    @staticmethod
    def resolve_is_active(obj: Profile) -> bool:
        return obj.user.is_active

    @staticmethod
    def resolve_avatar_url(obj: Profile) -> str | None:
        return obj.avatar.url if obj.avatar else None


def _tag_names(tags: list[Tag]) -> list[str]:
    return [tag.name for tag in tags]


class PersonListItemOut(PersonSummaryOut):
    skills: list[str]

    @staticmethod
    def resolve_skills(obj: Profile) -> list[str]:
        return _tag_names(list(obj.skills.all()))


class PeoplePageOut(Schema):
    items: list[PersonListItemOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class PersonRefOut(Schema):
    id: int
    display_name: str


class PersonOut(PersonSummaryOut):
    """A full profile."""

    preferred_name: str
    phone: str
    bio: str
    skills: list[str]
    interests: list[str]
    manager: PersonRefOut | None
    timezone: str
    working_hours_start: time | None
    working_hours_end: time | None
    start_date: date | None
    can_edit: bool = Field(default=False, description="Whether the caller may PATCH this profile.")

    @staticmethod
    def resolve_preferred_name(obj: Profile) -> str:
        return obj.user.preferred_name

    @staticmethod
    def resolve_skills(obj: Profile) -> list[str]:
        return _tag_names(list(obj.skills.all()))

    @staticmethod
    def resolve_interests(obj: Profile) -> list[str]:
        return _tag_names(list(obj.interests.all()))


class OrgChartOut(Schema):
    person: PersonSummaryOut
    chain: list[PersonSummaryOut] = Field(description="The reporting line, top of the hierarchy first.")
    reports: list[PersonSummaryOut] = Field(description="Direct reports, by name.")


class PeopleQueryIn(InputSchema):
    q: str = Field(default="", max_length=200, description="Words matched against name, title, team and skills.")
    department_id: Id | None = None
    location_id: Id | None = None
    team_id: Id | None = None
    # A cursor holds a sort name of up to 150 characters, JSON-escaped, base64-encoded.
    cursor: str | None = Field(default=None, max_length=4096)
    limit: int = Field(default=24, ge=1, le=100)


# A field left out of a PATCH keeps its value; only the fields sent are applied
# (`exclude_unset`), so this default is never read. It is typed Any so the text
# fields can stay non-nullable in the schema: `null` is refused, "" clears.
UNSENT: Any = None

Tags = Annotated[list[Annotated[str, Field(max_length=_max(Tag, "name"))]], Field(max_length=MAX_TAGS)]


class PersonPatchIn(InputSchema):
    """Only the fields sent change. Send "" to clear a text field; `null` clears the
    manager, the start date or the working hours (both: send times for both or neither). Department, team
    and location are names: an unknown name is created, and a team belongs to the
    department (the one sent, or the person's current one)."""

    full_name: str = Field(default=UNSENT, min_length=1, max_length=_max(User, "full_name"))
    preferred_name: str = Field(default=UNSENT, max_length=_max(User, "preferred_name"))
    pronouns: str = Field(default=UNSENT, max_length=_max(Profile, "pronouns"))
    title: str = Field(default=UNSENT, max_length=_max(Profile, "title"))
    department: str = Field(default=UNSENT, max_length=_max(Department, "name"))
    team: str = Field(default=UNSENT, max_length=_max(Team, "name"))
    location: str = Field(default=UNSENT, max_length=_max(Location, "name"))
    manager_id: Id | None = None
    phone: str = Field(default=UNSENT, max_length=_max(Profile, "phone"))
    bio: str = Field(default=UNSENT, max_length=_max(Profile, "bio"))
    skills: Tags = Field(default=UNSENT)
    interests: Tags = Field(default=UNSENT)
    timezone: str = Field(default=UNSENT, max_length=_max(Profile, "timezone"), examples=["Europe/Helsinki"])
    working_hours_start: time | None = None
    working_hours_end: time | None = None
    start_date: date | None = None
