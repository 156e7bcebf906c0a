"""Searching, always for a viewer.

Every statement carries the viewer's access scope (each source's `scope`) in its
WHERE clause next to the text match, so results, counts, pages, snippets and
suggestions are built only from documents the viewer may read. Hits are then shown
from live rows through each source's `present`, which asks the domain's oracle again:
an index row that has not caught up yet can drop out of a page, never leak into it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import SafeString

from townhall.core.remembered import Remembered
from townhall.search import registry
from townhall.search.backends import backend
from townhall.search.backends.base import CANDIDATES, NAME_KINDS, Row, Where, compile_where, compiled, is_names
from townhall.search.models import Document
from townhall.search.query import ParsedQuery, parse, partial_forms
from townhall.search.registry import Hit, Source
from townhall.search.text import fold, highlight

SORTS = ("relevance", "newest")
PAGE_SIZE = 20
MAX_PAGE = 50
GROUP_SIZE = 5
NAME_HITS = 20
SUGGEST_NAMES = 6
SUGGEST_POSTS = 3
# As you type, the best posts among the newest 200 matches: ranking the full
# CANDIDATES would cost more than the 30 ms a keystroke may take on 1M posts.
SUGGEST_CANDIDATES = 200
# Compiled scopes remembered per process (scope_where): a few KB each.
REMEMBER_SCOPES = 1024


@dataclass(frozen=True)
class Filters:
    kind: str = ""  # one registered kind, or "" for all
    community: str = ""  # a community slug
    author: str = ""  # a person's handle (with or without @)
    after: date | None = None  # created on or after
    before: date | None = None  # created on or before
    sort: str = "relevance"


@dataclass(frozen=True)
class Result:
    kind: str
    object_id: int
    hit: Hit
    title: SafeString
    snippet: SafeString
    score: float


@dataclass(frozen=True)
class Group:
    source: Source
    count: int
    results: list[Result]
    capped: bool = False  # the count is "at least" (see SearchResults.capped)


@dataclass
class SearchResults:
    query: str
    parsed: ParsedQuery
    filters: Filters
    counts: dict[str, int] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)  # the page (one kind, or all kinds by score)
    groups: list[Group] = field(default_factory=list)  # all kinds: the best few of each
    page: int = 1
    has_next: bool = False
    messages: tuple[str, ...] = ()
    # Posts and comments were counted up to CANDIDATES: their counts are "at least".
    capped: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _nothing() -> Q:
    return Q(pk__in=[])


def scope(viewer: Any, kinds: Sequence[str] | None = None) -> Q:
    """What the viewer may find, as one filter on Document: each kind restricted by
    its source's scope (kinds sharing one scope function share one branch, so the SQL
    stays small to plan). Matches nothing when the viewer may see nothing."""
    branches: dict[Any, list[str]] = {}
    for source in registry.sources():
        if kinds is None or source.kind in kinds:
            branches.setdefault(source.scope, []).append(source.kind)
    condition: Q | None = None
    for scope_of, members in branches.items():
        allowed = scope_of(viewer)
        if allowed is None:
            continue
        part = (Q(kind=members[0]) if len(members) == 1 else Q(kind__in=members)) & allowed
        condition = part if condition is None else condition | part
    return _nothing() if condition is None else condition


_SCOPES: Remembered[Where] = Remembered(size=REMEMBER_SCOPES)


def scope_where(viewer: Any, kinds: Sequence[str]) -> Where:
    """`scope(viewer, kinds)` compiled to SQL, remembered in this process for the
    viewer's identity (id, signed in, active, role; core/remembered.py). Building and
    compiling a scope costs milliseconds of Python on every search and keystroke; what
    it compiles to changes only with those: every scope (directory, communities, posts)
    reads the viewer's memberships, follows and invitations through subqueries that the
    database evaluates with each statement, so a membership revoked a moment ago
    already counts. test_scope_cache.py holds every registered scope to that."""
    return _SCOPES.get(viewer, lambda: compiled(scope(viewer, kinds)), extra=(registry.version(), tuple(kinds)))


def _narrowed(where: Where, narrowing: Q) -> Where:
    """A compiled scope ANDed with the query's own filters (compiled each time)."""
    if not narrowing:
        return where
    sql, params = compile_where(narrowing)
    return where.and_sql(f"({sql})", params)


def _handles(value: str) -> list[str]:
    return [value.lstrip("@").strip().lower()] if value.strip() else []


