"""Who may see and change people in the directory."""

from __future__ import annotations

from townhall.accounts.models import User
from townhall.accounts.permissions import AnyUser, can_administer, can_browse_directory, is_signed_in


def can_view_person(viewer: AnyUser, person: User) -> bool:
    """Members see every active colleague; admins also see deactivated people;
    guests see only themselves until communities give them company."""
    if not is_signed_in(viewer):
        return False
    if viewer.pk == person.pk:
        return True
    if not can_browse_directory(viewer):
        return False
    return person.is_active or can_administer(viewer)


def can_edit_person(viewer: AnyUser, person: User) -> bool:
    return is_signed_in(viewer) and (viewer.pk == person.pk or can_administer(viewer))
