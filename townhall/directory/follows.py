"""Following people: a followee's posts reach the follower's home feed.

Services and selectors in one small module (the feature is two tables wide). Only
people the actor may see can be followed; following reveals nothing the directory
does not already show, and a follow of someone who later becomes hidden (deactivated)
stays in the table but is left out of every read.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from townhall.accounts.models import User
from townhall.accounts.permissions import AnyUser, can_browse_directory, is_signed_in
from townhall.core.errors import NotFound, ValidationFailed
from townhall.core.pagination import Page, paginate
from townhall.directory import notify
from townhall.directory.models import Follow
from townhall.directory.permissions import can_view_person


def can_follow(actor: AnyUser, person: User) -> bool:
    """Signed-in non-guests may follow anyone else they can see."""
    return can_browse_directory(actor) and actor.pk != person.pk and can_view_person(actor, person)


def person_follow(*, actor: User, person: User) -> Follow:
    """Make `actor` follow `person` (idempotent). NotFound when `person` is hidden
    from the actor, exactly as for a missing person; ValidationFailed for oneself."""
    if not can_view_person(actor, person) or not can_browse_directory(actor):
        raise NotFound()
    if actor.pk == person.pk:
        raise ValidationFailed("You can't follow yourself.")
    try:
        with transaction.atomic():
            follow, created = Follow.objects.get_or_create(follower=actor, followee=person)
            if created:
                notify.on_followed(follower_id=actor.pk, followee_id=person.pk)
    except IntegrityError:  # a concurrent request followed first
        follow = Follow.objects.get(follower=actor, followee=person)
    return follow


def person_unfollow(*, actor: User, person_id: int) -> None:
    """Stop following (idempotent). Takes an id and works even when the person became
    hidden, so nobody is stuck following a deactivated account; it tells the caller
    nothing about whether that person exists."""
    if not is_signed_in(actor):
        raise NotFound()
    Follow.objects.filter(follower=actor, followee_id=person_id).delete()


def followee_ids(*, viewer: AnyUser) -> QuerySet[Follow, int]:
    """Ids of the people `viewer` follows who are still active (a values_list query,
    usable as a subquery). The feed still checks each post with the posts oracle."""
    if not is_signed_in(viewer):
        return Follow.objects.none().values_list("followee_id", flat=True)
    return Follow.objects.filter(follower_id=viewer.pk, followee__is_active=True).values_list("followee_id", flat=True)


def is_following(*, viewer: AnyUser, person: User) -> bool:
    """One query."""
    if not is_signed_in(viewer):
        return False
    return Follow.objects.filter(follower_id=viewer.pk, followee_id=person.pk).exists()


def following_list(*, viewer: AnyUser, cursor: str | None = None, limit: int = 24) -> Page[Follow]:
    """The people `viewer` follows whom they may still see, newest follow first, with
    each followee's user and profile loaded. One query; ValidationFailed for a bad cursor."""
    follows = Follow.objects.none()
    if can_browse_directory(viewer):
        follows = Follow.objects.filter(follower_id=viewer.pk, followee__is_active=True).select_related(
            "followee", "followee__profile"
        )
    return paginate(follows, order=("-created_at", "-id"), cursor=cursor, limit=limit)