def _filter_condition(parsed: ParsedQuery, filters: Filters) -> Q:
    condition = Q()
    authors = [*parsed.authors, *_handles(filters.author)]
    for handle in dict.fromkeys(authors):
        people = Document.objects.filter(kind="person", handle=handle).values("object_id")
        condition &= Q(author_id__in=people)
    slugs = [*parsed.communities, *([filters.community.strip().lower()] if filters.community.strip() else [])]
    for slug in dict.fromkeys(slugs):
        places = Document.objects.filter(kind="community", handle=slug).values("object_id")
        condition &= Q(community_id__in=places)
    zone = timezone.get_current_timezone()
    if filters.after:
        condition &= Q(created_at__gte=datetime.combine(filters.after, time.min, tzinfo=zone))
    if filters.before:
        condition &= Q(created_at__lt=datetime.combine(filters.before + timedelta(days=1), time.min, tzinfo=zone))
    return condition


def _terms(parsed: ParsedQuery, *, partial: bool) -> list[str]:
    terms: list[str] = []
    for word in parsed.words:
        terms += partial_forms(word) if partial else [word]
    for phrase in parsed.phrases:
        terms += list(phrase)
    for topic in parsed.topics:
        terms += topic.split()
    return terms


def _present(viewer: Any, rows: Sequence[Row], terms: list[str]) -> list[Result]:
    by_kind: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row.object_id)
    hits: dict[tuple[str, int], Hit] = {}
    for kind, ids in by_kind.items():
        source = registry.get(kind)
        if source is None:
            continue
        for object_id, shown in source.present(viewer, ids).items():
            hits[(kind, object_id)] = shown
    results = []
    for row in rows:
        hit = hits.get((row.kind, row.object_id))
        if hit is None:  # gone or hidden since it was indexed
            continue
        results.append(
            Result(
                kind=row.kind,
                object_id=row.object_id,
                hit=hit,
                title=highlight(hit.title, terms, width=300),
                snippet=highlight(hit.text, terms) if hit.text else SafeString(""),
                score=float(row.score or 0.0),
            )
        )
    return results


