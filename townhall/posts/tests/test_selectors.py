"""Post selectors: comments, revisions, autocomplete, topics; constant query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from townhall.communities.models import Membership
from townhall.core.errors import NotFound, ValidationFailed
from townhall.posts.models import Post
from townhall.posts.selectors import (
    attach_shared,
    comment_get,
    comments_for,
    comments_page,
    latest_comments,
    mention_candidates,
    post_get,
    post_revisions,
    topic_get,
    visible_posts,
    with_details,
)
from townhall.posts.services import comment_create, comment_delete, post_create, post_edit, post_share, topic_follow
from townhall.posts.tests.conftest import World
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import CommentFactory, PostFactory

pytestmark = pytest.mark.django_db


def _thread(post: Post, author, n: int, replies: int = 2) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        top = CommentFactory(post=post, author=UserFactory(), body=f"top {i}")
        for j in range(replies):
            CommentFactory(post=post, author=UserFactory(), parent=top, body=f"reply {i}.{j}")


def test_comments_page_threads_one_level_oldest_first(world: World) -> None:
    post = post_create(actor=world.author, body="post", community=world.public)
    a = comment_create(actor=world.author, post=post, body="a")
    b = comment_create(actor=world.outsider, post=post, body="b")
    a1 = comment_create(actor=world.outsider, post=post, body="a1", parent=a)
    a2 = comment_create(actor=world.outsider, post=post, body="a2", parent=a1)
    page = comments_page(viewer=world.outsider, post=post, limit=1)
    assert page.items == [a] and page.next_cursor
    assert page.items[0].replies_list == [a1, a2]  # type: ignore[attr-defined]
    second = comments_page(viewer=world.outsider, post=post, cursor=page.next_cursor, limit=1)
    assert second.items == [b] and second.next_cursor is None
    assert [c.pk for c in comments_for(viewer=world.outsider, post=post)] == [a.pk, b.pk]


def test_comments_page_hides_deleted_and_their_replies(world: World) -> None:
    post = post_create(actor=world.author, body="post", community=world.public)
    a = comment_create(actor=world.author, post=post, body="a")
    reply = comment_create(actor=world.outsider, post=post, body="r", parent=a)
    comment_delete(actor=world.author, comment=a)
    assert comments_page(viewer=world.author, post=post).items == []
    with pytest.raises(NotFound):
        comment_get(viewer=world.author, comment_id=reply.pk)


def test_comments_page_hidden_post_is_missing(world: World) -> None:
    post = PostFactory(author=world.author, community=world.secret)
    with pytest.raises(NotFound):
        comments_page(viewer=world.outsider, post=post)
    with pytest.raises(ValidationFailed):
        comments_page(viewer=world.author, post=post, cursor="garbage!")


def test_comments_page_query_count_is_constant(world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    post = PostFactory(author=world.author, community=world.public)
    _thread(post, world.author, 2)
    with CaptureQueriesContext(connection) as small:
        page = comments_page(viewer=world.outsider, post=post, limit=50)
        [(c.author.profile.avatar, [r.author.profile.avatar for r in c.replies_list]) for c in page.items]  # type: ignore[attr-defined]
    _thread(post, world.author, 20, replies=3)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = comments_page(viewer=world.outsider, post=post, limit=50)
        [(c.author.profile.avatar, [r.author.profile.avatar for r in c.replies_list]) for c in page.items]  # type: ignore[attr-defined]
    assert len(page.items) == 22


def test_latest_comments_per_post_in_three_queries(world: World, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    posts = [PostFactory(author=world.author, community=world.public) for _ in range(3)]
    hidden = PostFactory(author=world.author, community=world.secret)
    for post in [*posts, hidden]:
        _thread(post, world.author, 4, replies=1)
    with django_assert_num_queries(3):  # newest ids (through the oracle), comments, images
        found = latest_comments(viewer=world.outsider, posts=[*posts, hidden], per_post=2)
    assert [c.body for c in found[posts[0].pk]] == ["top 2", "top 3"]
    assert [c.body for c in found[posts[2].pk]] == ["top 2", "top 3"]
    assert found[hidden.pk] == []


def test_latest_comments_skips_the_oracle_only_when_told(world: World, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    post = PostFactory(author=world.author, community=world.public)
    _thread(post, world.author, 3, replies=1)
    with django_assert_num_queries(3):
        found = latest_comments(viewer=world.author, posts=[post], per_post=1, verified=True)
    assert [c.body for c in found[post.pk]] == ["top 2"]
    post.deleted_at = post.created_at
    post.save(update_fields=["deleted_at"])
    assert latest_comments(viewer=world.author, posts=[post])[post.pk] == []


def test_post_get_and_attach_shared(world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    secret = post_create(actor=world.author, body="s", community=world.secret)
    public = post_create(actor=world.author, body="p", community=world.public)
    shares = [
        post_share(actor=world.author, post=secret, community=world.public),
        post_share(actor=world.author, post=public, community=world.public),
    ]
    posts = list(with_details(visible_posts(world.outsider)).filter(pk__in=[s.pk for s in shares]).order_by("pk"))
    with django_assert_max_num_queries(3):
        attach_shared(viewer=world.outsider, posts=posts)
    assert [p.shared_unavailable for p in posts] == [True, False]  # type: ignore[attr-defined]
    assert posts[1].shared_original.pk == public.pk  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        post_get(viewer=world.outsider, post_id=secret.pk)
    with pytest.raises(NotFound):
        post_get(viewer=world.outsider, post_id=10**12)


def test_post_revisions_visible_to_readers_only(world: World) -> None:
    post = post_create(actor=world.author, body="v1", community=world.private)
    post_edit(actor=world.author, post=post, body="v2")
    post_edit(actor=world.author, post=post, body="v3")
    assert [r.body for r in post_revisions(viewer=world.admin, post=post)] == ["v2", "v1"]
    with pytest.raises(NotFound):
        post_revisions(viewer=world.outsider, post=post)
    Membership.objects.filter(community=world.private, user=world.admin).delete()
    fresh = Post.objects.select_related("community").get(pk=post.pk)
    with pytest.raises(NotFound):
        post_revisions(viewer=world.admin, post=fresh)


def test_mention_candidates_people_and_communities(world: World) -> None:
    found = mention_candidates(viewer=world.author, prefix="ad")
    assert {(c.kind, c.handle) for c in found} >= {("person", "admin.person"), ("person", "author")}
    communities = mention_candidates(viewer=world.author, prefix="c/sec")
    assert [(c.kind, c.handle) for c in communities] == [("community", "c/secret")]
    assert mention_candidates(viewer=world.outsider, prefix="c/sec") == []
    assert all(c.kind == "community" for c in mention_candidates(viewer=world.outsider, prefix="c/"))
    assert mention_candidates(viewer=world.outsider, prefix="gone") == []
    assert mention_candidates(viewer=world.author, prefix="") == []
    assert mention_candidates(viewer=world.inactive, prefix="ad") == []
    assert [c.handle for c in mention_candidates(viewer=world.guest, prefix="a")] == []


def test_mention_candidates_limit(world: World) -> None:
    for i in range(12):
        UserFactory(email=f"zed{i}@example.com", full_name=f"Zed {i}")
    assert len(mention_candidates(viewer=world.author, prefix="zed", limit=5)) == 5


def test_topic_get_only_with_a_visible_post_or_a_follow(world: World) -> None:
    post_create(actor=world.author, body="#shared", community=world.public)
    post_create(actor=world.author, body="#shared #hush", community=world.secret)
    assert topic_get(viewer=world.outsider, slug="shared").visible_post_count == 1  # type: ignore[attr-defined]
    assert topic_get(viewer=world.author, slug="shared").visible_post_count == 2  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        topic_get(viewer=world.outsider, slug="hush")
    with pytest.raises(NotFound):
        topic_get(viewer=world.outsider, slug="never")


def test_topic_get_followed_topic_stays_reachable(world: World) -> None:
    post = post_create(actor=world.author, body="#fleeting", community=world.public)
    topic = topic_get(viewer=world.outsider, slug="fleeting")
    topic_follow(actor=world.outsider, topic=topic, follow=True)
    Post.objects.filter(pk=post.pk).update(deleted_at=timezone.now())
    found = topic_get(viewer=world.outsider, slug="fleeting")
    assert found.is_followed and found.visible_post_count == 0  # type: ignore[attr-defined]
