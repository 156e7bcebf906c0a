"""The search form: a GET form whose bad values are reported and otherwise ignored
(a search never fails because of a filter)."""

from __future__ import annotations

from typing import Any

from django import forms

from townhall.search import registry
from townhall.search.selectors import SORTS, Filters

# Longer input is accepted and cut by query.parse (with a message), not refused.
MAX_INPUT = 20_000


class SearchForm(forms.Form):
    q = forms.CharField(label="Search for", required=False, max_length=MAX_INPUT, strip=True)
    kind = forms.ChoiceField(label="Show", required=False)
    community = forms.CharField(label="In community (address)", required=False, max_length=120)
    author = forms.CharField(label="By (handle)", required=False, max_length=150)
    after = forms.DateField(label="From date", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.DateField(label="To date", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[(value, value.capitalize()) for value in SORTS],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Everything")] + [  # type: ignore[attr-defined]
            (source.kind, source.label) for source in registry.sources()
        ]

    def filters(self) -> Filters:
        """The valid filters (invalid ones dropped; their errors stay on the form)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return Filters(
            kind=data.get("kind") or "",
            community=(data.get("community") or "").strip().lstrip("@").removeprefix("c/"),
            author=data.get("author") or "",
            after=data.get("after"),
            before=data.get("before"),
            sort=data.get("sort") or "relevance",
        )

    def query(self) -> str:
        return str(getattr(self, "cleaned_data", {}).get("q") or self.data.get("q") or "")[:MAX_INPUT]
