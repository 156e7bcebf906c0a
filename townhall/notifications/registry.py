"""What the notifications app knows about the rest of Townhall: only what domain apps
register here in their `AppConfig.ready()` (notifications imports no domain app).

- Target types: for each kind of thing a notification can point at, which of a list
  of ids a viewer may see (the domain's visibility oracle), and how to describe the
  visible ones (link, title, snippet) at the moment they are shown or emailed. Nothing
  about a target is stored in a notification, so content that becomes hidden simply
  disappears: never a stale title or snippet.
- Person facts: working hours and time zone (directory), the communities a person
  belongs to (communities), digest sections (posts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any


@dataclass(frozen=True)
class Described:
    url: str  # site-relative
    title: str  # plain text: a quoted excerpt, a community's or a person's name
    snippet: str = ""  # plain text, may be empty
    place: str = ""  # where it lives (a community's name), may be empty


@dataclass(frozen=True)
class TargetType:
    name: str
    # visible_ids(viewer, ids) -> the subset the viewer may see now (one query).
    visible_ids: Callable[[Any, list[int]], set[int]]
    # describe(viewer, ids) -> Described per id; only called with visible ids.
    describe: Callable[[Any, list[int]], dict[int, Described]]
    # owners(ids) -> the person each target belongs to (its author), for apps that
    # notify about targets they do not own (reactions).
    owners: Callable[[list[int]], dict[int, int]] | None = None


@dataclass(frozen=True)
class WorkingHours:
    timezone: str
    start: time | None = None  # None: no working hours set (no quiet hours)
    end: time | None = None


@dataclass(frozen=True)
class DigestItem:
    title: str
    url: str  # site-relative
    meta: str = ""


@dataclass(frozen=True)
class DigestSection:
    title: str
    items: list[DigestItem] = field(default_factory=list)


@dataclass(frozen=True)
class DigestRequest:
    person: Any
    since: datetime
    until: datetime
    # kinds the person wants in their digest (Kind values)
    kinds: frozenset[str]
    # communities the person set to "nothing"
    silenced_community_ids: frozenset[int]


_TYPES: dict[str, TargetType] = {}
_working_hours: list[Callable[[Iterable[int]], dict[int, WorkingHours]]] = []
_communities: list[Callable[[Any], list[tuple[int, str]]]] = []
_digest_sources: list[Callable[[DigestRequest], list[DigestSection]]] = []


def register(target: TargetType) -> None:
    _TYPES[target.name] = target


def get(name: str) -> TargetType | None:
    return _TYPES.get(name)


def names() -> list[str]:
    return sorted(_TYPES)


def register_working_hours(provider: Callable[[Iterable[int]], dict[int, WorkingHours]]) -> None:
    """provider(user_ids) -> time zone and working hours (None when unset) per person."""
    _working_hours[:] = [provider]


def working_hours(user_ids: Iterable[int]) -> dict[int, WorkingHours]:
    return _working_hours[0](list(user_ids)) if _working_hours else {}


def register_communities(provider: Callable[[Any], list[tuple[int, str]]]) -> None:
    """provider(person) -> (community id, name) of the communities they belong to."""
    _communities[:] = [provider]


def communities_of(person: Any) -> list[tuple[int, str]]:
    return _communities[0](person) if _communities else []


def register_digest_source(source: Callable[[DigestRequest], list[DigestSection]]) -> None:
    if source not in _digest_sources:
        _digest_sources.append(source)


def digest_sections(request: DigestRequest) -> list[DigestSection]:
    sections: list[DigestSection] = []
    for source in _digest_sources:
        sections.extend(section for section in source(request) if section.items)
    return sections
