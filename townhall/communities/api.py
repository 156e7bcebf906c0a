"""`/api/v1/communities`: the directory of communities, joining and leaving,
members, join requests, invitations, settings, archive and delete.

Thin adapters: reads go through selectors, writes through services. A community
the caller may not know of answers 404 exactly like a slug that never existed.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router

from townhall.accounts.api_auth import current_user
from townhall.accounts.models import User
from townhall.accounts.schemas import Id, error_responses
from townhall.communities import members, selectors, services
from townhall.communities.models import Community, CommunityInvitation, JoinRequest, Membership
from townhall.communities.permissions import forget_viewer_state
from townhall.communities.schemas import (
    CommunityCreateIn,
    CommunityOut,
    CommunityPageOut,
    CommunityPatchIn,
    CommunityQueryIn,
    InvitationOut,
    InviteIn,
    JoinIn,
    JoinOut,
    JoinRequestOut,
    MemberOut,
    MemberPageOut,
    MuteIn,
    Slug,
)
from townhall.core.errors import PermissionDenied, ValidationFailed
from townhall.core.pagination import Page

router = Router(tags=["communities"])

CURSOR_INVALID = "The cursor is not valid; start again from the first page."


# --- shapes ---------------------------------------------------------------------------


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    profile = getattr(user, "profile", None)
    avatar = profile.avatar.url if profile is not None and profile.avatar else None
    return {"id": user.pk, "display_name": user.display_name, "avatar_url": avatar}


def _community(viewer: User, community: Community) -> dict[str, Any]:
    flags = selectors.community_flags(viewer=viewer, community=community)
    return {
        "id": community.pk,
        "slug": community.slug,
        "name": community.name,
        "kind": community.kind,
        "visibility": community.visibility,
        "description": community.description,
        "cover_url": community.cover.url if community.cover else None,
        "is_all_company": community.is_all_company,
        "is_department": community.department_id is not None,
        "member_count": community.member_count,
        "archived": community.is_archived,
        "created_at": community.created_at,
        "viewer": flags.__dict__,
    }


def _fresh(viewer: User, slug: str) -> dict[str, Any]:
    return _community(viewer, selectors.community_get(viewer=viewer, slug=slug))


def _member(seat: Membership) -> dict[str, Any]:
    return {
        "user": _person(seat.user),
        "role": seat.role,
        "synced": seat.synced,
        "is_active": seat.user.is_active,
        "joined_at": seat.created_at,
    }


def _invitation(invitation: CommunityInvitation) -> dict[str, Any]:
    c = invitation.community
    return {
        "id": invitation.pk,
        "community": {"id": c.pk, "slug": c.slug, "name": c.name, "kind": c.kind, "visibility": c.visibility},
        "user": _person(invitation.user),
        "invited_by": _person(invitation.invited_by),
        "created_at": invitation.created_at,
    }


def _cursor_error(exc: ValidationFailed) -> ValidationFailed:
    return ValidationFailed(exc.message, fields={"cursor": [exc.message]})


def _get(request: HttpRequest, slug: str) -> tuple[User, Community]:
    viewer = current_user(request)
    return viewer, selectors.community_get(viewer=viewer, slug=slug)


# --- the directory --------------------------------------------------------------------------


@router.get("", response={200: CommunityPageOut, **error_responses(422)}, operation_id="community_list")
def community_list(request: HttpRequest, filters: Query[CommunityQueryIn]) -> dict[str, Any]:
    """Communities the caller may know of, by name: public and private ones, and
    secret ones only for their members and invitees. Every word of `q` must match
    the name or description. Cursor-paginated."""
    viewer = current_user(request)
    try:
        page = selectors.communities_list(
            viewer=viewer,
            kind=filters.kind,
            query=filters.q,
            mine=filters.mine,
            cursor=filters.cursor,
            limit=filters.limit,
        )
    except ValidationFailed as exc:
        raise _cursor_error(exc) from exc
    return {"items": [_community(viewer, c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("", response={201: CommunityOut, **error_responses(400, 403, 422)}, operation_id="community_create")
def community_create(request: HttpRequest, payload: CommunityCreateIn) -> tuple[int, dict[str, Any]]:
    """Create a community; the caller becomes its first admin. Guests may not (403)."""
    viewer = current_user(request)
    community = services.community_create(
        actor=viewer,
        name=payload.name,
        description=payload.description,
        kind=payload.kind,
        visibility=payload.visibility,
    )
    return 201, _fresh(viewer, community.slug)


# Before /{slug}: "invitations" is a reserved slug.
@router.get(
    "/invitations",
    response={200: list[InvitationOut], **error_responses()},
    operation_id="community_invitations_mine",
)
def community_invitations_mine(request: HttpRequest) -> list[dict[str, Any]]:
    """The caller's open invitations, newest first."""
    return [_invitation(inv) for inv in selectors.my_invitations(viewer=current_user(request))]


