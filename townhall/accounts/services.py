"""Writes for accounts: sign-in, sessions, invitations, sign-up, roles, tokens, settings.

Every function validates before it writes and raises a TownhallError subclass with
a message fit to show; email and other side effects run after commit.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import partial
from typing import IO

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from townhall.accounts import emails, throttle
from townhall.accounts.backends import EmailBackend
from townhall.accounts.hooks import run_user_created
from townhall.accounts.models import ApiToken, Invitation, Organisation, Role, Scope, User, UserSession
from townhall.accounts.permissions import check_administer
from townhall.accounts.selectors import hash_secret, organisation_get
from townhall.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from townhall.media.images import reencode_image

SIGNIN_FAILED = "The email or password is not correct."
SIGNUP_SALT = "townhall.signup"


class Throttled(ValidationFailed):
    code = "throttled"
    status = 429


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationFailed(
            "Enter a valid email address.", fields={"email": ["Enter a valid email address."]}
        ) from exc
    return email


def _check_password(password: str, *, user: User | None = None) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), fields={"password": list(exc.messages)}) from exc


# --- Sign-in and sessions -------------------------------------------------------


def signin(*, request: HttpRequest, email: str, password: str) -> User:
    """Sign in with email and password, or raise.

    Throttled per IP and per account before any hashing; unknown accounts cost the
    same hash and get the same message. On success the session key is rotated and
    the browser session recorded.
    """
    ip = _client_ip(request)
    if throttle.is_throttled(ip=ip, email=email):
        raise Throttled("Too many sign-in attempts. Wait a few minutes and try again.")
    user = EmailBackend().authenticate(request, username=email, password=password)
    if user is None:
        throttle.record_failure(ip=ip, email=email)
        raise ValidationFailed(SIGNIN_FAILED)
    throttle.clear(ip=ip, email=email)
    start_session(request=request, user=user)
    return user


def start_session(*, request: HttpRequest, user: User) -> None:
    """Log `user` into this browser (rotating the session key) and record it."""
    login(request, user, backend="townhall.accounts.backends.EmailBackend")
    UserSession.objects.update_or_create(
        session_key=request.session.session_key or "",
        defaults={
            "user": user,
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
            "ip_address": request.META.get("REMOTE_ADDR") or None,
            "last_seen_at": timezone.now(),
        },
    )


def signout(*, request: HttpRequest) -> None:
    key = request.session.session_key
    logout(request)
    if key:
        UserSession.objects.filter(session_key=key).delete()


def _end_sessions(keys: list[str]) -> None:
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(session_key__in=keys).delete()


def session_end(*, actor: User, session_id: int) -> str:
    """End one of the actor's own browser sessions and return its key; someone else's
    answers NotFound."""
    record = UserSession.objects.filter(pk=session_id, user=actor).first()
    if record is None:
        raise NotFound()
    _end_sessions([record.session_key])
    return record.session_key


def sessions_end_all(*, actor: User) -> int:
    """Sign the actor out everywhere, this browser included. Returns how many ended."""
    keys = list(UserSession.objects.filter(user=actor).values_list("session_key", flat=True))
    _end_sessions(keys)
    return len(keys)


# --- Users and roles ------------------------------------------------------------


def user_create(*, email: str, full_name: str, password: str | None, role: str = Role.MEMBER) -> User:
    """Create an active user (and, through the registered hooks, their profile)."""
    email = normalise_email(email)
    full_name = (full_name or "").strip()
    if not full_name:
        raise ValidationFailed("Enter a name.", fields={"full_name": ["Enter a name."]})
    if len(full_name) > 150:
        raise ValidationFailed("The name is too long (150 characters at most).", fields={"full_name": ["Too long."]})
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", fields={"role": ["Unknown role."]})
    if password is not None:
        _check_password(password, user=User(email=email, full_name=full_name))
    if User.objects.filter(email=email).exists():
        raise Conflict("An account with this email already exists.", fields={"email": ["Already registered."]})
    with transaction.atomic():
        user = User.objects.create_user(email=email, password=password, full_name=full_name, role=role)
        run_user_created(user)
    return user


def _revoke_access(user: User) -> None:
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    _end_sessions(keys)
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _admin_count() -> int:
    return User.objects.filter(role=Role.ADMIN, is_active=True).count()


def user_deactivate(*, actor: User, user: User) -> User:
    """Deactivate `user`: their sessions and tokens end at once. The last admin stays."""
    check_administer(actor)
    if user.pk == actor.pk:
        raise ValidationFailed("You cannot deactivate yourself.")
    if user.role == Role.ADMIN and user.is_active and _admin_count() <= 1:
        raise ValidationFailed("The last administrator cannot be deactivated.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False, deactivated_at=timezone.now())
        _revoke_access(user)
    user.refresh_from_db()
    return user


def user_reactivate(*, actor: User, user: User) -> User:
    check_administer(actor)
    User.objects.filter(pk=user.pk).update(is_active=True, deactivated_at=None)
    user.refresh_from_db()
    return user


def user_set_role(*, actor: User, user: User, role: str) -> User:
    """Change a person's role; the last active admin cannot be demoted."""
    check_administer(actor)
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", fields={"role": ["Unknown role."]})
    if user.role == Role.ADMIN and role != Role.ADMIN and _admin_count() <= 1:
        raise ValidationFailed("The last administrator cannot be demoted.")
    User.objects.filter(pk=user.pk).update(role=role)
    user.refresh_from_db()
    return user


