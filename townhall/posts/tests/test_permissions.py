"""The posts oracle: can_view_post and visible_posts agree for every role and state."""

from __future__ import annotations

import pytest
from django.utils import timezone

from townhall.accounts.models import User
from townhall.communities.models import Community, Membership
from townhall.posts.models import Post
from townhall.posts.permissions import (
    can_comment,
    can_delete_post,
    can_edit_post,
    can_pin_post,
    can_react,
    can_view_post,
)
from townhall.posts.selectors import visible_posts
from townhall.posts.tests.conftest import World
from townhall.testing.posts_factories import PostFactory

pytestmark = pytest.mark.django_db

ROLES = ["author", "admin", "outsider", "guest", "site_admin", "ic_moderator", "inactive", "former"]
PLACES = ["public", "private", "secret", "archived", "profile", "deleted_community", "deleted_post"]

# Who may see a post in each place (former: a member of every community who left).
EXPECTED = {
    "public": {"author", "admin", "outsider", "guest", "site_admin", "ic_moderator", "former"},
    "private": {"author", "admin"},
    "secret": {"author", "admin"},
    "archived": {"author", "admin", "outsider", "site_admin", "ic_moderator", "former"},
    "profile": {"author", "admin", "outsider", "site_admin", "ic_moderator", "former"},
    "deleted_community": set(),
    "deleted_post": set(),
}


def _posts(world: World) -> tuple[dict[str, User], dict[str, Post]]:
    former = User.objects.get(email="former@example.com")
    people = {role: getattr(world, role) for role in ROLES if role != "former"} | {"former": former}
    deleted_community = Community.objects.create(name="Gone", slug="gone", visibility="public")
    Membership.objects.create(community=deleted_community, user=world.author)
    posts = {
        "public": PostFactory(author=world.author, community=world.public),
        "private": PostFactory(author=world.author, community=world.private),
        "secret": PostFactory(author=world.author, community=world.secret),
        "archived": PostFactory(author=world.author, community=world.archived),
        "profile": PostFactory(author=world.author, community=None, profile_user=world.admin),
        "deleted_community": PostFactory(author=world.author, community=deleted_community),
        "deleted_post": PostFactory(author=world.author, community=world.public, deleted_at=timezone.now()),
    }
    Community.objects.filter(pk=deleted_community.pk).update(deleted_at=timezone.now())
    return people, posts


@pytest.fixture
def former(world: World) -> User:
    from townhall.testing.factories import UserFactory

    person = UserFactory(email="former@example.com")
    for community in (world.public, world.private, world.secret, world.archived):
        Membership.objects.create(community=community, user=person)
    Membership.objects.filter(user=person).delete()
    return person


@pytest.mark.parametrize("place", PLACES)
def test_can_view_post_matches_the_matrix_and_visible_posts(world: World, former: User, place: str) -> None:
    people, posts = _posts(world)
    for role, person in people.items():
        post = Post.objects.select_related("community").get(pk=posts[place].pk)
        in_query = visible_posts(person).filter(pk=post.pk).exists()
        assert can_view_post(person, post) == in_query, (role, place)
        assert in_query == (role in EXPECTED[place]), (role, place)


def test_permissions_on_archived_posts_are_read_only(world: World) -> None:
    post = PostFactory(author=world.author, community=world.archived)
    assert can_view_post(world.author, post)
    assert not can_edit_post(world.author, post)
    assert not can_comment(world.author, post)
    assert not can_react(world.author, post)
    assert not can_pin_post(world.admin, post)
    assert can_delete_post(world.admin, post)


def test_permissions_for_deactivated_author(world: World) -> None:
    post = PostFactory(author=world.inactive, community=world.public)
    assert not can_edit_post(world.inactive, post)
    assert not can_delete_post(world.inactive, post)
    assert can_view_post(world.author, post)


def test_guest_sees_own_profile_posts_only(world: World) -> None:
    own = PostFactory(author=world.admin, community=None, profile_user=world.guest)
    other = PostFactory(author=world.admin, community=None, profile_user=world.author)
    assert set(visible_posts(world.guest).values_list("pk", flat=True)) == {own.pk}
    assert can_view_post(world.guest, own) and not can_view_post(world.guest, other)


def test_anonymous_sees_nothing(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    post = PostFactory(author=world.author, community=world.public)
    assert not visible_posts(AnonymousUser()).exists()
    assert not can_view_post(AnonymousUser(), post)
