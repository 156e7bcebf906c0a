"""Who hears about posts and comments, and how the notifications app may show them.

The services call one `on_*` function each; it runs after commit, reads what was
written and hands recipients to notifications.services.notify, which checks each one
again with the visibility oracle registered here. Also the posts part of the digest.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from townhall.communities.models import Membership
from townhall.notifications import registry
from townhall.notifications.kinds import Kind, Level
from townhall.notifications.selectors import people_at_level
from townhall.notifications.services import notify
from townhall.posts.models import Comment, Mention, Post, PostView
from townhall.posts.selectors import _visible_comments, visible_comment_ids, visible_post_ids, visible_posts

EXCERPT = 70
SNIPPET = 200
DIGEST_TOP_POSTS = 5
DIGEST_ITEMS = 8
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"[*_`#>~]+")


def plain(body: str, limit: int) -> str:
    """Markdown as one line of plain text, cut at a word near `limit`."""
    text = _MARKUP.sub("", _LINK.sub(r"\1", body or ""))
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


def _quoted(post: Post) -> str:
    excerpt = plain(post.body, EXCERPT)
    return f"“{excerpt}”" if excerpt else "a post"


# --- after-commit hooks (one call line in each service) --------------------------------


def on_post_saved(post_id: int, *, created: bool) -> None:
    """After a post is created (or shared) or edited: mentions, and on creation the
    people who set its community to "all posts"."""
    transaction.on_commit(partial(_post_saved, post_id, created), robust=True)


def on_comment_saved(comment_id: int, *, created: bool) -> None:
    """After a comment is created or edited: mentions; on creation the post's author
    and, for a reply, the parent comment's author."""
    transaction.on_commit(partial(_comment_saved, comment_id, created), robust=True)


def on_post_moved(post_id: int, *, actor_id: int) -> None:
    """After a post moved into another community: its author hears of it when someone
    else (a moderator) moved it, and only if they may still read it there (notify asks
    the oracle). Each move is its own notification (the key carries its moment)."""
    moment = int(timezone.now().timestamp() * 1000)
    transaction.on_commit(partial(_post_moved, post_id, actor_id, moment), robust=True)


def _post_moved(post_id: int, actor_id: int, moment: int) -> None:
    author_id = Post.objects.filter(pk=post_id, deleted_at__isnull=True).values_list("author_id", flat=True).first()
    if author_id is None or author_id == actor_id:
        return
    notify(
        kind=Kind.POST_MOVED,
        recipient_ids=[author_id],
        actor_id=actor_id,
        target_type="post",
        target_id=post_id,
        group_key=f"{Kind.POST_MOVED.value}:post:{post_id}:{moment}",
    )


def _post_saved(post_id: int, created: bool) -> None:
    post = Post.objects.filter(pk=post_id, deleted_at__isnull=True).first()
    if post is None:
        return
    mentioned = set(Mention.objects.filter(post_id=post_id, comment__isnull=True).values_list("user_id", flat=True))
    notify(kind=Kind.MENTION, recipient_ids=mentioned, actor_id=post.author_id, target_type="post", target_id=post_id)
    if created and post.community_id:
        seats = Membership.objects.filter(community_id=post.community_id)
        if not post.urgent:  # an urgent post reaches every member, whatever their level
            seats = seats.filter(user_id__in=people_at_level(community_id=post.community_id, level=Level.ALL))
        members = set(seats.values_list("user_id", flat=True))
        notify(
            kind=Kind.COMMUNITY_POST,
            recipient_ids=members - mentioned,
            actor_id=post.author_id,
            target_type="post",
            target_id=post_id,
            urgent=post.urgent,
        )


def _comment_saved(comment_id: int, created: bool) -> None:
    comment = Comment.objects.select_related("post", "parent").filter(pk=comment_id, deleted_at__isnull=True).first()
    if comment is None:
        return
    mentioned = set(Mention.objects.filter(comment_id=comment_id).values_list("user_id", flat=True))
    common = {"actor_id": comment.author_id, "target_type": "comment", "target_id": comment_id}
    notify(kind=Kind.MENTION, recipient_ids=mentioned, **common)  # type: ignore[arg-type]
    if not created:
        return
    told = mentioned | {comment.author_id}
    parent_author = comment.parent.author_id if comment.parent is not None else None
    if parent_author is not None and parent_author not in told:
        notify(kind=Kind.REPLY_COMMENT, recipient_ids=[parent_author], **common)  # type: ignore[arg-type]
        told.add(parent_author)
    if comment.post.author_id not in told:
        notify(kind=Kind.REPLY_POST, recipient_ids=[comment.post.author_id], **common)  # type: ignore[arg-type]


# --- what notifications may show ----------------------------------------------------------


def _describe_posts(viewer: Any, ids: list[int]) -> dict[int, registry.Described]:
    posts = visible_posts(viewer).select_related("community").filter(pk__in=ids)
    return {
        post.pk: registry.Described(
            url=f"/posts/{post.pk}/",
            title=_quoted(post),
            # Only what the quoted excerpt in the title left out.
            snippet=plain(post.body, SNIPPET) if len(plain(post.body, SNIPPET)) > EXCERPT else "",
            place=post.community.name if post.community else "",
        )
        for post in posts
    }


def _describe_comments(viewer: Any, ids: list[int]) -> dict[int, registry.Described]:
    comments = _visible_comments(viewer).select_related("post", "post__community").filter(pk__in=ids)
    return {
        comment.pk: registry.Described(
            url=f"/posts/comments/{comment.pk}/",
            title=_quoted(comment.post),
            snippet=plain(comment.body, SNIPPET),
            place=comment.post.community.name if comment.post.community else "",
        )
        for comment in comments
    }


