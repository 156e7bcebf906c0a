"""Pages of communities: thin adapters over selectors and services.

Every action is a POST form that works without JavaScript (it redirects back with a
message); the directory's cards and the request/invitation lists also accept htmx
and then answer with just the part they swap. A community the viewer may not know
of answers 404, the same page as a slug that never existed. The pages for those who
run a community are in views_manage.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from townhall.accounts.http import AuthedRequest
from townhall.communities import members, selectors, services
from townhall.communities.forms import CommunityForm, CommunitySearchForm, JoinForm
from townhall.communities.models import Community, JoinRequest, Kind
from townhall.communities.permissions import can_create_community, forget_viewer_state
from townhall.communities.web import back, community_page, is_htmx, next_url
from townhall.core.announce import results_status
from townhall.core.errors import NotFound, TownhallError, ValidationFailed
from townhall.core.forms import apply_error
from townhall.core.pagination import Page

PAGE_SIZE = 24
LIST_TEMPLATE = "communities/list.html"


def _card_response(request: AuthedRequest, community: Community, status: str, *, ok: bool) -> HttpResponse:
    """The directory card again, after an action taken from it with htmx (or just
    the message, when the viewer can no longer see the community)."""
    forget_viewer_state(community)
    try:
        community = selectors.community_get(viewer=request.user, slug=community.slug)
    except NotFound:
        return render(request, "communities/_decided.html", {"text": status, "ok": ok})
    card = selectors.community_cards(viewer=request.user, communities=[community])[0]
    # The page the card sits on, for its forms' no-JavaScript fallback.
    current = getattr(request.htmx, "current_url_abs_path", None) or "/communities/"  # type: ignore[attr-defined]
    context = {"card": card, "card_status": status, "ok": ok, "next_path": current}
    return render(request, "communities/_card.html", context)


# --- the directory --------------------------------------------------------------------


def _status(page: Page[Community], *, more: bool = False) -> str:
    return results_status(
        count=len(page.items),
        more=more,
        has_next=bool(page.next_cursor),
        singular="community",
        plural="communities",
        empty="No communities match.",
    )


@login_required
@require_GET
def community_list(request: AuthedRequest) -> HttpResponse:
    """The communities directory: search as you type, a kind filter, "My
    communities", and "Show more" by cursor. htmx gets only what it swaps."""
    viewer = request.user
    form = CommunitySearchForm(request.GET)
    query, kind, mine = form.criteria()
    cursor = request.GET.get("cursor") or None
    cursor_expired = False
    try:
        page = selectors.communities_list(
            viewer=viewer, kind=kind, query=query, mine=mine, cursor=cursor, limit=PAGE_SIZE
        )
    except ValidationFailed:
        cursor, cursor_expired = None, True
        page = selectors.communities_list(viewer=viewer, kind=kind, query=query, mine=mine, limit=PAGE_SIZE)
    params = {key: value for key, value in (("q", query), ("kind", kind), ("mine", "on" if mine else "")) if value}
    context = {
        "nav": "communities",
        "page_title": f"Communities matching “{query}”" if query else "Communities",
        "form": form,
        "cards": selectors.community_cards(viewer=viewer, communities=page.items),
        "page": page,
        "filtered": bool(params),
        "mine": mine,
        "is_later_page": bool(cursor),
        "cursor_expired": cursor_expired,
        "first_page_url": f"?{urlencode(params)}" if params else "?",
        "mine_url": f"?{urlencode({'mine': 'on'})}",
        "next_url": f"?{urlencode({**params, 'cursor': page.next_cursor})}" if page.next_cursor else "",
        "can_create": can_create_community(viewer),
        "invitation_count": selectors.invitation_count(viewer=viewer),
        "status": _status(page),
        "swap": False,
    }
    template = LIST_TEMPLATE
    if is_htmx(request):
        context["swap"] = True
        if request.htmx.target == "communities-more" and cursor:  # type: ignore[attr-defined]
            template = f"{LIST_TEMPLATE}#more_page"
            context["status"] = _status(page, more=True)
        else:
            template = f"{LIST_TEMPLATE}#results"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_http_methods(["GET", "POST"])
