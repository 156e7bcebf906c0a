"""A few notifications for the people one signs in as in the demo, so the centre and
the badge show something on the first visit. They are made from the conversation the
demo loaded (comments on their posts, mentions, reactions, follows) through the same
`notify` as live activity, so the visibility checks and batching apply; no email."""

from __future__ import annotations

from django.db.models import F, Max

from townhall.accounts.models import User
from townhall.directory.models import Follow
from townhall.notifications.kinds import Kind
from townhall.notifications.models import Notification
from townhall.notifications.services import notify
from townhall.posts.models import Comment, Mention, Post
from townhall.reactions.models import Reaction

PER_SOURCE = 4
UNREAD = 5  # the newest few stay unread


def seed_notifications(*, emails: list[str]) -> int:
    """Notifications for the people with these emails; returns how many were made."""
    made = 0
    for person in User.objects.filter(email__in=emails, is_active=True):
        made += _for(person)
    return made


def _for(person: User) -> int:
    rows: list[Notification] = []
    replies = (
        Comment.objects.filter(post__author=person, deleted_at__isnull=True, post__deleted_at__isnull=True)
        .exclude(author=person)
        .order_by("-created_at")[:PER_SOURCE]
    )
    for comment in replies:
        rows += notify(
            kind=Kind.REPLY_POST, recipient_ids=[person.pk], actor_id=comment.author_id, target_type="comment",
            target_id=comment.pk, at=comment.created_at, send_email=False,
        )  # fmt: skip
    for mention in (
        Mention.objects.filter(user=person).select_related("post", "comment").order_by("-created_at")[:PER_SOURCE]
    ):
        target = ("comment", mention.comment_id) if mention.comment_id else ("post", mention.post_id)
        author = mention.comment.author_id if mention.comment else mention.post.author_id
        rows += notify(
            kind=Kind.MENTION, recipient_ids=[person.pk], actor_id=author, target_type=target[0],
            target_id=int(target[1] or 0), at=mention.created_at, send_email=False,
        )  # fmt: skip
    mine = Post.objects.filter(author=person, deleted_at__isnull=True, reaction_count__gt=0)
    liked = (
        Reaction.objects.filter(target_type="post", target_id__in=mine.values("pk"))
        .values("target_id")
        .annotate(last=Max("created_at"))
        .order_by("-last")[:PER_SOURCE]
    )
    for row in liked:
        reactions = Reaction.objects.filter(target_type="post", target_id=row["target_id"]).exclude(user=person)
        for reaction in reactions.order_by("created_at")[:30]:
            rows += notify(
                kind=Kind.REACTION, recipient_ids=[person.pk], actor_id=reaction.user_id, target_type="post",
                target_id=reaction.target_id, group_key=f"reaction:post:{reaction.target_id}",
                at=reaction.created_at, send_email=False,
            )  # fmt: skip
    for follow in Follow.objects.filter(followee=person).order_by("-created_at")[:PER_SOURCE]:
        rows += notify(
            kind=Kind.FOLLOW, recipient_ids=[person.pk], actor_id=follow.follower_id, target_type="person",
            target_id=follow.follower_id, group_key=f"follow:{person.pk}", at=follow.created_at, send_email=False,
        )  # fmt: skip
    ids = list(
        Notification.objects.filter(recipient=person).order_by("-updated_at", "-id").values_list("pk", flat=True)
    )
    Notification.objects.filter(pk__in=ids[UNREAD:]).update(read_at=F("updated_at"))
    return len(ids)
