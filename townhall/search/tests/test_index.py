"""The index follows the content after commit: create, edit, delete, visibility
changes, community deletion, profile edits."""

from __future__ import annotations

import pytest
from django.db import transaction

from townhall.communities import services as communities
from townhall.directory.services import ProfileChanges, profile_update
from townhall.posts import services as posts
from townhall.posts.search_docs import post_moved
from townhall.search.index import index_now
from townhall.search.models import Document
from townhall.search.selectors import search, suggest
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _post_ids(viewer, query):
    return {r.object_id for r in search(viewer=viewer, query=query).results if r.kind == "post"}


@pytest.fixture
def owner(db):
    return UserFactory(full_name="Olga Owner", email="olga@example.com")


@pytest.fixture
def place(owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return communities.community_create(actor=owner, name="Lighthouse", description="Ships and shores.")


def test_index_follows_post_create_edit_delete(owner, member, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post = posts.post_create(actor=owner, community=place, body="Quokka sightings today #wildlife")
    assert _post_ids(member, "quokka") == {post.pk}
    assert {r.object_id for r in search(viewer=member, query="#wildlife").results} == {post.pk}
    assert "wildlife" in [r.hit.title.lstrip("#").lower() for r in search(viewer=member, query="wildlife").results]

    with django_capture_on_commit_callbacks(execute=True):
        posts.post_edit(actor=owner, post=post, body="Wombat sightings today")
    assert _post_ids(member, "quokka") == set()
    assert _post_ids(member, "wombat") == {post.pk}

    with django_capture_on_commit_callbacks(execute=True):
        posts.post_delete(actor=owner, post=post)
    assert _post_ids(member, "wombat") == set()
    assert not Document.objects.filter(kind="post", object_id=post.pk).exists()


def test_index_waits_for_commit(owner, member, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        posts.post_create(actor=owner, community=place, body="Narwhal")
    assert _post_ids(member, "narwhal") == set()  # not committed yet: not searchable
    assert callbacks


def test_index_drops_rolled_back_writes(owner, member, place):
    with pytest.raises(RuntimeError), transaction.atomic():
        posts.post_create(actor=owner, community=place, body="Axolotl")
        raise RuntimeError
    assert _post_ids(member, "axolotl") == set()


def test_index_follows_comments_and_their_deletion(owner, member, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post = posts.post_create(actor=owner, community=place, body="Harbour plans")
        comment = posts.comment_create(actor=owner, post=post, body="Pelican crossing first")
        reply = posts.comment_create(actor=owner, post=post, body="Pelican bridge second", parent=comment)
    found = {r.object_id for r in search(viewer=member, query="pelican").results if r.kind == "comment"}
    assert found == {comment.pk, reply.pk}
    with django_capture_on_commit_callbacks(execute=True):
        posts.comment_delete(actor=owner, comment=comment)
    assert not [r for r in search(viewer=member, query="pelican").results if r.kind == "comment"]


def test_visibility_change_applies_at_once(owner, member, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post = posts.post_create(actor=owner, community=place, body="Kelpforest Zq9canary notes")
    assert _post_ids(member, "kelpforest") == {post.pk}
    with django_capture_on_commit_callbacks(execute=True):
        communities.community_update(actor=owner, community=place, visibility="secret")
    answer = search(viewer=member, query="kelpforest")
    assert answer.total == 0 and answer.counts == {}
    assert not search(viewer=member, query="lighthouse").results
    assert not suggest(viewer=member, query="lighth")
    assert _post_ids(owner, "kelpforest") == {post.pk}


def test_community_delete_hides_it_and_its_content(owner, member, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post = posts.post_create(actor=owner, community=place, body="Seagull census")
        communities.community_delete(actor=owner, community=place)
    assert not Document.objects.filter(kind="community", object_id=place.pk).exists()
    for viewer in (member, owner):
        assert search(viewer=viewer, query="seagull").total == 0
        assert search(viewer=viewer, query="lighthouse").total == 0
    assert Document.objects.filter(kind="post", object_id=post.pk).exists()  # hidden by the scope, at query time


def test_post_moved_into_private_disappears_for_non_members(owner, member, place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post = posts.post_create(actor=owner, community=place, body="Moving Walrus plans")
        vault = communities.community_create(actor=owner, name="Vault", visibility="private")
    assert _post_ids(member, "walrus") == {post.pk}
    post.community = vault
    post.save(update_fields=["community"])
    with django_capture_on_commit_callbacks(execute=True):
        post_moved(post)
    assert _post_ids(member, "walrus") == set()
    assert _post_ids(owner, "walrus") == {post.pk}


def test_profile_changes_reach_people_search(member, django_capture_on_commit_callbacks):
    person = UserFactory(full_name="Pat Quill", email="pat@example.com")
    index_now("person", [person.pk])
    assert person.pk in {r.object_id for r in search(viewer=member, query="quill").results}
    with django_capture_on_commit_callbacks(execute=True):
        profile_update(actor=person, person=person, changes=ProfileChanges(title="Lighthouse keeper"))
    assert person.pk in {r.object_id for r in search(viewer=member, query="keeper").results}


def test_new_people_are_searchable(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        person = UserFactory(full_name="Zebedee Brightwater", email="zeb@example.com")
    assert [r.object_id for r in suggest(viewer=member, query="brightw")][:1] == [person.pk]
