"""The search page and the header's suggestions: thin adapters over selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from townhall.core.announce import results_status
from townhall.search import registry
from townhall.search.forms import SearchForm
from townhall.search.selectors import PAGE_SIZE, SearchResults, search, suggest

TEMPLATE = "search/search.html"


def _status(answer: SearchResults) -> str:
    source = registry.get(answer.filters.kind)
    if answer.parsed.is_empty:
        return answer.messages[-1] if answer.messages else "Type a word to search."
    shown = len(answer.results) if source else sum(len(group.results) for group in answer.groups)
    found = answer.counts.get(source.kind, 0) if source else answer.total
    if not found:
        return f"No {source.label.lower()} match your search." if source else "Nothing matches your search."
    noun = (source.singular, source.label.lower()) if source else ("result", "results")
    more = "+" if answer.capped and not (source and source.is_name) else ""
    total = f"{found:,}{more} {noun[0] if found == 1 and not more else noun[1]} found."
    return f"{total} {results_status(count=shown, more=False, has_next=answer.has_next, singular='result', plural='results', empty='')}"


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    """Results grouped by kind (the best few of each, with a link to all of them),
    or one kind page by page; filters and sort as plain GET parameters. An htmx
    request gets only the results block."""
    form = SearchForm(request.GET)
    filters = form.filters()
    query = form.query()
    page = _page_number(request.GET.get("page"))
    answer = search(
        viewer=request.user, query=query, filters=filters, page=page, limit=PAGE_SIZE, grouped=not filters.kind
    )
    params: dict[str, str] = {key: str(value) for key, value in request.GET.items() if key != "page" and value}

    def link(**changes: str | int | None) -> str:
        merged: dict[str, str | int] = {**params, **{k: v for k, v in changes.items() if v}}
        for key, value in changes.items():
            if not value:
                merged.pop(key, None)
        return "?" + urlencode(merged)

    def shown(count: int, capped: bool) -> str:
        return f"{count:,}+" if capped else f"{count:,}"

    tabs = [
        {
            "kind": "",
            "label": "Everything",
            "count": answer.total,
            "shown": shown(answer.total, answer.capped),
            "url": link(kind="", page=None),
        },
        *(
            {
                "kind": source.kind,
                "label": source.label,
                "count": answer.counts.get(source.kind, 0),
                "shown": shown(answer.counts.get(source.kind, 0), answer.capped and not source.is_name),
                "url": link(kind=source.kind, page=None),
            }
            for source in registry.sources()
        ),
    ]
    context = {
        "nav": "search",
        "page_title": f"Search: {query[:60]}" if query else "Search",
        "form": form,
        "query": query,
        "answer": answer,
        "tabs": tabs,
        "kind": filters.kind,
        "kind_urls": {source.kind: link(kind=source.kind, page=None) for source in registry.sources()},
        "previous_url": link(page=answer.page - 1) if answer.page > 1 else "",
        "next_url": link(page=answer.page + 1) if answer.has_next else "",
        "status": _status(answer),
        "swap": False,
        "filter_fields": [form["community"], form["author"], form["after"], form["before"]],
        "advanced_open": any(params.get(key) for key in ("community", "author", "after", "before"))
        or bool(form.errors),
    }
    template = TEMPLATE
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        template = f"{TEMPLATE}#results"
        context["swap"] = True
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_GET
def suggestions(request: HttpRequest) -> HttpResponse:
    """Search-as-you-type for the header box: a small HTML fragment (people and
    communities first, then topics and a few posts)."""
    query = (request.GET.get("q") or "")[:200]
    results = suggest(viewer=request.user, query=query) if query.strip() else []
    count = len(results)
    status = f"{count} suggestion{'s' if count != 1 else ''}." if query.strip() else ""
    return render(request, "search/_suggest.html", {"results": results, "query": query, "status": status})