def user_update_names(*, actor: User, user: User, full_name: str, preferred_name: str) -> User:
    from townhall.accounts.permissions import check_edit_profile

    check_edit_profile(actor, user)
    full_name = (full_name or "").strip()
    if not full_name:
        raise ValidationFailed("Enter a name.", fields={"full_name": ["Enter a name."]})
    User.objects.filter(pk=user.pk).update(
        full_name=full_name[:150], preferred_name=(preferred_name or "").strip()[:80]
    )
    user.refresh_from_db()
    return user


# --- Invitations and sign-up ----------------------------------------------------


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def invitation_create_email(*, actor: User, email: str, role: str = Role.MEMBER) -> Invitation:
    """Invite one address with a single-use link, emailed after commit."""
    check_administer(actor)
    email = normalise_email(email)
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", fields={"role": ["Unknown role."]})
    if User.objects.filter(email=email).exists():
        raise Conflict("This person already has an account.", fields={"email": ["Already registered."]})
    token = _new_secret()
    expires = timezone.now() + timedelta(days=settings.TOWNHALL_INVITE_DAYS)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            kind=Invitation.Kind.EMAIL,
            email=email,
            role=role,
            token_hash=hash_secret(token),
            created_by=actor,
            expires_at=expires,
            max_uses=1,
        )
        org_name = organisation_get().name
        transaction.on_commit(
            partial(
                emails.send,
                to=email,
                subject=f"You're invited to {org_name} on Townhall",
                template="invitation",
                context={
                    "inviter": actor.display_name,
                    "org_name": org_name,
                    "path": f"/invite/{token}",
                    "expires": expires,
                },
            )
        )
    return invitation


def invitation_create_link(
    *, actor: User, role: str = Role.MEMBER, max_uses: int = 50, days: int = 14
) -> tuple[Invitation, str]:
    """A shareable link for people without company email. Returns the secret once."""
    check_administer(actor)
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", fields={"role": ["Unknown role."]})
    if not 1 <= max_uses <= 10_000:
        raise ValidationFailed("Uses must be between 1 and 10000.", fields={"max_uses": ["Between 1 and 10000."]})
    if not 1 <= days <= 90:
        raise ValidationFailed("A link can be valid for 1 to 90 days.", fields={"days": ["Between 1 and 90."]})
    token = _new_secret()
    invitation = Invitation.objects.create(
        kind=Invitation.Kind.LINK,
        role=role,
        token_hash=hash_secret(token),
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=days),
        max_uses=max_uses,
    )
    return invitation, token


