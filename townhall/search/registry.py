"""Content apps register what they make searchable (search imports no domain app).

A `Source` is one kind of result. It says how to turn one object into a document
(`build`), how to list every document for a rebuild (`build_all`), which documents a
viewer may see (`scope`: a filter on Document's columns that the backend puts into the
same SQL statement as the text match, so counts and pages only ever contain what the
viewer may read) and how to show hits (`present`: asks the domain's own oracle again,
so even a stale index row never shows hidden content).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q


@dataclass(frozen=True)
class DocumentData:
    """What a source hands the index for one object."""

    object_id: int
    title: str
    body: str
    created_at: datetime
    tags: str = ""
    handle: str = ""
    author_id: int | None = None
    community_id: int | None = None
    thread_id: int | None = None
    engagement: int = 0


@dataclass(frozen=True)
class Hit:
    """One result as the viewer sees it (built from live rows by `present`)."""

    title: str
    url: str
    text: str = ""  # plain text the snippet is cut from
    meta: str = ""  # e.g. "Post by Ada in Town square"
    avatar: Any = None  # a User, for people and authors (core/_avatar.html)


@dataclass(frozen=True)
class Source:
    kind: str
    label: str  # plural, for headings and filters: "People"
    singular: str  # "person"
    build: Callable[[int], DocumentData | None]  # None: the object is gone (remove it)
    build_all: Callable[[], Iterable[DocumentData]]
    # A filter on Document columns restricting this kind to what the viewer may see;
    # None when the viewer may see nothing of this kind. It may read only the viewer's
    # id, signed-in and active state and role; memberships, follows and the like go in
    # as subqueries (its SQL is compiled once per process: selectors.scope_where).
    scope: Callable[[Any], Q | None]
    present: Callable[[Any, list[int]], dict[int, Hit]]
    # People, communities and topics: matched on their names too (partial words, typos)
    # and offered as suggestions.
    is_name: bool = False
    position: int = 100  # order of groups on the page
    # engagement() -> an expression for Document.engagement computed from the live row,
    # correlated on the document's object_id (OuterRef("object_id")): lets a change of
    # counts alone (a reaction) update that one column in one UPDATE, without
    # rebuilding the document. None: such changes wait for the next build.
    engagement: Callable[[], Any] | None = None


_SOURCES: dict[str, Source] = {}
_VERSION = [0]


def register(source: Source) -> None:
    _SOURCES[source.kind] = source
    _VERSION[0] += 1


def version() -> int:
    """Grows with every registration (compiled scopes are remembered per version)."""
    return _VERSION[0]


def get(kind: str) -> Source | None:
    return _SOURCES.get(kind)


def sources() -> list[Source]:
    """Registered sources in display order (people and communities first)."""
    return sorted(_SOURCES.values(), key=lambda source: (source.position, source.kind))


def kinds() -> list[str]:
    return [source.kind for source in sources()]