@router.post(
    "/invitations/{invitation_id}/accept",
    response={200: CommunityOut, **error_responses(400, 403, 404, 422)},
    operation_id="community_invitation_accept",
)
def community_invitation_accept(request: HttpRequest, invitation_id: Path[Id]) -> dict[str, Any]:
    """Accept one of the caller's invitations: they become a member."""
    viewer = current_user(request)
    seat = members.invitation_accept(actor=viewer, invitation_id=invitation_id)
    return _fresh(viewer, seat.community.slug)


@router.post(
    "/invitations/{invitation_id}/decline",
    response={204: None, **error_responses(400, 403, 404, 422)},
    operation_id="community_invitation_decline",
)
def community_invitation_decline(request: HttpRequest, invitation_id: Path[Id]) -> tuple[int, None]:
    """Decline one of the caller's invitations; it is removed."""
    members.invitation_decline(actor=current_user(request), invitation_id=invitation_id)
    return 204, None


# --- one community ----------------------------------------------------------------------------


@router.get("/{slug}", response={200: CommunityOut, **error_responses(404, 422)}, operation_id="community_get")
def community_get(request: HttpRequest, slug: Path[Slug]) -> dict[str, Any]:
    """One community, with what the caller may do there."""
    viewer, community = _get(request, slug)
    return _community(viewer, community)


@router.patch(
    "/{slug}", response={200: CommunityOut, **error_responses(400, 403, 404, 422)}, operation_id="community_update"
)
def community_update(request: HttpRequest, slug: Path[Slug], payload: CommunityPatchIn) -> dict[str, Any]:
    """Change the fields sent. Community admins, site admins and IC moderators may."""
    viewer, community = _get(request, slug)
    sent = payload.model_dump(exclude_unset=True)
    for name in ("name", "kind", "visibility"):
        if name in sent and sent[name] is None:
            raise ValidationFailed(f"{name}: may not be null.", fields={name: ["May not be null."]})
    services.community_update(
        actor=viewer,
        community=community,
        name=sent.get("name"),
        description=sent.get("description"),
        kind=sent.get("kind"),
        visibility=sent.get("visibility"),
    )
    return _fresh(viewer, slug)


@router.delete("/{slug}", response={204: None, **error_responses(400, 403, 404, 422)}, operation_id="community_delete")
def community_delete(request: HttpRequest, slug: Path[Slug]) -> tuple[int, None]:
    """Delete softly: from now on the community answers 404 for everyone."""
    viewer, community = _get(request, slug)
    services.community_delete(actor=viewer, community=community)
    return 204, None


@router.delete(
    "/{slug}/cover",
    response={200: CommunityOut, **error_responses(400, 403, 404, 422)},
    operation_id="community_cover_delete",
)
def community_cover_delete(request: HttpRequest, slug: Path[Slug]) -> dict[str, Any]:
    """Remove the cover image."""
    viewer, community = _get(request, slug)
    services.community_update(actor=viewer, community=community, remove_cover=True)
    return _fresh(viewer, slug)


@router.post(
    "/{slug}/archive",
    response={200: CommunityOut, **error_responses(400, 403, 404, 422)},
    operation_id="community_archive",
)
def community_archive(request: HttpRequest, slug: Path[Slug]) -> dict[str, Any]:
    """Make the community read-only (still readable). Idempotent."""
    viewer, community = _get(request, slug)
    services.community_archive(actor=viewer, community=community)
    return _fresh(viewer, slug)


