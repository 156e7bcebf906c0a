"""QuickSelect renders what Django's Select renders (same markup, parsed), faster."""

from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html

from townhall.core.forms import QuickSelect

CHOICES = [
    ("company", "Company feed (All <Northwind>)"),
    ("community:a&b", 'Design & "UX"'),
    ("profile:7", "My profile"),
]


class Quick(forms.Form):
    where = forms.ChoiceField(label="Where", choices=CHOICES, widget=QuickSelect)


class Plain(forms.Form):
    where = forms.ChoiceField(label="Where", choices=CHOICES)


@pytest.mark.parametrize("data", [None, {"where": "community:a&b"}, {"where": "nowhere"}, {"where": "<script>"}])
def test_same_markup_as_django_select(data: dict[str, str] | None) -> None:
    quick, plain = Quick(data=data), Plain(data=data)
    if data:
        quick.is_valid()
        plain.is_valid()
    assert parse_html(str(quick["where"])) == parse_html(str(plain["where"]))


def test_labels_and_values_are_escaped() -> None:
    html = str(Quick(initial={"where": "profile:7"})["where"])
    assert "All &lt;Northwind&gt;" in html
    assert 'value="community:a&amp;b"' in html
    assert "Design &amp; &quot;UX&quot;" in html
    assert '<option value="profile:7" selected>' in html


def test_grouped_choices_fall_back_to_django() -> None:
    class Grouped(forms.Form):
        where = forms.ChoiceField(choices=[("Places", [("a", "A"), ("b", "B")])], widget=QuickSelect)

    assert "<optgroup" in str(Grouped()["where"])
