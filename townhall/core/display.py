"""Display helpers shared by both template languages (Django's and Jinja2's).

`ago` prints a feed's short ages, `url` and `id_url` URLs without a full reverse() per
call, `avatar` a person's photo or initials.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from markupsafe import escape


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


# Reversed URLs by name, arguments, script prefix and URLconf. URL patterns never
# change while a process runs (tests that swap ROOT_URLCONF get other keys); the bound
# only guards against a caller passing unbounded arguments.
_REVERSED: dict[tuple[Any, ...], str] = {}
MAX_REVERSED = 5_000
_PLAIN = (str, int)


def url(name: str, *args: Any, current_app: str | None = None) -> str:
    """`reverse(name, args=args)`, remembered: a page prints the same few dozen URLs
    (the header, community and topic links) on every request, and each reverse()
    costs tens of microseconds of resolver lookups."""
    if not all(type(arg) in _PLAIN for arg in args):
        # Objects print themselves into the URL (str()), which may change: not remembered.
        return reverse(name, args=args, current_app=current_app)
    key = (name, args, current_app, get_script_prefix(), get_urlconf(), settings.ROOT_URLCONF)
    found = _REVERSED.get(key)
    if found is None:
        found = reverse(name, args=args, current_app=current_app)
        if len(_REVERSED) >= MAX_REVERSED:
            _REVERSED.clear()
        _REVERSED[key] = found
    return found


_MARK = "2147483646"


def _id_pattern(name: str) -> str:
    return url(name, int(_MARK))


def id_url(name: str, pk: int) -> str:
    """`reverse(name, args=[pk])` for URLs taking one integer, without a full reverse()
    per call: a feed page links each post and comment a dozen times. The pattern is
    reversed once per URL name (and script prefix) and the id filled in."""
    return _id_pattern(name).replace(_MARK, str(int(pk)))


class IdUrls:
    """id_url for one render: also skips the per-call lookups of the script prefix
    and URLconf (thread-locals), which cost more than the rest of id_url."""

    __slots__ = ("_patterns",)

    def __init__(self) -> None:
        self._patterns: dict[str, str] = {}

    def __call__(self, name: str, pk: int) -> str:
        pattern = self._patterns.get(name)
        if pattern is None:
            pattern = self._patterns[name] = _id_pattern(name)
        return pattern.replace(_MARK, str(int(pk)))


def avatar(person: Any, size: str = "md", alt: str = "") -> SafeString:
    """A person's avatar: their photo, or their initials (hidden from screen readers:
    the name is always next to it). Printed for every card and comment of a feed page,
    so built with markupsafe's escape (Django's format_html costs several times more)."""
    profile = getattr(person, "profile", None)
    photo = getattr(profile, "avatar", None) if profile is not None else None
    size = escape(size or "md")
    # Every value below is escaped (markupsafe.escape).
    if photo:
        return SafeString(  # nosec B703
            f'<img class="avatar avatar-{size}" src="{escape(photo.url)}" alt="{escape(alt or "")}" loading="lazy">'
        )
    return SafeString(  # nosec B703
        f'<span class="avatar avatar-{size} avatar-initials" aria-hidden="true">{escape(person.initials)}</span>'
    )
