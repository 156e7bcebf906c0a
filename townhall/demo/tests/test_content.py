from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest
from django.db.models import Count, Q

from townhall.communities.models import Community, Membership
from townhall.demo.content import DEMO_PLAN, load_content
from townhall.directory.demo import build_demo
from townhall.directory.models import Follow
from townhall.posts.models import Comment, Mention, Post, PostRevision, TopicFollow
from townhall.posts.ranking import hot_score
from townhall.reactions.models import Reaction, ReactionKind

NOW = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)


def _load(var_dir, seed: int = 7):  # type: ignore[no-untyped-def]
    build_demo(people=160, seed=seed, today=date(2026, 6, 2), credentials=var_dir / "credentials.txt")
    return load_content(plan=DEMO_PLAN, seed=seed, now=NOW)


@pytest.mark.django_db
def test_demo_content_builds_a_living_network(var_dir, django_assert_max_num_queries):
    with django_assert_max_num_queries(200):
        result = _load(var_dir)
    assert result.posts == Post.objects.count() == DEMO_PLAN.posts
    assert Comment.objects.filter(parent__isnull=False).exists()  # replies
    assert set(Reaction.objects.values_list("kind", flat=True)) == set(ReactionKind.values)
    assert Reaction.objects.filter(target_type="comment").exists()
    assert Post.objects.filter(pinned_at__isnull=False).exists()
    assert Post.objects.filter(shared_post__isnull=False).exists()
    assert PostRevision.objects.exists() and Post.objects.filter(edited_at__isnull=False).exists()
    assert Post.objects.filter(community__isnull=True, profile_user__isnull=False).exists()
    assert Mention.objects.exists() and Follow.objects.exists() and TopicFollow.objects.exists()
    assert Post.objects.filter(body_html__contains='class="mention"').exists()
    assert Post.objects.filter(body_html__contains='class="topic"').exists()
    assert Post.objects.filter(topics__isnull=False).exists()
    # Every kind and visibility, one archived, All company and departments from the sync.
    assert set(Community.objects.values_list("visibility", flat=True)) == {"public", "private", "secret"}
    assert len(set(Community.objects.values_list("kind", flat=True))) == 6
    assert Community.objects.filter(archived_at__isnull=False).count() == 1
    company = Community.objects.get(is_all_company=True)
    assert company.memberships.count() == 160
    assert Community.objects.filter(department__isnull=False).count() == 10
    # The newest post is recent and nothing lies in the future.
    newest = Post.objects.latest("created_at").created_at
    assert (NOW - newest).days < 2 and not Comment.objects.filter(created_at__gt=NOW).exists()


@pytest.mark.django_db
def test_demo_content_counters_match_the_rows(var_dir):
    _load(var_dir)
    for community in Community.objects.annotate(n=Count("memberships")):
        assert community.member_count == community.n, community.name
    posts = Post.objects.annotate(
        live_comments=Count("comments", filter=Q(comments__deleted_at__isnull=True), distinct=True)
    )
    reactions = dict(
        Reaction.objects.filter(target_type="post")
        .values("target_id")
        .annotate(n=Count("id"))
        .values_list("target_id", "n")
    )
    shares = dict(
        Post.objects.filter(shared_post__isnull=False)
        .values("shared_post")
        .annotate(n=Count("id"))
        .values_list("shared_post", "n")
    )
    for post in posts:
        assert post.comment_count == post.live_comments
        assert post.reaction_count == reactions.get(post.pk, 0)
        assert post.share_count == shares.get(post.pk, 0)
        assert post.hot_score == pytest.approx(
            hot_score(post.created_at, post.reaction_count, post.comment_count, post.share_count)
        )
    for comment in Comment.objects.filter(parent__isnull=True).annotate(
        n=Count("replies", filter=Q(replies__deleted_at__isnull=True))
    ):
        assert comment.reply_count == comment.n
    assert not Membership.objects.values("community", "user").annotate(n=Count("id")).filter(n__gt=1).exists()


def _what_people_see() -> str:
    rows = Post.objects.order_by("id").values_list(
        "author__email", "community__slug", "body", "created_at", "comment_count", "reaction_count", "share_count"
    )
    comments = Comment.objects.order_by("id").values_list("author__email", "body", "created_at")
    return hashlib.sha256((repr(list(rows)) + repr(list(comments))).encode()).hexdigest()


@pytest.mark.django_db
def test_demo_content_is_deterministic(var_dir):
    _load(var_dir, seed=3)
    first = _what_people_see()
    # Remove the generated network (people, All company and departments stay) and load it again.
    Post.objects.all().delete()
    Reaction.objects.all().delete()
    Community.objects.exclude(Q(is_all_company=True) | Q(department__isnull=False)).delete()
    Follow.objects.all().delete()
    TopicFollow.objects.all().delete()
    load_content(plan=DEMO_PLAN, seed=3, now=NOW)
    assert _what_people_see() == first
