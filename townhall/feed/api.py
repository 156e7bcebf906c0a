"""`/api/v1` feeds (home, company, community, topic, person) and following people.

Every feed is cursor-paginated in `latest` or `top` order and returns only what the
caller may see; a community, topic or person the caller may not see answers 404
exactly like one that does not exist. Reading a feed through the API does not mark
posts seen (clients do that with `POST /posts/seen` for what they show).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from townhall.accounts.api_auth import current_user
from townhall.accounts.schemas import Id, error_responses
from townhall.communities.selectors import all_company, community_get
from townhall.core.errors import ValidationFailed
from townhall.core.pagination import Page
from townhall.directory.follows import following_list, is_following, person_follow, person_unfollow
from townhall.directory.selectors import person_get
from townhall.feed.schemas import (
    FeedPageOut,
    FeedQueryIn,
    FollowingPageOut,
    FollowingQueryIn,
    FollowOut,
    FollowStateOut,
    Slug,
)
from townhall.feed.selectors import (
    PostCard,
    community_feed,
    home_feed,
    hydrate,
    profile_feed,
    topic_feed,
)
from townhall.posts.api import images_out, person_ref, post_fields, shared_post_out
from townhall.posts.models import Post
from townhall.posts.schemas import (
    PostOut,
    TopicRefOut,
)
from townhall.posts.selectors import topic_get
from townhall.reactions.models import ReactionKind
from townhall.reactions.schemas import ReactionSummaryOut

router = Router(tags=["feeds"])

CURSOR_INVALID = "The cursor is not valid; start again from the first page."

# --- presenting cards --------------------------------------------------------------------


def card_out(card: PostCard) -> PostOut:
    """A hydrated card as the API's PostOut (no query: everything is on the card)."""
    post = card.post
    counts = {option.kind: option.count for option in sorted(card.reacted, key=lambda o: -o.count)}
    return PostOut(
        **post_fields(post),
        images=images_out(card.images),
        topics=[TopicRefOut(slug=t.slug, name=t.name) for t in card.topics],
        shared_post=shared_post_out(card.shared) if card.shared is not None else None,
        shared_post_unavailable=card.shared_unavailable,
        reactions=ReactionSummaryOut(
            counts=counts,
            total=card.reaction_total,
            mine=ReactionKind(card.my_reaction) if card.my_reaction else None,
        ),
        seen_count=card.seen_count,
        can_edit=card.can_edit,
        can_delete=card.can_delete,
        can_pin=card.can_pin,
        can_comment=card.can_comment,
        can_share=card.can_share,
    )


def _feed(request: HttpRequest, query: FeedQueryIn, fetch: Callable[[str, str | None, int], Page[Post]]) -> FeedPageOut:
    try:
        page = fetch(query.order, query.cursor, query.limit)
    except ValidationFailed as exc:
        # order and limit are checked by the schema, so only the cursor is left.
        raise ValidationFailed(CURSOR_INVALID, fields={"cursor": [CURSOR_INVALID]}) from exc
    cards = hydrate(viewer=current_user(request), posts=page.items)
    return FeedPageOut(items=[card_out(card) for card in cards], next_cursor=page.next_cursor)


# --- feeds -----------------------------------------------------------------------------


@router.get("/feed/home", response={200: FeedPageOut, **error_responses(422)}, operation_id="feed_home")
def feed_home(request: HttpRequest, query: Query[FeedQueryIn]) -> FeedPageOut:
    """The caller's home feed: posts in their communities (muted ones left out), by
    people and with topics they follow, their own and those on their profile."""
    viewer = current_user(request)
    return _feed(request, query, lambda o, c, n: home_feed(viewer=viewer, order=o, cursor=c, limit=n))


@router.get("/feed/company", response={200: FeedPageOut, **error_responses(404, 422)}, operation_id="feed_company")
def feed_company(request: HttpRequest, query: Query[FeedQueryIn]) -> FeedPageOut:
    """The company feed (the All-company community). Pinned posts lead the first page."""
    viewer = current_user(request)
    community = community_get(viewer=viewer, slug=all_company().slug)
    return _feed(
        request, query, lambda o, c, n: community_feed(viewer=viewer, community=community, order=o, cursor=c, limit=n)
    )


