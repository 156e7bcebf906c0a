"""readable_community_ids_sql remembers the compiled subquery per viewer identity
(core/remembered.py). That is only right if the SQL is the same whatever the viewer
belongs to (the database reads memberships with each statement), and if what the
remembered SQL lets through follows a membership at once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from townhall.accounts.models import User
from townhall.communities.models import Membership
from townhall.communities.selectors import readable_community_ids, readable_community_ids_sql
from townhall.core.remembered import Remembered
from townhall.posts.selectors import visible_posts
from townhall.testing.communities_factories import CommunityFactory, MembershipFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import PostFactory

pytestmark = pytest.mark.django_db


def _sql(viewer: User) -> tuple[str, tuple[object, ...]]:
    sql, params = readable_community_ids(viewer).query.sql_with_params()
    return sql, tuple(params)


def test_the_subquery_compiles_the_same_whatever_the_viewer_belongs_to(member: User) -> None:
    before = _sql(member)
    secret = CommunityFactory(visibility="secret")
    MembershipFactory(community=secret, user=member)
    assert _sql(member) == before


def test_the_remembered_subquery_follows_a_membership_at_once(member: User) -> None:
    secret = CommunityFactory(visibility="secret")
    post = PostFactory(community=secret, body="Hush")

    def sees() -> bool:
        return visible_posts(member).filter(pk=post.pk).exists()

    assert not sees()  # compiled and remembered here
    MembershipFactory(community=secret, user=member)
    assert sees()
    Membership.objects.filter(community=secret, user=member).delete()
    assert not sees()


def test_the_identity_keys_what_is_remembered(member: User) -> None:
    public = CommunityFactory(visibility="public")
    post = PostFactory(community=public, body="Open")
    assert visible_posts(member).filter(pk=post.pk).exists()
    User.objects.filter(pk=member.pk).update(role="guest")
    as_guest = User.objects.get(pk=member.pk)
    assert not visible_posts(as_guest).filter(pk=post.pk).exists()  # guests read only where they belong
    User.objects.filter(pk=member.pk).update(role="member", is_active=False)
    gone = User.objects.get(pk=member.pk)
    assert not visible_posts(gone).filter(pk=post.pk).exists()
    assert not readable_community_ids_sql(AnonymousUser()).exists()  # type: ignore[union-attr]


def test_remembered_is_keyed_by_identity_and_forgets_when_full() -> None:
    made: list[int] = []
    memo: Remembered[int] = Remembered(size=2)
    people = [UserFactory(), UserFactory(), UserFactory()]

    def make(n: int) -> int:
        made.append(n)
        return n

    assert memo.get(people[0], lambda: make(0)) == 0
    assert memo.get(people[0], lambda: make(99)) == 0  # remembered
    assert memo.get(people[0], lambda: make(1), extra="other") == 1  # another kind of filter
    assert len(memo.found) == 2
    people[0].role = "guest"
    assert memo.get(people[0], lambda: make(2)) == 2  # another identity; full, so the rest is forgotten
    assert len(memo.found) == 1
    assert memo.get(people[1], lambda: make(3)) == 3
    assert memo.get(people[0], lambda: make(99)) == 2
    assert made == [0, 1, 2, 3]
