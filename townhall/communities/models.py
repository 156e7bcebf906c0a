from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public: anyone in the organisation can read and join"
    PRIVATE = "private", "Private: listed; members see the content; join by request"
    SECRET = "secret", "Secret: invisible to non-members; by invitation only"


class Kind(models.TextChoices):
    TEAM = "team", "Team"
    PROJECT = "project", "Project"
    INTEREST = "interest", "Interest"
    EVENT = "event", "Event"
    LEARNING = "learning", "Learning"
    DEPARTMENT = "department", "Department"


class Community(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(max_length=4000, blank=True)
    cover = models.ImageField(upload_to="communities/", blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INTEREST)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    # The one community every active person belongs to; it carries the company feed.
    is_all_company = models.BooleanField(default=False)
    # Department communities: membership follows the directory automatically.
    department = models.OneToOneField(
        "directory.Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="community"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    member_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_all_company"], condition=Q(is_all_company=True), name="communities_one_all_company"
            ),
        ]
        indexes = [models.Index(fields=["visibility", "deleted_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class MemberRole(models.TextChoices):
    MEMBER = "member", "Member"
    ADMIN = "admin", "Community admin"


class Membership(models.Model):
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=MemberRole.choices, default=MemberRole.MEMBER)
    # Set for memberships the directory sync manages (department communities).
    synced = models.BooleanField(default=False)
    muted = models.BooleanField(default=False)  # hidden from the member's home feed
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["community", "user"], name="communities_membership_unique")]
        indexes = [models.Index(fields=["user", "community"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.community_id}"


class JoinRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="join_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "user"], condition=Q(status="pending"), name="communities_one_pending_request"
            )
        ]

    def __str__(self) -> str:
        return f"request {self.pk}"


class CommunityInvitation(models.Model):
    """A community admin's invitation; the invitee accepts or declines."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_invitations")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["community", "user"], name="communities_invitation_unique")]

    def __str__(self) -> str:
        return f"invitation {self.pk}"
