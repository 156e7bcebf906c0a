"""Writes to communities: creating and running them, and who belongs.

Every service checks the actor's permission itself (NotFound for a community the
actor may not know of, PermissionDenied for one they may see but not change),
validates before writing, and keeps `member_count` equal to the membership rows.
Join requests, invitations and managing members live in `members.py`; the
directory-driven memberships (All company, departments) in `sync.py`.
"""

from __future__ import annotations

from typing import IO

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

from townhall.accounts.models import User
from townhall.accounts.permissions import can_browse_directory
from townhall.communities import notify, search_docs
from townhall.communities.models import (
    Community,
    CommunityInvitation,
    JoinRequest,
    Kind,
    MemberRole,
    Membership,
    Visibility,
)
from townhall.communities.permissions import (
    Seat,
    can_create_community,
    check_moderate_community,
    check_not_archived,
    check_view_community,
    forget_viewer_state,
    is_directory_managed,
    is_invited,
)
from townhall.communities.selectors import ALL_COMPANY_SLUG
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.media.images import reencode_image

NAME_MAX = 100
DESCRIPTION_MAX = 4000
MESSAGE_MAX = 500
COVER_SIDE = 1600
SLUG_MAX = 100
RESERVED_SLUGS = {ALL_COMPANY_SLUG, "new", "invitations"}
# People pick these kinds; department communities come from the directory.
CHOOSABLE_KINDS = [kind for kind in Kind.values if kind != Kind.DEPARTMENT]


# --- helpers ---------------------------------------------------------------------