@router.post(
    "/{slug}/unarchive",
    response={200: CommunityOut, **error_responses(400, 403, 404, 422)},
    operation_id="community_unarchive",
)
def community_unarchive(request: HttpRequest, slug: Path[Slug]) -> dict[str, Any]:
    viewer, community = _get(request, slug)
    services.community_unarchive(actor=viewer, community=community)
    return _fresh(viewer, slug)


# --- joining ----------------------------------------------------------------------------------


def _join(request: HttpRequest, slug: str, message: str) -> dict[str, Any]:
    viewer, community = _get(request, slug)
    result = services.community_join(actor=viewer, community=community, message=message)
    status = "requested" if isinstance(result, JoinRequest) else "joined"
    return {"status": status, "community": _fresh(viewer, slug)}


@router.post(
    "/{slug}/join", response={200: JoinOut, **error_responses(400, 403, 404, 422)}, operation_id="community_join"
)
def community_join(request: HttpRequest, slug: Path[Slug]) -> dict[str, Any]:
    """Join a public community (or any the caller is invited to) at once; for a
    private one this files a join request without a message (`requested`). Secret
    communities are 404 unless invited."""
    return _join(request, slug, "")


@router.post(
    "/{slug}/requests",
    response={200: JoinOut, **error_responses(400, 403, 404, 422)},
    operation_id="community_request_create",
)
def community_request_create(request: HttpRequest, slug: Path[Slug], payload: JoinIn) -> dict[str, Any]:
    """Ask to join a private community with a message for its admins (one pending
    request at a time; a repeat returns it). Where one click is enough (public, or
    invited) this joins at once."""
    return _join(request, slug, payload.message)


@router.post(
    "/{slug}/leave", response={204: None, **error_responses(400, 403, 404, 422)}, operation_id="community_leave"
)
def community_leave(request: HttpRequest, slug: Path[Slug]) -> tuple[int, None]:
    """Leave. Refused for All company, one's own department's community, and the
    last admin while others remain."""
    viewer, community = _get(request, slug)
    services.community_leave(actor=viewer, community=community)
    return 204, None


@router.post(
    "/{slug}/mute", response={200: CommunityOut, **error_responses(400, 403, 404, 422)}, operation_id="community_mute"
)
def community_mute(request: HttpRequest, slug: Path[Slug], payload: MuteIn) -> dict[str, Any]:
    """Keep (or stop keeping) the community's posts out of the caller's home feed. Members only."""
    viewer, community = _get(request, slug)
    services.community_mute(actor=viewer, community=community, muted=payload.muted)
    forget_viewer_state(community)
    return _fresh(viewer, slug)


# --- members ----------------------------------------------------------------------------------


@router.get(
    "/{slug}/members",
    response={200: MemberPageOut, **error_responses(403, 404, 422)},
    operation_id="community_members",
)
def community_members(
    request: HttpRequest,
    slug: Path[Slug],
    cursor: Query[str | None] = None,  # type: ignore[type-arg]
    limit: Query[int] = 50,  # type: ignore[type-arg]
) -> dict[str, Any]:
    """Members, admins first then by name. For those who may read the community
    (or run it). Cursor-paginated; `limit` is 1-100."""
    viewer, community = _get(request, slug)
    try:
        page: Page[Membership] = selectors.members(viewer=viewer, community=community, cursor=cursor, limit=limit)
    except ValidationFailed as exc:
        if exc.fields or "limit" in exc.message:
            raise ValidationFailed(exc.message, fields={"limit": [exc.message]}) from exc
        raise _cursor_error(exc) from exc
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationFailed(CURSOR_INVALID, fields={"cursor": [CURSOR_INVALID]}) from exc
    return {"items": [_member(seat) for seat in page.items], "next_cursor": page.next_cursor}


def _seat_for_action(request: HttpRequest, slug: str, user_id: int) -> tuple[User, Community, Membership]:
    viewer, community = _get(request, slug)
    if not selectors.community_flags(viewer=viewer, community=community).can_moderate:
        raise PermissionDenied("Only the community's admins can manage members.")
    return viewer, community, selectors.community_member_of(community=community, user_id=user_id)


