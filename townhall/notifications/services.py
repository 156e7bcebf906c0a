"""Writes of notifications and preferences.

`notify()` is what domain apps call (from their `notify.py`, after their own commit)
with the people they think should hear about something. It trusts nobody: inactive
people, the actor and anyone the target's visibility oracle hides from are dropped
again here, then each person's preferences pick the channels. In-app notifications of
a batched kind merge into the one unread notification of the same group; any other
repeat is ignored, so notify is idempotent. Emails leave through a task after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from townhall.core.errors import NotFound, ValidationFailed
from townhall.notifications import registry
from townhall.notifications.kinds import RULES, Channel, DigestFrequency, Kind, Level, channels_for
from townhall.notifications.models import (
    MAX_ACTORS_KEPT,
    CommunityLevel,
    Notification,
    PersonSettings,
    Preference,
)
from townhall.notifications.selectors import enabled_among
from townhall.realtime.publish import notification_badges_changed

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "townhall.notifications.unsubscribe"
DIGEST = "digest"  # the unsubscribe "kind" of the digest email


def _signed_in(person: Any) -> bool:
    return bool(person is not None and person.is_authenticated and person.is_active)


def _readers(target: registry.TargetType, target_id: int, user_ids: Iterable[int]) -> list[Any]:
    """Active people among `user_ids` whom the oracle lets see the target."""
    people = get_user_model().objects.filter(pk__in=list(set(user_ids)), is_active=True)
    return [person for person in people if target_id in target.visible_ids(person, [target_id])]


def _merge(
    row: Notification, actor_id: int | None, now: datetime, urgent: bool, target_type: str, target_id: int
) -> None:
    ids = [pk for pk in (row.actor_ids or []) if pk != actor_id]
    if actor_id is not None:
        if actor_id not in (row.actor_ids or []):
            row.actor_count += 1
        ids.insert(0, actor_id)
        row.actor_id = actor_id
    row.actor_ids = ids[:MAX_ACTORS_KEPT]
    row.updated_at = now
    row.urgent = row.urgent or urgent
    # The newest act is what the link shows (a batch of follows links the latest follower).
    row.target_type, row.target_id = target_type, target_id
    row.save(update_fields=["actor", "actor_ids", "actor_count", "updated_at", "urgent", "target_type", "target_id"])


def notify(
    *,
    kind: str,
    recipient_ids: Iterable[int],
    actor_id: int | None,
    target_type: str,
    target_id: int,
    group_key: str = "",
    urgent: bool = False,
    at: datetime | None = None,
    send_email: bool = True,
) -> list[Notification]:
    """Tell `recipient_ids` that `actor_id` did `kind` to the target. Returns the
    notifications created or updated.

    Guarantees: the actor is never notified of their own act; only active people the
    target type's `visible_ids` lets see the target are; in-app and email follow each
    person's preferences; a batched kind (reactions, follows) updates the one unread
    notification of its group ("Ana and 12 others"), any other repeat of the same
    (kind, target) for a person is a no-op. `urgent` (set by a domain app for what an
    admin marked urgent) lets the email through quiet hours. Side effects after commit:
    one email task per new notification with email on, and a realtime badge push.
    `at` and `send_email=False` are for loaders of past activity (the demo)."""
    rule = RULES.get(kind)
    target = registry.get(target_type)
    if rule is None or target is None:
        raise ValueError(f"unknown notification kind {kind!r} or target type {target_type!r}")
    candidates = {int(pk) for pk in recipient_ids} - {actor_id}
    if not candidates:
        return []
    readers = _readers(target, target_id, candidates)
    ids = [person.pk for person in readers]
    in_app = enabled_among(user_ids=ids, kind=kind, channel=Channel.IN_APP)
    email = enabled_among(user_ids=ids, kind=kind, channel=Channel.EMAIL)
    key = group_key or f"{kind}:{target_type}:{target_id}"
    now = at or timezone.now()
    touched: list[Notification] = []
    emails: list[int] = []
    with transaction.atomic():
        for uid in ids:
            if uid not in in_app and uid not in email:
                continue
            if rule.batched:
                row = (
                    Notification.objects.select_for_update()
                    .filter(recipient_id=uid, group_key=key, read_at__isnull=True)
                    .first()
                )
                if row is not None:
                    _merge(row, actor_id, now, urgent, target_type, target_id)
                    touched.append(row)
                    continue
            elif Notification.objects.filter(recipient_id=uid, group_key=key).exists():
                continue
            try:
                with transaction.atomic():
                    row = Notification.objects.create(
                        recipient_id=uid,
                        kind=kind,
                        actor_id=actor_id,
                        actor_ids=[actor_id] if actor_id else [],
                        actor_count=1,
                        target_type=target_type,
                        target_id=target_id,
                        group_key=key,
                        urgent=urgent,
                        in_app=uid in in_app,
                        created_at=now,
                        updated_at=now,
                    )
            except IntegrityError:  # a concurrent notify created the unread row first
                row = Notification.objects.filter(recipient_id=uid, group_key=key, read_at__isnull=True).first()
                if row is None or not rule.batched:
                    continue
                _merge(row, actor_id, now, urgent, target_type, target_id)
                touched.append(row)
                continue
            touched.append(row)
            if uid in email and send_email:
                emails.append(row.pk)
        transaction.on_commit(partial(_after_commit, emails, sorted({n.recipient_id for n in touched})), robust=True)
    return touched


def notify_after_commit(**kwargs: Any) -> None:
    """notify(**kwargs) once the current transaction commits (a failure is logged, never
    undoes the write): the one call a domain service makes for a single act."""
    transaction.on_commit(partial(notify, **kwargs), robust=True)


def _after_commit(notification_ids: list[int], recipient_ids: list[int]) -> None:
    from townhall.notifications.tasks import send_notification_email

    for pk in notification_ids:
        send_notification_email.enqueue(pk)
    publish_badges(recipient_ids)


def publish_badges(recipient_ids: list[int]) -> None:
    """The one place notifications tell the realtime app that badges changed; the
    realtime app owns the transport (SSE) and the page then fetches its own badge
    (`/notifications/badge`), so no count ever travels to the wrong person."""
    if not recipient_ids:
        return
    try:
        notification_badges_changed(recipient_ids)
    except Exception:  # a push is a nicety; it must never fail the write
        logger.exception("Could not publish notification badges")


# --- reading ----------------------------------------------------------------------


def notification_mark_read(*, actor: Any, notification_id: int) -> Notification:
    """Mark one of the actor's own notifications read (idempotent). NotFound for
    anyone else's or a missing one. A later act in the same group starts a new unread
    notification."""
    if not _signed_in(actor):
        raise NotFound()
    row = Notification.objects.filter(pk=notification_id, recipient_id=actor.pk).first()
    if row is None:
        raise NotFound()
    if row.read_at is None:
        row.read_at = timezone.now()
        Notification.objects.filter(pk=row.pk, read_at__isnull=True).update(read_at=row.read_at)
        transaction.on_commit(partial(publish_badges, [actor.pk]), robust=True)
    return row


def notifications_mark_all_read(*, actor: Any, before: datetime | None = None) -> int:
    """Mark all of the actor's unread notifications read (those last active at or
    before `before`, when given, so a page open for a while does not swallow what
    arrived since). Returns how many changed."""
    if not _signed_in(actor):
        raise NotFound()
    rows = Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True)
    if before is not None:
        rows = rows.filter(updated_at__lte=before)
    changed = rows.update(read_at=timezone.now())
    if changed:
        transaction.on_commit(partial(publish_badges, [actor.pk]), robust=True)
    return changed


# --- preferences ------------------------------------------------------------------


def _check_kind_channel(kind: str, channel: str) -> None:
    if kind not in Kind.values:
        raise ValidationFailed(f"Unknown notification kind {kind!r}.", fields={"kind": ["Unknown kind."]})
    if channel not in channels_for(kind):
        raise ValidationFailed(
            f"{Kind(kind).label} cannot be sent by {channel}.", fields={"channel": ["Not available for this kind."]}
        )


def preferences_update(
    *,
    actor: Any,
    channels: dict[tuple[str, str], bool] | None = None,
    digest: str | None = None,
    levels: dict[int, str] | None = None,
) -> None:
    """Change the actor's own preferences: `channels` maps (kind, channel) to on/off
    (what is not given stays), `digest` is daily / weekly / off, `levels` maps the id
    of a community the actor belongs to onto all / highlights / none. Everything is
    validated before anything is written (ValidationFailed names the field)."""
    if not _signed_in(actor):
        raise NotFound()
    for kind, channel in channels or {}:
        _check_kind_channel(kind, channel)
    if digest is not None and digest not in DigestFrequency.values:
        raise ValidationFailed("Choose daily, weekly or never.", fields={"digest": ["Choose daily, weekly or never."]})
    if levels:
        mine = {cid for cid, _name in registry.communities_of(actor)}
        for community_id, level in levels.items():
            if level not in Level.values:
                message = "Choose all posts, highlights or nothing."
                raise ValidationFailed(message, fields={"levels": [message]})
            if community_id not in mine:
                # Not a member (or no such community): the same answer either way.
                message = "You can set this only for communities you belong to."
                raise ValidationFailed(message, fields={"levels": [message]})
    with transaction.atomic():
        for (kind, channel), enabled in (channels or {}).items():
            Preference.objects.update_or_create(
                user_id=actor.pk, kind=kind, channel=channel, defaults={"enabled": bool(enabled)}
            )
        if digest is not None:
            PersonSettings.objects.update_or_create(user_id=actor.pk, defaults={"digest": digest})
        for community_id, level in (levels or {}).items():
            CommunityLevel.objects.update_or_create(
                user_id=actor.pk, community_id=community_id, defaults={"level": level}
            )


# --- one-click unsubscribe ---------------------------------------------------------


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    """A signed, non-expiring token naming one person and one email kind (or
    "digest"). It can only ever switch that email off."""
    return signing.dumps([user_id, kind], salt=UNSUBSCRIBE_SALT, compress=False)


def unsubscribe_read(token: str) -> tuple[Any, str]:
    """The (person, kind) a token names. NotFound for a forged or broken token or an
    account that is gone."""
    try:
        user_id, kind = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise NotFound() from exc
    if not isinstance(user_id, int) or (kind != DIGEST and kind not in Kind.values):
        raise NotFound()
    person = get_user_model().objects.filter(pk=user_id).first()
    if person is None:
        raise NotFound()
    return person, str(kind)


def unsubscribe(*, token: str) -> tuple[Any, str]:
    """Switch off the email the token names (idempotent), without signing in: the
    token is the authority. Returns (person, kind)."""
    person, kind = unsubscribe_read(token)
    if kind == DIGEST:
        PersonSettings.objects.update_or_create(user_id=person.pk, defaults={"digest": DigestFrequency.OFF})
    else:
        Preference.objects.update_or_create(
            user_id=person.pk, kind=kind, channel=Channel.EMAIL, defaults={"enabled": False}
        )
    return person, kind
