"""Reactions on posts and comments: one per person, counts, who reacted, visibility."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from townhall.accounts.models import User
from townhall.communities.models import Membership
from townhall.core.errors import NotFound, PermissionDenied, ValidationFailed
from townhall.posts.models import Comment, Post
from townhall.posts.ranking import hot_score
from townhall.posts.services import comment_create, comment_delete, post_create, post_delete
from townhall.reactions import registry
from townhall.reactions.models import Reaction
from townhall.reactions.selectors import reaction_summaries, reaction_summary, reactors
from townhall.reactions.services import reaction_set
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db) -> dict[str, User]:  # type: ignore[no-untyped-def]
    return {
        "ada": UserFactory(email="ada@example.com"),
        "bob": UserFactory(email="bob@example.com"),
        "cy": UserFactory(email="cy@example.com"),
        "guest": UserFactory(email="g@partner.example", role="guest"),
    }


def test_registry_knows_posts_and_comments() -> None:
    assert {"post", "comment"} <= set(registry.names())
    with pytest.raises(NotFound):
        registry.get("nope")


def test_reaction_set_replaces_and_removes_and_recounts(people: dict[str, User]) -> None:
    community = CommunityFactory(members=[people["ada"], people["bob"]])
    post = post_create(actor=people["ada"], body="x", community=community)
    reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind="like")
    reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind="love")
    reaction_set(actor=people["ada"], target_type="post", target_id=post.pk, kind="love")
    assert Reaction.objects.filter(target_type="post", target_id=post.pk).count() == 2
    post.refresh_from_db()
    assert post.reaction_count == 2
    assert post.hot_score == pytest.approx(hot_score(post.created_at, 2, 0, 0))
    summary = reaction_summary(viewer=people["bob"], target_type="post", target_id=post.pk)
    assert summary.counts == {"love": 2} and summary.total == 2 and summary.mine == "love"
    assert reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind=None) is None
    assert reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind=None) is None
    post.refresh_from_db()
    assert post.reaction_count == 1


def test_reaction_set_on_comments_recounts_the_comment(people: dict[str, User]) -> None:
    community = CommunityFactory(members=[people["ada"]])
    post = post_create(actor=people["ada"], body="x", community=community)
    comment = comment_create(actor=people["ada"], post=post, body="c")
    reaction_set(actor=people["bob"], target_type="comment", target_id=comment.pk, kind="funny")
    comment.refresh_from_db()
    post.refresh_from_db()
    assert comment.reaction_count == 1 and post.reaction_count == 0


def test_reaction_set_rejects_unknown_kind(people: dict[str, User]) -> None:
    post = post_create(actor=people["ada"], body="x", community=CommunityFactory(members=[people["ada"]]))
    with pytest.raises(ValidationFailed):
        reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind="angry")


def test_reaction_set_hidden_targets_are_missing(people: dict[str, User]) -> None:
    secret = CommunityFactory(visibility="secret", members=[people["ada"]])
    post = post_create(actor=people["ada"], body="x", community=secret)
    comment = comment_create(actor=people["ada"], post=post, body="c")
    for target_type, target_id in (("post", post.pk), ("comment", comment.pk), ("post", 10**9), ("nope", post.pk)):
        with pytest.raises(NotFound):
            reaction_set(actor=people["bob"], target_type=target_type, target_id=target_id, kind="like")
        with pytest.raises(NotFound):
            reactors(viewer=people["bob"], target_type=target_type, target_id=target_id)
    assert reaction_summaries(viewer=people["bob"], target_type="post", target_ids=[post.pk]) == {}


def test_reaction_set_deleted_post_and_comment_are_missing(people: dict[str, User]) -> None:
    community = CommunityFactory(members=[people["ada"]])
    post = post_create(actor=people["ada"], body="x", community=community)
    comment = comment_create(actor=people["ada"], post=post, body="c")
    comment_delete(actor=people["ada"], comment=comment)
    with pytest.raises(NotFound):
        reaction_set(actor=people["ada"], target_type="comment", target_id=comment.pk, kind="like")
    post_delete(actor=people["ada"], post=post)
    with pytest.raises(NotFound):
        reaction_set(actor=people["ada"], target_type="post", target_id=post.pk, kind="like")


def test_reaction_set_archived_community_refused(people: dict[str, User]) -> None:
    from django.utils import timezone

    community = CommunityFactory(members=[people["ada"]])
    post = post_create(actor=people["ada"], body="x", community=community)
    comment = comment_create(actor=people["ada"], post=post, body="c")
    community.archived_at = timezone.now()
    community.save()
    for target_type, target_id in (("post", post.pk), ("comment", comment.pk)):
        with pytest.raises(PermissionDenied):
            reaction_set(actor=people["ada"], target_type=target_type, target_id=target_id, kind="like")
    assert reactors(viewer=people["ada"], target_type="post", target_id=post.pk).items == []


def test_reaction_set_former_member_and_deactivated(people: dict[str, User]) -> None:
    private = CommunityFactory(visibility="private", members=[people["ada"], people["bob"]])
    post = post_create(actor=people["ada"], body="x", community=private)
    reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind="like")
    Membership.objects.filter(community=private, user=people["bob"]).delete()
    with pytest.raises(NotFound):
        reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind=None)
    User.objects.filter(pk=people["ada"].pk).update(is_active=False)
    people["ada"].refresh_from_db()
    with pytest.raises(NotFound):
        reaction_set(actor=people["ada"], target_type="post", target_id=post.pk, kind="like")


def test_reaction_set_guest_only_where_a_member(people: dict[str, User]) -> None:
    community = CommunityFactory(members=[people["ada"], people["guest"]])
    other = CommunityFactory(members=[people["ada"]])
    mine = post_create(actor=people["ada"], body="x", community=community)
    theirs = post_create(actor=people["ada"], body="x", community=other)
    reaction_set(actor=people["guest"], target_type="post", target_id=mine.pk, kind="celebrate")
    with pytest.raises(NotFound):
        reaction_set(actor=people["guest"], target_type="post", target_id=theirs.pk, kind="celebrate")


def test_reactors_pages_and_filters_by_kind(people: dict[str, User]) -> None:
    community = CommunityFactory(members=[people["ada"]])
    post = post_create(actor=people["ada"], body="x", community=community)
    extra = [UserFactory() for _ in range(5)]
    for index, person in enumerate([people["bob"], people["cy"], *extra]):
        reaction_set(actor=person, target_type="post", target_id=post.pk, kind="like" if index % 2 else "love")
    first = reactors(viewer=people["ada"], target_type="post", target_id=post.pk, limit=4)
    rest = reactors(viewer=people["ada"], target_type="post", target_id=post.pk, cursor=first.next_cursor, limit=4)
    assert len(first.items) == 4 and len(rest.items) == 3 and rest.next_cursor is None
    assert not {r.pk for r in first.items} & {r.pk for r in rest.items}
    likes = reactors(viewer=people["ada"], target_type="post", target_id=post.pk, kind="like")
    assert {r.kind for r in likes.items} == {"like"} and len(likes.items) == 3


def test_reactors_query_count_is_constant(people: dict[str, User], django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    community = CommunityFactory(members=[people["ada"]])
    post = post_create(actor=people["ada"], body="x", community=community)
    reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind="like")

    def read() -> None:
        page = reactors(viewer=people["ada"], target_type="post", target_id=post.pk, limit=100)
        [(r.user.display_name, r.user.profile.avatar) for r in page.items]

    with CaptureQueriesContext(connection) as small:
        read()
    for _ in range(15):
        reaction_set(actor=UserFactory(), target_type="post", target_id=post.pk, kind="insightful")
    with django_assert_max_num_queries(len(small.captured_queries)):
        read()


def test_reactors_of_a_verified_target_skip_the_visibility_check(
    people: dict[str, User], django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    community = CommunityFactory(members=[people["ada"]])
    post = post_create(actor=people["ada"], body="x", community=community)
    reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind="like")
    with django_assert_num_queries(1):
        page = reactors(viewer=people["ada"], target_type="post", target_id=post.pk, verified=True)
    assert [r.user_id for r in page.items] == [people["bob"].pk]
    with django_assert_num_queries(2):
        reactors(viewer=people["ada"], target_type="post", target_id=post.pk)
    with pytest.raises(NotFound):  # nobody signed in: nothing to show, verified or not
        reactors(viewer=AnonymousUser(), target_type="post", target_id=post.pk, verified=True)


def test_reaction_summaries_for_many_targets_in_two_queries(people: dict[str, User], django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    community = CommunityFactory(members=[people["ada"]])
    posts = [post_create(actor=people["ada"], body=f"{i}", community=community) for i in range(5)]
    for post in posts[:3]:
        reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind="curious")
        reaction_set(actor=people["ada"], target_type="post", target_id=post.pk, kind="like")
    with django_assert_num_queries(2):
        summaries = reaction_summaries(viewer=people["ada"], target_type="post", target_ids=[p.pk for p in posts])
    assert summaries[posts[0].pk].total == 2 and summaries[posts[0].pk].mine == "like"
    assert summaries[posts[4].pk].total == 0 and summaries[posts[4].pk].mine is None


def test_reaction_summaries_check_again_only_unverified_targets(
    people: dict[str, User], django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    secret = CommunityFactory(members=[people["ada"]], visibility="secret")
    mine = post_create(actor=people["ada"], body="mine", community=secret)
    reaction_set(actor=people["ada"], target_type="post", target_id=mine.pk, kind="like")
    with django_assert_num_queries(1):  # all verified by the caller: the counts only
        verified = reaction_summaries(
            viewer=people["ada"], target_type="post", target_ids=[mine.pk], verified=[mine.pk]
        )
    assert verified[mine.pk].total == 1
    # What the caller did not verify is still checked: bob may not see the secret post.
    assert reaction_summaries(viewer=people["bob"], target_type="post", target_ids=[mine.pk], verified=[]) == {}


def test_reaction_counts_survive_comment_and_post_rows(people: dict[str, User]) -> None:
    community = CommunityFactory(members=[people["ada"]])
    post = post_create(actor=people["ada"], body="x", community=community)
    comment_create(actor=people["bob"], post=post, body="c")
    reaction_set(actor=people["bob"], target_type="post", target_id=post.pk, kind="like")
    post = Post.objects.get(pk=post.pk)
    assert (post.comment_count, post.reaction_count) == (1, 1)
    assert post.hot_score == pytest.approx(hot_score(post.created_at, 1, 1, 0))
    assert Comment.objects.count() == 1