@router.get(
    "/communities/{slug}/posts",
    response={200: FeedPageOut, **error_responses(404, 422)},
    operation_id="community_posts",
)
def community_posts(request: HttpRequest, slug: Path[Slug], query: Query[FeedQueryIn]) -> FeedPageOut:
    """A community's posts (empty for a private community the caller does not belong
    to). Pinned posts lead the first page, on top of `limit`."""
    viewer = current_user(request)
    community = community_get(viewer=viewer, slug=slug)
    return _feed(
        request, query, lambda o, c, n: community_feed(viewer=viewer, community=community, order=o, cursor=c, limit=n)
    )


@router.get(
    "/topics/{slug}/posts", response={200: FeedPageOut, **error_responses(404, 422)}, operation_id="topic_posts"
)
def topic_posts(request: HttpRequest, slug: Path[Slug], query: Query[FeedQueryIn]) -> FeedPageOut:
    """Posts with a topic, those the caller may see."""
    viewer = current_user(request)
    topic = topic_get(viewer=viewer, slug=slug)
    return _feed(request, query, lambda o, c, n: topic_feed(viewer=viewer, topic=topic, order=o, cursor=c, limit=n))


@router.get(
    "/people/{user_id}/posts", response={200: FeedPageOut, **error_responses(404, 422)}, operation_id="person_posts"
)
def person_posts(request: HttpRequest, user_id: Path[Id], query: Query[FeedQueryIn]) -> FeedPageOut:
    """Posts on a person's profile and posts they wrote, those the caller may see."""
    viewer = current_user(request)
    person = person_get(viewer=viewer, user_id=user_id).user
    return _feed(request, query, lambda o, c, n: profile_feed(viewer=viewer, person=person, order=o, cursor=c, limit=n))


# --- following people ------------------------------------------------------------------


@router.put(
    "/people/{user_id}/follow",
    response={200: FollowStateOut, **error_responses(403, 404, 422)},
    tags=["people"],
    operation_id="person_follow",
)
def person_follow_put(request: HttpRequest, user_id: Path[Id]) -> FollowStateOut:
    """Follow a person: their posts reach the caller's home feed. Idempotent; 422 for
    oneself, 404 for someone the caller may not see (403 only for a failed CSRF check)."""
    viewer = current_user(request)
    person = person_get(viewer=viewer, user_id=user_id).user
    person_follow(actor=viewer, person=person)
    return FollowStateOut(person=person_ref(person), following=True)


@router.delete(
    "/people/{user_id}/follow",
    response={204: None, **error_responses(403, 404, 422)},
    tags=["people"],
    operation_id="person_unfollow",
)
def person_unfollow_delete(request: HttpRequest, user_id: Path[Id]) -> Status[None]:
    """Stop following a person (idempotent; works even for someone no longer visible)."""
    person_unfollow(actor=current_user(request), person_id=user_id)
    return Status(204, None)


@router.get(
    "/people/{user_id}/follow",
    response={200: FollowStateOut, **error_responses(404, 422)},
    tags=["people"],
    operation_id="person_follow_state",
)
def person_follow_state(request: HttpRequest, user_id: Path[Id]) -> FollowStateOut:
    """Whether the caller follows this person."""
    viewer = current_user(request)
    person = person_get(viewer=viewer, user_id=user_id).user
    return FollowStateOut(person=person_ref(person), following=is_following(viewer=viewer, person=person))


@router.get(
    "/me/following",
    response={200: FollowingPageOut, **error_responses(422)},
    tags=["people"],
    operation_id="following_list",
)
def following_list_get(request: HttpRequest, query: Query[FollowingQueryIn]) -> FollowingPageOut:
    """The people the caller follows, most recently followed first."""
    try:
        page = following_list(viewer=current_user(request), cursor=query.cursor, limit=query.limit)
    except ValidationFailed as exc:
        raise ValidationFailed(CURSOR_INVALID, fields={"cursor": [CURSOR_INVALID]}) from exc
    items = [FollowOut(person=person_ref(f.followee), followed_at=f.created_at) for f in page.items]
    return FollowingPageOut(items=items, next_cursor=page.next_cursor)
