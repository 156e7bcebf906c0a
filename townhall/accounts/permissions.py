"""Who may do what with accounts, invitations, sessions, tokens and settings.

`can_*` answer; `check_*` raise PermissionDenied (or NotFound where existence must
not leak). Services and selectors call these; views and templates never decide.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from townhall.accounts.models import Role, User
from townhall.core.errors import PermissionDenied

AnyUser = User | AnonymousUser


def is_signed_in(actor: AnyUser) -> bool:
    return bool(actor.is_authenticated and actor.is_active)


def can_administer(actor: AnyUser) -> bool:
    return is_signed_in(actor) and isinstance(actor, User) and actor.role == Role.ADMIN


def check_administer(actor: AnyUser) -> None:
    if not can_administer(actor):
        raise PermissionDenied("Only administrators can do that.")


def can_browse_directory(actor: AnyUser) -> bool:
    """Guests see only what they are invited into, so never the whole directory."""
    return is_signed_in(actor) and isinstance(actor, User) and actor.role != Role.GUEST


def can_edit_profile(actor: AnyUser, subject: User) -> bool:
    return is_signed_in(actor) and (actor.pk == subject.pk or can_administer(actor))


def check_edit_profile(actor: AnyUser, subject: User) -> None:
    if not can_edit_profile(actor, subject):
        raise PermissionDenied("You can only edit your own profile.")
