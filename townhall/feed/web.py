"""Helpers shared by the feed and post pages: the signed-in viewer, htmx detection,
safe "back" URLs and the one function that renders a page of cards."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from townhall.accounts.http import AuthedRequest
from townhall.core.announce import results_status
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.core.pagination import Page
from townhall.feed.selectors import ORDERS, hydrate
from townhall.posts.models import Post
from townhall.posts.services import posts_mark_seen

# Ten cards fill a tall screen; infinite scroll brings the next ten before the reader gets there.
PAGE_SIZE = 10
FEED_TEMPLATE = "feed/_feed.html"

View = Callable[..., HttpResponse]


def domain_errors(view: View) -> View:
    """NotFound -> 404 (the same page as a missing object); PermissionDenied -> 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper


def is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def here(request: HttpRequest) -> str:
    """The page the person is looking at (for an htmx request, the page that sent it):
    where a no-JavaScript form should come back to."""
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.current_url_abs_path:
        return str(htmx.current_url_abs_path)
    return request.get_full_path()


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` field (POST) or parameter (GET) when it is a local URL, else `fallback`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def order_of(request: HttpRequest) -> str:
    order = request.GET.get("order") or "latest"
    return order if order in ORDERS else "latest"


def tabs(base_url: str, order: str) -> list[dict[str, Any]]:
    return [
        {"label": "Latest", "url": base_url, "current": order == "latest"},
        {"label": "Top", "url": f"{base_url}?order=top", "current": order == "top"},
    ]


def _status(count: int, *, more: bool, has_next: bool) -> str:
    """What a screen reader hears after a page of posts arrives."""
    return results_status(
        count=count,
        more=more,
        has_next=has_next,
        singular="post",
        plural="posts",
        empty="No more posts." if more else "No posts yet.",
    )


def feed_response(
    request: AuthedRequest,
    *,
    fetch: Callable[[str, str | None], Page[Post]],
    template: str,
    base_url: str,
    context: dict[str, Any],
) -> HttpResponse:
    """Render one page of a feed: `fetch(order, cursor)` gives the posts, which are
    hydrated into cards and marked seen. A full page normally; for the htmx "load
    more" request only the next cards, the new "load more" link and the status line.
    A cursor that no longer parses starts again from the first page."""
    order = order_of(request)
    cursor = request.GET.get("cursor") or None
    expired = False
    try:
        page = fetch(order, cursor)
    except ValidationFailed:
        cursor, expired = None, True
        page = fetch(order, None)
    cards = hydrate(viewer=request.user, posts=page.items)
    posts_mark_seen(viewer=request.user, post_ids=[card.id for card in cards], verified=True)
    query = {"order": order} if order != "latest" else {}
    more = bool(cursor) and is_htmx(request) and request.htmx.target == "feed-more"  # type: ignore[attr-defined]
    context = {
        **context,
        "cards": cards,
        "order": order,
        "tabs": tabs(base_url, order),
        "next_url": f"{base_url}?{urlencode({**query, 'cursor': page.next_cursor})}" if page.next_cursor else "",
        "first_page_url": f"{base_url}?{urlencode(query)}" if query else base_url,
        "is_later_page": bool(cursor),
        "cursor_expired": expired,
        "status": _status(len(cards), more=more, has_next=bool(page.next_cursor)),
        "here": here(request),
    }
    response = render(request, f"{FEED_TEMPLATE}#more_page" if more else template, context)
    # The same URL answers a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response