@router.delete(
    "/{slug}/members/{user_id}",
    response={204: None, **error_responses(400, 403, 404, 422)},
    operation_id="community_member_remove",
)
def community_member_remove(request: HttpRequest, slug: Path[Slug], user_id: Path[Id]) -> tuple[int, None]:
    """Remove a member (not oneself: leave instead; not a seat the directory keeps)."""
    viewer, community, seat = _seat_for_action(request, slug, user_id)
    members.member_remove(actor=viewer, community=community, user=seat.user)
    return 204, None


@router.post(
    "/{slug}/members/{user_id}/promote",
    response={200: MemberOut, **error_responses(400, 403, 404, 422)},
    operation_id="community_member_promote",
)
def community_member_promote(request: HttpRequest, slug: Path[Slug], user_id: Path[Id]) -> dict[str, Any]:
    """Make a member a community admin."""
    viewer, community, seat = _seat_for_action(request, slug, user_id)
    return _member(members.member_promote(actor=viewer, community=community, user=seat.user))


@router.post(
    "/{slug}/members/{user_id}/demote",
    response={200: MemberOut, **error_responses(400, 403, 404, 422)},
    operation_id="community_member_demote",
)
def community_member_demote(request: HttpRequest, slug: Path[Slug], user_id: Path[Id]) -> dict[str, Any]:
    """Make an admin a plain member; the community keeps at least one admin."""
    viewer, community, seat = _seat_for_action(request, slug, user_id)
    return _member(members.member_demote(actor=viewer, community=community, user=seat.user))


# --- join requests and invitations -------------------------------------------------------------


@router.get(
    "/{slug}/requests",
    response={200: list[JoinRequestOut], **error_responses(403, 404, 422)},
    operation_id="community_requests",
)
def community_requests(request: HttpRequest, slug: Path[Slug]) -> list[dict[str, Any]]:
    """Pending join requests, oldest first; for those who run the community."""
    viewer, community = _get(request, slug)
    return [
        {"id": jr.pk, "user": _person(jr.user), "message": jr.message, "created_at": jr.created_at}
        for jr in selectors.pending_requests(viewer=viewer, community=community)
    ]


@router.post(
    "/{slug}/requests/{request_id}/approve",
    response={200: MemberOut, **error_responses(400, 403, 404, 422)},
    operation_id="community_request_approve",
)
def community_request_approve(request: HttpRequest, slug: Path[Slug], request_id: Path[Id]) -> dict[str, Any]:
    viewer, community = _get(request, slug)
    seat = members.request_approve(actor=viewer, community=community, request_id=request_id)
    return _member(Membership.objects.select_related("user", "user__profile").get(pk=seat.pk))


@router.post(
    "/{slug}/requests/{request_id}/decline",
    response={204: None, **error_responses(400, 403, 404, 422)},
    operation_id="community_request_decline",
)
def community_request_decline(request: HttpRequest, slug: Path[Slug], request_id: Path[Id]) -> tuple[int, None]:
    viewer, community = _get(request, slug)
    members.request_decline(actor=viewer, community=community, request_id=request_id)
    return 204, None


@router.post(
    "/{slug}/invitations",
    response={201: InvitationOut, **error_responses(400, 403, 404, 422)},
    operation_id="community_invite",
)
def community_invite(request: HttpRequest, slug: Path[Slug], payload: InviteIn) -> tuple[int, dict[str, Any]]:
    """Invite a person by user id (community admins). A repeat returns the open invitation."""
    viewer, community = _get(request, slug)
    person = User.objects.select_related("profile").filter(pk=payload.user_id).first()
    if person is None:
        message = "No one in the directory has that id."
        raise ValidationFailed(message, fields={"user_id": [message]})
    try:
        invitation = members.community_invite(actor=viewer, community=community, user=person)
    except ValidationFailed as exc:
        if "email" in exc.fields:
            message = exc.message.replace("that email", "that id")
            raise ValidationFailed(message, fields={"user_id": [message]}) from exc
        raise
    invitation = CommunityInvitation.objects.select_related("community", "user__profile", "invited_by__profile").get(
        pk=invitation.pk
    )
    return 201, _invitation(invitation)
