"""Reads of communities, always for a viewer.

`readable_community_ids` is the one query every content read path (posts, feeds,
search) starts from; `community_get` is how every page and endpoint finds a
community, answering NotFound for hidden ones exactly as for missing ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from townhall.accounts.models import User
from townhall.accounts.permissions import AnyUser, can_administer, can_browse_directory, is_signed_in
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
    can_invite,
    can_join_directly,
    can_leave,
    can_moderate_community,
    can_post_in,
    can_read_community,
    can_request_to_join,
    can_view_community,
    check_moderate_community,
    check_view_community,
    is_directory_managed,
    is_invited,
    remember_invited,
    remember_seat,
    seat_of,
    viewer_id,
)
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.core.pagination import Page, paginate
from townhall.core.prepared import Prepared
from townhall.core.remembered import Remembered
from townhall.directory.permissions import can_view_person
from townhall.directory.selectors import people_for_picker

ALL_COMPANY_NAME = "All company"
ALL_COMPANY_SLUG = "all-company"
ALL_COMPANY_DESCRIPTION = "Everyone in the organisation. Posts here make up the company feed."
MAX_QUERY_WORDS = 8
MAX_PENDING = 200
MAX_INVITATIONS = 200

_PENDING = "_townhall_pending_requests"


def _no_ids() -> QuerySet[Community, int]:
    return Community.objects.none().values_list("id", flat=True)


def _my_community_ids(viewer: AnyUser) -> QuerySet[Membership, int]:
    return Membership.objects.filter(user_id=viewer_id(viewer)).values_list("community_id", flat=True)


def _my_invited_ids(viewer: AnyUser) -> QuerySet[CommunityInvitation, int]:
    return CommunityInvitation.objects.filter(user_id=viewer_id(viewer)).values_list("community_id", flat=True)


def readable_community_ids(viewer: AnyUser) -> QuerySet[Community, int]:
    """Ids of the communities whose posts the viewer may read: public ones for every
    signed-in non-guest, and those the viewer belongs to. Never deleted ones; nothing
    for anonymous or deactivated viewers. A lazy query, meant as a subquery
    (`community_id__in=readable_community_ids(viewer)`); mirrors can_read_community."""
    if not is_signed_in(viewer):
        return _no_ids()
    readable = Q(id__in=_my_community_ids(viewer))
    if can_browse_directory(viewer):
        readable |= Q(visibility=Visibility.PUBLIC)
    return Community.objects.filter(readable, deleted_at__isnull=True).values_list("id", flat=True)


_READABLE: Remembered[tuple[str, tuple[Any, ...]]] = Remembered()


def readable_community_ids_sql(viewer: AnyUser) -> RawSQL | QuerySet[Community, int]:
    """readable_community_ids(viewer) as SQL compiled once per viewer identity in this
    process (core/remembered.py), for `community_id__in=`: the posts oracle uses it in
    every statement that reads posts, and building and compiling the subquery cost
    ~0.4 ms of Python each time. Its memberships are a subquery the database
    evaluates with each statement (test_remembered_scope.py holds it to that)."""
    if not is_signed_in(viewer):
        return _no_ids()
    sql, params = _READABLE.get(viewer, lambda: _sql_of(readable_community_ids(viewer)))
    return RawSQL(sql, params)  # noqa: S611  # nosec B611 - SQL compiled by the ORM; values stay parameters


def _sql_of(ids: QuerySet[Community, int]) -> tuple[str, tuple[Any, ...]]:
    sql, params = ids.query.sql_with_params()
    return sql, tuple(params)


def member_community_ids(viewer: AnyUser, *, include_muted: bool = True) -> QuerySet[Membership, int]:
    """Ids of the (not deleted) communities the viewer belongs to; without the muted
    ones when `include_muted` is False (the home feed). Empty for inactive viewers."""
    if not is_signed_in(viewer):
        return Membership.objects.none().values_list("community_id", flat=True)
    seats = Membership.objects.filter(user_id=viewer_id(viewer), community__deleted_at__isnull=True)
    if not include_muted:
        seats = seats.filter(muted=False)
    return seats.values_list("community_id", flat=True)


def _visible(viewer: AnyUser) -> QuerySet[Community]:
    """Communities the viewer may know of; mirrors can_view_community."""
    communities = Community.objects.filter(deleted_at__isnull=True)
    if not is_signed_in(viewer):
        return communities.none()
    known = Q(id__in=_my_community_ids(viewer)) | Q(id__in=_my_invited_ids(viewer))
    if can_browse_directory(viewer):
        known |= ~Q(visibility=Visibility.SECRET)
    return communities.filter(known)


def visible_community_ids(viewer: AnyUser) -> QuerySet[Community, int]:
    """Ids of the communities the viewer may know of (can_view_community as a lazy
    subquery: search's scope for community documents)."""
    return _visible(viewer).values_list("id", flat=True)


def _with_viewer_state(communities: QuerySet[Community], viewer: AnyUser) -> QuerySet[Community]:
    """Annotate the viewer's seat, invitation and pending request, so the oracle and
    the cards need no query per community."""
    seat = Membership.objects.filter(community_id=OuterRef("pk"), user_id=viewer_id(viewer))
    return communities.annotate(
        viewer_role=Subquery(seat.values("role")[:1]),
        viewer_synced=Subquery(seat.values("synced")[:1]),
        viewer_muted=Subquery(seat.values("muted")[:1]),
        viewer_invited=Exists(
            CommunityInvitation.objects.filter(community_id=OuterRef("pk"), user_id=viewer_id(viewer))
        ),
        viewer_requested=Exists(
            JoinRequest.objects.filter(
                community_id=OuterRef("pk"), user_id=viewer_id(viewer), status=JoinRequest.Status.PENDING
            )
        ),
    )


def _prime(community: Community, viewer: AnyUser) -> Community:
    """Move the annotations of _with_viewer_state into the oracle's cache."""
    role = getattr(community, "viewer_role", None)
    remember_seat(
        community,
        viewer,
        Seat(role=role, synced=bool(community.viewer_synced), muted=bool(community.viewer_muted))  # type: ignore[attr-defined]
        if role
        else None,
    )
    remember_invited(community, viewer, bool(getattr(community, "viewer_invited", False)))
    if viewer.pk is not None:
        community.__dict__.setdefault(_PENDING, {})[viewer_id(viewer)] = bool(
            getattr(community, "viewer_requested", False)
        )
    return community


def _has_pending_request(viewer: AnyUser, community: Community) -> bool:
    if not is_signed_in(viewer):
        return False
    cache: dict[int, bool] = community.__dict__.setdefault(_PENDING, {})
    uid = viewer_id(viewer)
    if uid not in cache:
        cache[uid] = JoinRequest.objects.filter(
            community_id=community.pk, user_id=viewer_id(viewer), status=JoinRequest.Status.PENDING
        ).exists()
    return cache[uid]


_COMMUNITY_AT = Prepared(
    "communities.community_at",
    lambda *, viewer, slug: _with_viewer_state(Community.objects.filter(slug=slug, deleted_at__isnull=True), viewer)[
        :1
    ],
    texts=("slug",),
    viewer=True,
)


def community_get(*, viewer: AnyUser, slug: str) -> Community:
    """The community at `slug` if the viewer may know of it; NotFound otherwise,
    exactly as for a slug that never existed. One query (the viewer's seat,
    invitation and pending request come with it)."""
    community = next(iter(_COMMUNITY_AT(viewer=viewer, slug=slug)), None)
    if community is None:
        raise NotFound()
    _prime(community, viewer)
    check_view_community(viewer, community)
    return community


def all_company() -> Community:
    """The All-company community (public, carries the company feed), created on
    first use. Safe under concurrent first calls: the loser reads the winner's row."""
    existing = Community.objects.filter(is_all_company=True).first()
    if existing is not None:
        return existing
    slug = ALL_COMPANY_SLUG
    if Community.objects.filter(slug=slug).exists():
        slug = f"{ALL_COMPANY_SLUG}-{Community.objects.count() + 1}"
    try:
        with transaction.atomic():
            return Community.objects.create(
                name=ALL_COMPANY_NAME,
                slug=slug,
                description=ALL_COMPANY_DESCRIPTION,
                kind=Kind.INTEREST,
                visibility=Visibility.PUBLIC,
                is_all_company=True,
            )
    except IntegrityError:
        found = Community.objects.filter(is_all_company=True).first()
        if found is None:
            raise
        return found


def communities_list(
    *,
    viewer: AnyUser,
    kind: str | None = None,
    query: str = "",
    mine: bool = False,
    cursor: str | None = None,
    limit: int = 24,
) -> Page[Community]:
    """The communities directory: those the viewer may know of (secret ones only
    for members and invitees, deleted never), by name, optionally of one `kind`,
    matching every word of `query` in the name or description, or only the
    viewer's own (`mine`). One query per page, viewer state included.
    Raises ValidationFailed for a malformed cursor or limit."""
    communities = _visible(viewer)
    if kind:
        communities = communities.filter(kind=kind)
    for word in query.split()[:MAX_QUERY_WORDS]:
        communities = communities.filter(Q(name__icontains=word) | Q(description__icontains=word))
    if mine:
        communities = communities.filter(id__in=_my_community_ids(viewer))
    page = paginate(_with_viewer_state(communities, viewer), order=("name", "id"), cursor=cursor, limit=limit)
    for community in page.items:
        _prime(community, viewer)
    return page


@dataclass(frozen=True)
class Flags:
    """What the viewer may do with one community; templates and the API show these."""

    is_member: bool
    is_admin: bool
    is_muted: bool
    can_read: bool
    can_post: bool
    can_join: bool
    can_request: bool
    has_pending_request: bool
    invitation_pending: bool
    can_leave: bool
    can_moderate: bool
    can_invite: bool


def community_flags(*, viewer: AnyUser, community: Community) -> Flags:
    """The viewer's flags for a community; free after community_get/communities_list."""
    seat = seat_of(viewer, community)
    member = seat is not None
    return Flags(
        is_member=member,
        is_admin=bool(seat and seat.is_admin),
        is_muted=bool(seat and seat.muted),
        can_read=can_read_community(viewer, community),
        can_post=can_post_in(viewer, community),
        can_join=can_join_directly(viewer, community),
        can_request=can_request_to_join(viewer, community) and not _has_pending_request(viewer, community),
        has_pending_request=not member and _has_pending_request(viewer, community),
        invitation_pending=not member and is_invited(viewer, community),
        can_leave=can_leave(viewer, community),
        can_moderate=can_moderate_community(viewer, community),
        can_invite=can_invite(viewer, community),
    )


def community_cards(*, viewer: AnyUser, communities: list[Community]) -> list[dict[str, Any]]:
    """Ready-to-render cards for the directory: the community plus its flags."""
    return [{"community": c, **asdict(community_flags(viewer=viewer, community=c))} for c in communities]


def community_header(*, viewer: AnyUser, community: Community, tab: str = "posts") -> dict[str, Any]:
    """Everything `communities/_header.html` renders: the community, the viewer's
    flags (can_join, can_request, has_pending_request, can_leave, is_member,
    is_muted, can_moderate, invitation_pending, ...), the open invitation's id, the
    number of pending requests (for those who decide them) and the current `tab`.
    Call with a community from community_get. At most two queries."""
    flags = community_flags(viewer=viewer, community=community)
    invitation_id = None
    if flags.invitation_pending:
        invitation_id = (
            CommunityInvitation.objects.filter(community_id=community.pk, user_id=viewer_id(viewer))
            .values_list("id", flat=True)
            .first()
        )
    pending_count = 0
    if flags.can_moderate and community.visibility != Visibility.PUBLIC:
        pending_count = JoinRequest.objects.filter(
            community_id=community.pk, status=JoinRequest.Status.PENDING, user__is_active=True
        ).count()
    return {
        "community": community,
        **asdict(flags),
        "invitation_id": invitation_id,
        "pending_request_count": pending_count,
        "kind_label": Kind(community.kind).label if community.kind in Kind.values else community.kind,
        "visibility_label": visibility_label(community.visibility),
        "home_url": f"/c/{community.slug}/",
        "tab": tab,
    }


def visibility_label(visibility: str) -> str:
    return {"public": "Public", "private": "Private", "secret": "Secret"}.get(visibility, visibility)


def members(*, viewer: AnyUser, community: Community, cursor: str | None = None, limit: int = 50) -> Page[Membership]:
    """Members of a community the viewer may read (or moderates): admins first,
    then by name. Deactivated people only for site admins. One query per page.
    NotFound when the community is hidden; PermissionDenied for a non-member of a
    private community."""
    check_view_community(viewer, community)
    if not (can_read_community(viewer, community) or can_moderate_community(viewer, community)):
        raise PermissionDenied(f"Only members of {community.name} can see who belongs to it.")
    seats = Membership.objects.filter(community_id=community.pk).select_related("user", "user__profile")
    if not can_administer(viewer):
        seats = seats.filter(user__is_active=True)
    return paginate(seats, order=("role", "user__profile__sort_name", "id"), cursor=cursor, limit=limit)


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    is_self: bool
    is_admin: bool
    managed: bool  # the directory keeps this seat (All company, own department)
    can_remove: bool
    can_promote: bool
    can_demote: bool


def member_rows(*, viewer: AnyUser, community: Community, page: Page[Membership]) -> list[MemberRow]:
    """The members page's rows with the actions the viewer may take on each (the
    services re-check, e.g. that a community keeps an admin)."""
    moderate = can_moderate_community(viewer, community)
    rows = []
    for seat in page.items:
        is_admin = seat.role == MemberRole.ADMIN
        managed = is_directory_managed(community, Seat(seat.role, seat.synced, seat.muted))
        is_self = seat.user_id == viewer.pk
        rows.append(
            MemberRow(
                membership=seat,
                is_self=is_self,
                is_admin=is_admin,
                managed=managed,
                can_remove=moderate and not is_self and not managed,
                can_promote=moderate and not is_admin and seat.user.is_active,
                can_demote=moderate and is_admin,
            )
        )
    return rows


def pending_requests(*, viewer: AnyUser, community: Community) -> list[JoinRequest]:
    """Open join requests of active people, oldest first (capped), for those who
    decide them. NotFound when the community is hidden, PermissionDenied otherwise.
    One query."""
    check_moderate_community(viewer, community, doing="see join requests")
    return list(
        JoinRequest.objects.filter(community_id=community.pk, status=JoinRequest.Status.PENDING, user__is_active=True)
        .select_related("user", "user__profile")
        .order_by("created_at", "id")[:MAX_PENDING]
    )


def my_invitations(*, viewer: AnyUser) -> list[CommunityInvitation]:
    """The viewer's open invitations to communities that still exist, newest first.
    One query."""
    if not is_signed_in(viewer):
        return []
    return list(
        CommunityInvitation.objects.filter(user_id=viewer_id(viewer), community__deleted_at__isnull=True)
        .select_related("community", "invited_by")
        .order_by("-created_at", "-id")[:MAX_INVITATIONS]
    )


def sent_invitations(*, viewer: AnyUser, community: Community) -> list[CommunityInvitation]:
    """Open invitations to a community, newest first (capped), for those who run
    it. NotFound / PermissionDenied as for pending_requests. One query."""
    check_moderate_community(viewer, community, doing="see its invitations")
    return list(
        CommunityInvitation.objects.filter(community_id=community.pk, user__is_active=True)
        .select_related("user", "user__profile", "invited_by")
        .order_by("-created_at", "-id")[:MAX_INVITATIONS]
    )


def invitation_count(*, viewer: AnyUser) -> int:
    if not is_signed_in(viewer):
        return 0
    return CommunityInvitation.objects.filter(user_id=viewer_id(viewer), community__deleted_at__isnull=True).count()


def invite_candidates(*, viewer: AnyUser, community: Community, limit: int = 1000) -> list[tuple[str, str]]:
    """(email, name) of active people the viewer may see who are neither members
    nor invited yet, for the invite form's suggestions. Three queries."""
    taken = set(Membership.objects.filter(community_id=community.pk).values_list("user__email", flat=True))
    taken |= set(CommunityInvitation.objects.filter(community_id=community.pk).values_list("user__email", flat=True))
    return [(email, name) for email, name in people_for_picker(viewer=viewer, limit=limit) if email not in taken]


def invitee_by_email(*, viewer: AnyUser, email: str) -> User:
    """The person with `email` if the viewer may see them; ValidationFailed (the
    same message for absent and hidden people) otherwise."""
    person = User.objects.filter(email=email.strip().lower()).first() if email.strip() else None
    if person is None or not person.is_active or not can_view_person(viewer, person):
        message = "No one in the directory has that email."
        raise ValidationFailed(message, fields={"email": [message]})
    return person


def community_member_of(*, community: Community, user_id: int) -> Membership:
    """The seat of `user_id` in `community`; NotFound when they do not belong."""
    seat = Membership.objects.select_related("user").filter(community_id=community.pk, user_id=user_id).first()
    if seat is None:
        raise NotFound()
    return seat


def can_read_cover(viewer: AnyUser, name: str) -> bool:
    """A community's cover image is visible exactly when the community is."""
    community = Community.objects.filter(cover=name).first()
    return community is not None and can_view_community(viewer, community)
