"""Reads of posts, comments, revisions and topics, always for a viewer.

`visible_posts(viewer)` is the one query every read path starts from (feeds, search,
counts, reactions, autocomplete); it expresses permissions.can_view_post as SQL.
Whatever the viewer may not see raises NotFound, exactly like an id that never existed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from townhall.accounts.permissions import AnyUser, can_browse_directory, is_signed_in
from townhall.communities.models import Community, MemberRole, Membership
from townhall.communities.permissions import Seat, is_site_moderator, remember_invited, remember_seat
from townhall.communities.selectors import readable_community_ids, readable_community_ids_sql, visible_community_ids
from townhall.core.errors import NotFound, ValidationFailed
from townhall.core.pagination import MAX_LIMIT, Page, cut, paginate
from townhall.core.prepared import Prepared
from townhall.directory.selectors import people_visible_to
from townhall.directory.text import fold
from townhall.posts.models import Attachment, Comment, Post, PostRevision, Topic, TopicFollow
from townhall.posts.permissions import can_move_post_to, check_move_post, check_view_post

# What a rendered post needs besides its own row.
POST_RELATED = ("author", "author__profile", "community", "profile_user", "link_preview")
COMMENT_RELATED = ("author", "author__profile")


def _visibility(viewer: AnyUser, prefix: str = "") -> Q | None:
    """The oracle as a filter on post fields (`prefix` = "post__" for rows that
    belong to a post), or None when the viewer may see nothing."""
    if not is_signed_in(viewer):
        return None
    on_profile = Q(**{f"{prefix}community__isnull": True})
    if not can_browse_directory(viewer):
        on_profile &= Q(**{f"{prefix}author_id": viewer.pk}) | Q(**{f"{prefix}profile_user_id": viewer.pk})
    readable = Q(**{f"{prefix}community_id__in": readable_community_ids_sql(viewer)})
    return Q(**{f"{prefix}deleted_at__isnull": True}) & (readable | on_profile)


def visible_posts(viewer: AnyUser) -> QuerySet[Post]:
    """Posts the viewer may see: not deleted, and in a community they may read, or on
    a profile (every signed-in non-guest; a guest only their own). Unordered."""
    condition = _visibility(viewer)
    return Post.objects.none() if condition is None else Post.objects.filter(condition)


def _detail_prefetches() -> tuple[Prefetch, Prefetch]:
    return (
        Prefetch("images", queryset=Attachment.objects.order_by("position", "id")),
        Prefetch("topics", queryset=Topic.objects.order_by("slug")),
    )


def with_joins(posts: QuerySet[Post]) -> QuerySet[Post]:
    """with_details without its prefetches, for posts read in several queries that
    load_details then completes together (two queries for all of them)."""
    return posts.select_related(*POST_RELATED)


def with_details(posts: QuerySet[Post]) -> QuerySet[Post]:
    """The joins and prefetches a rendered post uses (author, place, images, topics)."""
    return with_joins(posts).prefetch_related(*_detail_prefetches())


_LIVE_BY_IDS = Prepared(
    "posts.live_by_ids",
    lambda *, ids: with_joins(Post.objects.filter(pk__any_of=ids, deleted_at__isnull=True)),
    lists=("ids",),
)
_POST_IMAGES = Prepared(
    "posts.post_images",
    lambda *, ids: Attachment.objects.filter(post_id__any_of=ids).order_by("position", "id"),
    lists=("ids",),
)
_COMMENT_IMAGES = Prepared(
    "posts.comment_images",
    lambda *, ids: Attachment.objects.filter(comment_id__any_of=ids).order_by("position", "id"),
    lists=("ids",),
)
_POST_TOPICS = Prepared(
    "posts.post_topics",
    lambda *, ids: (
        Post.topics.through.objects.filter(post_id__any_of=ids).select_related("topic").order_by("topic__slug")
    ),
    lists=("ids",),
)


def live_posts_by_ids(ids: Sequence[int]) -> list[Post]:
    """Posts with these ids that are not deleted, with what a card shows (author,
    place, images, topics), in no particular order. No permission check: for ids the
    oracle has just given (the merged feeds' arms). Three prepared statements."""
    posts = list(_LIVE_BY_IDS(ids=list(ids)))
    load_details(posts)
    return posts


def _remember_related(owner: Any, name: str, model: type[Any], rows: list[Any]) -> None:
    """What prefetch_related leaves on an instance: `owner.<name>.all()` answers `rows`
    without a query."""
    found: QuerySet[Any] = QuerySet(model=model)
    found._result_cache = rows
    found._prefetch_done = True  # type: ignore[attr-defined]
    cache = owner.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[name] = found


def load_details(posts: Sequence[Post]) -> None:
    """Images and topics of posts read through with_joins (what with_details'
    prefetches give), two prepared statements for all of them."""
    posts = [post for post in posts if "images" not in getattr(post, "_prefetched_objects_cache", {})]
    if not posts:
        return
    ids = [post.pk for post in posts]
    images: dict[int, list[Attachment]] = {pk: [] for pk in ids}
    for image in _POST_IMAGES(ids=ids):
        images[image.post_id].append(image)  # type: ignore[index]
    topics: dict[int, list[Topic]] = {pk: [] for pk in ids}
    for link in _POST_TOPICS(ids=ids):
        topics[link.post_id].append(link.topic)
    for post in posts:
        _remember_related(post, "images", Attachment, images[post.pk])
        _remember_related(post, "topics", Topic, topics[post.pk])


def load_comment_images(comments: Sequence[Comment]) -> None:
    """Each comment's images (with_details' prefetch for comments), one prepared
    statement."""
    if not comments:
        return
    images: dict[int, list[Attachment]] = {comment.pk: [] for comment in comments}
    for image in _COMMENT_IMAGES(ids=list(images)):
        images[image.comment_id].append(image)  # type: ignore[index]
    for comment in comments:
        _remember_related(comment, "images", Attachment, images[comment.pk])


_VISIBLE_BY_IDS = Prepared(
    "posts.visible_by_ids",
    lambda *, viewer, ids: with_joins(visible_posts(viewer).filter(pk__any_of=ids)),
    lists=("ids",),
    viewer=True,
)
_POST_GET = Prepared(
    "posts.post_get",
    lambda *, viewer, post: with_joins(visible_posts(viewer).filter(pk=post))[:1],
    ints=("post",),
    viewer=True,
)


def attach_shared(*, viewer: AnyUser, posts: Sequence[Post]) -> None:
    """Set `shared_original` (the quoted post, or None) and `shared_unavailable` on
    each post. A share never widens who sees the original: viewers who may not see it
    get None and `shared_unavailable=True` (the UI shows "not available to you").
    At most three queries, whatever the number of posts."""
    ids = {post.shared_post_id for post in posts if post.shared_post_id}
    originals: dict[int, Post] = {}
    if ids:
        originals = {post.pk: post for post in _VISIBLE_BY_IDS(viewer=viewer, ids=sorted(ids))}
        load_details(list(originals.values()))
    for post in posts:
        post.shared_original = originals.get(post.shared_post_id) if post.shared_post_id else None  # type: ignore[attr-defined]
        post.shared_unavailable = post.shared_post_id is not None and post.shared_original is None  # type: ignore[attr-defined]


def post_get(*, viewer: AnyUser, post_id: int) -> Post:
    """One post the viewer may see, with author, place, images, topics and the shared
    original (see attach_shared). NotFound when deleted or hidden."""
    post = next(iter(_POST_GET(viewer=viewer, post=int(post_id))), None)
    if post is None:
        raise NotFound()
    load_details([post])
    attach_shared(viewer=viewer, posts=[post])
    return post


def post_for_action(*, viewer: AnyUser, post_id: int) -> Post:
    """A post for a service to act on (with its community, no prefetches). NotFound
    when the viewer may not see it."""
    post = visible_posts(viewer).select_related("community").filter(pk=post_id).first()
    if post is None:
        raise NotFound()
    return post


def _visible_comments(viewer: AnyUser) -> QuerySet[Comment]:
    """Comments the viewer may see: on a visible post, not deleted, and not a reply
    under a deleted comment. The post's visibility is joined, not a subquery over
    every visible post, so looking up a few comments stays cheap."""
    condition = _visibility(viewer, "post__")
    if condition is None:
        return Comment.objects.none()
    return Comment.objects.filter(
        condition,
        Q(parent__isnull=True) | Q(parent__deleted_at__isnull=True),
        deleted_at__isnull=True,
    )


_NOT_ARCHIVED = Q(community__isnull=True) | Q(community__archived_at__isnull=True)


def visible_post_ids(viewer: AnyUser, ids: Iterable[int]) -> set[int]:
    """The subset of `ids` the viewer may see. One query (the reactions registry's hook)."""
    return set(visible_posts(viewer).filter(pk__in=list(ids)).values_list("pk", flat=True))


def reactable_post_ids(viewer: AnyUser, ids: Iterable[int]) -> set[int]:
    """Visible posts outside archived (read-only) communities. One query."""
    return set(visible_posts(viewer).filter(_NOT_ARCHIVED, pk__in=list(ids)).values_list("pk", flat=True))


_VISIBLE_COMMENT_IDS = Prepared(
    "posts.visible_comment_ids",
    lambda *, viewer, ids: _visible_comments(viewer).filter(pk__any_of=ids).values_list("pk", flat=True),
    lists=("ids",),
    viewer=True,
)


def visible_comment_ids(viewer: AnyUser, ids: Iterable[int]) -> set[int]:
    """The subset of comment `ids` the viewer may see. One query."""
    return set(_VISIBLE_COMMENT_IDS(viewer=viewer, ids=list(ids)))


def reactable_comment_ids(viewer: AnyUser, ids: Iterable[int]) -> set[int]:
    rows = _visible_comments(viewer).filter(
        Q(post__community__isnull=True) | Q(post__community__archived_at__isnull=True), pk__in=list(ids)
    )
    return set(rows.values_list("pk", flat=True))


def comment_get(*, viewer: AnyUser, comment_id: int) -> Comment:
    """One visible comment with its post (and the post's community). NotFound otherwise."""
    comment = (
        _visible_comments(viewer)
        .select_related("post", "post__community", "parent", *COMMENT_RELATED)
        .filter(pk=comment_id)
        .first()
    )
    if comment is None:
        raise NotFound()
    return comment


def _comments(post: int) -> QuerySet[Comment]:
    return Comment.objects.filter(post_id=post, deleted_at__isnull=True).select_related(*COMMENT_RELATED)


_COMMENT_ORDER = ("created_at", "id")
_FIRST_COMMENTS = Prepared(
    "posts.first_comments",
    lambda *, post, shape: _comments(post).filter(parent__isnull=True).order_by(*_COMMENT_ORDER)[: shape + 1],
    ints=("post",),
)
_REPLIES = Prepared(
    "posts.replies",
    lambda *, post, parents: _comments(post).filter(parent_id__any_of=parents).order_by(*_COMMENT_ORDER),
    ints=("post",),
    lists=("parents",),
)


def _attach_replies(post: Post, parents: list[Comment]) -> None:
    replies: dict[int, list[Comment]] = {parent.pk: [] for parent in parents}
    if parents:
        rows = list(_REPLIES(post=post.pk, parents=list(replies)))
        load_comment_images(rows)
        for reply in rows:
            replies[reply.parent_id].append(reply)  # type: ignore[index]
    for parent in parents:
        parent.replies_list = replies[parent.pk]  # type: ignore[attr-defined]
        # Share the post (and its community's cached seats) so permission checks on
        # each comment cost no query.
        for comment in (parent, *replies[parent.pk]):
            comment.post = post


def comments_page(*, viewer: AnyUser, post: Post, cursor: str | None = None, limit: int = 24) -> Page[Comment]:
    """Top-level comments of a visible post, oldest first, each with `replies_list`
    (all its visible replies, oldest first). Four queries whatever the page size
    (comments + their images, replies + their images). NotFound for a hidden post,
    ValidationFailed for a bad cursor or limit."""
    check_view_post(viewer, post)
    if cursor:
        page = paginate(
            _comments(post.pk).filter(parent__isnull=True), order=_COMMENT_ORDER, cursor=cursor, limit=limit
        )
    else:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.")
        page = cut(list(_FIRST_COMMENTS(post=post.pk, shape=limit)), order=_COMMENT_ORDER, limit=limit)
    load_comment_images(page.items)
    _attach_replies(post, page.items)
    return page


def comments_for(*, viewer: AnyUser, post: Post, limit: int = 100) -> list[Comment]:
    """The first `limit` top-level comments with their replies (see comments_page)."""
    return comments_page(viewer=viewer, post=post, limit=limit).items


_COMMENTS_BY_IDS = Prepared(
    "posts.comments_by_ids",
    lambda *, ids: Comment.objects.filter(pk__any_of=ids).select_related(*COMMENT_RELATED).order_by(),
    lists=("ids",),
)


def latest_comments(
    *, viewer: AnyUser, posts: Sequence[Post], per_post: int = 2, verified: bool = False
) -> dict[int, list[Comment]]:
    """The newest `per_post` top-level comments of each post the viewer may see,
    oldest first within a post, for feed cards. Three queries (the newest ids, the
    comments, their images) whatever the number of posts. `verified`: the caller
    has just loaded `posts` through visible_posts(viewer), so the oracle is not
    applied again. Every
    comment returned is visible to the viewer (live, top-level, on a visible post)."""
    ids = [post.pk for post in posts]
    found: dict[int, list[Comment]] = {pk: [] for pk in ids}
    if not ids:
        return found
    if verified:
        on_posts, params = ", ".join(["%s"] * len(ids)), list(ids)
    else:
        on_posts, oracle_params = visible_posts(viewer).filter(pk__in=ids).values("pk").query.sql_with_params()
        params = list(oracle_params)
    # Written out: the ORM's filter on a window function compiles in ~1 ms per call.
    newest = (
        "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY post_id ORDER BY created_at DESC, id DESC) AS n"  # noqa: S608 - ORM-compiled text; values are parameters  # nosec B608 - compiled or fixed SQL text; values are parameters
        f" FROM {Comment._meta.db_table} WHERE post_id IN ({on_posts}) AND deleted_at IS NULL AND parent_id IS NULL)"
        " ranked WHERE n <= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(newest, [*params, int(per_post)])
        comment_ids = [row[0] for row in cursor.fetchall()]
    if not comment_ids:
        return found
    rows = list(_COMMENTS_BY_IDS(ids=comment_ids))
    load_comment_images(rows)
    for comment in sorted(rows, key=lambda c: (c.created_at, c.pk)):
        found[comment.post_id].append(comment)
    return found


def post_revisions(*, viewer: AnyUser, post: Post) -> list[PostRevision]:
    """Earlier texts of a visible post, newest first (the current text is on the post).
    NotFound when the viewer may not see the post."""
    check_view_post(viewer, post)
    return list(PostRevision.objects.filter(post=post).select_related("edited_by").order_by("-created_at", "-id"))


def seen_counts(*, viewer: AnyUser, post_ids: Iterable[int]) -> dict[int, int]:
    """How many people (the author aside) have seen each of the viewer's own posts
    among `post_ids`. Other people's posts are left out: only authors see the count.
    One query."""
    if not is_signed_in(viewer):
        return {}
    rows = (
        Post.objects.filter(pk__in=list(post_ids), author_id=viewer.pk, deleted_at__isnull=True)
        .annotate(n=Count("views", filter=~Q(views__user_id=viewer.pk)))
        .values_list("pk", "n")
    )
    return dict(rows)


@dataclass(frozen=True)
class MentionCandidate:
    kind: str  # "person" | "community"
    id: int
    handle: str  # what follows the "@" when inserted: "ada" or "c/design"
    label: str  # display name or community name
    detail: str  # job title, or community visibility


MIN_PREFIX = 1
MAX_PREFIX = 100


def mention_candidates(*, viewer: AnyUser, prefix: str, limit: int = 8) -> list[MentionCandidate]:
    """People and communities whose name or handle starts with (people: contains) the
    prefix, for @-autocomplete. Only active people the viewer may see and communities
    the viewer may read; nothing for an empty prefix. Two queries."""
    prefix = prefix.strip().lstrip("@")[:MAX_PREFIX]
    if len(prefix) < MIN_PREFIX or not is_signed_in(viewer):
        return []
    folded = fold(prefix)
    candidates: list[MentionCandidate] = []
    community_prefix = prefix[2:] if prefix.lower().startswith("c/") else prefix
    if not prefix.lower().startswith("c/"):
        people = (
            people_visible_to(viewer)
            .filter(Q(search_text__contains=folded) | Q(user__email__istartswith=prefix), user__is_active=True)
            .order_by("sort_name", "user_id")[:limit]
        )
        for profile in people:
            user = profile.user
            candidates.append(
                MentionCandidate("person", user.pk, user.email.rsplit("@", 1)[0], user.display_name, profile.title)
            )
    if community_prefix and len(candidates) < limit:
        communities = (
            Community.objects.filter(pk__in=readable_community_ids(viewer), deleted_at__isnull=True)
            .filter(Q(slug__istartswith=community_prefix) | Q(name__icontains=community_prefix))
            .order_by("name", "id")[: limit - len(candidates)]
        )
        for community in communities:
            candidates.append(
                MentionCandidate("community", community.pk, f"c/{community.slug}", community.name, community.visibility)
            )
    return candidates


def topic_get(*, viewer: AnyUser, slug: str) -> Topic:
    """A topic the viewer has a reason to know: it tags a post they may see, or they
    follow it. Sets `visible_post_count` (posts the viewer may see) and `is_followed`.
    NotFound otherwise, so a topic used only in a secret community stays secret.
    Three queries."""
    topic = Topic.objects.filter(slug=slug).first() if is_signed_in(viewer) else None
    if topic is None:
        raise NotFound()
    count = visible_posts(viewer).filter(topics=topic).count()
    followed = TopicFollow.objects.filter(topic=topic, user_id=viewer.pk or 0).exists()
    if not count and not followed:
        raise NotFound()
    topic.visible_post_count = count  # type: ignore[attr-defined]
    topic.is_followed = followed  # type: ignore[attr-defined]
    return topic


def followed_topic_ids(*, viewer: AnyUser) -> QuerySet[TopicFollow, int]:
    """Ids of the topics the viewer follows (a subquery for feeds)."""
    return TopicFollow.objects.filter(user_id=viewer.pk or 0).values_list("topic_id", flat=True)


def can_read_attachment(viewer: AnyUser, name: str) -> bool:
    """Whether the viewer may fetch a stored post or comment image: only when they
    may see the post (and the comment) it belongs to. One or two queries."""
    attachment = Attachment.objects.filter(image=name).values("post_id", "comment_id").first()
    if attachment is None:
        return False
    if attachment["comment_id"]:
        return _visible_comments(viewer).filter(pk=attachment["comment_id"]).exists()
    return visible_posts(viewer).filter(pk=attachment["post_id"]).exists()


def post_move_targets(*, viewer: AnyUser, post: Post) -> list[Community]:
    """The communities the viewer may move this post into (permissions.can_move_post_to:
    ones they run, open, never a wider audience), by name. NotFound for a hidden post,
    PermissionDenied when the viewer may not move it at all. Two queries: the
    candidates with the viewer's seat in each (primed into the oracle's cache)."""
    check_move_post(viewer, post)
    seat = Membership.objects.filter(community_id=OuterRef("pk"), user_id=viewer.pk or 0)
    candidates = (
        Community.objects.filter(pk__in=visible_community_ids(viewer), archived_at__isnull=True)
        .exclude(pk=post.community_id or 0)
        .annotate(viewer_role=Subquery(seat.values("role")[:1]), viewer_synced=Subquery(seat.values("synced")[:1]))
        .order_by("name", "pk")
    )
    if not is_site_moderator(viewer):
        candidates = candidates.filter(memberships__user_id=viewer.pk or 0, memberships__role=MemberRole.ADMIN)
    targets: list[Community] = []
    for community in candidates:
        role = community.viewer_role  # type: ignore[attr-defined]
        remember_seat(community, viewer, Seat(role, bool(community.viewer_synced), False) if role else None)  # type: ignore[attr-defined]
        remember_invited(community, viewer, False)  # only consulted for non-members; visible already
        if can_move_post_to(viewer, post, community):
            targets.append(community)
    return targets
