from __future__ import annotations

from django.conf import settings
from django.db import models


class ReactionKind(models.TextChoices):
    LIKE = "like", "Like"
    LOVE = "love", "Love"
    CELEBRATE = "celebrate", "Celebrate"
    INSIGHTFUL = "insightful", "Insightful"
    CURIOUS = "curious", "Curious"
    FUNNY = "funny", "Funny"


EMOJI = {"like": "👍", "love": "❤️", "celebrate": "🎉", "insightful": "💡", "curious": "🤔", "funny": "😂"}


class Reaction(models.Model):
    """One person's reaction to one piece of content (a post, a comment, later any
    registered target type). A person has at most one reaction per target."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions")
    target_type = models.CharField(max_length=20)
    target_id = models.BigIntegerField()
    kind = models.CharField(max_length=12, choices=ReactionKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["target_type", "target_id", "user"], name="reactions_one_per_person"),
        ]
        indexes = [models.Index(fields=["target_type", "target_id", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} on {self.target_type}:{self.target_id}"
