"""Posts in real time: what posts tell realtime (guards, channels) and what they publish.

Registered in PostsConfig.ready():
- guard "post": who among some people may see a post now (the posts oracle,
  can_view_post, with their seats loaded in one query): checked for every event about
  a post at the moment it is delivered.
- channel "post": the posts on someone's screen they may see (visible_post_ids).

Published after commit (one call line in services.py each):
- `post.created` {post_id} on the post's community (or the profile it is on), its
  author's profile and its topics: the "N new posts" bar of those feeds; and on the
  new community of a moved post.
- `post.removed` {post_id} on the old community of a moved post: its open pages drop
  the card (live.js, community feeds only). Guarded by "community" (communities/
  live.py: who may read the old community now), not "post": the people who lost
  sight of the post by the move are exactly the ones whose card must go. The data
  names only the post, which they had on screen, never the community it went to.
- `post.counts` {post_id, comments, shares, reactions: {kind: n}} on `post:<id>`
  whenever its counts were recomputed (comments, reactions, shares).
- `comment.counts` {post_id, comment_id, reactions: {kind: n}} on `post:<id>`.
"""

from __future__ import annotations

from django.db.models import Count

from townhall.accounts.models import User
from townhall.communities.live import people_seated
from townhall.posts.models import Comment, Post
from townhall.posts.permissions import can_view_post
from townhall.posts.selectors import visible_post_ids
from townhall.reactions.models import Reaction
from townhall.realtime import registry
from townhall.realtime.publish import publish_on_commit


def readers(user_ids: list[int], post_id: int) -> set[int]:
    """The people among `user_ids` who may see the post now. Two queries (the post,
    the people with their seats in its community) whatever the number of people."""
    post = Post.objects.select_related("community").filter(pk=post_id).first()
    if post is None or post.deleted_at is not None:
        return set()
    return {person.pk for person in people_seated(user_ids, post.community) if can_view_post(person, post)}


def _visible_posts(viewer: User, ids: list[str]) -> set[str]:
    return {str(pk) for pk in visible_post_ids(viewer, [int(i) for i in ids])}


def register() -> None:
    registry.register_guard("post", readers)
    registry.register_channel(
        "post",
        lambda viewer, arg: bool(_visible_posts(viewer, [arg])) if arg.isdigit() else False,
        many=_visible_posts,
    )


def _reaction_counts(target_type: str, target_id: int) -> dict[str, int]:
    rows = (
        Reaction.objects.filter(target_type=target_type, target_id=target_id)
        .values_list("kind")
        .annotate(n=Count("id"))
    )
    return {kind: n for kind, n in rows}


def post_created(*, post: Post, topics: list[str]) -> None:
    """The feeds that show `post` (with these topic slugs) learn of it after commit."""
    channels = [f"profile:{post.author_id}"]
    if post.community_id is not None:
        channels.append(f"community:{post.community_id}")
    if post.profile_user_id is not None:
        channels.append(f"profile:{post.profile_user_id}")
    channels += [f"topic:{slug}" for slug in topics]
    publish_on_commit(channel=channels, event="post.created", data={"post_id": post.pk}, guard=("post", post.pk))


def post_moved(*, post: Post, old_community_id: int | None) -> None:
    """After commit: the feed of the community `post` moved into learns of it (its "new
    posts" bar; who may see the post is checked for every reader at delivery), and the
    open pages of the community it left drop its card (`post.removed`, for everyone
    who may read that community then, whether or not they may follow the post)."""
    if post.community_id is not None:
        publish_on_commit(
            channel=f"community:{post.community_id}",
            event="post.created",
            data={"post_id": post.pk},
            guard=("post", post.pk),
        )
    if old_community_id is not None and old_community_id != post.community_id:
        publish_on_commit(
            channel=f"community:{old_community_id}",
            event="post.removed",
            data={"post_id": post.pk},
            guard=("community", old_community_id),
        )


def post_counts_changed(*, post_id: int, comments: int, shares: int) -> None:
    """The post's fresh counts go to the screens showing it (after commit). One query."""
    data = {
        "post_id": post_id,
        "comments": comments,
        "shares": shares,
        "reactions": _reaction_counts("post", post_id),
    }
    publish_on_commit(channel=f"post:{post_id}", event="post.counts", data=data, guard=("post", post_id))


def comment_counts_changed(*, comment_id: int) -> None:
    post_id = Comment.objects.filter(pk=comment_id).values_list("post_id", flat=True).first()
    if post_id is None:
        return
    data = {"post_id": post_id, "comment_id": comment_id, "reactions": _reaction_counts("comment", comment_id)}
    publish_on_commit(channel=f"post:{post_id}", event="comment.counts", data=data, guard=("post", post_id))
