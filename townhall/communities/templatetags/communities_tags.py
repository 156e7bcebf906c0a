"""Small display helpers for communities' templates."""

from __future__ import annotations

from django import template

register = template.Library()

_VISIBILITY = {"public": "Public", "private": "Private", "secret": "Secret"}
_VISIBILITY_HELP = {
    "public": "Anyone in the organisation can find it, read it and join with one click.",
    "private": "Anyone can find it; only members read it. People ask to join and an admin approves.",
    "secret": "Only members know it exists. People join by invitation.",
}


@register.filter
def community_initials(name: str) -> str:
    """Up to two initials for a community without a cover: "Design Guild" -> "DG"."""
    words = [word for word in str(name).split() if word[:1].isalnum()]
    return ("".join(word[0] for word in words[:2]) or "#").upper()


@register.filter
def visibility_name(value: str) -> str:
    return _VISIBILITY.get(str(value), str(value))


@register.filter
def hue(value: int | None) -> int:
    """A stable colour angle per community, so covers without an image differ."""
    return ((value or 0) * 47) % 360


@register.filter
def visibility_help(value: str) -> str:
    return _VISIBILITY_HELP.get(str(value), "")
