"""Notifications, people's choices about them, and the record of what was sent.

Targets are (type, id) pairs resolved through `registry` at display time; no title or
snippet is ever stored here. Community levels are keyed by the community's id rather
than a foreign key (notifications is a platform app and may not depend on
communities); rows of a deleted community are simply never read again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from townhall.notifications.kinds import DEFAULT_DIGEST, Channel, DigestFrequency, Kind, Level

MAX_ACTORS_KEPT = 50


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The latest actor; `actor_ids` keeps the most recent distinct actors of a batch
    # (newest first, at most MAX_ACTORS_KEPT) and `actor_count` counts them all.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_ids = models.JSONField(default=list, blank=True)
    actor_count = models.PositiveIntegerField(default=1)
    target_type = models.CharField(max_length=20)
    target_id = models.BigIntegerField()
    # Unread notifications with the same key merge (batching); a non-batched key also
    # makes notifying idempotent (a retried or repeated notify adds nothing).
    group_key = models.CharField(max_length=120)
    urgent = models.BooleanField(default=False)
    # False when the person turned the in-app channel off for this kind: the row still
    # carries the email, but the centre and the count leave it out.
    in_app = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-updated_at", "-id"], name="notif_recipient_recent"),
            models.Index(
                fields=["recipient", "-updated_at"], condition=Q(read_at__isnull=True), name="notif_recipient_unread"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "group_key"], condition=Q(read_at__isnull=True), name="notif_one_unread_per_group"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} on {self.target_type}:{self.target_id}"


class Preference(models.Model):
    """One person's choice for one kind on one channel; absent means the default
    (kinds.RULES)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    enabled = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notif_pref_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}/{self.channel}={self.enabled}"


class PersonSettings(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    digest = models.CharField(max_length=10, choices=DigestFrequency.choices, default=DEFAULT_DIGEST)

    def __str__(self) -> str:
        return f"{self.user_id} digest={self.digest}"


class CommunityLevel(models.Model):
    """How much one person hears about one community; absent means highlights."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    community_id = models.BigIntegerField()
    level = models.CharField(max_length=12, choices=Level.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "community_id"], name="notif_level_unique"),
        ]
        indexes = [models.Index(fields=["community_id", "level"], name="notif_level_by_community")]

    def __str__(self) -> str:
        return f"{self.user_id} community {self.community_id}={self.level}"


class Delivery(models.Model):
    """One outgoing email, keyed so that a task run twice (a retry, a worker killed
    and restarted) sends once. The row is claimed (`sending`) before the message goes
    to the SMTP server and marked `sent` after; a task that finds a row `sending`
    from a dead worker does not send again (at most once: better one lost email than
    a duplicate)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        UNKNOWN = "unknown", "Unknown (worker died while sending)"

    key = models.CharField(max_length=120, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key} {self.status}"


class DigestRun(models.Model):
    """One digest period of one person: the unique (user, period) key makes the
    scheduler idempotent however many workers look at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=20)  # "d2026-11-22" or "w2026-W47"
    since = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=20, blank=True)  # sent / empty / off

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "period"], name="notif_digest_once")]
        indexes = [models.Index(fields=["user", "-created_at"], name="notif_digest_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period}"
