"""Display helpers for feed and post templates."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """A short age, as feeds show it: "just now", "5 min", "3 h", "2 d", then the date
    ("12 Mar", with the year once it is not this year)."""
    if value is None:
        return ""
    now = timezone.now()
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d"
    local = timezone.localtime(value)
    if local.year == timezone.localtime(now).year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b %Y}"


_MARK = "2147483646"
_URL_TEMPLATES: dict[tuple[str, str, str | None], str] = {}


@register.simple_tag
def id_url(name: str, pk: int) -> str:
    """`{% url name pk %}` for URLs taking one integer, without a full reverse() per
    call: a feed page links each post and comment a dozen times. The pattern is
    reversed once per URL name (and script prefix) and the id filled in."""
    key = (name, get_script_prefix(), get_urlconf())
    pattern = _URL_TEMPLATES.get(key)
    if pattern is None:
        pattern = reverse(name, args=[int(_MARK)])
        _URL_TEMPLATES[key] = pattern
    return pattern.replace(_MARK, str(int(pk)))
