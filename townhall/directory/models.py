from __future__ import annotations

from django.conf import settings
from django.db import models


class Department(models.Model):
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Location(models.Model):
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    name = models.CharField(max_length=120)
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="teams")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["department", "name"], name="directory_team_unique")]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A skill or an interest; one vocabulary so they can be searched together."""

    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def avatar_path(instance: Profile, filename: str) -> str:
    # The stored name never comes from the upload: the file is re-encoded as WebP.
    return f"avatars/{instance.user_id}/{filename}"


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="profile"
    )
    pronouns = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=120, blank=True)
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="profiles"
    )
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="profiles")
    location = models.ForeignKey(Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="profiles")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="direct_report_profiles",
    )
    phone = models.CharField(max_length=40, blank=True)
    bio = models.TextField(max_length=2000, blank=True)
    skills = models.ManyToManyField(Tag, blank=True, related_name="skilled_profiles")
    interests = models.ManyToManyField(Tag, blank=True, related_name="interested_profiles")
    avatar = models.ImageField(upload_to=avatar_path, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    working_hours_start = models.TimeField(null=True, blank=True)
    working_hours_end = models.TimeField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    # Lower-cased, accent-free name + title + skills, kept by the services so the
    # directory can match partial words on SQLite and PostgreSQL alike.
    search_text = models.TextField(blank=True, default="")
    sort_name = models.CharField(max_length=150, blank=True, default="", db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["department", "sort_name"]), models.Index(fields=["location", "sort_name"])]

    def __str__(self) -> str:
        return f"Profile of {self.user_id}"


class Follow(models.Model):
    """A person follows another: the followee's posts reach the follower's home feed."""

    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following")
    followee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="directory_follow_unique"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")), name="directory_follow_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"