def community_create(request: AuthedRequest) -> HttpResponse:
    """Create a community; the creator becomes its admin. Guests may not (403)."""
    if not can_create_community(request.user):
        raise DjangoPermissionDenied("Guests cannot create communities.")
    status = 200
    if request.method == "POST":
        form = CommunityForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                community = services.community_create(
                    actor=request.user,
                    name=data["name"],
                    description=data["description"],
                    kind=data["kind"],
                    visibility=data["visibility"],
                    cover=data.get("cover"),
                )
            except TownhallError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, f"{community.name} is ready. Invite people or write the first post.")
                return redirect(f"/c/{community.slug}/")
        status = 400
    else:
        form = CommunityForm(initial={"kind": Kind.INTEREST, "visibility": "public"})
    return render(
        request,
        "communities/create.html",
        {"nav": "communities", "page_title": "New community", "form": form},
        status=status,
    )


# --- joining, leaving, muting -----------------------------------------------------------


@community_page
@require_POST
def community_join(request: AuthedRequest, community: Community) -> HttpResponse:
    form = JoinForm(request.POST)
    message = form.cleaned_data["message"] if form.is_valid() else ""
    try:
        result = services.community_join(actor=request.user, community=community, message=message)
    except ValidationFailed as exc:
        text, ok = exc.message, False
    else:
        ok = True
        if isinstance(result, JoinRequest):
            text = f"Your request to join {community.name} is sent. Its admins will decide."
        else:
            text = f"You are now a member of {community.name}."
    if is_htmx(request):
        return _card_response(request, community, text, ok=ok)
    (messages.success if ok else messages.error)(request, text)
    return back(request, community)


@community_page
@require_POST
def community_leave(request: AuthedRequest, community: Community) -> HttpResponse:
    try:
        services.community_leave(actor=request.user, community=community)
    except ValidationFailed as exc:
        text, ok = exc.message, False
    else:
        text, ok = f"You left {community.name}.", True
    if is_htmx(request):
        return _card_response(request, community, text, ok=ok)
    (messages.success if ok else messages.error)(request, text)
    return back(request, community)


@community_page
@require_POST
def community_mute(request: AuthedRequest, community: Community) -> HttpResponse:
    muted = request.POST.get("muted") in {"1", "true", "on"}
    try:
        services.community_mute(actor=request.user, community=community, muted=muted)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{community.name} is muted: its posts stay out of your home feed."
            if muted
            else f"{community.name} is unmuted: its posts appear in your home feed again.",
        )
    return back(request, community)


@login_required
@require_GET
def my_invitations(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "communities/invitations.html",
        {
            "nav": "communities",
            "page_title": "Invitations",
            "invitations": selectors.my_invitations(viewer=request.user),
        },
    )


@login_required
@require_POST
def invitation_decide(request: AuthedRequest, invitation_id: int) -> HttpResponse:
    decision = request.POST.get("decision")
    if decision not in {"accept", "decline"}:
        messages.error(request, "Choose accept or decline.")
        return redirect("communities:invitations")
    try:
        if decision == "accept":
            seat = members.invitation_accept(actor=request.user, invitation_id=invitation_id)
            community = seat.community
            text = f"Welcome to {community.name}."
        else:
            community = members.invitation_decline(actor=request.user, invitation_id=invitation_id)
            text = f"You declined the invitation to {community.name}."
        ok = True
    except NotFound as exc:
        raise Http404 from exc
    except ValidationFailed as exc:
        text, ok, community = exc.message, False, None
    if is_htmx(request):
        link = f"/c/{community.slug}/" if ok and decision == "accept" and community is not None else ""
        return render(request, "communities/_decided.html", {"text": text, "ok": ok, "link": link})
    (messages.success if ok else messages.error)(request, text)
    if ok and decision == "accept" and community is not None:
        return redirect(next_url(request, f"/c/{community.slug}/"))
    return redirect(next_url(request, reverse("communities:invitations")))
