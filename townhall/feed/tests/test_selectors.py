"""Feed selectors: who sees what where, both orders, cursors, and constant query counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from townhall.accounts.models import User
from townhall.communities.members import member_remove
from townhall.communities.models import Membership
from townhall.communities.services import community_leave
from townhall.core.errors import ValidationFailed
from townhall.core.pagination import Page
from townhall.directory.follows import person_follow
from townhall.feed.selectors import (
    community_feed,
    home_feed,
    hydrate,
    profile_feed,
    topic_feed,
    topic_suggestions,
)
from townhall.feed.tests.conftest import Town, make_post
from townhall.posts.models import Post, Topic
from townhall.posts.selectors import topic_get
from townhall.posts.services import (
    comment_create,
    post_create,
    post_delete,
    post_share,
    topic_follow,
)
from townhall.reactions.services import reaction_set
from townhall.testing.communities_factories import CommunityFactory
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import png_upload

pytestmark = pytest.mark.django_db


def ids(page: Page[Post]) -> list[int]:
    return [post.pk for post in page.items]


def everything(fetch: Callable[[str | None], Page[Post]]) -> list[int]:
    """Walk every page of a feed; fail on a repeat."""
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(200):
        page = fetch(cursor)
        seen += ids(page)
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == len(set(seen)), "a post came twice"
    return seen


def home_ids(viewer: User, order: str = "latest") -> list[int]:
    return everything(lambda c: home_feed(viewer=viewer, order=order, cursor=c, limit=3))


# --- what the home feed holds ---------------------------------------------------------


def test_home_feed_has_my_communities_followed_people_topics_and_my_own(town: Town) -> None:
    in_design = make_post(town.admin, town.design)
    in_hr = make_post(town.admin, town.hr)
    in_company = make_post(town.stranger, town.company)
    by_friend_elsewhere = make_post(town.friend, town.elsewhere)
    mine_on_profile = make_post(town.me, None, profile_user=town.me)
    on_my_profile = make_post(town.friend, None, profile_user=town.me)
    elsewhere = make_post(town.stranger, town.elsewhere)
    tagged = post_create(actor=town.stranger, body="Lunch #cooking", community=town.elsewhere)
    topic_follow(actor=town.me, topic=Topic.objects.get(slug="cooking"), follow=True)

    feed = home_ids(town.me)

    expected = {in_design, in_hr, in_company, by_friend_elsewhere, mine_on_profile, on_my_profile, tagged}
    assert set(feed) == {p.pk for p in expected}
    assert elsewhere.pk not in feed
    assert feed[0] == tagged.pk  # newest first


def test_home_feed_leaves_muted_community_out_but_its_page_shows_it(town: Town) -> None:
    muted = make_post(town.admin, town.noise)
    by_friend = make_post(town.friend, town.noise)  # following someone does not unmute

    assert muted.pk not in home_ids(town.me)
    assert by_friend.pk not in home_ids(town.me) and by_friend.pk not in home_ids(town.me, "top")
    assert ids(community_feed(viewer=town.me, community=town.noise)) == [by_friend.pk, muted.pk]
    Membership.objects.filter(community=town.noise, user=town.me).update(muted=False)
    assert {muted.pk, by_friend.pk} <= set(home_ids(town.me))


def test_home_feed_shows_a_post_once_whatever_brings_it(town: Town) -> None:
    post = post_create(actor=town.friend, body="Big news #launch", community=town.design)
    topic_follow(actor=town.me, topic=Topic.objects.get(slug="launch"), follow=True)

    assert home_ids(town.me).count(post.pk) == 1
    assert home_ids(town.me, "top").count(post.pk) == 1


def test_secret_posts_never_reach_a_non_member(town: Town) -> None:
    secret = post_create(actor=town.friend, body="Codename #falcon", community=town.skunk)
    topic_follow(actor=town.friend, topic=Topic.objects.get(slug="falcon"), follow=True)
    person_follow(actor=town.me, person=town.stranger)

    for order in ("latest", "top"):
        assert secret.pk not in home_ids(town.me, order)
        assert secret.pk not in everything(
            lambda c, o=order: profile_feed(viewer=town.me, person=town.friend, order=o, cursor=c, limit=3)
        )
    # The friend, a member, sees it in every feed.
    assert secret.pk in home_ids(town.friend)
    assert ids(topic_feed(viewer=town.friend, topic=Topic.objects.get(slug="falcon"))) == [secret.pk]
    assert ids(community_feed(viewer=town.me, community=town.skunk)) == []
    assert topic_suggestions(viewer=town.me, prefix="fal") == []


@pytest.mark.parametrize("how", ["left", "removed"])
def test_former_members_lose_secret_posts_at_once(town: Town, how: str) -> None:
    secret = post_create(actor=town.stranger, body="Plans #roadmap", community=town.skunk)
    topic_follow(actor=town.friend, topic=Topic.objects.get(slug="roadmap"), follow=True)
    assert secret.pk in home_ids(town.friend)
    Membership.objects.filter(community=town.skunk, user=town.stranger).update(role="admin")

    if how == "left":
        community_leave(actor=town.friend, community=town.skunk)
    else:
        member_remove(actor=town.stranger, community=town.skunk, user=town.friend)

    assert secret.pk not in home_ids(town.friend)
    assert secret.pk not in home_ids(town.friend, "top")
    assert ids(community_feed(viewer=town.friend, community=town.skunk)) == []
    assert secret.pk not in ids(profile_feed(viewer=town.friend, person=town.stranger))
    # They still follow the topic, so its name stays known to them, but not its posts.
    assert [t.slug for t in topic_suggestions(viewer=town.friend, prefix="road")] == ["roadmap"]
    roadmap = Topic.objects.get(slug="roadmap")
    assert ids(topic_feed(viewer=town.friend, topic=roadmap)) == []


def test_deleted_posts_leave_every_feed(town: Town) -> None:
    post = post_create(actor=town.friend, body="Oops #typo", community=town.design)
    topic = Topic.objects.get(slug="typo")
    topic_follow(actor=town.me, topic=topic, follow=True)
    post_delete(actor=town.friend, post=post)

    assert post.pk not in home_ids(town.me)
    assert ids(community_feed(viewer=town.me, community=town.design)) == []
    assert ids(topic_feed(viewer=town.me, topic=topic)) == []
    assert ids(profile_feed(viewer=town.me, person=town.friend)) == []


def test_guest_home_feed_holds_only_their_communities(town: Town) -> None:
    guest = UserFactory(role="guest")
    Membership.objects.create(community=town.elsewhere, user=guest)
    theirs = make_post(town.stranger, town.elsewhere)
    make_post(town.stranger, town.company)
    make_post(town.stranger, None, profile_user=town.stranger)

    assert home_ids(guest) == [theirs.pk]


# --- orders and cursors -----------------------------------------------------------------


def _busy_town(town: Town) -> set[int]:
    """Posts from every kind of source, interleaved in time, with varied engagement."""
    made: set[int] = set()
    authors = [town.admin, town.friend, town.stranger]
    places = [town.design, town.hr, town.company, town.elsewhere, town.noise, town.skunk]
    for n in range(36):
        post = make_post(authors[n % 3], places[n % 6], minutes_ago=600 - n * 7, reactions=(n * 7) % 11)
        made.add(post.pk)
    topic_posts = [post_create(actor=town.stranger, body=f"#garden {n}", community=town.elsewhere) for n in range(4)]
    topic_follow(actor=town.me, topic=Topic.objects.get(slug="garden"), follow=True)
    return made | {p.pk for p in topic_posts}


def _expected(town: Town, order: str) -> list[int]:
    """The home feed by brute force: every visible post from a source, sorted."""
    posts = [p for p in Post.objects.filter(deleted_at__isnull=True) if _belongs(town, p)]
    if order == "latest":
        posts.sort(key=lambda p: (p.created_at, p.pk), reverse=True)
    else:
        posts.sort(key=lambda p: (p.hot_score, p.pk), reverse=True)
    return [p.pk for p in posts]


def _belongs(town: Town, post: Post) -> bool:
    mine = {town.design.pk, town.hr.pk, town.company.pk}
    if post.community_id in mine:
        return True
    # Secret (not a member) or muted: never, whoever wrote it.
    visible_place = post.community_id not in {town.skunk.pk, town.noise.pk}
    if post.author_id in {town.friend.pk, town.me.pk} and visible_place:
        return True
    return post.topics.filter(slug="garden").exists() and visible_place


@pytest.mark.parametrize("order", ["latest", "top"])
@pytest.mark.parametrize("limit", [1, 4, 25])
def test_home_feed_pages_match_brute_force_without_repeats(town: Town, order: str, limit: int) -> None:
    _busy_town(town)

    walked = everything(lambda c: home_feed(viewer=town.me, order=order, cursor=c, limit=limit))

    assert walked == _expected(town, order)


@pytest.mark.parametrize("order", ["latest", "top"])
def test_community_feed_pages_without_repeats(town: Town, order: str) -> None:
    posts = [make_post(town.admin, town.design, reactions=n % 5) for n in range(11)]

    walked = everything(lambda c: community_feed(viewer=town.me, community=town.design, order=order, cursor=c, limit=4))

    key = (lambda p: (p.created_at, p.pk)) if order == "latest" else (lambda p: (p.hot_score, p.pk))
    assert walked == [p.pk for p in sorted(posts, key=key, reverse=True)]


def test_home_feed_keeps_its_place_when_new_posts_arrive(town: Town) -> None:
    old = [make_post(town.admin, town.design) for _ in range(5)]
    first = home_feed(viewer=town.me, cursor=None, limit=2)
    make_post(town.admin, town.design, minutes_ago=0)

    rest = everything(lambda c: home_feed(viewer=town.me, cursor=c or first.next_cursor, limit=2))

    assert ids(first) + rest == [p.pk for p in reversed(old)]


def test_community_feed_puts_pinned_first_on_the_first_page_only(town: Town) -> None:
    plain = [make_post(town.admin, town.design) for _ in range(4)]
    pinned = make_post(town.admin, town.design, minutes_ago=99_999, pinned_at=timezone.now())

    first = community_feed(viewer=town.me, community=town.design, limit=2)
    walked = ids(first) + everything(
        lambda c: community_feed(viewer=town.me, community=town.design, cursor=c or first.next_cursor, limit=2)
    )

    assert ids(first) == [pinned.pk, plain[3].pk, plain[2].pk]
    assert walked.count(pinned.pk) == 1
    assert walked[1:] == [p.pk for p in reversed(plain)]


def test_profile_feed_has_profile_posts_and_authored_posts(town: Town) -> None:
    on_profile = make_post(town.admin, None, profile_user=town.friend)
    by_friend = make_post(town.friend, town.design)
    by_friend_on_other = make_post(town.friend, None, profile_user=town.admin)
    make_post(town.admin, town.design)

    for order in ("latest", "top"):
        feed = everything(
            lambda c, o=order: profile_feed(viewer=town.me, person=town.friend, order=o, cursor=c, limit=2)
        )
        assert set(feed) == {on_profile.pk, by_friend.pk, by_friend_on_other.pk}


def test_feeds_refuse_a_bad_cursor_order_or_limit(town: Town) -> None:
    for bad in ("nonsense", "W10", "WyJ4IiwieSJd"):
        with pytest.raises(ValidationFailed):
            home_feed(viewer=town.me, cursor=bad)
        with pytest.raises(ValidationFailed):
            community_feed(viewer=town.me, community=town.design, cursor=bad)
    with pytest.raises(ValidationFailed):
        home_feed(viewer=town.me, order="sideways")
    with pytest.raises(ValidationFailed):
        home_feed(viewer=town.me, limit=0)


# --- cards and query counts --------------------------------------------------------------


def _rich_posts(town: Town, count: int) -> None:
    """Posts with everything a card shows: images, topics, reactions, comments,
    shares (of visible and of secret originals), link previews pending."""
    secret = post_create(actor=town.friend, body="hush", community=town.skunk)
    for n in range(count):
        post = post_create(
            actor=town.admin if n % 2 else town.me,
            body=f"Post {n} with #tag{n % 3} for @friend https://example.com/{n}",
            community=town.company if n % 5 == 0 else town.design,
            images=[(png_upload(), f"picture {n}")] if n % 3 == 0 else (),
        )
        comment_create(actor=town.friend, post=post, body="Nice")
        comment_create(actor=town.admin, post=post, body="Agreed")
        reaction_set(actor=town.friend, target_type="post", target_id=post.pk, kind="love")
        if n % 4 == 1:
            post_share(actor=town.friend, post=post, community=town.design, body="Look")
        if n % 4 == 2:
            post_share(actor=town.friend, post=secret, community=town.design, body="Psst")


def _count(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


@pytest.mark.parametrize("feed", ["home", "company", "community", "topic", "profile"])
def test_feed_page_with_cards_costs_the_same_queries_for_5_or_30_posts(town: Town, feed: str) -> None:
    _rich_posts(town, 36)
    topic = Topic.objects.get(slug="tag1")
    topic_follow(actor=town.me, topic=topic, follow=True)
    fetchers: dict[str, Callable[[int], Page[Post]]] = {
        "home": lambda n: home_feed(viewer=town.me, limit=n),
        "company": lambda n: community_feed(viewer=town.me, community=town.company, limit=n),
        "community": lambda n: community_feed(viewer=town.me, community=town.design, limit=n),
        "topic": lambda n: topic_feed(viewer=town.me, topic=topic, limit=n),
        "profile": lambda n: profile_feed(viewer=town.me, person=town.admin, limit=n),
    }
    fetch = fetchers[feed]

    def page_of(n: int) -> None:
        page = fetch(n)
        cards = hydrate(viewer=town.me, posts=page.items)
        for card in cards:  # touch everything a template touches
            _ = (card.post.author.profile, card.post.community, card.images, card.topics, card.comment_cards)
            _ = [(c.comment.author.profile, list(c.comment.images.all())) for c in card.comment_cards]
            if card.shared is not None:
                _ = (card.shared.author.profile, card.shared.community)

    small, large = _count(lambda: page_of(5)), _count(lambda: page_of(30))

    assert small == large, (small, large)
    assert large <= 22, large


def test_hydrate_builds_cards_with_flags_reactions_and_seen_counts(town: Town) -> None:
    mine = post_create(actor=town.me, body="Mine", community=town.design)
    theirs = post_create(actor=town.admin, body="Theirs", community=town.design)
    reaction_set(actor=town.friend, target_type="post", target_id=mine.pk, kind="celebrate")
    reaction_set(actor=town.me, target_type="post", target_id=theirs.pk, kind="like")
    from townhall.posts.services import posts_mark_seen

    posts_mark_seen(viewer=town.friend, post_ids=[mine.pk, theirs.pk])

    cards = {c.id: c for c in hydrate(viewer=town.me, posts=list(home_feed(viewer=town.me).items))}

    assert cards[mine.pk].seen_count == 1
    assert cards[theirs.pk].seen_count is None  # only the author sees it
    assert cards[mine.pk].can_edit and cards[mine.pk].can_delete and not cards[mine.pk].can_pin
    assert not cards[theirs.pk].can_edit and not cards[theirs.pk].can_delete
    assert cards[theirs.pk].my_reaction == "like"
    assert [o.kind for o in cards[mine.pk].reacted] == ["celebrate"]
    admin_cards = {c.id: c for c in hydrate(viewer=town.admin, posts=[Post.objects.get(pk=mine.pk)])}
    assert admin_cards[mine.pk].can_pin and admin_cards[mine.pk].can_delete


def test_shared_secret_original_stays_hidden_inside_a_share(town: Town) -> None:
    secret = post_create(actor=town.friend, body="hush", community=town.skunk)
    share = post_share(actor=town.friend, post=secret, community=town.design, body="Psst")

    mine = hydrate(viewer=town.me, posts=[Post.objects.get(pk=share.pk)])[0]
    theirs = hydrate(viewer=town.friend, posts=[Post.objects.get(pk=share.pk)])[0]

    assert mine.shared is None and mine.shared_unavailable
    assert theirs.shared is not None and theirs.shared.pk == secret.pk


def test_topic_suggestions_only_known_topics(town: Town) -> None:
    post_create(actor=town.admin, body="#gardening tips", community=town.design)
    post_create(actor=town.friend, body="#garden-secrets", community=town.skunk)

    assert [t.slug for t in topic_suggestions(viewer=town.me, prefix="#gar")] == ["gardening"]
    assert {t.slug for t in topic_suggestions(viewer=town.friend, prefix="gar")} == {"gardening", "garden-secrets"}
    assert topic_get(viewer=town.friend, slug="garden-secrets")


def test_home_feed_of_a_sparse_reader_still_finds_topic_posts(db: Any) -> None:
    loner = UserFactory()
    Membership.objects.filter(user=loner).update(muted=True)
    author = UserFactory()
    place = CommunityFactory(members=[author])
    post = post_create(actor=author, body="#rare find", community=place)
    topic_follow(actor=loner, topic=Topic.objects.get(slug="rare"), follow=True)

    assert ids(home_feed(viewer=loner)) == [post.pk]
    assert ids(home_feed(viewer=loner, order="top")) == [post.pk]
