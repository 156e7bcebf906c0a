"""The content spine. Every kind of feed content (post now; article, question, poll,
event, announcement, video later) is a `Post` row with a `kind`, so comments,
reactions, visibility, search documents, notifications and feed ordering are shared.
A later kind adds a one-to-one detail table keyed by the post."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PostKind(models.TextChoices):
    POST = "post", "Post"


class Topic(models.Model):
    """A #topic. `slug` is the folded, lower-case name used in URLs and matching."""

    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=60, unique=True, allow_unicode=True)
    created_at = models.DateTimeField(auto_now_add=True)
    post_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"#{self.name}"


class Post(models.Model):
    kind = models.CharField(max_length=20, choices=PostKind.choices, default=PostKind.POST)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    # Where it lives: a community (the company feed is the All-company community), or
    # a person's profile when community is null.
    community = models.ForeignKey(
        "communities.Community", on_delete=models.CASCADE, null=True, blank=True, related_name="posts"
    )
    profile_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="profile_posts"
    )
    body = models.TextField(max_length=20_000, blank=True)
    body_html = models.TextField(blank=True)
    # Sharing: this post quotes `shared_post` with `body` as the comment.
    shared_post = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="shares")
    link_url = models.URLField(max_length=2000, blank=True)
    link_preview = models.ForeignKey(
        "media.LinkPreview", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    topics = models.ManyToManyField(Topic, blank=True, related_name="posts")
    created_at = models.DateTimeField(db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pinned_at = models.DateTimeField(null=True, blank=True)
    # An announcement the internal-communications team marked urgent: every member of
    # its community is notified at once, by email too, even outside working hours.
    urgent = models.BooleanField(default=False, db_default=False)
    # Engagement, kept by the services that change it.
    comment_count = models.PositiveIntegerField(default=0)
    reaction_count = models.PositiveIntegerField(default=0)
    share_count = models.PositiveIntegerField(default=0)
    # "Top" order: log10(1 + engagement) + age term; see docs/feeds.md. Only changes
    # when engagement changes, so an index serves it.
    hot_score = models.FloatField(default=0.0)
    last_activity_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["community", "-created_at", "-id"],
                name="posts_comm_latest",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["community", "-hot_score", "-id"], name="posts_comm_top", condition=Q(deleted_at__isnull=True)
            ),
            models.Index(
                fields=["author", "-created_at", "-id"],
                name="posts_author_latest",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["profile_user", "-created_at", "-id"], name="posts_profile_latest"),
            models.Index(
                fields=["community", "-pinned_at"], name="posts_comm_pinned", condition=Q(pinned_at__isnull=False)
            ),
            # Top across communities: the home feed's topic arm reads posts above the
            # first round's bar (a few dozen at 1M posts) instead of every post of the
            # last days (feed/selectors.py, Arms).
            models.Index(fields=["-hot_score", "-id"], name="posts_top", condition=Q(deleted_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"post {self.pk}"


class PostRevision(models.Model):
    """The text a post had before each edit (the current text lives on the post)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField()  # when that text was written

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"revision {self.pk} of post {self.post_id}"


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    # Replies hang off a top-level comment (one level deep, like Workplace).
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(max_length=10_000)
    body_html = models.TextField(blank=True)
    created_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    reaction_count = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["post", "parent", "created_at", "id"], name="comments_thread")]

    def __str__(self) -> str:
        return f"comment {self.pk}"


class Attachment(models.Model):
    """An image on a post or a comment, re-encoded on upload, with alt text."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, null=True, blank=True, related_name="images")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="images")
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    image = models.ImageField(upload_to="posts/%Y/%m/")
    alt_text = models.CharField(max_length=300, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"image {self.pk}"


class Mention(models.Model):
    """Someone @mentioned in a post or a comment (for notifications and 'mentions' views)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="mentions")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "comment", "user"], name="posts_mention_unique")]

    def __str__(self) -> str:
        return f"mention {self.pk}"


class PostView(models.Model):
    """A person saw a post: 'seen by' counts unique viewers; only the author sees the count."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="views")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="posts_view_unique")]

    def __str__(self) -> str:
        return f"view {self.pk}"


class TopicFollow(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="topic_follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "topic"], name="posts_topic_follow_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.topic_id}"