def search(
    *,
    viewer: Any,
    query: str,
    filters: Filters | None = None,
    page: int = 1,
    limit: int = PAGE_SIZE,
    grouped: bool = False,
) -> SearchResults:
    """Search what the viewer may see. Never raises for bad input: an unusable query
    gives no results and a message. With `grouped` and no kind filter, fills `groups`
    (the best GROUP_SIZE of each kind, people and communities first) instead of a page;
    otherwise `results` is page `page` (1..MAX_PAGE) of `limit` (1..100).

    Words match as prefixes; when nothing matches, shorter forms of long words are
    tried (partial words) and then, for people, communities and topics, typo-tolerant
    name matching. A count per kind comes with every answer."""
    filters = filters or Filters()
    parsed = parse(query)
    page = min(max(1, page), MAX_PAGE)
    limit = min(max(1, limit), 100)
    answer = SearchResults(query=query, parsed=parsed, filters=filters, page=page, messages=parsed.messages)
    if parsed.is_empty:
        return answer
    known = registry.kinds()
    # Every kind is counted (the tabs show them all); the kind filter picks the page.
    kinds = known
    narrowing = _filter_condition(parsed, filters)
    engine = backend()
    sort = filters.sort if filters.sort in SORTS else "relevance"
    partial = False
    names: list[Row] = []
    # Two groups, each from its own index: people, communities and topics (exact
    # counts), posts and comments (the newest CANDIDATES matches; `capped` beyond).
    groups = [
        group
        for group in (
            [kind for kind in kinds if kind in NAME_KINDS],
            [kind for kind in kinds if kind not in NAME_KINDS],
        )
        if group
    ]
    # Each scope is compiled once (the count and every page reuse it). The content
    # statements (four to six a search) carry only the content kinds' scopes, without
    # the name kinds' branches (never true for their rows): 2.4 ms less per search on
    # PostgreSQL at 1M posts. The names statements keep the whole scope: narrowed to
    # their kinds they measured ~2.5 ms slower each.
    everything = _narrowed(scope_where(viewer, kinds), narrowing)
    where = {
        tuple(group): everything if is_names(group) else _narrowed(scope_where(viewer, group), narrowing)
        for group in groups
    }

    # Posts and comments: one statement returns the candidates with their scores; the
    # counts and every page of them come from that list (no second scan).
    content: list[Row] = []

    def count_all(partial: bool) -> dict[str, int]:
        nonlocal content
        found: dict[str, int] = defaultdict(int)
        for group in groups:
            if all(kind in NAME_KINDS for kind in group):
                counted, _capped = engine.count(parsed, where[tuple(group)], kinds=group, partial=partial)
                found.update(counted)
                continue
            content = engine.candidates(parsed, where[tuple(group)], kinds=group, partial=partial)
            if len(content) > CANDIDATES:
                content, answer.capped = content[:CANDIDATES], True
            for row in content:
                found[row.kind] += 1
        return dict(found)

    # Listing without text (filters only) goes through the ORM's own query.
    condition = Q() if parsed.has_text else scope(viewer, kinds) & narrowing
    if parsed.has_text:
        counts = count_all(False)
        if not counts and any(len(word) >= 4 for word in parsed.words):
            partial = True
            counts = count_all(True)
        if not counts and parsed.words and not (parsed.phrases or parsed.topics):
            names = engine.names(parsed.words, everything, limit=NAME_HITS)
            tally: dict[str, int] = defaultdict(int)
            for row in names:
                tally[row.kind] += 1
            counts = dict(tally)
    else:
        counts = engine.browse_count(condition)
    answer.counts = {kind: counts[kind] for kind in known if counts.get(kind)}
    terms = [] if names else _terms(parsed, partial=partial)

    def ordered(rows: list[Row]) -> list[Row]:
        if sort == "newest":
            return sorted(rows, key=lambda row: (row.created_at, row.id), reverse=True)
        return sorted(rows, key=lambda row: (row.score, row.id), reverse=True)

    def fetch(kind: str | None, size: int, offset: int) -> list[Row]:
        if names:
            rows = [row for row in names if kind is None or row.kind == kind]
            return rows[offset : offset + size]
        if not parsed.has_text:
            return engine.browse(condition & Q(kind=kind) if kind else condition, limit=size, offset=offset)
        found: list[Row] = []
        for group in groups:
            wanted = [k for k in group if kind is None or k == kind]
            if not wanted:
                continue
            if all(k in NAME_KINDS for k in group):
                found += engine.search(
                    parsed, where[tuple(group)], kinds=wanted, sort=sort, limit=offset + size, offset=0, partial=partial
                )
            else:
                found += [row for row in content if row.kind in wanted]
        return ordered(found)[offset : offset + size]

    if grouped and not filters.kind:
        for source in registry.sources():
            count = answer.counts.get(source.kind, 0)
            if count:
                rows = fetch(source.kind, GROUP_SIZE, 0)
                answer.groups.append(
                    Group(
                        source=source,
                        count=count,
                        results=_present(viewer, rows, terms),
                        capped=answer.capped and not source.is_name,
                    )
                )
        return answer
    if answer.total:
        rows = fetch(filters.kind or None, limit + 1, (page - 1) * limit)
        answer.has_next = len(rows) > limit and page < MAX_PAGE
        answer.results = _present(viewer, rows[:limit], terms)
    return answer


def suggest(*, viewer: Any, query: str) -> list[Result]:
    """Search-as-you-type: people, communities and topics whose names start with or
    contain the words (or nearly: typos), then a few posts. At most two or three
    small queries; only what the viewer may see."""
    parsed = parse(query)
    words = parsed.words
    if not words:
        return []
    engine = backend()
    rows: list[Row] = []
    if all(len(word) >= 3 for word in words):
        names_where = scope_where(viewer, NAME_KINDS)  # for both statements
        rows = engine.names_containing(words, names_where, limit=SUGGEST_NAMES)
        if len(rows) < SUGGEST_NAMES:
            seen = {row.id for row in rows}
            rows += [row for row in engine.names(words, names_where, limit=SUGGEST_NAMES) if row.id not in seen][
                : SUGGEST_NAMES - len(rows)
            ]
    else:
        rows = engine.names_starting(fold(" ".join(words)), scope(viewer, NAME_KINDS), limit=SUGGEST_NAMES)
    order = {kind: position for position, kind in enumerate(registry.kinds())}
    rows.sort(key=lambda row: order.get(row.kind, 99))
    if len(" ".join(words)) >= 3:
        rows += engine.search(
            ParsedQuery(words=words, phrases=parsed.phrases),
            scope_where(viewer, ["post"]),
            kinds=["post"],
            sort="relevance",
            limit=SUGGEST_POSTS,
            offset=0,
            cap=SUGGEST_CANDIDATES,
        )
    return _present(viewer, rows, list(words))
