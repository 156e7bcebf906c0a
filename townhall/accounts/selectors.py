from __future__ import annotations

import hashlib

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from townhall.accounts.models import ApiToken, Invitation, Organisation, User, UserSession
from townhall.accounts.permissions import check_administer
from townhall.core.prepared import Prepared

_ORGANISATION = Prepared("accounts.organisation", lambda: Organisation.objects.filter(pk=1)[:1])


def organisation_get() -> Organisation:
    """The deployment's organisation, created with defaults on first use."""
    found = next(iter(_ORGANISATION()), None)
    if found is not None:
        return found
    org, _ = Organisation.objects.get_or_create(pk=1)
    return org


def organisation_for_request(request: HttpRequest) -> Organisation:
    """Same as organisation_get, fetched at most once per request."""
    cached: Organisation | None = getattr(request, "_townhall_organisation", None)
    if cached is None:
        cached = organisation_get()
        request._townhall_organisation = cached  # type: ignore[attr-defined]
    return cached


def guidelines_pending(*, user: User, organisation: Organisation) -> bool:
    return bool(organisation.guidelines.strip()) and user.guidelines_version_accepted < organisation.guidelines_version


def session_list(*, actor: User) -> QuerySet[UserSession]:
    return UserSession.objects.filter(user=actor).order_by("-last_seen_at")


def token_list(*, actor: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=actor, revoked_at__isnull=True).order_by("-created_at")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_authenticate(*, secret: str) -> tuple[User, ApiToken] | None:
    """The active user and live token for a bearer secret, or None.

    Deactivated users and revoked or expired tokens never authenticate.
    """
    if not secret or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_secret(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or (token.expires_at and token.expires_at <= timezone.now()):
        return None
    return token.user, token


def invitation_list(*, actor: User) -> QuerySet[Invitation]:
    check_administer(actor)
    return Invitation.objects.select_related("created_by", "used_by").order_by("-created_at")


def invitation_by_token(*, token: str) -> Invitation | None:
    """A usable invitation for this secret, or None (expired, revoked, used, unknown)."""
    if not token or len(token) > 200:
        return None
    invitation = Invitation.objects.filter(token_hash=hash_secret(token)).first()
    if invitation is None or not invitation.is_usable():
        return None
    return invitation


def user_list_for_admin(*, actor: User, query: str = "") -> QuerySet[User]:
    check_administer(actor)
    users = User.objects.order_by("full_name", "id")
    if query:
        users = users.filter(email__icontains=query) | users.filter(full_name__icontains=query)
    return users
