"""`/api/v1/search`: the search page's results and the header's suggestions, with the
same query language (words as prefixes, "phrases", from:@handle, in:community,
#topic) and the same guarantee: only what the caller may see, in results, counts and
snippets.

It lives in the api package (like notifications) because search is a platform app
below accounts, where the API's auth and error shapes come from.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from townhall.accounts.api_auth import current_user
from townhall.accounts.schemas import InputSchema, error_responses
from townhall.search.selectors import Filters, Result, search, suggest

router = Router(tags=["search"])

Kind = Literal["person", "community", "topic", "post", "comment"]
QUERY_HELP = (
    'Words match as prefixes, ignoring case and accents; `"a phrase"` matches in order; '
    "`from:@handle`, `in:community-slug` and `#topic` narrow the results. Input the query "
    "cannot use (only very common words, a lone quote, FTS syntax) gives no results and "
    "a `messages` entry, never an error; longer than 256 characters is cut."
)


class SearchQueryIn(InputSchema):
    q: str = Field(default="", max_length=20_000, description=QUERY_HELP)
    kind: Kind | None = Field(default=None, description="Only this kind of result.")
    community: str = Field(default="", max_length=120, description="Only inside this community (its slug).")
    author: str = Field(default="", max_length=150, description="Only by this person (their handle).")
    after: date | None = Field(default=None, description="Created on or after this day.")
    before: date | None = Field(default=None, description="Created on or before this day.")
    sort: Literal["relevance", "newest"] = "relevance"
    page: int = Field(default=1, ge=1, le=50)
    limit: int = Field(default=20, ge=1, le=100)


class SuggestQueryIn(InputSchema):
    q: str = Field(default="", max_length=200, description="What has been typed so far.")


class HitOut(Schema):
    kind: Kind
    id: int
    title: str
    url: str
    meta: str
    title_html: str = Field(description="The title, escaped, with matching words in <mark>.")
    snippet_html: str = Field(description="An escaped excerpt with matching words in <mark> (may be empty).")
    score: float


class SearchOut(Schema):
    query: str
    messages: list[str] = Field(description="What was done with the query (cut, quote not closed, too common).")
    counts: dict[str, int] = Field(description="Matches per kind (only kinds with matches).")
    counts_capped: bool = Field(
        description="Posts and comments were counted up to the newest 2,000 matches: their counts are lower bounds."
    )
    total: int
    page: int
    next_page: int | None
    results: list[HitOut]


class SuggestOut(Schema):
    query: str
    results: list[HitOut]


def _hit(result: Result) -> HitOut:
    return HitOut(
        kind=result.kind,  # type: ignore[arg-type]
        id=result.object_id,
        title=result.hit.title,
        url=result.hit.url,
        meta=result.hit.meta,
        title_html=str(result.title),
        snippet_html=str(result.snippet),
        score=round(result.score, 6),
    )


@router.get("/search", response={200: SearchOut, **error_responses(422)}, operation_id="search", url_name="search")
def search_everything(request: HttpRequest, params: Query[SearchQueryIn]) -> SearchOut:
    """Everything the caller may see that matches, best first (or newest first),
    a page at a time, with a count per kind."""
    answer = search(
        viewer=current_user(request),
        query=params.q,
        filters=Filters(
            kind=params.kind or "",
            community=params.community,
            author=params.author,
            after=params.after,
            before=params.before,
            sort=params.sort,
        ),
        page=params.page,
        limit=params.limit,
    )
    return SearchOut(
        query=params.q[:256],
        messages=list(answer.messages),
        counts=answer.counts,
        counts_capped=answer.capped,
        total=answer.total,
        page=answer.page,
        next_page=answer.page + 1 if answer.has_next else None,
        results=[_hit(result) for result in answer.results],
    )


@router.get("/search/suggest", response={200: SuggestOut, **error_responses(422)}, operation_id="search_suggest")
def search_suggest(request: HttpRequest, params: Query[SuggestQueryIn]) -> SuggestOut:
    """Search-as-you-type: people, communities and topics first, then a few posts."""
    results = suggest(viewer=current_user(request), query=params.q) if params.q.strip() else []
    return SuggestOut(query=params.q, results=[_hit(result) for result in results])
