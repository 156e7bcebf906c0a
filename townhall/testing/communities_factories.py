"""Factories for communities. Rows are written directly (fast, any state), and
`member_count` is kept right the way the services keep it.

    community = CommunityFactory(visibility="private", admin=alice, members=[bob])
    MembershipFactory(community=community, user=carol)            # a plain member
    MembershipFactory(community=community, user=dan, role="admin")
"""

from __future__ import annotations

from typing import Any

import factory
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from townhall.accounts.models import User
from townhall.communities.models import Community, CommunityInvitation, JoinRequest, Membership


def recount(community: Community) -> Community:
    """Set member_count from the membership rows and refresh the instance."""
    counts = Membership.objects.filter(community=OuterRef("pk")).values("community").annotate(n=Count("id")).values("n")
    Community.objects.filter(pk=community.pk).update(member_count=Coalesce(Subquery(counts), 0))
    community.refresh_from_db(fields=["member_count"])
    return community


class CommunityFactory(factory.django.DjangoModelFactory):
    """A community. Extra keyword arguments: `admin` (a User made community admin)
    and `members` (Users made plain members)."""

    class Meta:
        model = Community
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Community {n}")
    slug = factory.Sequence(lambda n: f"community-{n}")
    description = "A place to talk."
    kind = "interest"
    visibility = "public"

    @classmethod
    def _create(cls, model_class: type[Community], *args: Any, **kwargs: Any) -> Community:
        admin: User | None = kwargs.pop("admin", None)
        members: list[User] = list(kwargs.pop("members", ()) or ())
        if admin is not None:
            kwargs.setdefault("created_by", admin)
        community = super()._create(model_class, *args, **kwargs)
        if admin is not None:
            Membership.objects.create(community=community, user=admin, role="admin")
        for user in members:
            Membership.objects.get_or_create(community=community, user=user)
        if admin is not None or members:
            recount(community)
        return community


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    community = factory.SubFactory(CommunityFactory)
    user = factory.SubFactory("townhall.testing.factories.UserFactory")
    role = "member"

    @classmethod
    def _create(cls, model_class: type[Membership], *args: Any, **kwargs: Any) -> Membership:
        membership = super()._create(model_class, *args, **kwargs)
        recount(membership.community)
        return membership


def join_request(community: Community, user: User, message: str = "") -> JoinRequest:
    return JoinRequest.objects.create(community=community, user=user, message=message)


def invitation(community: Community, user: User, invited_by: User | None = None) -> CommunityInvitation:
    return CommunityInvitation.objects.create(community=community, user=user, invited_by=invited_by)
