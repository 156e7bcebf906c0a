"""@mentions and #topics in post and comment bodies.

Parsing reads the same token stream the Markdown renderer uses
(townhall.core.markdown), so a mention or topic inside a code span, a code block, a
link or a URL is not one, and `\\#` / `\\@` escape them. Rendering rewrites the
plain-text runs into links through the renderer's hook: nothing from the body is
ever spliced into HTML by hand, and the result goes through the sanitiser.

- `@handle`: the part of a person's email before the `@`, any case; it names an
  active person the author can see, and only when exactly one person has it.
- `@c/<slug>`: a community the author can see.
- `#name`: letters, digits, `_` and `-`, 1..60 characters, at least one letter;
  its slug is the folded, lower-case name (`#Café` and `#cafe` are one topic).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from django.db.models import Q

from townhall.accounts.models import User
from townhall.accounts.permissions import AnyUser
from townhall.communities.models import Community
from townhall.communities.permissions import can_view_community
from townhall.core.markdown import ESCAPED, Link, Piece, analyse, render_markdown
from townhall.directory.selectors import people_visible_to
from townhall.directory.text import fold

MAX_TOPIC_LENGTH = 60
# More than this many distinct mentions (or topics) in one body: the rest stay text.
MAX_MENTIONS = 50
MAX_TOPICS = 30

# One pattern so mentions and topics are found in a single left-to-right pass.
_TOKEN = re.compile(
    r"(?<![\w@/#&" + ESCAPED + r"])"
    r"(?:@c/(?P<community>[a-z0-9][a-z0-9_-]{0,119})"
    r"|@(?P<handle>[a-z0-9][a-z0-9._+-]{0,63})"
    r"|#(?P<topic>[\w-]{1,200}))",
    re.IGNORECASE,
)
_HANDLE_TAIL = "._-+"


def _topic_name(raw: str) -> str | None:
    name = raw.rstrip("-")
    if not 1 <= len(name) <= MAX_TOPIC_LENGTH or not any(c.isalpha() for c in name):
        return None
    return name


def topic_slug(name: str) -> str:
    """The URL and matching key of a topic name: folded, lower case, at most 60 characters."""
    return fold(unicodedata.normalize("NFC", name)).lower()[:MAX_TOPIC_LENGTH]


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    kind: str  # "person" | "community" | "topic"
    key: str  # lower-case handle, community slug, or topic slug
    text: str  # as written (topic name, without the sigil)


def _matches(text: str) -> list[_Match]:
    found: list[_Match] = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFC", text)):
        if match.group("community"):
            slug = match.group("community").rstrip("-_")
            found.append(_Match(match.start(), match.start() + 3 + len(slug), "community", slug.lower(), slug))
        elif match.group("handle"):
            handle = match.group("handle").rstrip(_HANDLE_TAIL)
            if handle:
                found.append(_Match(match.start(), match.start() + 1 + len(handle), "person", handle.lower(), handle))
        else:
            name = _topic_name(match.group("topic"))
            if name is not None and len(match.group("topic").rstrip("-")) == len(name):
                found.append(_Match(match.start(), match.start() + 1 + len(name), "topic", topic_slug(name), name))
    return found


@dataclass
class Parsed:
    """Mentions and topics written in a body, in order of first appearance."""

    handles: list[str] = field(default_factory=list)
    community_slugs: list[str] = field(default_factory=list)
    topics: dict[str, str] = field(default_factory=dict)  # slug -> name as first written


def parse(body: str) -> Parsed:
    """The @handles, @c/slugs and #topics in `body` (outside code, links and URLs)."""
    parsed = Parsed()
    for run in analyse(body).text_runs:
        for match in _matches(run):
            if match.kind == "person" and match.key not in parsed.handles and len(parsed.handles) < MAX_MENTIONS:
                parsed.handles.append(match.key)
            elif (
                match.kind == "community"
                and match.key not in parsed.community_slugs
                and len(parsed.community_slugs) < MAX_MENTIONS
            ):
                parsed.community_slugs.append(match.key)
            elif match.kind == "topic" and match.key not in parsed.topics and len(parsed.topics) < MAX_TOPICS:
                parsed.topics[match.key] = match.text
    return parsed


@dataclass
class Resolved:
    """What the mentions in a body point at, as the author may know it."""

    people: dict[str, int] = field(default_factory=dict)  # handle -> user id
    communities: set[str] = field(default_factory=set)  # slugs
    topics: dict[str, str] = field(default_factory=dict)  # slug -> name


def resolve(*, author: AnyUser, parsed: Parsed) -> Resolved:
    """Resolve handles to active people the author can see (unique handles only) and
    community slugs to communities the author can see. Two queries at most.

    Resolving only what the author may see keeps a mention from telling them that a
    secret community (or a person hidden from them) exists."""
    resolved = Resolved(topics=dict(parsed.topics))
    if parsed.handles:
        condition = Q()
        for handle in parsed.handles:
            condition |= Q(user__email__istartswith=f"{handle}@")
        rows = people_visible_to(author).filter(condition, user__is_active=True).values_list("user_id", "user__email")
        owners: dict[str, list[int]] = {}
        for user_id, email in rows:
            owners.setdefault(email.rsplit("@", 1)[0].lower(), []).append(user_id)
        resolved.people = {h: ids[0] for h, ids in owners.items() if h in parsed.handles and len(ids) == 1}
    if parsed.community_slugs:
        communities = Community.objects.filter(slug__in=parsed.community_slugs, deleted_at__isnull=True)
        resolved.communities = {c.slug for c in communities if can_view_community(author, c)}
    return resolved


def _rewriter(resolved: Resolved):  # type: ignore[no-untyped-def]
    def rewrite(text: str) -> Sequence[Piece]:
        text = unicodedata.normalize("NFC", text)
        pieces: list[Piece] = []
        position = 0
        for match in _matches(text):
            if match.kind == "person" and match.key in resolved.people:
                link = Link(f"/people/{resolved.people[match.key]}/", text[match.start : match.end], "mention")
            elif match.kind == "community" and match.key in resolved.communities:
                link = Link(f"/c/{match.key}/", text[match.start : match.end], "mention")
            elif match.kind == "topic" and match.key in resolved.topics:
                link = Link(f"/topics/{quote(match.key)}/", text[match.start : match.end], "topic")
            else:
                continue
            pieces.append(text[position : match.start])
            pieces.append(link)
            position = match.end
        pieces.append(text[position:])
        return [p for p in pieces if p != ""]

    return rewrite


def render(body: str, *, resolved: Resolved) -> str:
    """Sanitised HTML for `body` with resolved mentions and topics turned into links.
    Topic slugs are URL-quoted; the sanitiser runs last."""
    return render_markdown(body, rewrite=_rewriter(resolved))


@dataclass
class Prepared:
    html: str
    mentioned_user_ids: list[int]
    topics: dict[str, str]  # slug -> name
    first_url: str | None


def prepare(*, author: User, body: str) -> Prepared:
    """Everything a service needs from a body: HTML, mentioned people, topics and the
    first http(s) link."""
    resolved = resolve(author=author, parsed=parse(body))
    first_url = next((url for url in analyse(body).link_urls if url.lower().startswith(("http://", "https://"))), None)
    return Prepared(
        html=render(body, resolved=resolved),
        mentioned_user_ids=list(dict.fromkeys(resolved.people.values())),
        topics=resolved.topics,
        first_url=first_url,
    )
