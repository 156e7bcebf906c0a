"""What people can be notified about, on which channels, and the defaults.

A kind is a reason to tell someone something. Each kind has a default per channel
(in-app, email, digest), chosen so that a new person is told what is addressed to them
and not drowned in what is merely nearby: reactions and follows stay in the app,
mentions and replies also go out by email, new posts reach email only for those who
ask for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Kind(models.TextChoices):
    MENTION = "mention", "Mentions of you"
    REPLY_POST = "reply_post", "Comments on your posts"
    REPLY_COMMENT = "reply_comment", "Replies to your comments"
    REACTION = "reaction", "Reactions to your posts and comments"
    JOIN_REQUEST = "join_request", "Requests to join communities you run"
    JOIN_APPROVED = "join_approved", "Your join requests approved"
    INVITATION = "invitation", "Invitations to communities"
    COMMUNITY_POST = "community_post", "New posts in communities set to “All posts”"
    FOLLOW = "follow", "New followers"
    POST_MOVED = "post_moved", "Your posts moved to another community"


class Channel(models.TextChoices):
    IN_APP = "in_app", "In the app"
    EMAIL = "email", "Email"
    DIGEST = "digest", "Digest"


class Level(models.TextChoices):
    """How much a person hears about one community."""

    ALL = "all", "All posts"
    HIGHLIGHTS = "highlights", "Highlights"
    NONE = "none", "Nothing"


class DigestFrequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    OFF = "off", "Never"


DEFAULT_LEVEL = Level.HIGHLIGHTS
DEFAULT_DIGEST = DigestFrequency.WEEKLY


@dataclass(frozen=True)
class KindRule:
    in_app: bool
    email: bool
    digest: bool
    # Reactions (and follows) on one target merge into one unread notification:
    # "Ana and 12 others reacted to your post".
    batched: bool = False

    def default(self, channel: str) -> bool:
        return bool(getattr(self, channel))


RULES: dict[str, KindRule] = {
    Kind.MENTION: KindRule(in_app=True, email=True, digest=True),
    Kind.REPLY_POST: KindRule(in_app=True, email=True, digest=True),
    Kind.REPLY_COMMENT: KindRule(in_app=True, email=True, digest=True),
    Kind.REACTION: KindRule(in_app=True, email=False, digest=False, batched=True),
    Kind.JOIN_REQUEST: KindRule(in_app=True, email=True, digest=False, batched=True),
    Kind.JOIN_APPROVED: KindRule(in_app=True, email=True, digest=False),
    Kind.INVITATION: KindRule(in_app=True, email=True, digest=False),
    Kind.COMMUNITY_POST: KindRule(in_app=True, email=False, digest=True),
    Kind.FOLLOW: KindRule(in_app=True, email=False, digest=False, batched=True),
    # A moderator changed who can read one's post: told like a reply, never batched.
    Kind.POST_MOVED: KindRule(in_app=True, email=True, digest=False),
}

# Which channels a person may switch per kind: the digest collects mentions, replies
# and community posts only (the rest is news that is stale a week later).
DIGEST_KINDS = {Kind.MENTION, Kind.REPLY_POST, Kind.REPLY_COMMENT, Kind.COMMUNITY_POST}


def channels_for(kind: str) -> list[str]:
    channels = [Channel.IN_APP.value, Channel.EMAIL.value]
    if kind in DIGEST_KINDS:
        channels.append(Channel.DIGEST.value)
    return channels


# The sentence of each kind (per target type where it differs): {actors} is "Ana",
# "Ana and Bo" or "Ana and 12 others"; {title} and {place} come from the registry's
# description of the target, made for the viewer at display time.
SENTENCES: dict[str, str] = {
    Kind.MENTION: "{actors} mentioned you in {title}",
    "mention/comment": "{actors} mentioned you in a comment on {title}",
    Kind.REPLY_POST: "{actors} commented on your post {title}",
    Kind.REPLY_COMMENT: "{actors} replied to your comment on {title}",
    Kind.REACTION: "{actors} reacted to your post {title}",
    "reaction/comment": "{actors} reacted to your comment on {title}",
    Kind.JOIN_REQUEST: "{actors} asked to join {title}",
    Kind.JOIN_APPROVED: "You're now a member of {title}",
    Kind.INVITATION: "{actors} invited you to join {title}",
    Kind.COMMUNITY_POST: "{actors} posted in {place}",
    Kind.FOLLOW: "{actors} started following you",
    Kind.POST_MOVED: "{actors} moved your post {title} to {place}",
}
# When the target has no place (a profile post): the sentence without it.
WITHOUT_PLACE: dict[str, str] = {
    Kind.COMMUNITY_POST: "{actors} posted {title}",
    Kind.POST_MOVED: "{actors} moved your post {title}",
}


def sentence(kind: str, target_type: str, *, actors: str, title: str, place: str) -> str:
    template = SENTENCES.get(f"{kind}/{target_type}") or SENTENCES.get(kind) or "{actors}: {title}"
    if "{place}" in template and not place:
        template = WITHOUT_PLACE.get(kind, "{actors}: {title}")
    return template.format(actors=actors, title=title, place=place)


def actors_phrase(names: list[str], count: int) -> str:
    """ "Ana", "Ana and Bo", "Ana and 12 others" (names most recent first)."""
    if not names:
        return "Someone" if count <= 1 else f"{count} people"
    if count <= 1:
        return names[0]
    if count == 2 and len(names) >= 2:
        return f"{names[0]} and {names[1]}"
    others = count - 1
    return f"{names[0]} and {others} other{'s' if others != 1 else ''}"
