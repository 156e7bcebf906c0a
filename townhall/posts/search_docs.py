"""Posts, comments and topics in search (the search app imports no domain app).

Access: a post or comment document carries its community (null on a profile) and its
post (`thread_id`); the scope keeps those in a community the viewer may read
(readable_community_ids, evaluated at query time, so a visibility change, a leave or
a deletion applies at once without reindexing) and profile posts for whoever may see
them. Topics are found by people with a reason to know them (topic_get's rule).
Services call the *_changed functions; the index catches up after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.models.lookups import IsNull
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from townhall.accounts.permissions import can_browse_directory, is_signed_in
from townhall.communities.selectors import readable_community_ids
from townhall.posts.models import Comment, Post, Topic
from townhall.posts.selectors import followed_topic_ids, visible_comment_ids, visible_posts
from townhall.search import index
from townhall.search.registry import DocumentData, Hit, Source, register

BATCH = 2000


# --- documents ---------------------------------------------------------------------------


def _tags(post: Post) -> str:
    return " ".join(topic.slug for topic in post.topics.all())


def _post_data(post: Post, tags: str) -> DocumentData:
    return DocumentData(
        object_id=post.pk,
        title="",
        body=post.body,
        tags=tags,
        author_id=post.author_id,
        community_id=post.community_id,
        thread_id=post.pk,
        created_at=post.created_at,
        engagement=post.reaction_count + post.comment_count + post.share_count,
    )


def post_engagement() -> Coalesce:
    """A post document's engagement from its live row (for index.engagement_on_commit);
    a post that is gone keeps the old value (its document is removed anyway)."""
    live = Post.objects.filter(pk=OuterRef("object_id")).values(
        n=F("reaction_count") + F("comment_count") + F("share_count")
    )
    return Coalesce(Subquery(live[:1]), F("engagement"))


def post_document(post_id: int) -> DocumentData | None:
    post = Post.objects.filter(pk=post_id, deleted_at__isnull=True).prefetch_related("topics").first()
    return None if post is None else _post_data(post, _tags(post))


def _batched(ids_query: Any) -> Iterator[list[int]]:
    last = 0
    while batch := list(ids_query.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH]):
        yield batch
        last = batch[-1]


def all_post_documents() -> Iterator[DocumentData]:
    through = Post.topics.through
    for ids in _batched(Post.objects.filter(deleted_at__isnull=True)):
        tags: dict[int, list[str]] = {}
        for post_id, slug in through.objects.filter(post_id__in=ids).values_list("post_id", "topic__slug"):
            tags.setdefault(post_id, []).append(slug)
        for post in Post.objects.filter(pk__in=ids).order_by("pk"):
            yield _post_data(post, " ".join(tags.get(post.pk, [])))


def _live_comments() -> Any:
    return Comment.objects.filter(deleted_at__isnull=True, post__deleted_at__isnull=True).filter(
        Q(parent__isnull=True) | Q(parent__deleted_at__isnull=True)
    )


def _comment_data(comment: Comment, community_id: int | None) -> DocumentData:
    return DocumentData(
        object_id=comment.pk,
        title="",
        body=comment.body,
        author_id=comment.author_id,
        community_id=community_id,
        thread_id=comment.post_id,
        created_at=comment.created_at,
        engagement=comment.reaction_count + comment.reply_count,
    )


def comment_engagement() -> Coalesce:
    live = Comment.objects.filter(pk=OuterRef("object_id")).values(n=F("reaction_count") + F("reply_count"))
    return Coalesce(Subquery(live[:1]), F("engagement"))


def comment_document(comment_id: int) -> DocumentData | None:
    row = _live_comments().filter(pk=comment_id).select_related("post").first()
    return None if row is None else _comment_data(row, row.post.community_id)


def all_comment_documents() -> Iterator[DocumentData]:
    for ids in _batched(_live_comments()):
        rows = Comment.objects.filter(pk__in=ids).order_by("pk").select_related("post")
        for comment in rows:
            yield _comment_data(comment, comment.post.community_id)


def _topic_data(topic: Topic) -> DocumentData:
    return DocumentData(
        object_id=topic.pk,
        title=topic.name,
        body="",
        handle=topic.slug,
        created_at=topic.created_at,
        engagement=topic.post_count,
    )


def topic_document(topic_id: int) -> DocumentData | None:
    topic = Topic.objects.filter(pk=topic_id).first()
    return None if topic is None else _topic_data(topic)


def all_topic_documents() -> Iterator[DocumentData]:
    for topic in Topic.objects.order_by("pk").iterator(chunk_size=BATCH):
        yield _topic_data(topic)


# --- who may find what -------------------------------------------------------------------


def content_scope(viewer: Any) -> Q | None:
    """Posts and comments the viewer may see (mirrors posts.selectors._visibility on
    the document's columns; deleted ones are not in the index)."""
    if not is_signed_in(viewer):
        return None
    readable = Q(community_id__in=readable_community_ids(viewer))
    if can_browse_directory(viewer):
        return readable | Q(community_id__isnull=True)
    # Guests: only profile posts they wrote or that are on their own profile.
    theirs = visible_posts(viewer).filter(community__isnull=True).values("pk")
    return readable | Q(community_id__isnull=True, thread_id__in=theirs)


def _tags_a_visible_post(viewer: Any, topic_ref: str) -> IsNull:
    """One visible post tagged with the topic, as a correlated `(SELECT ... LIMIT 1)
    IS NOT NULL` that starts from the topic's tag rows: checked only for the topics
    that matched, reading only their posts (PostgreSQL turned an EXISTS here into a
    hash of every visible post's topics, 125 ms at 100k posts; SQLite, starting from
    the posts, scanned every visible post for a rare topic, 700 ms)."""
    tags = Post.topics.through.objects.filter(
        Exists(visible_posts(viewer).filter(pk=OuterRef("post_id"))), topic_id=OuterRef(topic_ref)
    )
    return IsNull(Subquery(tags.values("pk")[:1]), False)


def topic_scope(viewer: Any) -> Q | None:
    if not is_signed_in(viewer):
        return None
    return Q(_tags_a_visible_post(viewer, "object_id")) | Q(object_id__in=followed_topic_ids(viewer=viewer))


# --- showing hits ----------------------------------------------------------------------------


def _place(post: Post) -> str:
    if post.community_id and post.community:
        return f"in {post.community.name}"
    if post.profile_user_id and post.profile_user and post.profile_user_id != post.author_id:
        return f"on {post.profile_user.display_name}'s profile"
    return "on their profile"


def _when(moment: Any) -> str:
    return date_format(localtime(moment), "j M Y")


def present_posts(viewer: Any, ids: list[int]) -> dict[int, Hit]:
    posts = visible_posts(viewer).filter(pk__in=ids).select_related("author", "community", "profile_user")
    return {
        post.pk: Hit(
            title=post.author.display_name,
            url=reverse("posts:detail", args=[post.pk]),
            text=post.body,
            meta=f"Post {_place(post)} · {_when(post.created_at)}",
            avatar=post.author,
        )
        for post in posts
    }


def present_comments(viewer: Any, ids: list[int]) -> dict[int, Hit]:
    visible = visible_comment_ids(viewer, ids)
    comments = Comment.objects.filter(pk__in=visible).select_related(
        "author", "post", "post__community", "post__profile_user"
    )
    return {
        comment.pk: Hit(
            title=comment.author.display_name,
            url=reverse("posts:comment_show", args=[comment.pk]),
            text=comment.body,
            meta=f"Comment on a post {_place(comment.post)} · {_when(comment.created_at)}",
            avatar=comment.author,
        )
        for comment in comments
    }


def present_topics(viewer: Any, ids: list[int]) -> dict[int, Hit]:
    if not is_signed_in(viewer):
        return {}
    topics = Topic.objects.filter(pk__in=ids).filter(
        Q(_tags_a_visible_post(viewer, "pk")) | Q(pk__in=followed_topic_ids(viewer=viewer))
    )
    return {
        topic.pk: Hit(title=f"#{topic.name}", url=reverse("feed:topic", args=[topic.slug]), meta="Topic")
        for topic in topics
    }


# --- keeping the index current (one call from each service) --------------------------------


def post_changed(post: Post) -> None:
    """After commit: the post, its topics, and (deleted or moved) its comments."""
    index.index_on_commit("post", [post.pk])
    index.index_on_commit("topic", post.topics.values_list("pk", flat=True))
    if post.deleted_at is not None:
        index.index_on_commit("comment", Comment.objects.filter(post_id=post.pk).values_list("pk", flat=True))


def post_moved(post: Post) -> None:
    """After commit: the post and its comments follow it into its new place."""
    index.update_thread_on_commit(thread_id=post.pk, community_id=post.community_id)
    post_changed(post)


def comment_changed(comment: Comment) -> None:
    """After commit: the comment and its replies (they go with a deleted comment).
    The post's (and a parent comment's) engagement follows through the recount
    (post_engagement_changed, comment_engagement_changed)."""
    ids: Iterable[int] = [comment.pk]
    if comment.parent_id is None:
        ids = [comment.pk, *Comment.objects.filter(parent_id=comment.pk).values_list("pk", flat=True)]
    index.index_on_commit("comment", ids)


def post_engagement_changed(post_id: int) -> None:
    """After commit: only the post document's engagement (reactions, comments and
    shares were recounted), in one UPDATE for everything of the transaction."""
    index.engagement_on_commit("post", [post_id])


def comment_engagement_changed(comment_id: int) -> None:
    """After commit: only the comment document's engagement (reactions, replies)."""
    index.engagement_on_commit("comment", [comment_id])


def register_sources() -> None:
    register(
        Source(
            kind="topic",
            label="Topics",
            singular="topic",
            build=topic_document,
            build_all=all_topic_documents,
            scope=topic_scope,
            present=present_topics,
            is_name=True,
            position=30,
        )
    )
    register(
        Source(
            kind="post",
            label="Posts",
            singular="post",
            build=post_document,
            build_all=all_post_documents,
            scope=content_scope,
            present=present_posts,
            position=40,
            engagement=post_engagement,
        )
    )
    register(
        Source(
            kind="comment",
            label="Comments",
            singular="comment",
            build=comment_document,
            build_all=all_comment_documents,
            scope=content_scope,
            present=present_comments,
            position=50,
            engagement=comment_engagement,
        )
    )
