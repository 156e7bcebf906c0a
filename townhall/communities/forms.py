"""Forms of the communities pages: they parse and show input; services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from townhall.communities.models import Community, Kind, Visibility
from townhall.communities.services import CHOOSABLE_KINDS, DESCRIPTION_MAX, MESSAGE_MAX, NAME_MAX

MAX_QUERY = 200

VISIBILITY_NAMES: dict[str, str] = {
    Visibility.PUBLIC: "Public",
    Visibility.PRIVATE: "Private",
    Visibility.SECRET: "Secret",
}


class CommunitySearchForm(forms.Form):
    """The directory's search box and filters (a GET form; bad values are ignored)."""

    q = forms.CharField(
        label="Search communities",
        required=False,
        max_length=MAX_QUERY,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or description", "autocomplete": "off"}),
    )
    kind = forms.ChoiceField(label="Kind", required=False)
    mine = forms.BooleanField(label="Only my communities", required=False)

    def __init__(self, data: Any = None) -> None:
        super().__init__(data, auto_id="communities-%s")
        kind: Any = self.fields["kind"]
        kind.choices = [("", "All kinds"), *Kind.choices]

    def criteria(self) -> tuple[str, str | None, bool]:
        """(query, kind, mine) from the valid fields; an invalid one is dropped."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return (data.get("q") or "").strip(), data.get("kind") or None, bool(data.get("mine"))


def _visibility_choices() -> list[tuple[str, str]]:
    return [(value, VISIBILITY_NAMES[value]) for value in Visibility.values]


class CommunityForm(forms.Form):
    name = forms.CharField(label="Name", max_length=NAME_MAX, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=DESCRIPTION_MAX,
        help_text="What it is for and who should join. Plain text.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    kind = forms.ChoiceField(label="Kind", choices=[(k, Kind(k).label) for k in CHOOSABLE_KINDS])
    visibility = forms.ChoiceField(label="Who can see it", widget=forms.RadioSelect, choices=_visibility_choices)
    cover = forms.FileField(
        label="Cover image",
        required=False,
        help_text="A wide JPEG, PNG, GIF or WebP image up to 10 MB.",
        widget=forms.FileInput(attrs={"accept": "image/*"}),
    )
    remove_cover = forms.BooleanField(label="Remove the current cover image", required=False)

    def __init__(self, *args: Any, community: Community | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        if community is None or not community.cover:
            del fields["remove_cover"]
        if community is not None and (community.is_all_company or community.department_id is not None):
            # The directory owns these two; show them as text instead.
            del fields["kind"]
            del fields["visibility"]

    @staticmethod
    def initial_for(community: Community) -> dict[str, Any]:
        return {
            "name": community.name,
            "description": community.description,
            "kind": community.kind,
            "visibility": community.visibility,
        }


class JoinForm(forms.Form):
    message = forms.CharField(label="Message to the admins (optional)", required=False, max_length=MESSAGE_MAX)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Colleague's email",
        max_length=254,
        help_text="Start typing a name or email and pick the person.",
        widget=forms.EmailInput(attrs={"list": "invite-people", "autocomplete": "off"}),
    )


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(label="Yes, delete this community for everyone", required=True)
