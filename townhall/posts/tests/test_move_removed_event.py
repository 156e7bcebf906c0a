"""A move tells the old community's open pages to drop the card (`post.removed`): after
commit only, guarded by who may read the old community now, naming only the post."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.utils import timezone

from townhall.communities.models import Community, Membership
from townhall.core.errors import PermissionDenied
from townhall.posts import services as posts
from townhall.posts.models import Post
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


def test_community_guard_costs_three_queries_whatever_the_number_of_people(world: World, django_assert_num_queries):
    many = [UserFactory().pk for _ in range(5)]
    with django_assert_num_queries(3):
        registry.allowed("community", world.private.pk, [world.author.pk, world.outsider.pk, *many])
