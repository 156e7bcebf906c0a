"""Engagement in the index follows reactions (and their removal), shares and replies
after commit, with one UPDATE of that column per kind for a whole transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from townhall.communities import services as communities
from townhall.posts import services as posts
from townhall.posts.models import Post
from townhall.reactions.services import reaction_set
from townhall.search.index import index_now
from townhall.search.models import Document
from townhall.search.selectors import search
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(django_capture_on_commit_callbacks):
    """Two posts with the same text; the first a day older, so it ranks second until
    people react to it."""
    owner = UserFactory(full_name="Olga Owner", email="olga@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        place = communities.community_create(actor=owner, name="Lighthouse")
        older = posts.post_create(actor=owner, community=place, body="Osprey nesting report")
        newer = posts.post_create(actor=owner, community=place, body="Osprey nesting report")
    Post.objects.filter(pk=older.pk).update(created_at=older.created_at - timedelta(days=1))
    index_now("post", [older.pk])
    return {"owner": owner, "place": place, "older": older, "newer": newer}


def _order(viewer):
    return [r.object_id for r in search(viewer=viewer, query="osprey").results if r.kind == "post"]


def _engagement(kind, object_id):
    return Document.objects.get(kind=kind, object_id=object_id).engagement


def test_reactions_reorder_results_and_removing_them_reorders_back(pair, member, django_capture_on_commit_callbacks):
    older, newer = pair["older"], pair["newer"]
    assert _order(member) == [newer.pk, older.pk]  # same text: the fresher first
    fans = [UserFactory() for _ in range(2)]
    for fan in fans:
        with django_capture_on_commit_callbacks(execute=True):
            reaction_set(actor=fan, target_type="post", target_id=older.pk, kind="like")
    assert _engagement("post", older.pk) == 2
    assert _order(member) == [older.pk, newer.pk]  # livelier beats a day fresher

    with django_capture_on_commit_callbacks(execute=True):
        reaction_set(actor=fans[0], target_type="post", target_id=older.pk, kind="celebrate")  # a change of kind
    assert _engagement("post", older.pk) == 2
    for fan in fans:
        with django_capture_on_commit_callbacks(execute=True):
            reaction_set(actor=fan, target_type="post", target_id=older.pk, kind=None)
    assert _engagement("post", older.pk) == 0
    assert _order(member) == [newer.pk, older.pk]


def test_a_burst_of_reactions_is_one_update_of_one_column_per_kind(pair, member, django_capture_on_commit_callbacks):
    older, newer = pair["older"], pair["newer"]
    with django_capture_on_commit_callbacks(execute=True):
        comment = posts.comment_create(actor=pair["owner"], post=newer, body="Osprey chicks hatched")
    fans = [UserFactory() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        for fan in fans:
            reaction_set(actor=fan, target_type="post", target_id=older.pk, kind="like")
            reaction_set(actor=fan, target_type="comment", target_id=comment.pk, kind="like")
        reaction_set(actor=fans[0], target_type="post", target_id=newer.pk, kind="like")
    assert _engagement("post", older.pk) == 0  # nothing before commit
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "search_document"')]
    assert len(updates) == 2, updates  # posts, comments: 7 reactions, 3 targets
    for sql in updates:
        assert sql.startswith('UPDATE "search_document" SET "engagement" = ')
        assert '"title"' not in sql.split(" WHERE ")[0] and '"body"' not in sql.split(" WHERE ")[0]
    assert _engagement("post", older.pk) == 3
    assert _engagement("post", newer.pk) == 1 + 1  # a comment and a reaction
    assert _engagement("comment", comment.pk) == 3
    assert _order(member) == [older.pk, newer.pk]


def test_rolled_back_reactions_leave_the_index_alone(pair, member):
    fan = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        reaction_set(actor=fan, target_type="post", target_id=pair["older"].pk, kind="like")
        raise RuntimeError
    assert _engagement("post", pair["older"].pk) == 0
    assert _order(member) == [pair["newer"].pk, pair["older"].pk]


def test_shares_and_replies_count_without_rebuilding(pair, member, django_capture_on_commit_callbacks):
    older, owner = pair["older"], pair["owner"]
    with django_capture_on_commit_callbacks(execute=True):
        comment = posts.comment_create(actor=owner, post=older, body="First")
        posts.comment_create(actor=member, post=older, body="Second", parent=comment)
        posts.post_share(actor=owner, post=older, community=pair["place"])
    assert _engagement("post", older.pk) == 3  # two comments and a share
    assert _engagement("comment", comment.pk) == 1  # its reply
    assert _order(member)[0] == older.pk
