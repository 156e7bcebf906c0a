"""Compiled scopes are remembered per viewer identity (selectors.scope_where). That is
only right if every registered scope compiles to the same SQL whatever the viewer's
memberships, follows and invitations (the database reads those with each statement),
and if what the remembered scope lets through follows such a change at once."""

from __future__ import annotations

import pytest

from townhall.accounts.models import Role
from townhall.posts.models import Topic, TopicFollow
from townhall.search import registry
from townhall.search.backends.base import compiled
from townhall.search.index import reindex
from townhall.search.selectors import scope, scope_where, search, suggest
from townhall.testing.communities_factories import CommunityFactory, MembershipFactory, invitation
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hush(member):
    ada = UserFactory(full_name="Ada Lovelace")
    secret = CommunityFactory(name="Hush project", slug="hush", visibility="secret", admin=ada)
    other = CommunityFactory(name="Quiet room", slug="quiet", visibility="secret", admin=ada)
    post = PostFactory(author=ada, community=secret, body="Zanzibarcanary merger plans")
    topic = Topic.objects.create(name="Zanzitopic", slug="zanzitopic")
    post.topics.add(topic)
    PostFactory(author=ada, body="Open zanzibarcanary notes on a profile")
    reindex()
    return {"ada": ada, "secret": secret, "other": other, "post": post, "topic": topic}


def _compiled_scopes(viewer):
    return {source.kind: compiled(scope(viewer, [source.kind])) for source in registry.sources()}


def test_every_scope_compiles_the_same_whatever_the_viewer_belongs_to(hush, member):
    before = _compiled_scopes(member)
    MembershipFactory(community=hush["secret"], user=member)
    TopicFollow.objects.create(user=member, topic=hush["topic"])
    invitation(hush["other"], member, invited_by=hush["ada"])
    assert _compiled_scopes(member) == before


def test_the_identity_that_keys_a_scope_changes_what_it_compiles_to(hush, member):
    guest = UserFactory(role=Role.GUEST)
    assert _compiled_scopes(guest) != _compiled_scopes(member)


def test_a_remembered_scope_follows_a_membership_at_once(hush, member):
    def found():
        posts = {r.object_id for r in search(viewer=member, query="zanzibarcanary").results if r.kind == "post"}
        communities = {r.object_id for r in suggest(viewer=member, query="hush") if r.kind == "community"}
        return hush["post"].pk in posts, hush["secret"].pk in communities

    assert found() == (False, False)
    remembered = scope_where(member, ["post"])
    seat = MembershipFactory(community=hush["secret"], user=member)
    assert found() == (True, True)
    assert scope_where(member, ["post"]) is remembered  # the same compiled scope served both
    seat.delete()
    assert found() == (False, False)


def test_a_new_role_or_a_deactivation_is_a_new_scope(hush, member):
    def posts():
        return {r.object_id for r in search(viewer=member, query="zanzibarcanary").results if r.kind == "post"}

    assert posts()  # the profile post: every signed-in non-guest sees it
    as_member = scope_where(member, ["post"])
    member.role = Role.GUEST
    member.save(update_fields=["role"])
    assert posts() == set()
    assert scope_where(member, ["post"]) is not as_member
    member.role = Role.MEMBER
    member.is_active = False
    member.save(update_fields=["role", "is_active"])
    assert posts() == set()
