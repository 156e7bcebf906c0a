"""Pages for the people who run a community: members, settings (archive and
delete included), join requests and invitations. Those who may only look get 403;
hidden communities answer 404 like missing ones (see web.community_page)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from townhall.accounts.http import AuthedRequest
from townhall.communities import members, selectors, services
from townhall.communities.forms import CommunityForm, DeleteForm, InviteForm
from townhall.communities.models import Community
from townhall.communities.web import back, community_page, is_htmx, next_url
from townhall.core.errors import NotFound, ValidationFailed
from townhall.core.forms import apply_error

MEMBERS_PAGE_SIZE = 50


# --- members ------------------------------------------------------------------------------


@community_page
@require_GET
def community_members(request: AuthedRequest, community: Community) -> HttpResponse:
    """Who belongs, admins first; those who run the community can remove, promote
    and demote. Readers only (a private community's members list is for members)."""
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.members(viewer=request.user, community=community, cursor=cursor, limit=MEMBERS_PAGE_SIZE)
    except ValidationFailed:
        cursor = None
        page = selectors.members(viewer=request.user, community=community, limit=MEMBERS_PAGE_SIZE)
    header = selectors.community_header(viewer=request.user, community=community, tab="members")
    return render(
        request,
        "communities/members.html",
        {
            "nav": "communities",
            "page_title": f"Members · {community.name}",
            "header": header,
            "community": community,
            "rows": selectors.member_rows(viewer=request.user, community=community, page=page),
            "is_later_page": bool(cursor),
            "next_url": f"?{urlencode({'cursor': page.next_cursor})}" if page.next_cursor else "",
        },
    )


MEMBER_ACTIONS = {
    "remove": (members.member_remove, "{name} is no longer a member."),
    "promote": (members.member_promote, "{name} is now an admin of {community}."),
    "demote": (members.member_demote, "{name} is no longer an admin of {community}."),
}


@community_page
@require_POST
def member_action(request: AuthedRequest, community: Community, user_id: int) -> HttpResponse:
    action = MEMBER_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, "Choose remove, promote or demote.")
        return redirect("communities:members", slug=community.slug)
    service, done = action
    # Only those who run it may act (403 otherwise), before we say whether the person belongs.
    if not selectors.community_flags(viewer=request.user, community=community).can_moderate:
        raise DjangoPermissionDenied("Only the community's admins can manage members.")
    try:
        seat = selectors.community_member_of(community=community, user_id=user_id)
    except NotFound as exc:
        raise Http404 from exc
    try:
        service(actor=request.user, community=community, user=seat.user)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done.format(name=seat.user.display_name, community=community.name))
    if seat.user_id == request.user.pk:
        return back(request, community)
    return redirect(next_url(request, reverse("communities:members", args=[community.slug])))


# --- settings -------------------------------------------------------------------------------


@community_page
@require_http_methods(["GET", "POST"])
def community_settings(request: AuthedRequest, community: Community) -> HttpResponse:
    """Edit, archive, unarchive or delete (with confirmation). Those who run it only."""
    header = selectors.community_header(viewer=request.user, community=community, tab="settings")
    if not header["can_moderate"]:
        raise DjangoPermissionDenied("Only the community's admins can change its settings.")
    form = CommunityForm(initial=CommunityForm.initial_for(community), community=community)
    delete_form = DeleteForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "archive":
                services.community_archive(actor=request.user, community=community)
                messages.success(request, f"{community.name} is archived: it stays readable, but nothing new.")
                return redirect("communities:settings", slug=community.slug)
            if action == "unarchive":
                services.community_unarchive(actor=request.user, community=community)
                messages.success(request, f"{community.name} is open again.")
                return redirect("communities:settings", slug=community.slug)
            if action == "delete":
                delete_form = DeleteForm(request.POST)
                if delete_form.is_valid():
                    services.community_delete(actor=request.user, community=community)
                    messages.success(request, f"{community.name} is deleted.")
                    return redirect("communities:list")
                status = 400
            else:
                form = CommunityForm(request.POST, request.FILES, community=community)
                if form.is_valid():
                    data = form.cleaned_data
                    services.community_update(
                        actor=request.user,
                        community=community,
                        name=data["name"],
                        description=data["description"],
                        kind=data.get("kind"),
                        visibility=data.get("visibility"),
                        cover=data.get("cover"),
                        remove_cover=bool(data.get("remove_cover")),
                    )
                    messages.success(request, "The settings are saved.")
                    return redirect("communities:settings", slug=community.slug)
                status = 400
        except ValidationFailed as exc:
            if action in {"archive", "unarchive", "delete"}:
                messages.error(request, exc.message)
                return redirect("communities:settings", slug=community.slug)
            apply_error(form, exc)
            status = 400
    return render(
        request,
        "communities/settings.html",
        {
            "nav": "communities",
            "page_title": f"Settings · {community.name}",
            "header": header,
            "community": community,
            "form": form,
            "delete_form": delete_form,
            "fixed": community.is_all_company or community.department_id is not None,
        },
        status=status,
    )


# --- join requests -------------------------------------------------------------------------


@community_page
@require_GET
def community_requests(request: AuthedRequest, community: Community) -> HttpResponse:
    requests = selectors.pending_requests(viewer=request.user, community=community)
    header = selectors.community_header(viewer=request.user, community=community, tab="requests")
    return render(
        request,
        "communities/requests.html",
        {
            "nav": "communities",
            "page_title": f"Join requests · {community.name}",
            "header": header,
            "community": community,
            "requests": requests,
        },
    )


@community_page
@require_POST
def request_decide(request: AuthedRequest, community: Community, request_id: int) -> HttpResponse:
    decision = request.POST.get("decision")
    if decision not in {"approve", "decline"}:
        messages.error(request, "Choose approve or decline.")
        return redirect("communities:requests", slug=community.slug)
    try:
        if decision == "approve":
            seat = members.request_approve(actor=request.user, community=community, request_id=request_id)
            text = f"{seat.user.display_name} is now a member."
        else:
            declined = members.request_decline(actor=request.user, community=community, request_id=request_id)
            text = f"You declined {declined.user.display_name}'s request."
        ok = True
    except ValidationFailed as exc:
        text, ok = exc.message, False
    if is_htmx(request):
        return render(request, "communities/_decided.html", {"text": text, "ok": ok})
    (messages.success if ok else messages.error)(request, text)
    return redirect("communities:requests", slug=community.slug)


# --- invitations ----------------------------------------------------------------------------


@community_page
@require_http_methods(["GET", "POST"])
def community_invite(request: AuthedRequest, community: Community) -> HttpResponse:
    header = selectors.community_header(viewer=request.user, community=community, tab="invite")
    if not header["can_moderate"]:
        raise DjangoPermissionDenied("Only the community's admins can invite people.")
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                person = selectors.invitee_by_email(viewer=request.user, email=form.cleaned_data["email"])
                members.community_invite(actor=request.user, community=community, user=person)
            except ValidationFailed as exc:
                apply_error(form, exc)
            else:
                messages.success(request, f"{person.display_name} is invited to {community.name}.")
                return redirect("communities:invite", slug=community.slug)
        status = 400
    return render(
        request,
        "communities/invite.html",
        {
            "nav": "communities",
            "page_title": f"Invite people · {community.name}",
            "header": header,
            "community": community,
            "form": form,
            "people": selectors.invite_candidates(viewer=request.user, community=community),
            "sent": selectors.sent_invitations(viewer=request.user, community=community),
        },
        status=status,
    )
