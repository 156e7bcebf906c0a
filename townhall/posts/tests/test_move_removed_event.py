"""A move tells the old community's open pages to drop the card (`post.removed`): after
commit only, guarded by who may read the old community now, naming only the post."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.utils import timezone

from townhall.accounts.models import User
from townhall.communities.models import Community, Membership
from townhall.core.errors import PermissionDenied
from townhall.posts import services as posts
from townhall.posts.models import Post
from townhall.posts.permissions import can_view_post
from townhall.posts.tests.conftest import World
from townhall.realtime import registry
from townhall.realtime.models import Event
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import PostFactory

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def _removed() -> list[Event]:
    return list(Event.objects.filter(event="post.removed").order_by("id"))


def test_post_move_tells_the_old_community_after_commit(world: World, django_capture_on_commit_callbacks):
    post = PostFactory(author=world.author, community=world.private)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        posts.post_move(actor=world.admin, post=post, community=world.secret)
    assert _removed() == []  # nothing leaves before commit
    for callback in callbacks:
        callback()
    [event] = _removed()
    assert event.channels == [f"community:{world.private.pk}"]
    assert (event.guard_kind, event.guard_id) == ("community", world.private.pk)
    assert event.data == {"post_id": post.pk}
    # Nothing about where it went (nor where it was: the channel says that).
    assert world.secret.slug not in json.dumps(event.data)
    assert not any("community" in key for key in event.data)
    # The new place still gets its "new posts" event, guarded by the post.
    [created] = [
        e for e in Event.objects.filter(event="post.created") if e.channels == [f"community:{world.secret.pk}"]
    ]
    assert (created.guard_kind, created.guard_id) == ("post", post.pk)


def test_post_move_rolled_back_publishes_nothing(world: World, django_capture_on_commit_callbacks):
    post = PostFactory(author=world.author, community=world.private)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom), transaction.atomic():
        posts.post_move(actor=world.admin, post=post, community=world.secret)
        raise Boom
    assert callbacks == []
    assert _removed() == []
    assert not [e for e in Event.objects.filter(event="post.created") if f"community:{world.secret.pk}" in e.channels]
    assert Post.objects.get(pk=post.pk).community_id == world.private.pk


def test_post_move_refused_publishes_nothing(world: World, django_capture_on_commit_callbacks):
    post = PostFactory(author=world.author, community=world.private)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        posts.post_move(actor=world.author, post=post, community=world.secret)  # not a moderator
    assert _removed() == []


def test_community_guard_lets_through_only_who_may_read_the_old_community_now(world: World):
    # The author may not follow the post into a secret community they are not in, yet
    # still gets the removal: their old page holds the card.
    Membership.objects.filter(community=world.secret, user=world.author).delete()
    gone = UserFactory(is_active=False)
    Membership.objects.create(community=world.private, user=gone)
    people = [world.author, world.admin, world.outsider, world.guest, world.inactive, gone, world.site_admin]
    ids = [person.pk for person in people]
    allowed = registry.allowed("community", world.private.pk, ids)
    assert allowed == {world.author.pk, world.admin.pk}  # not the outsider, guest, deactivated, site admin
    # A public old community: every signed-in non-guest may read it; guests only as members.
    assert registry.allowed("community", world.public.pk, ids) == {
        world.author.pk,
        world.admin.pk,
        world.outsider.pk,
        world.guest.pk,
        world.site_admin.pk,
    }
    # An unknown or deleted community: nobody.
    assert registry.allowed("community", 987654, ids) == set()
    Community.objects.filter(pk=world.private.pk).update(deleted_at=timezone.now())
    assert registry.allowed("community", world.private.pk, ids) == set()


def test_community_guard_costs_two_queries_whatever_the_number_of_people(world: World, django_assert_num_queries):
    many = [UserFactory().pk for _ in range(5)]
    with django_assert_num_queries(2):
        registry.allowed("community", world.private.pk, [world.author.pk, world.outsider.pk, *many])


def _everyone(world: World) -> list[User]:
    people = [world.author, world.admin, world.outsider, world.guest, world.site_admin, world.ic_moderator]
    return [*people, world.inactive]


def _oracle(world: World, post: Post) -> set[int]:
    """What can_view_post says, each person and post read afresh through the ORM."""
    fresh = Post.objects.select_related("community").get(pk=post.pk)
    return {p.pk for p in User.objects.filter(pk__in=[q.pk for q in _everyone(world)]) if can_view_post(p, fresh)}


def test_post_guard_agrees_with_the_oracle_and_follows_every_change_at_once(world: World, django_assert_num_queries):
    ids = [person.pk for person in _everyone(world)]
    in_private = PostFactory(author=world.author, community=world.private)
    in_public = PostFactory(author=world.author, community=world.public)
    on_profile = PostFactory(author=world.guest, community=None, profile_user=world.guest)
    for post in (in_private, in_public, on_profile):
        assert registry.allowed("post", post.pk, ids) == _oracle(world, post)
    assert registry.allowed("post", in_private.pk, ids) == {world.author.pk, world.admin.pk}
    assert world.guest.pk in registry.allowed("post", on_profile.pk, ids)  # a guest's own profile
    with django_assert_num_queries(2):  # the post, then the people with their seats
        registry.allowed("post", in_private.pk, ids)
    # Whatever the guard remembers of people between events, none of these may wait:
    Membership.objects.filter(community=world.private, user=world.author).delete()
    Membership.objects.create(community=world.private, user=world.outsider)
    User.objects.filter(pk=world.admin.pk).update(is_active=False)
    User.objects.filter(pk=world.site_admin.pk).update(role="guest")
    world.public.visibility = "private"
    world.public.save(update_fields=["visibility"])
    for post in (in_private, in_public, on_profile):
        assert registry.allowed("post", post.pk, ids) == _oracle(world, post)
    assert registry.allowed("post", in_private.pk, ids) == {world.outsider.pk}
    Post.objects.filter(pk=in_public.pk).update(deleted_at=timezone.now())
    assert registry.allowed("post", in_public.pk, ids) == set()