def _post_owners(ids: list[int]) -> dict[int, int]:
    return dict(Post.objects.filter(pk__in=ids).values_list("pk", "author_id"))


def _comment_owners(ids: list[int]) -> dict[int, int]:
    return dict(Comment.objects.filter(pk__in=ids).values_list("pk", "author_id"))


# --- the digest -----------------------------------------------------------------------------


# Past this many of one person's posts or comments, _replies_to leaves the ids to a
# subquery (an IN list that long would pass SQLite's limit on parameters).
REPLY_SOURCES_LISTED = 5000


def _replies_to(person_id: int, *, since: Any) -> Q:
    """Comments on the person's posts that had activity since `since` (a comment moves
    its post's last_activity_at) or under the person's comments that have replies. The
    ids go to the database as lists, so each branch is an index lookup (post_id,
    parent_id); joining every comment's post and parent cost seconds per person at 1M
    posts, and subqueries inside an OR kept PostgreSQL scanning the comments."""
    posts = Post.objects.filter(author_id=person_id, last_activity_at__gte=since).values_list("pk", flat=True)
    threads = Comment.objects.filter(author_id=person_id, reply_count__gt=0).values_list("pk", flat=True)
    post_ids = list(posts[: REPLY_SOURCES_LISTED + 1])
    thread_ids = list(threads[: REPLY_SOURCES_LISTED + 1])
    on_posts = Q(post_id__in=post_ids) if len(post_ids) <= REPLY_SOURCES_LISTED else Q(post_id__in=posts)
    under = Q(parent_id__in=thread_ids) if len(thread_ids) <= REPLY_SOURCES_LISTED else Q(parent_id__in=threads)
    return on_posts | under


def digest(request: registry.DigestRequest) -> list[registry.DigestSection]:
    """Top posts of one's communities one has not seen, mentions, and replies to one's
    posts one has not answered: all since the last digest, all through visible_posts."""
    person = request.person
    visible = visible_posts(person).filter(created_at__gte=request.since, created_at__lt=request.until)
    sections: list[registry.DigestSection] = []
    if Kind.COMMUNITY_POST in request.kinds:
        seen = PostView.objects.filter(post_id=OuterRef("pk"), user_id=person.pk)
        mine = Membership.objects.filter(user_id=person.pk, community__deleted_at__isnull=True).exclude(
            community_id__in=list(request.silenced_community_ids)
        )
        top = (
            visible.filter(community_id__in=mine.values("community_id"))
            .exclude(author_id=person.pk)
            .exclude(Exists(seen))
            .select_related("community", "author")
            .order_by("-hot_score", "-id")[:DIGEST_TOP_POSTS]
        )
        sections.append(
            registry.DigestSection(
                title="Top posts in your communities",
                items=[
                    registry.DigestItem(
                        title=plain(p.body, EXCERPT) or "A post",
                        url=f"/posts/{p.pk}/",
                        meta=f"{p.author.display_name} in {p.community.name if p.community else 'Townhall'}"
                        f" · {p.reaction_count} reactions · {p.comment_count} comments",
                    )
                    for p in top
                ],
            )
        )
    if Kind.MENTION in request.kinds:
        mentions = (
            Mention.objects.filter(user_id=person.pk, created_at__gte=request.since, created_at__lt=request.until)
            # Checked per mention (a person has few in a period): an IN over every
            # post they may see cost seconds per person at 1M posts.
            .filter(Exists(visible_posts(person).filter(pk=OuterRef("post_id"))))
            .select_related("post", "post__author")
            .order_by("-created_at")[:DIGEST_ITEMS]
        )
        sections.append(
            registry.DigestSection(
                title="Mentions",
                items=[
                    registry.DigestItem(
                        title=plain(m.post.body, EXCERPT) or "A post",
                        url=f"/posts/comments/{m.comment_id}/" if m.comment_id else f"/posts/{m.post_id}/",
                        meta=f"{m.post.author.display_name} mentioned you",
                    )
                    for m in mentions
                    if m.comment_id is None or m.comment_id in visible_comment_ids(person, [m.comment_id])
                ],
            )
        )
    if Kind.REPLY_POST in request.kinds or Kind.REPLY_COMMENT in request.kinds:
        answered_later = Comment.objects.filter(
            post_id=OuterRef("post_id"), author_id=person.pk, created_at__gt=OuterRef("created_at")
        )
        replies = (
            _visible_comments(person)
            .filter(created_at__gte=request.since, created_at__lt=request.until)
            .filter(_replies_to(person.pk, since=request.since))
            .exclude(author_id=person.pk)
            .exclude(Exists(answered_later))
            .select_related("author", "post")
            .order_by("-created_at")[:DIGEST_ITEMS]
        )
        sections.append(
            registry.DigestSection(
                title="Replies waiting for you",
                items=[
                    registry.DigestItem(
                        title=plain(c.body, EXCERPT) or "A reply",
                        url=f"/posts/comments/{c.pk}/",
                        meta=f"{c.author.display_name} on {_quoted(c.post)}",
                    )
                    for c in replies
                ],
            )
        )
    return sections


def register() -> None:
    registry.register(
        registry.TargetType(name="post", visible_ids=visible_post_ids, describe=_describe_posts, owners=_post_owners)
    )
    registry.register(
        registry.TargetType(
            name="comment", visible_ids=visible_comment_ids, describe=_describe_comments, owners=_comment_owners
        )
    )
    registry.register_digest_source(digest)
