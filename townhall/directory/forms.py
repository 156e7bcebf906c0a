"""Forms of the people directory: they parse and show input; services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from townhall.core.errors import TownhallError
from townhall.core.forms import QuickSelect
from townhall.directory.models import Department, Location, Profile, Team
from townhall.directory.selectors import PeopleFilters, timezone_names
from townhall.directory.services import ProfileChanges

MAX_QUERY = 200


class PeopleSearchForm(forms.Form):
    """The directory's search box and filters (a GET form; bad values are ignored)."""

    q = forms.CharField(
        label="Search people",
        required=False,
        max_length=MAX_QUERY,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name, title or skill",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    department = forms.TypedChoiceField(label="Department", required=False, coerce=int, empty_value=None)
    location = forms.TypedChoiceField(label="Location", required=False, coerce=int, empty_value=None)
    team = forms.TypedChoiceField(label="Team", required=False, coerce=int, empty_value=None)

    def __init__(
        self,
        data: Any = None,
        *,
        departments: list[Department],
        locations: list[Location],
        teams: list[Team],
    ) -> None:
        super().__init__(data, auto_id="people-%s")
        fields: Any = self.fields
        fields["department"].choices = [("", "All departments")] + [(d.pk, d.name) for d in departments]
        fields["location"].choices = [("", "All locations")] + [(loc.pk, loc.name) for loc in locations]
        fields["team"].choices = [("", "All teams")] + [(t.pk, f"{t.name} ({t.department.name})") for t in teams]

    def filters(self) -> PeopleFilters:
        """The filters from the valid fields; an invalid one (a stale id) is dropped."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return PeopleFilters(
            query=(data.get("q") or "").strip(),
            department_id=data.get("department"),
            location_id=data.get("location"),
            team_id=data.get("team"),
        )

    @property
    def has_filters(self) -> bool:
        f = self.filters()
        return bool(f.query or f.department_id or f.location_id or f.team_id)


def _text(label: str, max_length: int, *, required: bool = False, help_text: str = "", **attrs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs),
    )


def _split(raw: str) -> list[str]:
    return [part for part in (p.strip() for p in raw.split(",")) if part]


class ProfileForm(forms.Form):
    """Everything a person can say about themself in the directory."""

    full_name = _text("Full name", 150, required=True, autocomplete="name")
    preferred_name = _text(
        "Preferred name", 80, help_text="What people call you, if not your full name.", autocomplete="nickname"
    )
    pronouns = _text("Pronouns", 40, help_text="For example she/her, he/him or they/them.")
    title = _text("Job title", 120, autocomplete="organization-title")
    department = _text("Department", 120, list="departments-list", autocomplete="off")
    team = _text(
        "Team", 120, help_text="A team belongs to the department above.", list="teams-list", autocomplete="off"
    )
    location = _text("Location", 120, list="locations-list", autocomplete="off")
    manager = forms.EmailField(
        label="Manager's email",
        required=False,
        max_length=254,
        help_text="Start typing a colleague's email; leave empty for no manager.",
        widget=forms.EmailInput(attrs={"list": "people-list", "autocomplete": "off"}),
    )
    phone = _text("Phone", 40, type="tel", autocomplete="tel")
    bio = forms.CharField(
        label="About you",
        required=False,
        max_length=2000,
        help_text="Plain text, up to 2,000 characters.",
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    skills = forms.CharField(
        label="Skills",
        required=False,
        max_length=2000,
        help_text="Separate with commas, for example: Python, negotiation, first aid.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    interests = forms.CharField(
        label="Interests",
        required=False,
        max_length=2000,
        help_text="Separate with commas, for example: running, jazz, board games.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    timezone = forms.ChoiceField(label="Time zone", widget=QuickSelect)
    working_hours_start = forms.TimeField(
        label="Working hours start", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    working_hours_end = forms.TimeField(
        label="Working hours end", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    start_date = forms.DateField(
        label="Start date",
        required=False,
        help_text="The day you joined the organisation.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    avatar = forms.FileField(
        label="New photo",
        required=False,
        help_text="A JPEG, PNG, GIF or WebP image up to 10 MB; it is cropped to a square.",
        widget=forms.FileInput(attrs={"accept": "image/*"}),
    )
    remove_avatar = forms.BooleanField(label="Remove my current photo", required=False)

    def __init__(self, *args: Any, has_avatar: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["timezone"].choices = [(name, name.replace("_", " ")) for name in timezone_names()]
        if not has_avatar:
            del self.fields["remove_avatar"]

    @staticmethod
    def initial_for(profile: Profile) -> dict[str, Any]:
        user = profile.user
        return {
            "full_name": user.full_name,
            "preferred_name": user.preferred_name,
            "pronouns": profile.pronouns,
            "title": profile.title,
            "department": profile.department.name if profile.department else "",
            "team": profile.team.name if profile.team else "",
            "location": profile.location.name if profile.location else "",
            "manager": profile.manager.email if profile.manager else "",
            "phone": profile.phone,
            "bio": profile.bio,
            "skills": ", ".join(t.name for t in profile.skills.all()),
            "interests": ", ".join(t.name for t in profile.interests.all()),
            "timezone": profile.timezone,
            "working_hours_start": profile.working_hours_start,
            "working_hours_end": profile.working_hours_end,
            "start_date": profile.start_date,
        }

    def changes(self) -> ProfileChanges:
        """The whole form as one edit: empty fields clear what they show."""
        data = self.cleaned_data
        start, end = data["working_hours_start"], data["working_hours_end"]
        return ProfileChanges(
            full_name=data["full_name"],
            preferred_name=data["preferred_name"],
            pronouns=data["pronouns"],
            title=data["title"],
            department=data["department"],
            team=data["team"],
            location=data["location"],
            manager_email=data["manager"] or "",
            phone=data["phone"],
            bio=data["bio"].replace("\r\n", "\n"),
            skills=_split(data["skills"]),
            interests=_split(data["interests"]),
            timezone=data["timezone"],
            working_hours_start=start,
            working_hours_end=end,
            clear_working_hours=start is None and end is None,
            start_date=data["start_date"],
            clear_start_date=data["start_date"] is None,
            remove_avatar=bool(data.get("remove_avatar")) and not data.get("avatar"),
        )

    def show_error(self, exc: TownhallError) -> None:
        """Put a service's error where it belongs: on the fields it names, else on top."""
        placed = False
        for name, messages in exc.fields.items():
            if name in self.fields:
                self.add_error(name, messages[0])
                placed = True
        if not placed:
            self.add_error(None, exc.message)
