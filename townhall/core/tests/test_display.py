"""The remembered URL reversing (core/display.url, the `{% url %}` builtin) and the
Jinja2 `date` filter's fast forms print exactly what Django's own would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.template.defaultfilters import date as django_date
from django.test import override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from townhall.core import display
from townhall.core.jinja import LONG_FORM
from townhall.core.jinja import date as jinja_date
from townhall.core.templatetags.urls import RememberedURLNode


def test_url_matches_reverse_and_is_remembered(monkeypatch):
    assert display.url("feed:home") == reverse("feed:home")
    assert display.url("feed:community", "design-team") == reverse("feed:community", args=["design-team"])
    calls = []
    monkeypatch.setattr(display, "reverse", lambda *a, **k: calls.append(a) or "/counted/")
    assert display.url("feed:community", "design-team") == reverse("feed:community", args=["design-team"])
    assert calls == []  # remembered
    display.url("feed:community", "another-team")
    assert len(calls) == 1


def test_url_does_not_remember_objects(monkeypatch):
    class Slug:
        def __init__(self, text: str) -> None:
            self.text = text

        def __str__(self) -> str:
            return self.text

    slug = Slug("before")
    assert display.url("feed:community", slug) == reverse("feed:community", args=["before"])
    slug.text = "after"
    assert display.url("feed:community", slug) == reverse("feed:community", args=["after"])


def test_url_is_bounded(monkeypatch):
    monkeypatch.setattr(display, "MAX_REVERSED", 3)
    display._REVERSED.clear()
    for n in range(10):
        assert display.url("feed:community", f"c{n}") == reverse("feed:community", args=[f"c{n}"])
        assert len(display._REVERSED) <= 3


def test_url_follows_a_changed_urlconf():
    display._REVERSED.clear()
    before = display.url("feed:home")
    with override_settings(ROOT_URLCONF="bench.urls"):
        assert display.url("feed:home") == reverse("feed:home")
    assert display.url("feed:home") == before
    # Remembered per URLconf: a test that swaps ROOT_URLCONF never gets the other's.
    # (A set: swapping ROOT_URLCONF also resets the thread's urlconf, which is part of
    # the key too, so the first URLconf may hold two entries.)
    assert {key[-1] for key in display._REVERSED} == {"bench.urls", "townhall.config.urls"}


def test_url_tag_renders_like_djangos():
    template = Template(
        "{% url 'feed:home' %}|{% url 'feed:community' slug %}|{% url 'feed:community' slug=slug %}|"
        "{% url 'feed:nowhere' as missing %}[{{ missing }}]"
        "{% url 'feed:community' slug as kept %}{{ kept }}"
    )
    assert isinstance(template.nodelist[0], RememberedURLNode)  # the builtin replaces Django's tag
    rendered = template.render(Context({"slug": "design"}))
    community = reverse("feed:community", args=["design"])
    assert rendered == f"{reverse('feed:home')}|{community}|{community}|[]{community}"
    with pytest.raises(NoReverseMatch):
        Template("{% url 'feed:nowhere' %}").render(Context({}))
    with pytest.raises(TemplateSyntaxError):
        Template("{% url %}")


@pytest.mark.parametrize("zone", ["UTC", "Europe/Helsinki", "America/St_Johns"])
def test_jinja_date_long_form_matches_djangos(zone):
    moment = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    with timezone.override(zone):
        for step in range(0, 400, 7):
            value = moment + timedelta(days=step, minutes=step * 13)
            # Django's templates convert to the current time zone before the filter.
            expected = django_date(timezone.localtime(value), LONG_FORM)
            assert jinja_date(value, LONG_FORM) == expected
            assert jinja_date(value, "j M") == django_date(timezone.localtime(value), "j M")
        assert jinja_date(moment, "c") == moment.isoformat()
        assert jinja_date(None, LONG_FORM) == ""
