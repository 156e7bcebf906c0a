"""What the communities pages share: resolving a community for a page, and going
back after an action."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from townhall.accounts.http import AuthedRequest
from townhall.communities import selectors
from townhall.communities.models import Community
from townhall.communities.permissions import can_view_community, forget_viewer_state
from townhall.core.errors import NotFound, PermissionDenied

CommunityView = Callable[..., HttpResponse]


def community_page(view: CommunityView) -> CommunityView:
    """Sign-in required; `slug` resolved to a community the viewer may know of (404
    otherwise); NotFound and PermissionDenied from services become 404 and 403."""

    @login_required
    @wraps(view)
    def wrapper(request: AuthedRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            community = selectors.community_get(viewer=request.user, slug=slug)
            return view(request, community, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper


def next_url(request: HttpRequest, fallback: str) -> str:
    candidate = request.POST.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def back(request: AuthedRequest, community: Community) -> HttpResponse:
    """Back where the form was, or the community's page; the directory when the
    community is no longer visible to the viewer (they left a secret one, say)."""
    forget_viewer_state(community)
    if community.deleted_at is not None or not can_view_community(request.user, community):
        return redirect("communities:list")
    return redirect(next_url(request, f"/c/{community.slug}/"))


def is_htmx(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request