def invitation_revoke(*, actor: User, invitation_id: int) -> None:
    check_administer(actor)
    if not Invitation.objects.filter(pk=invitation_id, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        raise NotFound()


def invitation_accept(*, token: str, email: str, full_name: str, password: str) -> User:
    """Create the invited person's account; a used, expired or revoked invitation
    changes nothing. Concurrent use of a single-use invitation lets exactly one win."""
    invitation = Invitation.objects.filter(token_hash=hash_secret(token or "")).first()
    if invitation is None or not invitation.is_usable():
        raise ValidationFailed("This invitation link has expired or has already been used. Ask for a new one.")
    if invitation.kind == Invitation.Kind.EMAIL:
        email = invitation.email
    with transaction.atomic():
        claimed = Invitation.objects.filter(
            pk=invitation.pk, use_count__lt=F("max_uses"), revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).update(use_count=F("use_count") + 1, used_at=timezone.now())
        if not claimed:
            raise ValidationFailed("This invitation link has expired or has already been used. Ask for a new one.")
        user = user_create(email=email, full_name=full_name, password=password, role=invitation.role)
        Invitation.objects.filter(pk=invitation.pk).update(used_by=user)
    return user


def email_domain_allowed(email: str) -> bool:
    domain = email.rsplit("@", 1)[-1].lower()
    return domain in {d.lower() for d in organisation_get().allowed_domains}


def signup_request(*, email: str) -> None:
    """Self sign-up, step one: email a confirmation link to an allowed address.

    The answer is the same whether or not the address already has an account (that
    person gets a sign-in reminder instead), so sign-up reveals nobody.
    """
    email = normalise_email(email)
    if not email_domain_allowed(email):
        raise ValidationFailed(
            "Sign-up is open only to the organisation's email domains. Ask an administrator for an invitation.",
            fields={"email": ["This email domain is not allowed."]},
        )
    org_name = organisation_get().name
    if User.objects.filter(email=email).exists():
        context: dict[str, object] = {"org_name": org_name}
        transaction.on_commit(
            partial(
                emails.send,
                to=email,
                subject=f"Your {org_name} account",
                template="already_registered",
                context=context,
            )
        )
        return
    token = signing.dumps({"email": email}, salt=SIGNUP_SALT)
    transaction.on_commit(
        partial(
            emails.send,
            to=email,
            subject=f"Confirm your {org_name} account",
            template="signup",
            context={"org_name": org_name, "path": f"/signup/confirm/{token}"},
        )
    )


def signup_email_from_token(*, token: str) -> str:
    try:
        data = signing.loads(token, salt=SIGNUP_SALT, max_age=60 * 60 * 48)
    except signing.BadSignature as exc:
        raise ValidationFailed("This confirmation link is not valid or has expired. Sign up again.") from exc
    return str(data["email"])


def signup_complete(*, token: str, full_name: str, password: str) -> User:
    email = signup_email_from_token(token=token)
    if not email_domain_allowed(email):
        raise ValidationFailed("Sign-up is no longer open to this email domain.")
    return user_create(email=email, full_name=full_name, password=password, role=Role.MEMBER)


# --- Organisation settings and guidelines ---------------------------------------


def _clean_domains(domains: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().lstrip("@")
        if not domain:
            continue
        try:
            validate_email(f"someone@{domain}")
        except ValidationError as exc:
            raise ValidationFailed(
                f"{raw!r} is not a valid email domain.", fields={"allowed_domains": [f"{raw!r} is not a valid domain."]}
            ) from exc
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


def organisation_update(
    *, actor: User, name: str, allowed_domains: list[str], guidelines: str, logo: IO[bytes] | None = None
) -> Organisation:
    """Update settings. Changed guidelines get a new version every member accepts again."""
    check_administer(actor)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed(
            "Enter the organisation's name (120 characters at most).", fields={"name": ["Required."]}
        )
    domains = _clean_domains(allowed_domains)
    guidelines = (guidelines or "").replace("\r\n", "\n").strip()
    if len(guidelines) > 20_000:
        raise ValidationFailed(
            "The guidelines are too long (20,000 characters at most).", fields={"guidelines": ["Too long."]}
        )
    # Validated (and re-encoded) before anything is written: a bad logo changes nothing.
    logo_file = reencode_image(logo, max_side=256, field="logo") if logo else None
    with transaction.atomic():
        org = Organisation.objects.select_for_update().get(pk=organisation_get().pk)
        if guidelines != org.guidelines:
            org.guidelines_version += 1
            if actor.guidelines_version_accepted < org.guidelines_version:
                User.objects.filter(pk=actor.pk).update(guidelines_version_accepted=org.guidelines_version)
        org.name, org.allowed_domains, org.guidelines = name, domains, guidelines
        if logo_file is not None:
            org.logo = logo_file  # type: ignore[assignment]
        org.save()
    return org


def guidelines_accept(*, actor: User) -> None:
    org = organisation_get()
    User.objects.filter(pk=actor.pk).update(guidelines_version_accepted=org.guidelines_version)


# --- API tokens -----------------------------------------------------------------


def token_create(*, actor: User, name: str, scopes: list[str], expires_days: int | None = None) -> tuple[ApiToken, str]:
    """Create a personal access token. The secret is returned once and never stored."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed("Give the token a name (80 characters at most).", fields={"name": ["Required."]})
    scopes = sorted(set(scopes))
    if not scopes or any(s not in Scope.values for s in scopes):
        raise ValidationFailed(
            "Choose the token's scopes: read, write.", fields={"scopes": ["Choose read and/or write."]}
        )
    if expires_days is not None and not 1 <= expires_days <= 365:
        raise ValidationFailed(
            "Expiry must be between 1 and 365 days.", fields={"expires_days": ["Between 1 and 365."]}
        )
    if ApiToken.objects.filter(user=actor, revoked_at__isnull=True).count() >= 50:
        raise ValidationFailed("You have 50 live tokens; revoke one first.")
    prefix = secrets.token_hex(4)
    secret = f"th_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=actor,
        name=name,
        prefix=prefix,
        token_hash=hash_secret(secret),
        scopes=scopes,
        expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
    )
    return token, secret


def token_revoke(*, actor: User, token_id: int) -> None:
    """Revoke one of the actor's own tokens; anyone else's answers NotFound."""
    if not ApiToken.objects.filter(pk=token_id, user=actor, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        raise NotFound()


def token_touch(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


def check_not_self(*, actor: User, user: User) -> None:
    if actor.pk == user.pk:
        raise PermissionDenied("You cannot do that to your own account.")