def recount_members(community_ids: list[int] | set[int]) -> None:
    """Set member_count from the membership rows, in one query."""
    if not community_ids:
        return
    counts = (
        Membership.objects.filter(community_id=OuterRef("pk"))
        .values("community_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    Community.objects.filter(pk__in=list(community_ids)).update(member_count=Coalesce(Subquery(counts), 0))


def refresh_count(community: Community) -> None:
    recount_members([community.pk])
    community.member_count = Community.objects.values_list("member_count", flat=True).get(pk=community.pk)
    forget_viewer_state(community)


def unique_slug(name: str) -> str:
    """A free slug from `name` (ASCII), with -2, -3... when taken (deleted
    communities keep theirs, so old links never point somewhere new)."""
    base = slugify(name)[:SLUG_MAX].strip("-") or "community"
    taken = set(Community.objects.filter(slug__startswith=base).values_list("slug", flat=True)) | RESERVED_SLUGS
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("Give the community a name.", fields={"name": ["Enter a name."]})
    if len(name) > NAME_MAX:
        message = f"The name is too long ({NAME_MAX} characters at most)."
        raise ValidationFailed(message, fields={"name": [message]})
    return name


def _clean_description(description: str) -> str:
    description = (description or "").replace("\r\n", "\n").strip()
    if len(description) > DESCRIPTION_MAX:
        message = f"The description is too long ({DESCRIPTION_MAX:,} characters at most)."
        raise ValidationFailed(message, fields={"description": [message]})
    return description


def _check_kind(kind: str) -> None:
    if kind not in CHOOSABLE_KINDS:
        message = (
            "Department communities are created from the directory."
            if kind == Kind.DEPARTMENT
            else "Choose a kind: team, project, interest, event or learning."
        )
        raise ValidationFailed(message, fields={"kind": [message]})


def _check_visibility(visibility: str) -> None:
    if visibility not in Visibility.values:
        message = "Choose public, private or secret."
        raise ValidationFailed(message, fields={"visibility": [message]})


def _active_admin_ids(community: Community) -> set[int]:
    return set(
        Membership.objects.filter(community=community, role=MemberRole.ADMIN, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )


def check_keeps_an_admin(community: Community, user: User, *, doing: str) -> None:
    """Refuse to take away the last active admin while other active people remain."""
    admins = _active_admin_ids(community)
    if user.pk not in admins or admins - {user.pk}:
        return
    others = Membership.objects.filter(community=community, user__is_active=True).exclude(user=user).exists()
    if others:
        raise ValidationFailed(
            f"{community.name} needs an admin: make someone else an admin on the members page before you {doing}."
        )


def add_member(*, community: Community, user: User, decided_by: User | None, synced: bool = False) -> Membership:
    """Seat `user` (idempotent), close their invitation and pending request."""
    membership, _ = Membership.objects.get_or_create(community=community, user=user, defaults={"synced": synced})
    CommunityInvitation.objects.filter(community=community, user=user).delete()
    JoinRequest.objects.filter(community=community, user=user, status=JoinRequest.Status.PENDING).update(
        status=JoinRequest.Status.APPROVED, decided_by=decided_by, decided_at=timezone.now()
    )
    refresh_count(community)
    return membership


def member_seat(community: Community, user: User) -> Membership:
    membership = Membership.objects.filter(community=community, user=user).first()
    if membership is None:
        raise ValidationFailed(f"{user.display_name} is not a member of {community.name}.")
    return membership


# --- creating and running communities ---------------------------------------------


def community_create(
    *,
    actor: User,
    name: str,
    description: str = "",
    kind: str = Kind.INTEREST,
    visibility: str = Visibility.PUBLIC,
    cover: IO[bytes] | None = None,
) -> Community:
    """Create a community with `actor` as its first admin and member. Any
    signed-in non-guest may (PermissionDenied otherwise). The slug comes from the
    name, made unique. A cover image is re-encoded; a bad one changes nothing."""
    if not can_create_community(actor):
        raise PermissionDenied("Guests cannot create communities.")
    name = _clean_name(name)
    description = _clean_description(description)
    _check_kind(kind)
    _check_visibility(visibility)
    encoded = reencode_image(cover, max_side=COVER_SIDE, field="cover") if cover else None
    for _attempt in range(5):
        community = Community(
            name=name,
            slug=unique_slug(name),
            description=description,
            kind=kind,
            visibility=visibility,
            created_by=actor,
        )
        try:
            with transaction.atomic():
                if encoded is not None:
                    encoded.seek(0)
                    community.cover.save(encoded.name or "cover.webp", encoded, save=False)
                community.save()
                Membership.objects.create(community=community, user=actor, role=MemberRole.ADMIN)
                refresh_count(community)
                search_docs.community_changed(community)
        except IntegrityError:
            # Someone took the slug between our look and our write: try the next one.
            if community.cover:
                community.cover.storage.delete(community.cover.name)
            continue
        return community
    raise ValidationFailed("Could not find a free address for that name; try a slightly different name.")


def community_update(
    *,
    actor: User,
    community: Community,
    name: str | None = None,
    description: str | None = None,
    kind: str | None = None,
    visibility: str | None = None,
    cover: IO[bytes] | None = None,
    remove_cover: bool = False,
) -> Community:
    """Change what is given (None leaves a field). Community admins, site admins
    and IC moderators may. The kind and visibility of All company and of
    department communities are fixed. The slug never changes, so links keep working.
    The replaced cover file is deleted after commit."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="change its settings")
    fixed = community.is_all_company or community.department_id is not None
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = _clean_name(name)
    if description is not None:
        changes["description"] = _clean_description(description)
    if kind is not None and kind != community.kind:
        if fixed:
            raise ValidationFailed("The kind of this community is fixed.", fields={"kind": ["It cannot change."]})
        _check_kind(kind)
        changes["kind"] = kind
    if visibility is not None and visibility != community.visibility:
        if fixed:
            message = "Everyone can see this community; its visibility is fixed."
            raise ValidationFailed(message, fields={"visibility": [message]})
        _check_visibility(visibility)
        changes["visibility"] = visibility
    encoded = reencode_image(cover, max_side=COVER_SIDE, field="cover") if cover else None
    old_cover = community.cover.name if community.cover else None
    new_cover: str | None = None
    try:
        with transaction.atomic():
            for field, value in changes.items():
                setattr(community, field, value)
            if encoded is not None:
                community.cover.save(encoded.name or "cover.webp", encoded, save=False)
                new_cover = community.cover.name
            elif remove_cover:
                community.cover = ""  # type: ignore[assignment]
            community.save()
            search_docs.community_changed(community)
            if old_cover and (encoded is not None or remove_cover):
                storage = community.cover.storage
                transaction.on_commit(lambda: storage.delete(old_cover))
    except Exception:
        if new_cover:
            community.cover.storage.delete(new_cover)
        raise
    forget_viewer_state(community)
    return community


def _check_lifecycle(community: Community) -> None:
    if community.is_all_company:
        raise ValidationFailed("All company is where everyone meets; it cannot be archived or deleted.")
    if community.department_id is not None:
        raise ValidationFailed(
            "This department's community follows the directory; it cannot be archived or deleted while the department exists."
        )


def community_archive(*, actor: User, community: Community) -> Community:
    """Make a community read-only: still readable, but no new posts, comments,
    reactions, joins, requests or invitations. Idempotent."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="archive it")
    _check_lifecycle(community)
    if community.archived_at is None:
        community.archived_at = timezone.now()
        Community.objects.filter(pk=community.pk).update(archived_at=community.archived_at)
    return community


def community_unarchive(*, actor: User, community: Community) -> Community:
    """Open an archived community again. Idempotent."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="unarchive it")
    if community.archived_at is not None:
        community.archived_at = None
        Community.objects.filter(pk=community.pk).update(archived_at=None)
    return community


def community_delete(*, actor: User, community: Community) -> None:
    """Delete softly: from this moment the community and everything in it answer
    like they never existed, for everyone. Rows stay (and the slug stays taken)."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_moderate_community(actor, community, doing="delete it")
    _check_lifecycle(community)
    community.deleted_at = timezone.now()
    Community.objects.filter(pk=community.pk).update(deleted_at=community.deleted_at)
    search_docs.community_changed(community)
    forget_viewer_state(community)


# --- joining and leaving --------------------------------------------------------------


def community_join(*, actor: User, community: Community, message: str = "") -> Membership | JoinRequest:
    """Join, as far as the community allows: a public community (or any community
    the actor is invited to) seats them at once and returns the Membership; a
    private one files a JoinRequest (one pending at a time: a repeat returns it);
    a secret one is NotFound unless invited. Already a member: the Membership.
    Refused while archived."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_view_community(actor, community)
    existing = Membership.objects.filter(community=community, user=actor).first()
    if existing is not None:
        return existing
    check_not_archived(community, doing="join it")
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        text = f"Keep the message to {MESSAGE_MAX} characters."
        raise ValidationFailed(text, fields={"message": [text]})
    with transaction.atomic():
        if is_invited(actor, community):
            return add_member(community=community, user=actor, decided_by=actor)
        if not can_browse_directory(actor):
            raise PermissionDenied("Guests join communities by invitation.")
        if community.visibility == Visibility.PUBLIC:
            return add_member(community=community, user=actor, decided_by=None)
        if community.visibility == Visibility.PRIVATE:
            pending = JoinRequest.objects.filter(
                community=community, user=actor, status=JoinRequest.Status.PENDING
            ).first()
            if pending is not None:
                return pending
            try:
                with transaction.atomic():
                    created = JoinRequest.objects.create(community=community, user=actor, message=message)
                    notify.on_join_requested(community_id=community.pk, user_id=actor.pk)
                    return created
            except IntegrityError:
                # A double click raced us to the one pending request allowed.
                return JoinRequest.objects.get(community=community, user=actor, status=JoinRequest.Status.PENDING)
    raise NotFound()  # secret, not invited: can_view already hid it; belt and braces


def community_leave(*, actor: User, community: Community) -> None:
    """Leave a community. Refused for All company and for one's own department's
    community (the directory keeps those), and for the last admin while others
    remain. Access ends at once: reads go through the membership rows."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_view_community(actor, community)
    membership = Membership.objects.filter(community=community, user=actor).first()
    if membership is None:
        raise ValidationFailed(f"You are not a member of {community.name}.")
    if community.is_all_company:
        raise ValidationFailed("Everyone in the organisation belongs to All company, so it cannot be left.")
    if is_directory_managed(community, Seat(membership.role, membership.synced, membership.muted)):
        raise ValidationFailed(
            f"You are in {community.name} because of your department in the directory; "
            "it changes when your department does."
        )
    check_keeps_an_admin(community, actor, doing="leave")
    with transaction.atomic():
        membership.delete()
        refresh_count(community)


def community_mute(*, actor: User, community: Community, muted: bool) -> Membership:
    """Hide (or show again) a community's posts in the actor's home feed. Members only."""
    forget_viewer_state(community)  # decide on fresh rows, not a cached seat
    check_view_community(actor, community)
    membership = Membership.objects.filter(community=community, user=actor).first()
    if membership is None:
        raise ValidationFailed(f"Only members can mute {community.name}; you see it only when you open it.")
    if membership.muted != muted:
        membership.muted = muted
        membership.save(update_fields=["muted"])
    forget_viewer_state(community)
    return membership
